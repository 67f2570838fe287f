import ProxymModel
import Testing
import ProxymTestBuilders

@Suite("Host, Port and Service")
struct ServiceTests {
    @Test(arguments: [1, 80, 31001, 65535])
    func validPorts(_ port: Int) throws {
        #expect(try Port.validate(port, field: "servicePort") == UInt16(port))
        #expect(try Host(ip: "10.0.0.1", port: port).port == UInt16(port))
    }

    @Test(arguments: [0, 65536, -1, Int.min, Int.max])
    func invalidPorts(_ port: Int) {
        #expect(
            throws: ValidationError(
                field: "port", reason: "must be a port number between 1 and 65535", value: String(port))
        ) {
            try Host(ip: "10.0.0.1", port: port)
        }
        #expect(throws: ValidationError.self) { try Port.validate(port, field: "servicePort") }
    }

    @Test func hostValidatesItsAddress() {
        #expect(throws: ValidationError(field: "ip", reason: "is not a valid IPv4 address", value: "10.0.0.300")) {
            try Host(ip: "10.0.0.300", port: 80)
        }
    }

    @Test(arguments: [
        ("10.0.0.1", 80, "10.0.0.1:80"), ("::1", 8080, "[::1]:8080"), ("agent-1.mesos", 31000, "agent-1.mesos:31000"),
    ])
    func hostDescription(_ ip: String, _ port: Int, _ text: String) throws {
        #expect(try Host(ip: ip, port: port).description == text)
    }

    func makeService(
        hosts: [(String, Int)] = [], domains: [String] = ["web.example.com"], port: UInt16 = 80,
        app: ApplicationProtocol? = nil
    ) throws -> Service {
        try ProxymTestBuilders.makeService("/web", domains: domains, port: port, hosts: hosts, protocol: app)
    }

    @Test func hostsAreSortedAndDeduplicated() throws {
        let service = try makeService(hosts: [
            ("10.0.0.2", 80), ("10.0.0.1", 81), ("10.0.0.1", 80), ("10.0.0.2", 80), ("::1", 80), ("a.mesos", 1),
            ("10.0.0.1", 80),
        ])
        #expect(
            service.hosts.map(\.description) == ["10.0.0.1:80", "10.0.0.1:81", "10.0.0.2:80", "[::1]:80", "a.mesos:1"])
        var changed = service
        changed.setHosts(
            try [Host(ip: "10.0.0.9", port: 1), Host(ip: "10.0.0.9", port: 1), Host(ip: "10.0.0.3", port: 1)])
        #expect(changed.hosts.map(\.description) == ["10.0.0.3:1", "10.0.0.9:1"])
    }

    /// Services share their fields between copies (one box); a change to a copy is the copy's alone,
    /// and equality and hashing go by the fields, never by the box.
    @Test func copiesAreValuesThatShareTheirFields() throws {
        let original = try makeService(hosts: [("10.0.0.1", 80)])
        var copy = original
        #expect(copy.isSameStorage(as: original) && copy == original)
        copy.routing.sticky = true
        copy.domains.append(try DomainName("other.example.com"))
        #expect(!copy.isSameStorage(as: original))
        #expect(original.routing.sticky == false && original.domains.map(\.rawValue) == ["web.example.com"])
        #expect(copy.routing.sticky && copy.domains.count == 2)
        // Equal fields in separate boxes: equal, same hash.
        let twin = try makeService(hosts: [("10.0.0.1", 80)])
        #expect(!twin.isSameStorage(as: original) && twin == original && twin.hashValue == original.hashValue)
        #expect(Set([original, twin]).count == 1)
        // Only the hosts differ.
        var moved = original
        moved.setHosts([try Host(ip: "10.0.0.2", port: 80)])
        #expect(moved.sameExceptHosts(as: original) && moved != original)
        #expect(!copy.sameExceptHosts(as: original))
    }

    @Test func sameAddressSpelledDifferentlyIsOneHost() throws {
        let service = try makeService(hosts: [
            ("::1", 80), ("[0:0:0:0:0:0:0:1]", 80), ("Agent.Mesos", 5), ("agent.mesos", 5),
        ])
        #expect(service.hosts.count == 2)
    }

    @Test func domainsAreDeduplicatedInOrder() throws {
        let service = try makeService(domains: ["b.example.com", "a.example.com", "B.example.com", "a.example.com"])
        #expect(service.domains.map(\.rawValue) == ["b.example.com", "a.example.com"])
        #expect(service.domain?.rawValue == "b.example.com")
        #expect(try makeService(domains: []).domain == nil)
    }

    /// (service port, application protocol, HTTP port, expected)
    @Test(
        arguments: [
            (80, nil, 80, true), (8080, nil, 80, false), (8080, nil, 8080, true),
            (8080, ApplicationProtocol.http, 80, true), (80, ApplicationProtocol.tcp, 80, false),
            (80, ApplicationProtocol.http, 80, true), (6379, ApplicationProtocol.tcp, 80, false),
        ] as [(UInt16, ApplicationProtocol?, UInt16, Bool)])
    func isHTTP(_ port: UInt16, _ app: ApplicationProtocol?, _ httpPort: UInt16, _ expected: Bool) throws {
        #expect(try makeService(port: port, app: app).isHTTP(httpPort: httpPort) == expected)
    }

    @Test func defaults() throws {
        let service = try makeService()
        #expect(service.transport == .tcp)
        #expect(service.applicationProtocol == nil)
        #expect(service.source == "test")
    }
}

@Suite("ValidationError")
struct ValidationErrorTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a\nb", "a\\nb"),
        ("tab\there", "tab\\there"),
        ("cr\r", "cr\\r"),
        ("quote\"back\\", "quote\\\"back\\\\"),
        ("nul\u{0}", "nul\\u{0}"),
        ("é", "\\u{e9}"),
        ("del\u{7F}", "del\\u{7f}"),
    ])
    func escaping(_ raw: String, _ escaped: String) {
        #expect(ValidationError.escaped(raw) == escaped)
        #expect(ValidationError(field: "f", reason: "r", value: raw).value == escaped)
    }

    @Test func longValuesAreCut() {
        let value = String(repeating: "x", count: 200)
        #expect(ValidationError.escaped(value) == String(repeating: "x", count: 80) + "...")
        #expect(ValidationError.escaped(String(repeating: "x", count: 80)) == String(repeating: "x", count: 80))
    }

    @Test func nesting() {
        let e = ValidationError(field: "ip", reason: "bad", value: "x")
        #expect(e.nested(under: "hosts[2]").field == "hosts[2].ip")
        #expect(ValidationError(field: "[1]", reason: "bad").nested(under: "domains").field == "domains[1]")
        #expect(ValidationError(field: "", reason: "bad").nested(under: "hosts").field == "hosts")
        #expect(e.description == "ip: bad (got \"x\")")
        #expect(ValidationError(field: "id", reason: "must not be empty").description == "id: must not be empty")
    }
}
