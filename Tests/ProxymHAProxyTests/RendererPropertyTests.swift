import FoundationEssentials
import ProxymHAProxy
import ProxymModel
import ProxymTestSupport
import Testing

/// Random but valid services built from hostile-looking inputs (ids and host names that read like
/// HAProxy keywords, colliding mangled names, ports in use twice, upper case, control characters in
/// option lines): the output must have exactly the structure the renderer means, line by line.
@Suite struct RendererPropertyTests {
    /// SplitMix64 (ProxymTestSupport): a fixed seed gives the same cases on every run and platform.
    typealias SeededRandom = SplitMix64


    static let idSegments = [
        "a", "b", "a_b", "listen", "backend", "frontend", "http-in", "-", "..", ".", "_", "x-y.z", "Global",
        "server", "1", "acl", "use_backend", "cluster", "a_b_cluster", String(repeating: "n", count: 60),
    ]
    static let labels = ["a", "b", "listen", "xn--bcher-kva", "my_host", "0", "a-b", "Z", "backend"]
    static let hostNames = ["listen.invalid", "backend.invalid", "agent-1.mesos.invalid", "localhost"]
    static let ipv6 = ["::1", "2001:db8::1", "fe80::1:2", "::ffff:10.0.0.1", "[2001:DB8::A]"]
    static let httpOptionLines = [
        "balance leastconn", "\tbalance\troundrobin\r", "\u{0}option forwardfor\u{7f}", "option httpclose\r\n",
        "   ", "", "listen evil", "\u{1b}\u{7}timeout server 5s", "backend other\nretries 3",
        "http-request set-header X-Proxym yes # comment\u{85}",
    ]
    static let tcpOptionLines = [
        "option tcplog", "\tbalance\tsource\r", "\u{0}option tcpka", "frontend sneaky", "retries 2", "\r\n",
    ]

    static func pick<T>(_ items: [T], _ random: inout SeededRandom) -> T {
        items[Int(random.next() % UInt64(items.count))]
    }

    static func makeCase(seed: UInt64) throws -> (services: [Service], options: RenderOptions) {
        var random = SeededRandom(seed: seed)
        let httpPort: UInt16 = random.next() % 2 == 0 ? 80 : 8080
        let bindAddress: String? = pick([nil, "127.0.0.1", "::1"], &random)
        var services: [Service] = []
        var serviceOptions: [ServiceOptionsKey: ServiceOptions] = [:]
        for _ in 0..<(3 + Int(random.next() % 12)) {
            var id = random.next() % 2 == 0 ? "/" : ""
            id += (0..<(1 + Int(random.next() % 3))).map { _ in pick(idSegments, &random) }.joined(separator: "/")
            var domains: [DomainName] = []
            for _ in 0..<Int(random.next() % 3) {
                var name = (0..<(1 + Int(random.next() % 3))).map { _ in pick(labels, &random) }.joined(separator: ".")
                if random.next() % 5 == 0 { name += ":\(1 + random.next() % 65535)" }
                domains.append(try DomainName(name))
            }
            var hosts: [Host] = []
            for _ in 0..<Int(random.next() % 4) {
                let ip: String
                switch random.next() % 6 {
                case 0: ip = pick(hostNames, &random)
                case 1: ip = pick(ipv6, &random)
                default: ip = "10.\(random.next() % 256).\(random.next() % 256).\(random.next() % 256)"
                }
                hosts.append(try Host(ip: ip, port: Int(1 + random.next() % 65535)))
            }
            let service = Service(
                id: try ServiceID(id),
                domains: domains,
                transport: random.next() % 6 == 0 ? .udp : .tcp,
                applicationProtocol: pick([nil, nil, .http, .tcp], &random),
                servicePort: pick([80, 8080, 5432, 6379, 7000, 7001, 9000], &random),
                hosts: hosts,
                source: "seed-\(seed)"
            )
            services.append(service)
            if random.next() % 2 == 0 {
                let isHTTP = service.isHTTP(httpPort: httpPort)
                let lines = (0..<Int(random.next() % 5)).map { _ in
                    pick(isHTTP ? httpOptionLines : tcpOptionLines, &random)
                }
                let extra = try (0..<Int(random.next() % 2)).map { _ in
                    try DomainName("extra-\(random.next() % 3).example.com")
                }
                serviceOptions[ServiceOptionsKey(for: service)] = ServiceOptions(
                    configLines: lines,
                    extraDomains: extra
                )
            }
        }
        let global =
            "global\n  maxconn 100\n\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n"
        let options = RenderOptions(
            globalConfig: global,
            httpPort: httpPort,
            bindAddress: bindAddress,
            serviceOptions: serviceOptions
        )
        return (services, options)
    }

    static let seeds: [UInt64] = Array(1...200)

    @Test(arguments: seeds)
    func structureIsExactlyWhatTheRendererMeans(seed: UInt64) throws {
        let (services, options) = try Self.makeCase(seed: seed)
        let rendering = HAProxyRenderer.renderWithNotes(services, options: options)
        let text = rendering.text

        // No control character but the newline anywhere.
        #expect(!text.unicodeScalars.contains { $0 != "\n" && ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) })
        #expect(text.hasPrefix(options.globalConfig))
        let lines = text.dropFirst(options.globalConfig.count).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")  // ends with a newline

        // Every line is one of the renderer's own shapes; nothing else can appear.
        let name = "[A-Za-z0-9._-]+"
        let allowed: [Regex<AnyRegexOutput>] = [
            try Regex("frontend http-in"),
            try Regex("  bind (\\*|127\\.0\\.0\\.1|\\[::1\\]|):[0-9]+"),
            try Regex("  acl host_\(name) hdr\\(host\\) -i [a-z0-9._:-]+( [a-z0-9._-]+:8080)?"),
            try Regex("  use_backend (\(name))_cluster if host_\(name)"),
            try Regex("backend \(name)_cluster"),
            try Regex("listen \(name)"),
            try Regex("  mode tcp"),
            try Regex("  server node[1-9][0-9]* ([0-9.]+|\\[[0-9a-f:.]+\\]):[0-9]+ check"),
            try Regex("  server node[1-9][0-9]* [a-z0-9.-]+:[0-9]+ check init-addr last,libc,none"),
            try Regex("  (balance|option|timeout|retries|http-request) [ -~\u{85}]+"),
            try Regex(""),
        ]
        for line in lines.dropLast() {
            #expect(allowed.contains { line.wholeMatch(of: $0) != nil }, "seed \(seed): unexpected line \"\(line)\"")
        }

        // Count by an independent reading of the inputs.
        let kept = Self.keptServices(services, options: options)
        let http = kept.filter { $0.isHTTP(httpPort: options.httpPort) }
        let tcp = kept.filter { !$0.isHTTP(httpPort: options.httpPort) }
        func domains(_ service: Service) -> Int {
            let extra = options.serviceOptions[ServiceOptionsKey(for: service)]?.extraDomains ?? []
            return Set(service.domains + extra).count
        }
        func optionCount(_ service: Service) -> Int {
            let raw = options.serviceOptions[ServiceOptionsKey(for: service)]?.configLines ?? []
            return raw.flatMap { $0.split(separator: "\n") }.filter { line in
                let cleaned = line.unicodeScalars.filter {
                    $0 == "\t" || !($0.value < 0x20 || (0x7F...0x9F).contains($0.value))
                }
                .map { $0 == "\t" ? " " : String($0) }.joined().split(separator: " ")
                return !cleaned.isEmpty && !["listen", "backend", "frontend"].contains(String(cleaned[0]))
            }.count
        }
        let aclCount = http.map(domains).reduce(0, +)
        let routed = http.filter { domains($0) > 0 }.count
        let servers = kept.map(\.hosts.count).reduce(0, +)
        let optionLines = kept.map(optionCount).reduce(0, +)

        func count(_ prefix: String) -> Int { lines.filter { $0.hasPrefix(prefix) }.count }
        #expect(count("frontend ") == 1)
        #expect(count("  acl ") == aclCount)
        #expect(count("  use_backend ") == routed)
        #expect(count("backend ") == http.count)
        #expect(count("listen ") == tcp.count)
        #expect(count("  mode tcp") == tcp.count)
        #expect(count("  bind ") == 1 + tcp.count)
        #expect(count("  server ") == servers)
        let frontendLines = 3 + (aclCount > 0 ? 1 + aclCount : 0) + (routed > 0 ? 1 + routed : 0)
        let sectionLines = http.count * 3 + tcp.count * 5 + optionLines + servers
        #expect(lines.count - 1 == frontendLines + sectionLines, "seed \(seed)")

        // Section names are unique and every use_backend names a rendered backend.
        let sectionNames = lines.filter { $0.hasPrefix("backend ") || $0.hasPrefix("listen ") }
            .map { $0.split(separator: " ")[1] }
        #expect(Set(sectionNames).count == sectionNames.count)
        for line in lines where line.hasPrefix("  use_backend ") {
            #expect(sectionNames.contains(line.split(separator: " ")[1]))
        }

        // Notes account for every service that is missing.
        let skipped = rendering.notes.filter(\.isSkipped).count
        #expect(kept.count + skipped == services.count)
    }

    /// A few random configurations through `haproxy -c` as well.
    @Test(
        .enabled(if: HAProxyCheck.isAvailable, "haproxy is not in PATH"),
        .timeLimit(.minutes(1)),
        arguments: Array(seeds.prefix(15))
    )
    func randomConfigurationsPassHAProxyCheck(seed: UInt64) throws {
        let (services, options) = try Self.makeCase(seed: seed)
        let text = HAProxyRenderer.render(services, options: options)
        let path = "/tmp/proxym-render-property-\(seed)-\(ProcessInfo.processInfo.processIdentifier).cfg"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = HAProxyCheck.check(configPath: path)
        #expect(result.exitStatus == 0, "seed \(seed): \(result)\n\(text)")
        #expect(!result.output.contains("[ALERT]"), "seed \(seed): \(result)")
    }

    /// The services the renderer should keep: TCP transport, first (in its order) to claim a section name
    /// and, for TCP, a port. Written independently from the renderer's planner.
    static func keptServices(_ services: [Service], options: RenderOptions) -> [Service] {
        var names: Set<String> = ["http-in"]
        var ports: Set<UInt16> = [options.httpPort]
        var kept: [Service] = []
        let ordered = services.sorted { a, b in
            if a.id != b.id { return a.id < b.id }
            if a.servicePort != b.servicePort { return a.servicePort < b.servicePort }
            if a.transport != b.transport { return a.transport.rawValue < b.transport.rawValue }
            if a.applicationProtocol != b.applicationProtocol {
                return (a.applicationProtocol?.rawValue ?? "") < (b.applicationProtocol?.rawValue ?? "")
            }
            if a.domains != b.domains { return a.domains.lexicographicallyPrecedes(b.domains) }
            return a.hosts.lexicographicallyPrecedes(b.hosts)
        }
        for service in ordered where service.transport == .tcp {
            let isHTTP = service.isHTTP(httpPort: options.httpPort)
            let name = service.id.proxyName + (isHTTP ? "_cluster" : "")
            guard !names.contains(name) else { continue }
            if !isHTTP {
                guard !ports.contains(service.servicePort) else { continue }
                ports.insert(service.servicePort)
            }
            names.insert(name)
            kept.append(service)
        }
        return kept
    }
}
