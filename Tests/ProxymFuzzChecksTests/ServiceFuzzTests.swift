import FoundationEssentials
import ProxymFuzzChecks
import ProxymGenerators
import ProxymHAProxy
import ProxymModel
import Testing

/// `FuzzServiceJSON`'s properties (`ServiceFuzzCheck`) on every seed and every crasher the fuzzer
/// found. With `PROXYM_FUZZ_SEEDS=<dir>` the seeds are also written to `<dir>/FuzzServiceJSON`, the
/// fuzzer's seed corpus (`scripts/fuzz.sh`).
@Suite struct ServiceFuzzTests {
    static let repository: String = {
        var path = Substring(#filePath)
        for _ in 0..<3 { path = path[..<path.lastIndex(of: "/")!] }
        return String(path)
    }()

    /// Hand-written service files: valid ones of every shape, and hostile ones.
    static let serviceFiles: [String] = [
        #"{"id": "/redis", "domain": "redis.example.com", "protocol": "tcp", "servicePort": 6379, "hosts": [{"ip": "10.10.10.10", "port": 31001}]}"#,
        #"{"id": "/one/web", "domain": "one.example.com", "domains": ["one-alt.example.com", "x.example.com:8080"], "servicePort": 80, "hosts": [{"ip": "::1", "port": 8080}, {"ip": "agent-1.example.com", "port": 31000}]}"#,
        #"{"ID": "/u", "PROTOCOL": "UDP", "port": 53, "hosts": []}"#,
        #"{"id": "/h", "applicationProtocol": "http", "domains": ["h.example.com"], "servicePort": 9000, "hosts": [{"ip": "10.0.0.1", "port": 1}]}"#,
        #"{"id": "/evil", "domain": "evil.example.com\n  acl pwn always_true", "servicePort": 80, "hosts": []}"#,
        #"{"id": "/evil if TRUE", "domain": "e.example.com", "servicePort": 81, "hosts": []}"#,
        #"{"id": "/e", "domain": "e.example.com", "servicePort": 80, "hosts": [{"ip": "10.0.0.1 check\nlisten x", "port": 80}]}"#,
        #"{"id": "/e", "domain": "e.example.com", "servicePort": 80, "hosts": [{"ip": "10.0.0.1:80", "port": 80}]}"#,
        #"{"id": "/\u0000", "servicePort": 1, "hosts": []}"#,
        #"{"id": "/a", "servicePort": 70000, "hosts": []}"#,
        "[", "{}", "null", "\u{FEFF}{}", String(repeating: "[", count: 100),
    ]

    /// Marathon bodies: a synthetic app with labels (hostile ones included) and every event type.
    static let marathonBodies: [String] = [
        #"{"apps": [{"id": "/shop/web", "labels": {"proxym.port.0.config": "balance roundrobin\nlisten evil\n  option httplog", "HAPROXY_0_VHOST": "shop.example.com"}, "portDefinitions": [{"port": 10000}], "tasks": [{"id": "t1", "appId": "/shop/web", "host": "10.0.0.5", "ports": [31000], "state": "TASK_RUNNING"}]}]}"#,
        #"{"apps": [{"id": "/x", "labels": {"proxym.domains": "a.example.com,b.example.com\nacl x"}, "container": {"docker": {"portMappings": [{"containerPort": 80, "servicePort": 80}]}}, "tasks": [{"appId": "/x", "host": "h\nlisten y", "ports": [1]}]}]}"#,
        #"{"app": {"id": "/single", "ports": [80], "tasks": [{"host": "10.0.0.9", "ports": [31999]}]}}"#,
        #"{"tasks": [{"appId": "/a", "host": "10.0.0.1", "ports": [31000], "servicePorts": [10000]}]}"#,
        #"{"eventType": "status_update_event", "taskStatus": "TASK_RUNNING"}"#,
        #"{"eventType": "api_post\u0000_event"}"#,
    ]

    static var fixtureSeeds: [[UInt8]] {
        var seeds: [[UInt8]] = []
        let examples = repository + "/examples/services"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: examples))?.sorted() ?? [] {
            if let data = FileManager.default.contents(atPath: examples + "/" + name) { seeds.append(Array(data)) }
        }
        // The recorded Marathon payloads in the repository (Tests/Fixtures/marathon).
        let recorded = repository + "/Tests/Fixtures/marathon"
        for folder in ["apps", "tasks", "events", "app-definitions"] {
            let directory = recorded + "/" + folder
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory))?.sorted() ?? [] {
                if let data = FileManager.default.contents(atPath: directory + "/" + name), data.count <= 64 << 10 {
                    seeds.append(Array(data))
                }
            }
        }
        return seeds
    }

    static var seeds: [[UInt8]] {
        (serviceFiles + marathonBodies).map { Array($0.utf8) } + fixtureSeeds
    }

    @Test("every seed holds the FuzzServiceJSON properties")
    func seedsHoldTheProperties() throws {
        let seeds = Self.seeds
        #expect(seeds.count >= serviceFilesCount + 6)
        // The recorded Marathon payloads are part of the seeds (a moved fixture folder must not
        // silently shrink them).
        #expect(Self.fixtureSeeds.count >= 40, "Tests/Fixtures/marathon gave \(Self.fixtureSeeds.count) seeds")
        for seed in seeds {
            let violations = ServiceFuzzCheck.check(seed)
            #expect(violations.isEmpty, "\(String(decoding: seed.prefix(120), as: UTF8.self).debugDescription): \(violations)")
        }
        try exportSeeds(seeds)
    }

    var serviceFilesCount: Int { Self.serviceFiles.count }

    @Test("every FuzzServiceJSON crasher holds the properties now")
    func crashersHoldTheProperties() {
        for crasher in ServiceFuzzCrashers.all {
            #expect(ServiceFuzzCheck.check(crasher.bytes).isEmpty, "\(crasher.name)")
        }
    }

    /// The checker itself: it must catch what it is there to catch.
    @Test func theLineCheckerRejectsInjectedLines() {
        let good = "\nfrontend http-in\n  bind *:80\n\nbackend a_cluster\n\n  server node1 10.0.0.1:80 check\n"
        #expect(ServiceFuzzCheck.lineViolations(good, sections: 1, allowOptionLines: false).isEmpty)
        for bad in [
            good + "listen evil\n",
            good + "  acl pwn always_true\n",
            good + "  server node2 10.0.0.1:80 check\n  use_backend x if TRUE\n",
            good.replacing("10.0.0.1:80 check", with: "10.0.0.1:80 check\r"),
            good.replacing("server node1", with: "server nodeX"),
            good + "  balance roundrobin\n",
        ] {
            #expect(!ServiceFuzzCheck.lineViolations(bad, sections: 1, allowOptionLines: false).isEmpty, "\(bad.debugDescription)")
        }
        #expect(ServiceFuzzCheck.lineViolations(good + "  balance roundrobin\n", sections: 1, allowOptionLines: true).isEmpty)
        #expect(!ServiceFuzzCheck.lineViolations(good, sections: 2, allowOptionLines: false).isEmpty)
    }

    /// The seeds reach what the properties are about: a Marathon app with label lines renders them,
    /// minus the one that would open a section.
    @Test func labelLinesReachTheRenderer() throws {
        let snapshot = try MarathonApps.decode(appsWithTasks: Array(Self.marathonBodies[0].utf8))
        var health = MarathonHealthMemory()
        let mapping = MarathonMapper.services(
            from: snapshot, options: MarathonOptions(httpPort: 80, allowLabelConfig: true), health: &health)
        let services = mapping.services
        #expect(!services.isEmpty, "\(mapping.problems)")
        #expect(services.contains { $0.configLines.contains("balance roundrobin") })
        #expect(ServiceFuzzCheck.renderingViolations(services, allowOptionLines: true).isEmpty)
        #expect(!ServiceFuzzCheck.renderingViolations(services, allowOptionLines: false).isEmpty, "label lines are option lines")
    }

    @Test func canonicalEncodingRoundTrips() throws {
        let service = Service(
            id: try ServiceID("/a/b"), domains: [try DomainName("a.example.com"), try DomainName("b.example.com:8080")],
            transport: .udp, applicationProtocol: .http, servicePort: 8080,
            hosts: [try Host(ip: "::1", port: 1), try Host(ip: "db.example.com", port: 2)], source: "file:fuzz.json")
        let encoded = ServiceFuzzCheck.encode(service)
        guard case .success(let decoded) = ServiceFileDecoder.decode(Array(encoded.utf8), fileName: "fuzz.json") else {
            Issue.record("\(encoded) does not decode")
            return
        }
        #expect(decoded.service == service)
        #expect(ServiceFuzzCheck.jsonString("a\"\\\n\u{1}") == #""a\"\\\u000a\u0001""#)
    }

    func exportSeeds(_ seeds: [[UInt8]]) throws {
        guard let root = ProcessInfo.processInfo.environment["PROXYM_FUZZ_SEEDS"], !root.isEmpty else { return }
        let directory = root + "/FuzzServiceJSON"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, seed) in seeds.enumerated() where seed.count <= 64 << 10 {
            let path = directory + "/seed-\(index)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(seed)), "\(path)")
        }
    }
}

/// Inputs on which `FuzzServiceJSON` crashed or found a property violated, as byte literals a normal
/// `swift test` replays. `scripts/fuzz.sh` prints each artifact as a literal to paste here.
enum ServiceFuzzCrashers {
    struct Crasher: Sendable {
        let name: String
        let bytes: [UInt8]
    }

    static let all: [Crasher] = []
}
