import ProxymCore
import ProxymModel
import Testing

@Suite struct ServiceMergerTests {
    func svc(
        _ id: String, port: UInt16, domains: [String] = [], app: ApplicationProtocol? = nil,
        transport: TransportProtocol = .tcp, source: String = "file:x.json"
    ) throws -> Service {
        Service(
            id: try ServiceID(id), domains: try domains.map { try DomainName($0) }, transport: transport,
            applicationProtocol: app, servicePort: port, hosts: [try Host(ip: "10.0.0.1", port: 31000)],
            source: source)
    }

    @Test func keepsEverythingWithoutConflictsSortedByID() throws {
        let r = ServiceMerger.merge(
            [[try svc("/web", port: 80, domains: ["web.example.com"]), try svc("/db", port: 5432)]], httpPort: 80)
        #expect(r.services.map(\.id.rawValue) == ["/db", "/web"])
        #expect(r.problems.isEmpty)
    }

    @Test(arguments: [
        ("duplicate id", ["/a", "/a"], [UInt16(1000), 1001], "id already defined by file:first.json"),
        ("same proxy name", ["/a/b", "a_b"], [1000, 1001], "HAProxy name \"a_b\" is already used"),
        ("same tcp port", ["/a", "/b"], [1000, 1000], "TCP service port 1000 is already used"),
    ])
    func laterServiceLosesAConflict(_ name: String, ids: [String], ports: [UInt16], message: String) throws {
        let r = ServiceMerger.merge(
            [[try svc(ids[0], port: ports[0], source: "file:first.json"),
              try svc(ids[1], port: ports[1], source: "file:second.json")]], httpPort: 80)
        #expect(r.services.map(\.source) == ["file:first.json"])
        #expect(r.problems.count == 1)
        #expect(r.problems[0].source == "file:second.json")
        #expect(r.problems[0].reason.contains(message), "\(r.problems[0].reason)")
    }

    @Test func httpServiceNeedsADomainAndDomainsAreUnique() throws {
        let r = ServiceMerger.merge(
            [[try svc("/a", port: 80), try svc("/b", port: 80, domains: ["x.example.com"]),
              try svc("/c", port: 9000, domains: ["X.example.com"], app: .http)]], httpPort: 80)
        #expect(r.services.map(\.id.rawValue) == ["/b"])
        #expect(r.problems.map(\.serviceID) == ["/a", "/c"])
        #expect(r.problems[0].reason.contains("no domain"))
        #expect(r.problems[1].reason.contains("already routed to /b"))
    }

    /// One virtual host may be shared under different path prefixes (issue 14), never on the same route.
    @Test func servicesShareADomainUnderDifferentPaths() throws {
        func routed(_ id: String, _ paths: [String]) throws -> Service {
            var service = try svc(id, port: 80, domains: ["shop.example.com"])
            service.routing = try ServiceRouting(paths: paths.map { try PathPrefix($0) })
            return service
        }
        let r = ServiceMerger.merge(
            [[try routed("/web", []), try routed("/api", ["/api"]), try routed("/v2", ["/api/v2"]), try routed("/again", ["/api"])]],
            httpPort: 80)
        #expect(r.services.map(\.id.rawValue) == ["/api", "/v2", "/web"])
        #expect(r.problems.map(\.serviceID) == ["/again"])
        #expect(r.problems.first?.reason.contains("domain shop.example.com path /api is already routed to /api") == true, "\(r.problems)")
    }

    @Test func tcpServiceOnTheHTTPPortIsRejected() throws {
        let r = ServiceMerger.merge([[try svc("/a", port: 8080, app: .tcp)]], httpPort: 8080)
        #expect(r.services.isEmpty)
        #expect(r.problems.first?.reason.contains("HTTP frontend's port") == true)
    }

    @Test func udpIsSkippedWithAWarning() throws {
        let r = ServiceMerger.merge([[try svc("/dns", port: 53, transport: .udp)]], httpPort: 80)
        #expect(r.services.isEmpty)
        #expect(r.problems.first?.severity == .warning)
    }

    @Test func earlierSourceWins() throws {
        let r = ServiceMerger.merge(
            [[try svc("/a", port: 1000, source: "file:a.json")], [try svc("/a", port: 1001, source: "marathon")]],
            httpPort: 80)
        #expect(r.services.map(\.source) == ["file:a.json"])
    }

    /// A conflict never moves an established route: whatever the order, the incumbent (same id, same
    /// source) keeps what it held and the newcomer is rejected, naming both.
    @Test(arguments: [
        ("id", "/web", UInt16(7000), [String](), "/web", UInt16(7000), [String](), "its id is held by the established service /web (file:web.json)"),
        ("tcp port", "/db", 7000, [], "/other", 7000, [], "TCP service port 7000 is held by the established service /db (file:web.json)"),
        ("domain", "/web", 80, ["web.example.com"], "/new", 80, ["new.example.com", "web.example.com"], "domain web.example.com is held by the established service /web (file:web.json)"),
        ("proxy name", "/a/b", 7001, [], "a_b", 7002, [], "its HAProxy name \"a_b\" is held by the established service /a/b (file:web.json)"),
    ])
    func newcomerNeverDisplacesAnIncumbent(
        _ kind: String, _ id: String, _ port: UInt16, _ domains: [String], _ newID: String, _ newPort: UInt16,
        _ newDomains: [String], _ message: String
    ) throws {
        let incumbent = try svc(id, port: port, domains: domains, source: "file:web.json")
        let newcomer = try svc(newID, port: newPort, domains: newDomains, source: "file:aa.json")
        // At start the order decides (aa.json sorts first) ...
        let start = ServiceMerger.merge([[newcomer, incumbent]], httpPort: 80)
        #expect(start.services.map(\.source) == ["file:aa.json"], "\(kind)")
        // ... once established, the incumbent keeps it, whatever the order.
        let established = ServiceMerger.merge([[incumbent]], httpPort: 80).services
        for sources in [[[newcomer, incumbent]], [[incumbent, newcomer]], [[newcomer], [incumbent]]] {
            let r = ServiceMerger.merge(sources, httpPort: 80, incumbents: established)
            #expect(r.services.map(\.source) == ["file:web.json"], "\(kind)")
            #expect(r.problems.count == 1)
            #expect(r.problems.first?.source == "file:aa.json")
            #expect(r.problems.first?.serviceID == newID)
            #expect(r.problems.first?.reason.contains(message) == true, "\(r.problems.first?.reason ?? "none")")
        }
    }

    /// What the incumbent no longer claims (it went away, or moved port) is free for the newcomer; an
    /// incumbent that changes its id is a newcomer itself.
    @Test func whatAnIncumbentGaveUpIsFree() throws {
        let web = try svc("/web", port: 7000, source: "file:web.json")
        let established = [web]
        let newcomer = try svc("/web", port: 7001, source: "file:aa.json")
        let gone = ServiceMerger.merge([[newcomer]], httpPort: 80, incumbents: established)
        #expect(gone.services.map(\.source) == ["file:aa.json"])
        let moved = try svc("/db", port: 7000, source: "file:db.json")
        let webMoved = try svc("/web", port: 7002, source: "file:web.json")
        let r = ServiceMerger.merge([[moved, webMoved]], httpPort: 80, incumbents: established)
        #expect(r.services.map(\.id.rawValue) == ["/db", "/web"])
        #expect(r.problems.isEmpty)
        // Renamed: /web2 in web.json is new, and loses port 7000 to the established /db.
        let db = try svc("/db", port: 7000, source: "file:db.json")
        let renamed = try svc("/web2", port: 7000, source: "file:a.json")
        let r2 = ServiceMerger.merge([[renamed, db]], httpPort: 80, incumbents: [db])
        #expect(r2.services.map(\.id.rawValue) == ["/db"])
        #expect(r2.problems.map(\.serviceID) == ["/web2"])
    }

    /// The merge sorts by id on integer prefixes of the ids: the same order as sorting the strings,
    /// for ids that share long prefixes, are prefixes of each other, or differ only past 16 bytes.
    @Test func sortsLikeStringsDo() throws {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet = Array("abAB09._-/")
        var ids = Set<String>()
        while ids.count < 2000 {
            let stem = ["/x", "/team-one/service-", "/team-one/service-long-name-", "a", "/a", "/a/b"][Int(next() % 6)]
            var tail = ""
            for _ in 0..<Int(next() % 6) { tail.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            let id = stem + tail
            if (try? ServiceID(id)) != nil { ids.insert(id) }
        }
        var port: UInt16 = 1000
        let services = try ids.map { id -> Service in
            port += 1
            return try svc(id, port: port)
        }
        let merged = ServiceMerger.merge([services], httpPort: 80)
        #expect(merged.problems.filter { !$0.reason.contains("HAProxy name") }.isEmpty)
        let kept = merged.services.map(\.id.rawValue)
        #expect(kept == kept.sorted())
        #expect(kept.count + merged.problems.count == ids.count)
    }
}
