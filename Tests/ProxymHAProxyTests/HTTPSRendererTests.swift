import FoundationEssentials
import ProxymModel
import ProxymPosix
import ProxymTestSupport
import Testing

@testable import ProxymHAProxy
import ProxymTestBuilders

/// The HTTPS frontend: rendered text against `GoldenHTTPS/<case>.cfg` (byte for byte, `RECORD_GOLDEN=1`
/// rewrites them), every golden through `haproxy -c` with a real crt-list and certificate, and the text's
/// size computed exactly.
@Suite struct HTTPSRendererTests {
    static let crtList = "/proxym-golden/tls/crt-list"
    static let directory: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/GoldenHTTPS"
    }()

    static let global = """
        global
          maxconn 256

        defaults
          mode http
          timeout connect 5s
          timeout client 30s
          timeout server 30s

        """

    static func service(
        _ id: String, _ domains: [String], port: UInt16, hosts: [(String, Int)], tls: ServiceTLS = .none
    ) throws -> Service {
        try makeService(id, domains: domains, port: port, hosts: hosts, tls: tls)
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var services: @Sendable () throws -> [Service]
        var options: RenderOptions
        var description: String { name }
    }

    static let cases: [Case] = [
        // HTTP 80 and HTTPS 443: no port patterns, HSTS on one service, a TCP service beside.
        Case(
            name: "https-basic",
            services: {
                [
                    try service(
                        "/shop", ["shop.example.com", "www.shop.example.com"], port: 80, hosts: [("10.0.0.1", 8080)],
                        tls: try ServiceTLS(hstsMaxAge: 31_536_000)),
                    try service("/api", ["api.example.com"], port: 80, hosts: [("10.0.0.2", 8080)]),
                    try service("/redis", [], port: 6379, hosts: [("10.0.0.3", 6379)]),
                ]
            },
            options: {
                var options = RenderOptions(globalConfig: global, httpPort: 80)
                options.https = HTTPSOptions(port: 443, crtList: crtList)
                return options
            }()),
        // Other ports (host patterns with the port on each frontend), a bind address, idle-close, ACME
        // with one service opting out, and a passthrough TCP service beside the terminated ones.
        Case(
            name: "https-acme-passthrough",
            services: {
                [
                    try service(
                        "/shop", ["shop.example.com"], port: 8080, hosts: [("10.0.0.1", 8080)],
                        tls: try ServiceTLS(hstsMaxAge: 300)),
                    try service(
                        "/manual", ["manual.example.com"], port: 8080, hosts: [("10.0.0.2", 8080)],
                        tls: try ServiceTLS(acme: false)),
                    try service(
                        "/db", ["db.example.com", "DB2.example.com"], port: 5432, hosts: [("10.0.0.3", 5432)],
                        tls: try ServiceTLS(passthrough: true)),
                    try service("/redis", [], port: 6379, hosts: [("10.0.0.4", 6379)]),
                ]
            },
            options: {
                var options = RenderOptions(
                    globalConfig: global, httpPort: 8080, bindAddress: "127.0.0.1", idleCloseOnResponse: true)
                options.https = HTTPSOptions(port: 8443, crtList: crtList, acmePort: 8402)
                return options
            }()),
    ]

    @Test(arguments: cases)
    func rendersGolden(_ testCase: Case) throws {
        let services = try testCase.services()
        let rendered = HAProxyRenderer.render(services, options: testCase.options)
        let path = Self.directory + "/" + testCase.name + ".cfg"
        if ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" {
            try Data(rendered.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            Issue.record("recorded \(path); unset RECORD_GOLDEN and run again")
            return
        }
        let expected = String(decoding: try #require(FileManager.default.contents(atPath: path), "no \(path)"), as: UTF8.self)
        if rendered != expected {
            Issue.record("\(testCase.name) differs from its golden\n\(TextDiff.diff(expected: expected, actual: rendered))")
        }
        #expect(HAProxyRenderer.sizeIsExact(services, options: testCase.options))
        #expect(HAProxyRenderer.render(services.reversed(), options: testCase.options) == rendered)
        // Without HTTPS: exactly the output of before (no trace of any TLS wish).
        var plain = testCase.options
        plain.https = nil
        var untouched = services
        for index in untouched.indices { untouched[index].tls = .none }
        #expect(HAProxyRenderer.render(services, options: plain) == HAProxyRenderer.render(untouched, options: plain))
        #expect(!HAProxyRenderer.render(services, options: plain).contains("https"))
    }

    /// Each golden, with its crt-list path pointing at a real one (a certificate made by openssl), passes
    /// `haproxy -c` without an alert.
    @Test(.enabled(if: HAProxyCheck.isAvailable && which("openssl") != nil), arguments: cases)
    func goldenPassesHAProxyCheck(_ testCase: Case) throws {
        try withTemporaryDirectory { dir in
            let pki = try TestPKI(directory: dir)
            let leaf = try pki.issue("shop.example.com")
            try writeFile(dir + "/crt-list", leaf.bundle + " !*\n")
            let golden = String(decoding: try #require(FileManager.default.contents(atPath: Self.directory + "/" + testCase.name + ".cfg")), as: UTF8.self)
            try writeFile(dir + "/haproxy.cfg", golden.replacingOccurrences(Self.crtList, dir + "/crt-list"))
            let result = HAProxyCheck.check(configPath: dir + "/haproxy.cfg")
            #expect(result.exitStatus == 0, "\(testCase.name): \(result)")
            #expect(!result.output.contains("[ALERT]") && !result.output.contains("[WARNING]"), "\(testCase.name): \(result)")
        }
    }

    @Test func wishesThatCannotBeMetAreNotedAndCostNothingElse() throws {
        var options = RenderOptions(globalConfig: Self.global, httpPort: 80)
        options.https = HTTPSOptions(port: 443, crtList: Self.crtList)
        let services = [
            try Self.service("/web", ["web.example.com"], port: 80, hosts: [("10.0.0.1", 80)], tls: try ServiceTLS(passthrough: true)),
            try Self.service("/steal", ["web.example.com"], port: 9000, hosts: [("10.0.0.2", 443)], tls: try ServiceTLS(passthrough: true)),
            try Self.service("/anonymous", [], port: 9001, hosts: [("10.0.0.3", 443)], tls: try ServiceTLS(passthrough: true)),
            try Self.service("/onhttps", [], port: 443, hosts: [("10.0.0.4", 443)]),
        ]
        let rendering = HAProxyRenderer.renderWithNotes(services, options: options)
        #expect(rendering.notes.map(\.description).sorted() == [
            "service /anonymous (test): TLS passthrough left out: it has no domain",
            "service /onhttps (test): skipped, port 443 is already bound by the HTTP frontend",
            "service /steal (test): TLS passthrough left out: web.example.com is already served on the HTTPS port",
            "service /web (test): TLS passthrough left out: it is an HTTP service",
        ].sorted())
        // No passthrough took place: the HTTPS frontend binds the port itself.
        #expect(!rendering.text.contains("https-sni"))
        #expect(rendering.text.contains("listen steal\n"))
        #expect(HAProxyRenderer.sizeIsExact(services, options: options))
    }

    @Test(arguments: 0..<40)
    func sizeIsExactForRandomMixes(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        var services: [Service] = []
        for index in 0..<Int(random.next() % 6) {
            let http = random.next() % 2 == 0
            let domains = (0..<Int(random.next() % 3)).map { "s\(index)d\($0).example.com" }
            let tls = try ServiceTLS(
                hstsMaxAge: random.next() % 3 == 0 ? Int(random.next() % 60_000_000) : nil,
                passthrough: random.next() % 3 == 0, acme: random.next() % 4 != 0)
            services.append(
                try Self.service(
                    "/s\(index)", domains, port: http ? 8080 : UInt16(10_000 + index),
                    hosts: [("10.0.\(index).1", 80 + index)], tls: tls))
        }
        var options = RenderOptions(
            globalConfig: Self.global, httpPort: 8080, bindAddress: random.next() % 2 == 0 ? nil : "127.0.0.1",
            idleCloseOnResponse: random.next() % 2 == 0)
        options.https = HTTPSOptions(
            port: random.next() % 2 == 0 ? 443 : 8443, crtList: Self.crtList,
            acmePort: random.next() % 2 == 0 ? 8402 : nil)
        #expect(HAProxyRenderer.sizeIsExact(services, options: options))
    }
}
