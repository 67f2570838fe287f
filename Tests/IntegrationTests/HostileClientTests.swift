import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Issue 11, classes 3 and 4: hostile clients of the callback receiver. The built daemon (callback
    /// mode, a real haproxy, a file service beside Marathon) is attacked for 10 s by
    /// `proxym-fake-marathon --attack MODE`; meanwhile a legitimate callback is posted every 0.5 s and a
    /// service file is edited. Each asserts: the daemon alive, the callbacks answered, the edit
    /// written within 1 s and served, peak memory and fds bounded, and one collapsed log line naming
    /// the problem. Prints one row of the README's fault table.
    ///
    /// `PROXYM_TEST_PROXYM=/path/to/old/proxym swift test --filter HostileClients` gives the before
    /// figures of another build.
    @Suite(.serialized, .timeLimit(.minutes(3)))
    struct HostileClients {
        static let event = Array(#"{"eventType":"deployment_success","timestamp":"2024-01-01T00:00:00.000Z"}"#.utf8)

        @Test(arguments: [
            // (mode, connections, what the collapsed line says)
            ("pipeline", 16, "did not read its answers"),
            ("silent", 64, "did not send a complete request in time"),
            ("slowloris", 500, "too many connections; closed the oldest idle or incomplete one"),
        ])
        func theReceiverKeepsServingUnderAttack(mode: String, connections: Int, problem: String) throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                try sandbox.writeService("web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [blue]))
                let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.4.13"])
                try marathon.setApps([])
                let port = try freeTCPPort()
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "callback", callbackPort: port, ["PROXYM_LOG_REPEAT_INTERVAL": "2s"])
                #expect(proxym.waitForLog("receiving Marathon callbacks"), "\(proxym.log)")
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                let rssBefore = procStatusKilobytes(proxym.pid, "VmRSS") ?? 0
                let linesBefore = proxym.log.split(separator: "\n").count

                let attacker = try LoggedChild(
                    executable: Binaries.fakeMarathon,
                    arguments: ["--attack", mode, "--target", String(port), "--connections", String(connections), "--for", "10s"],
                    environment: [:], logPath: dir + "/attack.log")
                MonotonicClock.sleep(.seconds(1))  // the attack is on

                var posted = 0
                var answered = 0
                var slowest: Duration = .zero
                var maxFDs = 0
                var peakKB = 0
                var editLatency: Duration?
                let attackEnds = MonotonicClock.nanoseconds() + 8_000_000_000
                var edited = false
                while MonotonicClock.nanoseconds() < attackEnds && !proxym.hasExited {
                    let started = MonotonicClock.nanoseconds()
                    posted += 1
                    let answer = httpRequest(port: port, method: "POST", path: "/callback", body: Self.event, timeout: .seconds(2))
                    let took = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                    if answer?.status == 200 {
                        answered += 1
                        slowest = max(slowest, took)
                    }
                    maxFDs = max(maxFDs, openFDCount(proxym.pid) ?? 0)
                    peakKB = max(peakKB, procStatusKilobytes(proxym.pid, "VmHWM") ?? 0)
                    if !edited && posted >= 4 {
                        // A file edit in the middle of the attack: written within 1 s, then served.
                        edited = true
                        let editStarted = MonotonicClock.nanoseconds()
                        try sandbox.writeService(
                            "web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [green]))
                        if waitUntil(timeout: .seconds(3), poll: .milliseconds(5), {
                            (try? readTextFile(sandbox.config))?.contains(":\(green.port)") == true
                        }) {
                            editLatency = .nanoseconds(Int64(MonotonicClock.nanoseconds() - editStarted))
                        }
                    }
                    MonotonicClock.sleep(.milliseconds(500))
                }
                _ = attacker.waitForExit(timeout: .seconds(10))
                attacker.kill()
                // The collapsed line comes at the end of its interval (2 s here).
                let collapsed = proxym.waitForLog("more in the last 2 s", timeout: .seconds(5))
                let lines = proxym.log.split(separator: "\n").dropFirst(linesBefore)
                let warnings = lines.filter { $0.contains("WARNING") }.count
                let summary = lines.first { $0.contains(problem) && $0.contains("more in the last") }.map(String.init)
                peakKB = max(peakKB, procStatusKilobytes(proxym.pid, "VmHWM") ?? 0)

                let row =
                    "\(mode) x\(connections): callbacks answered \(answered)/\(posted) during the attack (slowest \(ms(slowest))), "
                    + "edit written in \(editLatency.map(ms) ?? "never"), VmHWM \(rssBefore / 1024) -> \(peakKB / 1024) MiB, "
                    + "\(maxFDs) fds at most, \(warnings) WARNING lines in \(lines.count) log lines; "
                    + (attacker.log.split(separator: "\n").last.map(String.init) ?? "")
                print("hostile client: \(row)")

                #expect(!proxym.hasExited, "proxym died: \(proxym.log.suffix(3000))")
                #expect(answered == posted, "legitimate callbacks must be answered: \(row)")
                #expect(editLatency != nil && editLatency! < .seconds(1), "the file edit: \(row)")
                #expect(sandbox.waitForBackend("green", host: "web.example.com", timeout: .seconds(5)) != nil, "\(proxym.log.suffix(3000))")
                #expect(peakKB < 100 * 1024, "peak RSS: \(row)")
                #expect(maxFDs < 150, "fds: \(row)")
                #expect(collapsed && summary != nil, "a collapsed line names the problem; \(row); log:\n\(lines.suffix(40).joined(separator: "\n"))")
                #expect(warnings < 40, "repeated warnings are collapsed: \(row)")
                // And after the attack, callbacks are still answered.
                #expect(httpRequest(port: port, method: "POST", path: "/callback", body: Self.event)?.status == 200)
                sandbox.tearDown()
            }
        }
    }
}
