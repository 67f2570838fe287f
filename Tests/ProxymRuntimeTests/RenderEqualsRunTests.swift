import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// `proxym render` prints exactly what `proxym run` applies: both go through one `RefreshPipeline`
/// and the same HAProxy module. On random service directories (valid files, broken ones, id, domain
/// and TCP port conflicts, UDP, HTTP and TCP services, per-service options), the config a freshly
/// started daemon writes equals `OneShot.render`'s text byte for byte.
@Suite(.timeLimit(.minutes(2)))
struct RenderEqualsRunTests {
    static func randomFiles(_ rng: inout SplitMix64) -> [String: String] {
        var files: [String: String] = [:]
        let count = Int.random(in: 0...14, using: &rng)
        let names = ["web", "api", "shop", "db", "cache", "queue", "auth", "cdn"]
        for index in 0..<count {
            let name = names.randomElement(using: &rng)!
            let id = "/\(name)\(Int.random(in: 0...2, using: &rng))"
            let domain = "\(names.randomElement(using: &rng)!).example.com"
            let http = Bool.random(using: &rng)
            let port = http ? 8080 : Int.random(in: 7000...7003, using: &rng)
            let proto = Int.random(in: 0..<12, using: &rng) == 0 ? "udp" : "tcp"
            let hosts = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                "{\"ip\": \"10.0.\(Int.random(in: 0...3, using: &rng)).\(Int.random(in: 1...9, using: &rng))\", \"port\": \(Int.random(in: 31000...31003, using: &rng))}"
            }.joined(separator: ", ")
            var json = """
                {"id": "\(id)", "domain": "\(domain)", "protocol": "\(proto)", "servicePort": \(port), "hosts": [\(hosts)]}
                """
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: json = String(json.dropLast(3))  // broken JSON
            case 1: json = json.replacingOccurrences(of: "\"servicePort\"", with: "\"servicePort_\"")  // invalid
            default: break
            }
            files["f\(index)-\(name).json"] = json
        }
        return files
    }

    @Test func renderPrintsWhatTheDaemonWrites() throws {
        var rng = SplitMix64(seed: 0x12_1)
        for round in 0..<24 {
            let files = Self.randomFiles(&rng)
            let withOptions = Bool.random(using: &rng)
            try withTemporaryDirectory { dir in
                let h = try DaemonTests.Harness(dir: dir) { settings, dir in
                    if withOptions { settings.haproxy.optionsPath = dir + "/options" }
                }
                defer { h.finish() }
                if withOptions {
                    try FileSystem.mkdir(dir + "/options")
                    try writeFile(dir + "/options/global.cfg", "global\n  maxconn 100\ndefaults\n  mode http\n")
                    try FileSystem.mkdir(dir + "/options/web.example.com_8080")
                    try writeFile(dir + "/options/web.example.com_8080/config", "balance leastconn\n")
                }
                for (name, json) in files { try writeFile(h.servicesDir + "/" + name, json) }
                try h.start()
                try h.waitReady()
                let written = try readTextFile(h.configPath)
                let rendered = try OneShot.render(settings: h.settings, environment: childEnvironment, logger: TestLog().logger)
                #expect(rendered.config == written, "round \(round): \(files.keys.sorted())")
                #expect(rendered.serviceCount == Int(h.daemon.statusLine.prefix { $0.isNumber }) ?? -1)
            }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
