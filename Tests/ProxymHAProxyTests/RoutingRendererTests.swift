import FoundationEssentials
import ProxymModel
import ProxymPosix
import ProxymTestSupport
import Testing

@testable import ProxymHAProxy

/// Issue 14's routing (``ServiceRouting``): rendered text against `GoldenRouting/<case>.cfg` (byte for
/// byte, `RECORD_GOLDEN=1` rewrites them), each through `haproxy -c` without an alert or a warning
/// (HTTPS variants with a real crt-list), the size computed exactly, any input order the same text,
/// and routing `.none` giving exactly the output of before.
@Suite struct RoutingRendererTests {
    static let directory: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/GoldenRouting"
    }()
    static let crtList = "/proxym-golden/tls/crt-list"
    static let hash = "$6$proxymsalt$vZra7LmY77nYmH9ih79.JK/W7hRH6FEU.e6U4NiaPOA8KQz7aB4/9jXCg7x6nqbhTf6YRSu.iNLe7jK1cG1K20"

    static func service(
        _ id: String, _ domains: [String], port: UInt16 = 80, hosts: [(String, Int)] = [("10.0.0.1", 8080)],
        app: ApplicationProtocol? = nil, _ routing: ServiceRouting = .none
    ) throws -> Service {
        var service = Service(
            id: try ServiceID(id), domains: try domains.map { try DomainName($0) }, applicationProtocol: app,
            servicePort: port, hosts: try hosts.map { try Host(ip: $0.0, port: $0.1) }, source: "test")
        service.routing = routing
        return service
    }

    static func paths(_ list: String...) throws -> [PathPrefix] { try list.map { try PathPrefix($0) } }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var services: @Sendable () throws -> [Service]
        var options: RenderOptions
        var description: String { name }
    }

    static let plain = RenderOptions(globalConfig: HTTPSRendererTests.global, httpPort: 80)

    static let cases: [Case] = [
        // Path routing on one vhost: /api/v2 before /api before the vhost alone; a weighted vhost first.
        Case(
            name: "paths",
            services: {
                [
                    try service("/web", ["shop.example.com"]),
                    try service("/api", ["shop.example.com"], hosts: [("10.0.0.2", 8080)], try ServiceRouting(paths: paths("/api"))),
                    try service("/api2", ["shop.example.com"], hosts: [("10.0.0.3", 8080)], try ServiceRouting(paths: paths("/api/v2", "/v2"))),
                    try service("/special", ["special.example.com"], hosts: [("10.0.0.4", 8080)], try ServiceRouting(weight: 5)),
                ]
            },
            options: plain),
        // Per-service backend features: sticky, balance, auth, proxypass, HTTP and TCP checks, a TCP bind
        // address, the service port of an HTTP service, the app-id frontend, a redirect without HTTPS.
        Case(
            name: "backend-features",
            services: {
                [
                    try service(
                        "/shop", ["shop.example.com"], hosts: [("10.0.0.1", 8080), ("10.0.0.2", 8080)],
                        try ServiceRouting(
                            sticky: true, balance: .leastconn,
                            healthCheck: try HealthCheck(kind: .http, path: try PathPrefix("/health"), intervalSeconds: 5, timeoutSeconds: 2, fall: 4, rise: 2),
                            bindServicePort: true, appID: "/shop")),
                    try service(
                        "/admin", ["admin.example.com"], port: 10002, app: .http,
                        try ServiceRouting(
                            paths: paths("/admin"), redirectToHttps: true, balance: .header("X-User"),
                            auth: try BasicAuth(realm: "staff only", users: [try BasicAuth.User(name: "ann", passwordHash: hash)]),
                            proxyPassPath: try PathPrefix("/admin"), bindServicePort: true)),
                    try service(
                        "/redis", [], port: 6379, hosts: [("10.0.0.5", 6379)],
                        try ServiceRouting(
                            balance: .source, bindAddress: try HostAddress("127.0.0.2"),
                            healthCheck: try HealthCheck(kind: .tcp, port: 16379, intervalSeconds: 3, timeoutSeconds: 1, fall: 2, rise: 1))),
                ]
            },
            options: {
                var options = plain
                options.appIDPort = 9091
                return options
            }()),
        // HTTPS on 8443 with ACME: redirects (location form for the port) after the challenge rule,
        // path rules on both frontends; slots (Runtime API) with a health check on the free slot.
        Case(
            name: "https-redirect-acme",
            services: {
                [
                    try service("/web", ["shop.example.com"], port: 8080, try ServiceRouting(redirectToHttps: true)),
                    try service(
                        "/api", ["shop.example.com"], port: 8080, hosts: [("10.0.0.2", 8080)],
                        try ServiceRouting(
                            paths: paths("/api"), redirectToHttps: true, sticky: true,
                            healthCheck: try HealthCheck(kind: .http))),
                ]
            },
            options: {
                var options = RenderOptions(globalConfig: HTTPSRendererTests.global, httpPort: 8080)
                options.https = HTTPSOptions(port: 8443, crtList: crtList, acmePort: 8402)
                options.slots = SlotTable(sections: [
                    "api_cluster": [.active(try! Host(ip: "10.0.0.2", port: 8080)), .free, .free],
                ])
                return options
            }()),
    ]

    @Test(arguments: cases)
    func rendersGolden(_ testCase: Case) throws {
        let services = try testCase.services()
        let rendering = HAProxyRenderer.renderWithNotes(services, options: testCase.options)
        let rendered = rendering.text
        let path = Self.directory + "/" + testCase.name + ".cfg"
        if ProcessEnvironment.value("RECORD_GOLDEN") == "1" {
            try writeFile(path, rendered)
            Issue.record("recorded \(path); unset RECORD_GOLDEN and run again")
            return
        }
        let expected = try readTextFile(path)
        if rendered != expected {
            Issue.record("\(testCase.name) differs from its golden\n\(TextDiff.diff(expected: expected, actual: rendered))")
        }
        #expect(rendering.notes.isEmpty, "\(rendering.notes)")
        #expect(HAProxyRenderer.sizeIsExact(services, options: testCase.options))
        #expect(HAProxyRenderer.render(services.reversed(), options: testCase.options) == rendered)
    }

    @Test(.enabled(if: HAProxyCheck.isAvailable && which("openssl") != nil), arguments: cases)
    func goldenPassesHAProxyCheck(_ testCase: Case) throws {
        try withTemporaryDirectory { dir in
            let pki = try TestPKI(directory: dir)
            let leaf = try pki.issue("shop.example.com")
            try writeFile(dir + "/crt-list", leaf.bundle + " !*\n")
            let golden = try readTextFile(Self.directory + "/" + testCase.name + ".cfg")
            try writeFile(dir + "/haproxy.cfg", golden.replacingOccurrences(Self.crtList, dir + "/crt-list"))
            let result = HAProxyCheck.check(configPath: dir + "/haproxy.cfg")
            #expect(result.exitStatus == 0, "\(testCase.name): \(result)")
            #expect(!result.output.contains("[ALERT]") && !result.output.contains("[WARNING]"), "\(testCase.name): \(result)")
        }
    }

    /// Routing `.none` on every service: exactly the text of before, whatever the options.
    @Test(arguments: cases)
    func noRoutingIsTheOutputOfBefore(_ testCase: Case) throws {
        var services = try testCase.services()
        for index in services.indices { services[index].routing = .none }
        var options = testCase.options
        options.appIDPort = nil
        let text = HAProxyRenderer.render(services, options: options)
        for word in ["{ path_beg", "cookie", "balance", "userlist", "httpchk", "redirect", "replace-path", "inter ", "_port"] {
            #expect(!text.contains(word), "\(word) in \(text)")
        }
    }

    /// The rule order: weight, then the longest path, then id; vhost+path before the vhost alone.
    @Test func ruleOrder() throws {
        let services = try Self.cases[0].services()
        let lines = HAProxyRenderer.render(services, options: Self.plain).split(separator: "\n").filter { $0.hasPrefix("  use_backend") }
        #expect(
            lines == [
                "  use_backend special_cluster if host_special",
                "  use_backend api2_cluster if host_api2 { path_beg /api/v2 }",
                "  use_backend api_cluster if host_api { path_beg /api }",
                "  use_backend api2_cluster if host_api2 { path_beg /v2 }",
                "  use_backend web_cluster if host_web",
            ])
    }

    /// Routing a TCP service cannot honour is noted, the rest rendered.
    @Test func httpOnlyFeaturesOnTCPAreNoted() throws {
        let redis = try Self.service("/redis", [], port: 6379, try ServiceRouting(sticky: true, balance: .first))
        let rendering = HAProxyRenderer.renderWithNotes([redis], options: Self.plain)
        #expect(rendering.notes.contains { "\($0)".contains("HTTP services only") })
        #expect(rendering.text.contains("  balance first\n"))
        #expect(!rendering.text.contains("cookie"))
    }

    /// An HTTP service's own port that is taken keeps the service routed by name, noted.
    @Test func takenServicePortIsNoted() throws {
        let redis = try Self.service("/redis", [], port: 10001)
        let web = try Self.service("/web", ["web.example.com"], port: 10001, app: .http, try ServiceRouting(bindServicePort: true))
        let rendering = HAProxyRenderer.renderWithNotes([redis, web], options: Self.plain)
        #expect(rendering.notes.contains { "\($0)".contains("10001 is already bound") })
        #expect(rendering.text.contains("use_backend web_cluster if host_web"))
        #expect(!rendering.text.contains("web_port"))
    }
}
