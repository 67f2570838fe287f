import ProxymCore
import ProxymHTTP
import ProxymJSON
import ProxymObserve
import Testing

/// A snapshot at t = 1000 s (Unix 1_700_000_000 + offset), with a file source that is fine and a
/// Marathon source failing since 300 s before.
func moment(_ seconds: Int64) -> Moment {
    Moment(instant: Instant(nanoseconds: UInt64(seconds) * 1_000_000_000), unixSeconds: 1_700_000_000 + seconds)
}

func sampleSnapshot(marathonFailingFor failing: Int64? = 300, ready: Bool = true) -> StatusSnapshot {
    var file = SourceState(name: "file")
    _ = file.succeeded(serviceCount: 3, at: moment(990))
    file.note = "1 invalid file: broken.json"
    var marathon = SourceState(name: "marathon")
    _ = marathon.succeeded(serviceCount: 2, at: moment(100))
    if let failing { _ = marathon.failed("connection refused \"x\"\n<b>", at: moment(1000 - failing)) }
    let refresh = RefreshRecord(
        trigger: "file web.json changed", startedAt: moment(995), duration: .milliseconds(12),
        outcome: "applied, haproxy reloaded", serviceCount: 5, result: .applied)
    return StatusSnapshot(
        version: "9.9.9", now: moment(1000), startedAt: moment(10), ready: ready, sources: [file, marathon],
        serviceCount: 5, skippedServices: 1, refreshes: [refresh],
        outputs: [OutputObservation(name: "haproxy", method: "sf", pids: [4711], reloads: 3, lastReload: moment(995))],
        statusLine: "5 services")
}

@Suite struct HealthVerdictTests {
    @Test func healthyWhenReadyAndNothingStaleBeyondTheThreshold() {
        let verdict = HealthVerdict.evaluate(sampleSnapshot(marathonFailingFor: nil), staleAfter: .seconds(60))
        #expect(verdict.healthy)
        #expect(verdict.reasons.isEmpty)
    }

    @Test func aSourceFailingLongerThanTheThresholdIsUnhealthyShorterIsAWarning() {
        let long = HealthVerdict.evaluate(sampleSnapshot(marathonFailingFor: 300), staleAfter: .seconds(120))
        #expect(!long.healthy)
        #expect(long.reasons.count == 1)
        #expect(long.reasons[0].hasPrefix("marathon: stale for 5m (connection refused"))
        let short = HealthVerdict.evaluate(sampleSnapshot(marathonFailingFor: 30), staleAfter: .seconds(120))
        #expect(short.healthy)
        #expect(short.warnings.contains { $0.hasPrefix("marathon: stale for 30s") })
    }

    @Test func startingHaproxyDownAndRepeatedFailuresAreUnhealthy() {
        #expect(!HealthVerdict.evaluate(sampleSnapshot(marathonFailingFor: nil, ready: false), staleAfter: .seconds(60)).healthy)
        var snapshot = sampleSnapshot(marathonFailingFor: nil)
        snapshot.outputs[0].problem = "haproxy (pid 4711) died; restarting"
        #expect(HealthVerdict.evaluate(snapshot, staleAfter: .seconds(60)).reasons == ["haproxy: haproxy (pid 4711) died; restarting"])
        snapshot.outputs[0].problem = nil
        snapshot.outputs[0].consecutiveFailures = 1
        snapshot.outputs[0].lastApplyOutcome = "FAILED: reload"
        #expect(HealthVerdict.evaluate(snapshot, staleAfter: .seconds(60)).healthy)
        snapshot.outputs[0].consecutiveFailures = 2
        #expect(HealthVerdict.evaluate(snapshot, staleAfter: .seconds(60)).reasons == ["haproxy: the last 2 applies failed (FAILED: reload)"])
    }

    @Test func aReadRunningLongIsStaleToo() {
        var snapshot = sampleSnapshot(marathonFailingFor: nil)
        snapshot.sources[1].readStarted(at: moment(700))
        let verdict = HealthVerdict.evaluate(snapshot, staleAfter: .seconds(120))
        #expect(verdict.reasons == ["marathon: stale for 5m (a read is still running)"])
    }

    @Test func durationsForPeople() {
        #expect(HealthVerdict.format(.seconds(45)) == "45s")
        #expect(HealthVerdict.format(.seconds(200)) == "3m 20s")
        #expect(HealthVerdict.format(.seconds(7500)) == "2h 5m")
        #expect(HealthVerdict.format(.seconds(97_200)) == "1d 3h")
    }
}

@Suite struct StatusJSONTests {
    @Test func theDocumentParsesAndSaysWhatHappened() throws {
        let snapshot = sampleSnapshot()
        let verdict = HealthVerdict.evaluate(snapshot, staleAfter: .seconds(120))
        let text = StatusJSON.render(snapshot, verdict: verdict)
        let root = try #require(try JSONReader.parse(text).objectValue)
        #expect(root["healthy"]?.boolValue == false)
        #expect(root["version"]?.stringValue == "9.9.9")
        #expect(root["uptimeSeconds"]?.numberValue?.int == 990)
        let sources = try #require(root["sources"]?.arrayValue)
        #expect(sources.count == 2)
        let marathon = try #require(sources[1].objectValue)
        #expect(marathon["state"]?.stringValue == "failing")
        #expect(marathon["lastError"]?.stringValue == "connection refused \"x\"\n<b>")
        #expect(marathon["stalenessSeconds"]?.numberValue?.int == 300)
        #expect(marathon["lastSuccess"]?.numberValue?.int == 1_700_000_100)
        #expect(sources[0].objectValue?["note"]?.stringValue == "1 invalid file: broken.json")
        let refresh = try #require(root["refreshes"]?.arrayValue?.first?.objectValue)
        #expect(refresh["result"]?.stringValue == "applied")
        #expect(refresh["durationSeconds"]?.numberValue?.double == 0.012)
        let output = try #require(root["outputs"]?.arrayValue?.first?.objectValue)
        #expect(output["pids"]?.arrayValue == [.number(JSONNumber("4711")!)])
        #expect(root["held"]?.isNull == true)
        // No raw "<" (the page embeds documents in a script), control characters escaped.
        #expect(!text.contains("<"))
    }

    @Test func healthTextSaysOkOrEveryReason() {
        #expect(StatusJSON.healthText(HealthVerdict(reasons: [])) == "ok\n")
        #expect(StatusJSON.healthText(HealthVerdict(reasons: ["a", "b"], warnings: ["c"])) == "unhealthy\na\nb\nnote: c\n")
    }

    @Test func jsonTextEscapes() throws {
        var out = JSONText()
        out.array { a in
            a.string("\u{01}\u{2028}\\\"")
            a.double(.nan)
            a.double(2.5)
            a.double(3)
            a.int(nil)
        }
        #expect(out.text == #"["\u0001\u2028\\\"",null,2.5,3,null]"#)
        let parsed = try JSONReader.parse(out.text).arrayValue
        #expect(parsed?.first?.stringValue == "\u{01}\u{2028}\\\"")
    }
}

@Suite struct StatusSummaryTests {
    @Test func aShortSummaryAndTheVerdict() throws {
        let snapshot = sampleSnapshot()
        let text = StatusJSON.render(snapshot, verdict: HealthVerdict.evaluate(snapshot, staleAfter: .seconds(120)))
        let summary = try StatusSummary.render(json: text)
        #expect(!summary.healthy)
        let lines = summary.lines.split(separator: "\n").map(String.init)
        #expect(lines[0] == "proxym 9.9.9: UNHEALTHY, up 16m 30s, 5 services (1 skipped)")
        #expect(lines.contains { $0.hasPrefix("source file      ok       3 services, last success 10s ago; 1 invalid file") })
        #expect(lines.contains { $0.hasPrefix("source marathon  failing  2 services, last success 15m ago: connection refused") })
        #expect(lines.contains("haproxy (sf)  pid 4711, 3 reloads, last reload 5s ago"))
        #expect(lines.contains("last refresh 5s ago: file web.json changed -> applied, haproxy reloaded (12 ms)"))
        #expect(lines.contains { $0.hasPrefix("PROBLEM: marathon: stale for 5m") })
    }

    @Test func notAStatusDocumentIsAClearError() {
        #expect(throws: StatusSummary.Failure.self) { try StatusSummary.render(json: "<html>") }
        #expect(throws: StatusSummary.Failure.self) { try StatusSummary.render(json: "{\"a\":1}") }
    }
}

@Suite struct StatusRouterTests {
    func request(_ method: HTTPMethod, _ target: String) -> HTTPRequest {
        HTTPRequest(method: method, target: target, headers: ["Host": "x"], body: [])
    }

    @Test func healthzIs200Or503AndUnknownPathsAre404() {
        var current = sampleSnapshot(marathonFailingFor: nil)
        let router = StatusRouter(staleAfter: .seconds(120), snapshot: { current })
        #expect(router.respond(to: request(.get, "/healthz")).status == .ok)
        current = sampleSnapshot(marathonFailingFor: 600)
        let unhealthy = router.respond(to: request(.get, "/healthz"))
        #expect(unhealthy.status == .serviceUnavailable)
        #expect(String(decoding: unhealthy.body, as: UTF8.self).hasPrefix("unhealthy\nmarathon: stale for 10m"))
        #expect(router.respond(to: request(.get, "/nope")).status == .notFound)
        #expect(router.respond(to: request(.post, "/healthz")).status == .methodNotAllowed)
        let status = router.respond(to: request(.get, "/api/v1/status?x=1"))
        #expect(status.status == .ok)
        #expect(status.headers.first { $0.name == "Content-Type" }?.value == "application/json")
    }
}
