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
}
