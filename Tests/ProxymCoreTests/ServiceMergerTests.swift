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
