import ProxymGenerators
import ProxymJSON
import ProxymTestSupport
import Testing

/// The streaming decoder must give exactly what the whole-body decoder gives (apps, problems, errors
/// and their positions), however the body is cut into pieces.
@Suite("Marathon decoding: a body in pieces")
struct MarathonAppsStreamTests {
    typealias Verdict = Result<MarathonSnapshot, MarathonDecodeError>

    func whole(_ body: [UInt8]) -> Verdict {
        Result { () throws(MarathonDecodeError) in try MarathonApps.decode(appsWithTasks: body) }
    }

    /// Feeds `body` cut at `cuts` (sorted offsets), then finishes.
    func streamed(_ body: [UInt8], cuts: [Int], limits: JSONLimits = .default) -> Verdict {
        var stream = MarathonAppsStream(limits: limits)
        var apps: [MarathonApp] = []
        var start = 0
        do throws(MarathonDecodeError) {
            for cut in cuts + [body.count] where cut >= start {
                try stream.feed(Array(body[start..<cut])) { apps.append($0) }
                start = cut
            }
            try stream.finish { apps.append($0) }
        } catch {
            return .failure(error)
        }
        return .success(MarathonSnapshot(apps: apps, problems: stream.problems))
    }

    func streamed(_ body: [UInt8], pieceSize: Int) -> Verdict {
        streamed(body, cuts: Array(stride(from: pieceSize, to: body.count, by: pieceSize)))
    }

    /// Whole, in one piece, at every single cut (short bodies) or a spread of them, and in pieces of
    /// a few sizes.
    func expectSameVerdicts(_ body: [UInt8], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = whole(body)
        #expect(streamed(body, cuts: []) == expected, "\(what): one piece", sourceLocation: sourceLocation)
        let step = max(1, body.count / 300)
        for cut in stride(from: 0, through: body.count, by: step) {
            let verdict = streamed(body, cuts: [cut])
            #expect(verdict == expected, "\(what): cut at \(cut): \(verdict)", sourceLocation: sourceLocation)
            if verdict != expected { return }
        }
        for size in [1, 2, 3, 7, 64, 1000, 16384] where size < body.count {
            let verdict = streamed(body, pieceSize: size)
            #expect(verdict == expected, "\(what): pieces of \(size): \(verdict)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyAppsFixture() throws {
        for file in try MarathonFixtures.files(in: "apps") where file.hasSuffix(".json") {
            expectSameVerdicts(try MarathonFixtures.bytes("apps/" + file), file)
        }
        for file in try MarathonFixtures.files(in: "app-definitions") where file.hasSuffix(".json") {
            let body = MarathonFixtures.appsBody(wrapping: try MarathonFixtures.bytes("app-definitions/" + file))
            expectSameVerdicts(body, file)
        }
    }

    /// The same deterministic mutations as the strictness test: broken bodies fail with the same
    /// message (and position), still-valid ones decode the same.
    @Test func mutationsOfEveryFixture() throws {
        var rng = SplitMix64(seed: 0x57AE)
        let specials =
            Array(#"{}[],:"\/ubfnrt0123456789-+.eE"#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xC0, 0xE0, 0xED, 0xF4, 0xFF]
        var compared = 0
        for file in try MarathonCursorStrictnessTests.allJSONFixtures() {
            let original = try MarathonFixtures.bytes(file)
            for _ in 0..<40 {
                var m = original
                switch rng.next() % 4 {
                case 0: m.removeSubrange(Int(rng.next() % UInt64(m.count))...)
                case 1: m[Int(rng.next() % UInt64(m.count))] = specials[Int(rng.next() % UInt64(specials.count))]
                case 2:
                    m.insert(specials[Int(rng.next() % UInt64(specials.count))], at: Int(rng.next() % UInt64(m.count)))
                default: m.remove(at: Int(rng.next() % UInt64(m.count)))
                }
                let expected = whole(m)
                let cuts = [Int(rng.next() % UInt64(m.count + 1))].sorted()
                for verdict in [streamed(m, cuts: cuts), streamed(m, pieceSize: 1 + Int(rng.next() % 97))] {
                    #expect(verdict == expected, "\(file): \(String(decoding: m, as: UTF8.self).prefix(300))")
                }
                compared += 1
            }
        }
        #expect(compared > 1_000)
    }

    @Test(arguments: [
        #"{"apps": []}"#, #"{"apps": null}"#, #"{}"#, #"[]"#, #""apps""#, "42", "", " ", "{", #"{"apps""#,
        #"{"apps": [1, "x", null, true, {"id": "/a"}, 12.5e3]}"#, #"{"apps": [{"id": "/a"}] } "#,
        #"{"apps": [{"id": "/a"}]} x"#, #"{"apps": [{"id": "/a"}]}{"apps": []}"#, #"{"apps": "x", "apps": [}"#,
        #"{"apps": "x", "apps": [{"id": "/a"}]}"#, #"{"apps": [{"id": "/a"}], "apps": [{"id": "/b"}]}"#,
        #"{"app": {"id": "/a", "tasks": [{"id": "t", "ports": [1]}]}}"#, #"{"app": null}"#, #"{"app": 3}"#,
        #"{"other": {"deep": [1, 2, {"x": null}]}, "apps": [{"id": "/a"}], "more": "y"}"#,
        #"{"apps": [{"id": "/a", "labels": {"HAPROXY_0_VHOST": 1}}, {"id": "/b"}]}"#,
        #"{"apps": [{"id": "/a", "ports": [80, 99999999999999999999]}]}"#, #"{"apps": [{"id": "/a"},]}"#,
        "{\n  \"apps\": [\n    {\"id\": \"/a\"},\n    {\"id\": \"/é\", \"x\": tru}\n  ]\n}\n",
        "\u{FEFF}{\"apps\": [{\"id\": \"/a\"}]}", "\u{FEFF}\u{FEFF}{\"apps\": []}", #"{"apps": [{"id": "/a\u00e9\ud83d\ude00"}]}"#,
    ])
    func edgeCases(_ text: String) {
        expectSameVerdicts(Array(text.utf8), text)
    }

    @Test func aLargeBodyInNetworkSizedPieces() {
        let body = SyntheticMarathon.body(apps: 300, tasksPerApp: 3)
        let expected = whole(body)
        #expect((try? expected.get())?.apps.count == 300)
        for size in [1, 1500, 16384, 65536] {
            #expect(streamed(body, pieceSize: size) == expected, "pieces of \(size)")
        }
    }

    @Test func appsComeOutAsSoonAsTheyAreComplete() throws {
        let first = #"{"apps": [{"id": "/a"}, {"id": "/b""#
        var stream = MarathonAppsStream()
        var ids: [String] = []
        try stream.feed(Array(first.utf8)) { ids.append($0.id) }
        #expect(ids == ["/a"])
        try stream.feed(Array("}]}".utf8)) { ids.append($0.id) }
        try stream.finish { ids.append($0.id) }
        #expect(ids == ["/a", "/b"])
        #expect(stream.appCount == 2)
    }

    @Test func aBodyOverTheLimitIsRefusedOnTheWay() {
        let body = SyntheticMarathon.body(apps: 20, tasksPerApp: 1)
        let limits = JSONLimits(maxBytes: body.count / 2)
        guard case .failure(let error) = streamed(body, cuts: [body.count / 4, body.count * 3 / 4], limits: limits)
        else {
            Issue.record("a body over the limit was accepted")
            return
        }
        #expect(error.message.contains("document is over \(body.count / 2) bytes"))
    }
}
