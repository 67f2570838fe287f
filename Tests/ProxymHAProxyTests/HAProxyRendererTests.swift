import ProxymHAProxy
import ProxymModel
import ProxymTestSupport
import Testing
import ProxymTestBuilders

/// The text after the global config.
private func body(_ services: [Service], _ options: RenderOptions = RenderOptions(globalConfig: "")) -> String {
    HAProxyRenderer.render(services, options: options)
}

@Suite struct HAProxyRendererTests {
    // MARK: - The original's layout

    @Test func originalHTTPLayoutByteForByte() throws {
        let one = try makeService(
            "/one/webapp",
            domains: ["one.app.local"],
            port: 80,
            hosts: [("10.10.10.12", 31005), ("10.10.10.11", 31002)]
        )
        let two = try makeService("/two/webapp", domains: ["two.app.local"], port: 80, hosts: [("10.10.10.10", 31002)])
        let options = RenderOptions(
            globalConfig: "###GLOBAL CONFIG###\n",
            serviceOptions: [
                ServiceOptionsKey(domain: "one.app.local", servicePort: 80): ServiceOptions(
                    configLines: ["balance leastconn", "option httpclose", "option forwardfor"],
                    extraDomains: [try DomainName("one-alt.app.local"), try DomainName("one-another-alt.app.local")]
                ),
                ServiceOptionsKey(domain: "two.app.local", servicePort: 80): ServiceOptions(configLines: [
                    "balance leastconn"
                ]),
            ]
        )
        let expected = """
            ###GLOBAL CONFIG###

            frontend http-in
              bind *:80

              acl host_one_webapp hdr(host) -i one.app.local
              acl host_one_webapp hdr(host) -i one-alt.app.local
              acl host_one_webapp hdr(host) -i one-another-alt.app.local
              acl host_two_webapp hdr(host) -i two.app.local

              use_backend one_webapp_cluster if host_one_webapp
              use_backend two_webapp_cluster if host_two_webapp

            backend one_webapp_cluster
              balance leastconn
              option httpclose
              option forwardfor

              server node1 10.10.10.11:31002 check
              server node2 10.10.10.12:31005 check

            backend two_webapp_cluster
              balance leastconn

              server node1 10.10.10.10:31002 check

            """
        #expect(HAProxyRenderer.render([two, one], options: options) == expected)
    }

    /// Improvement 7: `listen <name> :<port>` is rejected by HAProxy 2.6, so the port moves to a `bind` line.
    @Test func tcpServiceIsAListenWithABindLine() throws {
        let redis = try makeService("/redis", port: 41000, hosts: [("10.10.10.10", 31001)])
        #expect(
            body([redis]) == """

                frontend http-in
                  bind *:80

                listen redis
                  bind :41000
                  mode tcp

                  server node1 10.10.10.10:31001 check

                """
        )
    }

    // MARK: - Improvement 1: bind address and HTTP port

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("::1", "[::1]"), ("[::1]", "[::1]"), ("0:0:0:0:0:0:0:1", "[::1]"),
        ("::", "[::]"), ("0.0.0.0", "0.0.0.0"),
    ])
    func bindAddressIsUsedForEveryListener(address: String, rendered: String) throws {
        let web = try makeService("/web", domains: ["web.example.com"], port: 8080, hosts: [("10.0.0.1", 80)])
        let db = try makeService("/db", port: 5432, hosts: [("10.0.0.2", 5432)])
        let text = body([web, db], RenderOptions(globalConfig: "", httpPort: 8080, bindAddress: address))
        #expect(text.contains("\nfrontend http-in\n  bind \(rendered):8080\n"))
        #expect(text.contains("\nlisten db\n  bind \(rendered):5432\n  mode tcp\n"))
    }

    @Test func withoutBindAddressHTTPBindsStarAndTCPBindsThePortOnly() throws {
        let db = try makeService("/db", port: 5432, hosts: [("10.0.0.2", 5432)])
        let text = body([db], RenderOptions(globalConfig: "", httpPort: 8000))
        #expect(text.contains("\nfrontend http-in\n  bind *:8000\n"))
        #expect(text.contains("\nlisten db\n  bind :5432\n"))
    }

    @Test func bindAddressCannotInjectALine() {
        let text = body([], RenderOptions(globalConfig: "", bindAddress: "1.2.3.4\n  bind :22"))
        #expect(!text.contains("\n  bind :22"))
        #expect(text.split(separator: "\n").count == 2)
    }

    // MARK: - Improvement 2: the frontend is always there

    @Test func noServicesStillRendersTheFrontend() {
        #expect(body([]) == "\nfrontend http-in\n  bind *:80\n")
        #expect(
            HAProxyRenderer.render([], options: RenderOptions(globalConfig: "global\n"))
                == "global\n\nfrontend http-in\n  bind *:80\n"
        )
    }

    @Test func onlyTCPServicesRenderAFrontendWithoutACLs() throws {
        let db = try makeService("/db", port: 5432, hosts: [("10.0.0.2", 5432)])
        #expect(body([db]).hasPrefix("\nfrontend http-in\n  bind *:80\n\nlisten db\n"))
    }

    // MARK: - Improvement 3: Host header with port

    @Test func nonStandardHTTPPortAlsoMatchesDomainWithPort() throws {
        let web = try makeService(
            "/web",
            domains: ["shop.example.com", "shop.example.com:9443"],
            port: 8080,
            hosts: [("10.0.0.1", 80)]
        )
        let text = body([web], RenderOptions(globalConfig: "", httpPort: 8080))
        #expect(text.contains("  acl host_web hdr(host) -i shop.example.com shop.example.com:8080\n"))
        #expect(text.contains("  acl host_web hdr(host) -i shop.example.com:9443\n"))
    }

    @Test func port80MatchesTheBareDomainOnly() throws {
        let web = try makeService("/web", domains: ["shop.example.com"], port: 80, hosts: [("10.0.0.1", 80)])
        #expect(body([web]).contains("  acl host_web hdr(host) -i shop.example.com\n"))
    }

    @Test func extraDomainsFollowTheServiceDomainsWithoutRepeats() throws {
        let web = try makeService("/web", domains: ["a.example.com", "b.example.com"], port: 80)
        let options = RenderOptions(
            globalConfig: "",
            serviceOptions: [
                ServiceOptionsKey(domain: "a.example.com", servicePort: 80): ServiceOptions(extraDomains: [
                    try DomainName("c.example.com"), try DomainName("B.example.com"),
                ])
            ]
        )
        let acl = body([web], options).split(separator: "\n").filter { $0.hasPrefix("  acl ") }
        #expect(
            acl == [
                "  acl host_web hdr(host) -i a.example.com", "  acl host_web hdr(host) -i b.example.com",
                "  acl host_web hdr(host) -i c.example.com",
            ]
        )
    }

    // MARK: - Improvement 4: host names and IPv6 servers

    @Test func hostNameServersGetInitAddrAndIPv6IsBracketed() throws {
        let app = try makeService(
            "/app",
            port: 7000,
            hosts: [("agent-7.example.com", 31000), ("2001:db8::1", 31001), ("10.0.0.1", 31002)]
        )
        let servers = body([app]).split(separator: "\n").filter { $0.hasPrefix("  server ") }
        #expect(
            servers == [
                "  server node1 10.0.0.1:31002 check",
                "  server node2 [2001:db8::1]:31001 check",
                "  server node3 agent-7.example.com:31000 check init-addr last,libc,none",
            ]
        )
    }

    // MARK: - Improvement 5: no control characters from free text

    @Test func optionLinesAreCleaned() throws {
        let web = try makeService("/web", domains: ["web.example.com"], port: 80)
        let options = RenderOptions(
            globalConfig: "",
            serviceOptions: [
                ServiceOptionsKey(domain: "web.example.com", servicePort: 80): ServiceOptions(configLines: [
                    "\tbalance\tleastconn\r", "", "   ", "\u{0}option\u{1b} forwardfor\u{7f}",
                    "option httpclose\r\ntimeout server 5s\n\u{85}",  // a whole file as one element
                    "http-request set-header X-A b\u{2028}",
                ])
            ]
        )
        let text = body([web], options)
        #expect(
            text.hasSuffix(
                """
                backend web_cluster
                  balance leastconn
                  option forwardfor
                  option httpclose
                  timeout server 5s
                  http-request set-header X-A b\u{2028}


                """
            )
        )
        #expect(!text.unicodeScalars.contains { $0 != "\n" && ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) })
    }

    @Test func globalConfigLosesControlCharactersAndEndsWithANewline() {
        let text = HAProxyRenderer.render(
            [],
            options: RenderOptions(globalConfig: "global\r\n\tmaxconn 10\u{7}\r\ndefaults\u{0}\r\n  mode http")
        )
        #expect(text == "global\n\tmaxconn 10\ndefaults\n  mode http\n\nfrontend http-in\n  bind *:80\n")
    }

    @Test func optionLineOpeningASectionIsDroppedAndReported() throws {
        let web = try makeService("/web", domains: ["web.example.com"], port: 80, hosts: [("10.0.0.1", 80)])
        let options = RenderOptions(
            globalConfig: "",
            serviceOptions: [
                ServiceOptionsKey(domain: "web.example.com", servicePort: 80): ServiceOptions(configLines: [
                    "balance leastconn", "listen evil", "\tbackend  other", "backendless-word stays",
                ])
            ]
        )
        let rendering = HAProxyRenderer.renderWithNotes([web], options: options)
        #expect(rendering.text.contains("backend web_cluster\n  balance leastconn\n  backendless-word stays\n\n"))
        #expect(!rendering.text.contains("evil"))
        #expect(
            rendering.notes.map(\.kind) == [
                .optionLineDropped(line: "listen evil", reason: "'listen' would open a new section"),
                .optionLineDropped(line: "backend  other", reason: "'backend' would open a new section"),
            ]
        )
        #expect(rendering.notes.allSatisfy { !$0.isSkipped })
    }

    /// Issue 11, class 1: every section keyword however quoted or escaped, and `.if 0` in one service
    /// with `.endif` in another, reach neither section; haproxy -c accepts the result with each
    /// service's servers in its own section (every disguise would have opened a section or hidden one).
    @Test(.enabled(if: HAProxyCheck.isAvailable, "haproxy is not in PATH"))
    func noOptionLineEndsOrOpensASection() throws {
        let a = try makeService("/a", domains: ["a.example.com"], port: 80, hosts: [("10.0.0.1", 80)])
        let b = try makeService("/b", port: 7000, hosts: [("10.0.0.2", 7000)])
        var hostile: [String] = [".if 0", "\".if\" 0"]
        for keyword in OptionLine.sectionKeywords.sorted() {
            let head = String(keyword.prefix(1)), rest = String(keyword.dropFirst())
            hostile += ["\"\(keyword)\" x", "'\(keyword)' x", "\(head)\"\(rest)\" x", "\\x\(String(keyword.utf8.first!, radix: 16))\(rest) x", "\(keyword) x"]
        }
        let options = RenderOptions(
            globalConfig: "global\n  maxconn 10\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n",
            serviceOptions: [
                ServiceOptionsKey(domain: "a.example.com", servicePort: 80): ServiceOptions(configLines: ["balance roundrobin"] + hostile),
                ServiceOptionsKey(domain: "", servicePort: 7000): ServiceOptions(configLines: [".endif", "'.endif'", "balance leastconn"]),
            ])
        let rendering = HAProxyRenderer.renderWithNotes([a, b], options: options)
        #expect(rendering.notes.count == hostile.count + 2)
        #expect(rendering.text.contains("backend a_cluster\n  balance roundrobin\n\n  server node1 10.0.0.1:80"), "\(rendering.text)")
        #expect(rendering.text.contains("listen b\n  bind :7000\n  mode tcp\n  balance leastconn\n\n  server node1 10.0.0.2:7000"), "\(rendering.text)")
        for line in hostile + [".endif"] { #expect(!rendering.text.contains(line), "\(line)") }
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/haproxy.cfg", rendering.text)
            let result = HAProxyCheck.check(configPath: dir + "/haproxy.cfg")
            #expect(result.exitStatus == 0, "\(result)")
        }
    }

    // MARK: - Improvement 6: determinism

    @Test func inputOrderDoesNotMatter() throws {
        let services = [
            try makeService("/b", domains: ["b.example.com"], port: 80, hosts: [("10.0.0.2", 80)]),
            try makeService("/a", domains: ["a.example.com"], port: 80, hosts: [("10.0.0.1", 80)]),
            try makeService("/c", port: 7000, hosts: [("10.0.0.3", 7000)]),
            try makeService("/c", port: 7001, hosts: [("10.0.0.4", 7001)], source: "other"),
            try makeService("/d", port: 53, transport: .udp),
        ]
        let options = RenderOptions(globalConfig: "g\n")
        let reference = HAProxyRenderer.renderWithNotes(services, options: options)
        // All 120 permutations.
        func permutations(_ items: [Service]) -> [[Service]] {
            guard items.count > 1 else { return [items] }
            return items.indices.flatMap { index -> [[Service]] in
                var rest = items
                let first = rest.remove(at: index)
                return permutations(rest).map { [first] + $0 }
            }
        }
        for permutation in permutations(services) {
            #expect(HAProxyRenderer.renderWithNotes(permutation, options: options) == reference)
        }
        // Same id twice: the lower port wins the name, whatever the order.
        #expect(reference.text.contains("listen c\n  bind :7000\n"))
        #expect(!reference.text.contains(":7001"))
    }

    // MARK: - Services without hosts, domains; UDP; conflicts

    @Test func serviceWithoutHostsIsRenderedWithoutServers() throws {
        let web = try makeService("/web", domains: ["web.example.com"], port: 80)
        let db = try makeService("/db", port: 5432)
        let rendering = HAProxyRenderer.renderWithNotes([web, db], options: RenderOptions(globalConfig: ""))
        #expect(rendering.text.hasSuffix("\nbackend web_cluster\n\n\nlisten db\n  bind :5432\n  mode tcp\n\n"))
        #expect(rendering.text.contains("  use_backend web_cluster if host_web\n"))
        #expect(rendering.notes.map(\.kind) == [.noHosts, .noHosts])
    }

    @Test func httpServiceWithoutDomainsGetsABackendButNoRoute() throws {
        let web = try makeService("/web", port: 80, hosts: [("10.0.0.1", 80)])
        let rendering = HAProxyRenderer.renderWithNotes([web], options: RenderOptions(globalConfig: ""))
        #expect(
            rendering.text
                == "\nfrontend http-in\n  bind *:80\n\nbackend web_cluster\n\n  server node1 10.0.0.1:80 check\n"
        )
        #expect(rendering.notes.map(\.kind) == [.noDomains])
    }

    @Test func udpServicesAreSkippedWithANote() throws {
        let dns = try makeService(
            "/dns",
            domains: ["dns.example.com"],
            port: 53,
            hosts: [("10.0.0.1", 53)],
            transport: .udp
        )
        let quic = try makeService("/quic", domains: ["q.example.com"], port: 80, transport: .udp, protocol: .http)
        let rendering = HAProxyRenderer.renderWithNotes([dns, quic], options: RenderOptions(globalConfig: ""))
        #expect(rendering.text == "\nfrontend http-in\n  bind *:80\n")
        #expect(rendering.notes.map(\.kind) == [.udpSkipped, .udpSkipped])
        #expect(rendering.notes.allSatisfy { $0.isSkipped })
    }

    @Test func applicationProtocolOverridesThePortRule() throws {
        let admin = try makeService("/admin", domains: ["admin.example.com"], port: 9090, protocol: .http)
        let raw = try makeService("/raw", port: 8080, protocol: .tcp)
        let text = body([admin, raw], RenderOptions(globalConfig: "", httpPort: 8080))
        #expect(text.contains("backend admin_cluster\n"))
        #expect(!text.contains("listen admin"))
        #expect(!text.contains("raw"))  // tcp on the HTTP port: skipped, see portConflicts
    }

    @Test func nameConflictsKeepTheFirstIDAndReportTheRest() throws {
        let services = [
            try makeService("a_b", domains: ["x.example.com"], port: 80),
            try makeService("/a/b", domains: ["y.example.com"], port: 80),
            try makeService("/http-in", port: 7000),
            try makeService("/a/b_cluster", port: 7001),
        ]
        let rendering = HAProxyRenderer.renderWithNotes(services, options: RenderOptions(globalConfig: ""))
        #expect(rendering.text.contains("  acl host_a_b hdr(host) -i y.example.com\n"))
        #expect(!rendering.text.contains("x.example.com"))
        #expect(!rendering.text.contains("listen"))
        let skipped = rendering.notes.filter(\.isSkipped)
        #expect(
            skipped.map(\.kind) == [
                .nameTaken(name: "a_b_cluster", by: try ServiceID("/a/b")),
                .nameTaken(name: "http-in", by: nil),
                .nameTaken(name: "a_b_cluster", by: try ServiceID("/a/b")),
            ]
        )
        #expect(skipped.map(\.serviceID.rawValue) == ["/a/b_cluster", "/http-in", "a_b"])
    }

    @Test func portConflictsKeepTheFirstIDAndReportTheRest() throws {
        let services = [
            try makeService("/x", port: 7000, hosts: [("10.0.0.1", 1)]),
            try makeService("/y", port: 7000, hosts: [("10.0.0.2", 1)]),
            try makeService("/z", port: 80, protocol: .tcp),
        ]
        let rendering = HAProxyRenderer.renderWithNotes(services, options: RenderOptions(globalConfig: ""))
        #expect(rendering.text.contains("listen x\n"))
        #expect(!rendering.text.contains("listen y"))
        #expect(!rendering.text.contains("listen z"))
        #expect(
            rendering.notes.map(\.kind) == [
                .portTaken(port: 7000, by: try ServiceID("/x")), .portTaken(port: 80, by: nil),
            ]
        )
        #expect(
            rendering.notes.map(\.description) == [
                "service /y (test): skipped, port 7000 is already bound by service /x",
                "service /z (test): skipped, port 80 is already bound by the HTTP frontend",
            ]
        )
    }

    @Test func optionsOfAServiceWithoutDomainUseAnEmptyDomainKey() throws {
        let tcp = try makeService("/tcp", port: 7100, hosts: [("10.0.0.1", 1)])
        #expect(ServiceOptionsKey(for: tcp).description == "_7100")
        let options = RenderOptions(
            globalConfig: "",
            serviceOptions: [
                ServiceOptionsKey(domain: "", servicePort: 7100): ServiceOptions(configLines: ["option tcplog"])
            ]
        )
        #expect(body([tcp], options).contains("  mode tcp\n  option tcplog\n\n  server node1"))
    }

    @Test func optionsAreKeyedByPrimaryDomainAndServicePort() throws {
        let web = try makeService("/web", domains: ["Web.Example.com", "alias.example.com"], port: 80)
        #expect(ServiceOptionsKey(for: web) == ServiceOptionsKey(domain: "web.example.com", servicePort: 80))
        #expect(ServiceOptionsKey(for: web).description == "web.example.com_80")
    }
}
