import FoundationEssentials
import ProxymHAProxy
import ProxymModel
import Testing

/// `Fixtures/<case>/` rendered must equal `Golden/<case>.cfg` byte for byte, and every golden must pass
/// `haproxy -c`. `RECORD_GOLDEN=1 swift test ...` rewrites the goldens and fails on purpose.
@Suite struct GoldenTests {
    static let recording = ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1"

    /// The cases the task requires; a missing fixture directory fails `casesArePresent`.
    static let requiredCases = [
        "original-tcp", "original-http", "no-services", "mixed", "http-port-8080-bind-address",
        "ipv6-and-hostnames", "no-hosts", "udp-skipped", "http-on-non-http-port",
    ]

    @Test func casesArePresent() throws {
        let names = Set(GoldenCase.all.map(\.name))
        for required in Self.requiredCases {
            #expect(names.contains(required), "missing fixture directory Fixtures/\(required)")
        }
        let goldens = try FileManager.default.contentsOfDirectory(atPath: GoldenCase.goldenDirectory)
            .filter { $0.hasSuffix(".cfg") }
        for golden in goldens {
            let name = String(golden.dropLast(4))
            #expect(names.contains(name), "Golden/\(golden) has no fixture directory")
        }
    }

    @Test(arguments: GoldenCase.all)
    func rendersGolden(_ goldenCase: GoldenCase) throws {
        let (services, options) = try goldenCase.load()
        let rendered = HAProxyRenderer.render(services, options: options)

        if Self.recording {
            try Data(rendered.utf8).write(to: URL(fileURLWithPath: goldenCase.goldenPath), options: .atomic)
            Issue.record("recorded \(goldenCase.goldenPath); unset RECORD_GOLDEN and run again")
            return
        }
        guard let golden = FileManager.default.contents(atPath: goldenCase.goldenPath) else {
            Issue.record("no golden file \(goldenCase.goldenPath); run with RECORD_GOLDEN=1 to create it")
            return
        }
        let expected = String(decoding: golden, as: UTF8.self)
        if rendered != expected {
            let diff = TextDiff.diff(expected: expected, actual: rendered)
            Issue.record("\(goldenCase.name): rendered config differs from Golden/\(goldenCase.name).cfg\n\(diff)")
        }

        // The same services in reverse order render the same text.
        #expect(HAProxyRenderer.render(services.reversed(), options: options) == rendered)
    }

    @Test(
        .enabled(if: HAProxyCheck.isAvailable, "haproxy is not in PATH"),
        .timeLimit(.minutes(1)),
        arguments: GoldenCase.all
    )
    func goldenPassesHAProxyCheck(_ goldenCase: GoldenCase) throws {
        let result = HAProxyCheck.check(configPath: goldenCase.goldenPath)
        #expect(result.exitStatus == 0, "haproxy -c -f Golden/\(goldenCase.name).cfg: \(result)")
        #expect(!result.output.contains("[ALERT]"), "haproxy -c -f Golden/\(goldenCase.name).cfg: \(result)")
    }
}
