import ProxymGenerators
import ProxymModel
import Testing
import ProxymTestBuilders

/// A file that must decode, with the service and warnings it must give.
struct DecodeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let expected: Service
    let warnings: [String]
    var testDescription: String { name }

    init(_ name: String, _ json: String, _ expected: Service, warnings: [String] = []) {
        self.name = name
        self.json = json
        self.expected = expected
        self.warnings = warnings
    }
}

/// Builds the expected service; the file is always `web.json`.
func service(
    _ id: String, domains: [String] = [], transport: TransportProtocol = .tcp, app: ApplicationProtocol? = nil,
    port: UInt16, hosts: [(String, Int)] = []
) -> Service {
    // The tables below are literals; a typo in them should fail loudly.
    try! makeService(
        id, domains: domains, port: port, hosts: hosts, transport: transport, protocol: app, source: "file:web.json")
}

@Suite("ServiceFileDecoder decodes")
struct ServiceFileDecoderTests {
    static let redis = service("/redis", domains: ["redis.example.com"], port: 6379, hosts: [("10.10.10.10", 31001)])

    static let validCases: [DecodeCase] = [
        DecodeCase(
            "original format",
            #"{"id": "/redis", "domain": "redis.example.com", "protocol": "tcp", "servicePort": 6379, "hosts": [{"ip": "10.10.10.10", "port": 31001}]}"#,
            redis),
        DecodeCase(
            "keys in any case",
            #"{"ID": "/redis", "Domain": "redis.example.com", "PROTOCOL": "TCP", "serviceport": 6379, "Hosts": [{"IP": "10.10.10.10", "Port": 31001}]}"#,
            redis),
        DecodeCase(
            "Go field names",
            #"{"Id": "/redis", "Domain": "redis.example.com", "Protocol": "tcp", "ServicePort": 6379, "Hosts": [{"Ip": "10.10.10.10", "PORT": 31001}]}"#,
            redis),
        DecodeCase(
            "pretty-printed with a BOM",
            "\u{FEFF}{\n  \"id\": \"/redis\",\n  \"domain\": \"redis.example.com\",\n  \"servicePort\": 6379,\n  \"hosts\": [\n    {\"ip\": \"10.10.10.10\", \"port\": 31001}\n  ]\n}\n",
            redis),
        DecodeCase(
            "original fixture with port and two hosts",
            #"{"domain": "redis.example.com", "id": "/redis", "protocol": "tcp", "port": 6379, "hosts": [{"ip": "10.10.10.10", "port": 31003}, {"ip": "10.10.10.10", "port": 31001}]}"#,
            service(
                "/redis", domains: ["redis.example.com"], port: 6379,
                hosts: [("10.10.10.10", 31001), ("10.10.10.10", 31003)])),
        DecodeCase(
            "later original format",
            #"{"applicationProtocol": "http", "domains": ["registry.example.com"], "id": "/registry", "transportProtocol": "tcp", "port": 80, "hosts": [{"ip": "10.10.10.10", "port": 31002}]}"#,
            service(
                "/registry", domains: ["registry.example.com"], app: .http, port: 80, hosts: [("10.10.10.10", 31002)])),
        DecodeCase(
            "protocol absent means tcp, no domain for a TCP service",
            #"{"id": "redis", "servicePort": 6379, "hosts": []}"#,
            service("redis", port: 6379)),
        DecodeCase(
            "udp in any case",
            #"{"id": "dns", "protocol": "UDP", "servicePort": 53, "hosts": []}"#,
            service("dns", transport: .udp, port: 53)),
        DecodeCase(
            "transportProtocol alone",
            #"{"id": "dns", "transportProtocol": "udp", "servicePort": 53, "hosts": []}"#,
            service("dns", transport: .udp, port: 53)),
        DecodeCase(
            "protocol and transportProtocol agree",
            #"{"id": "dns", "protocol": "udp", "TransportProtocol": "UDP", "servicePort": 53, "hosts": []}"#,
            service("dns", transport: .udp, port: 53)),
        DecodeCase(
            "domain then domains, deduplicated, lower-cased",
            #"{"id": "/web", "domain": "WWW.Example.com", "domains": ["shop.example.com", "www.example.com", "Shop.Example.Com"], "servicePort": 80, "hosts": []}"#,
            service("/web", domains: ["www.example.com", "shop.example.com"], port: 80)),
        DecodeCase(
            "domains alone, first is primary",
            #"{"id": "/web", "domains": ["b.example.com", "a.example.com"], "servicePort": 80, "hosts": []}"#,
            service("/web", domains: ["b.example.com", "a.example.com"], port: 80)),
        DecodeCase(
            "empty strings are Go's zero value: not given",
            #"{"id": "/web", "domain": "", "protocol": "", "applicationProtocol": "", "servicePort": 80, "hosts": []}"#,
            service("/web", port: 80)),
        DecodeCase(
            "null is not given",
            #"{"id": "/web", "domain": null, "domains": null, "protocol": null, "applicationProtocol": null, "servicePort": null, "port": 80, "hosts": []}"#,
            service("/web", port: 80)),
        DecodeCase(
            "applicationProtocol in any case",
            #"{"id": "/web", "domain": "web.example.com", "applicationProtocol": "HTTP", "servicePort": 8080, "hosts": []}"#,
            service("/web", domains: ["web.example.com"], app: .http, port: 8080)),
        DecodeCase(
            "applicationProtocol tcp",
            #"{"id": "/web", "applicationProtocol": "tcp", "servicePort": 80, "hosts": []}"#,
            service("/web", app: .tcp, port: 80)),
        DecodeCase(
            "servicePort 0 falls back to port, like ListenPort()",
            #"{"id": "/web", "servicePort": 0, "port": 8080, "hosts": []}"#,
            service("/web", port: 8080)),
        DecodeCase(
            "servicePort wins over port",
            #"{"id": "/web", "servicePort": 80, "port": 8080, "hosts": []}"#,
            service("/web", port: 80),
            warnings: ["port 8080 ignored: servicePort 80 is used"]),
        DecodeCase(
            "same servicePort and port",
            #"{"id": "/web", "servicePort": 80, "port": 80, "hosts": []}"#,
            service("/web", port: 80)),
        DecodeCase(
            "IPv6 and host name backends, sorted",
            #"{"id": "/web", "servicePort": 80, "hosts": [{"ip": "agent-1.mesos", "port": 31000}, {"ip": "[2001:DB8::1]", "port": 31000}, {"ip": "10.0.0.2", "port": 31000}]}"#,
            service("/web", port: 80, hosts: [("10.0.0.2", 31000), ("2001:db8::1", 31000), ("agent-1.mesos", 31000)])),
        DecodeCase(
            "unknown keys are ignored with a warning",
            #"{"id": "/web", "servicePort": 80, "hsots": [], "hosts": [{"ip": "10.0.0.1", "port": 1, "weight": 5}], "config": "x", "source": "y"}"#,
            service("/web", port: 80, hosts: [("10.0.0.1", 1)]),
            warnings: [
                #"unknown key "hsots" ignored"#, #"unknown key "config" ignored"#, #"unknown key "source" ignored"#,
                #"hosts[0]: unknown key "weight" ignored"#,
            ]),
        DecodeCase(
            "unknown keys are escaped in warnings",
            #"{"id": "/web", "servicePort": 80, "hosts": [], "a\nb": 1}"#,
            service("/web", port: 80),
            warnings: [#"unknown key "a\nb" ignored"#]),
        DecodeCase(
            "repeated key: the exact spelling wins",
            #"{"id": "/a", "ID": "/b", "servicePort": 80, "hosts": []}"#,
            service("/a", port: 80),
            warnings: [#"id is given 2 times ("id", "ID"); using the value of "id""#]),
        DecodeCase(
            "repeated key: else the last one wins",
            #"{"Id": "/a", "ID": "/b", "servicePort": 80, "hosts": []}"#,
            service("/b", port: 80),
            warnings: [#"id is given 2 times ("Id", "ID"); using the value of "ID""#]),
        DecodeCase(
            "repeated hosts are dropped with a warning",
            #"{"id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": 1}, {"ip": "10.0.0.2", "port": 1}, {"ip": "10.0.0.1", "port": 1}]}"#,
            service("/web", port: 80, hosts: [("10.0.0.1", 1), ("10.0.0.2", 1)]),
            warnings: ["hosts[2]: 10.0.0.1:1 repeats hosts[0] and is ignored"]),
        DecodeCase(
            "http without a domain is allowed but warned about",
            #"{"id": "/web", "applicationProtocol": "http", "servicePort": 80, "hosts": []}"#,
            service("/web", app: .http, port: 80),
            warnings: [#"applicationProtocol is "http" but no domain is given, so no request can reach it"#]),
        DecodeCase(
            "port bounds",
            #"{"id": "/web", "servicePort": 65535, "hosts": [{"ip": "10.0.0.1", "port": 1}]}"#,
            service("/web", port: 65535, hosts: [("10.0.0.1", 1)])),
    ]

    @Test(arguments: validCases)
    func decodes(_ c: DecodeCase) throws {
        let decoded = try ServiceFileDecoder.decode(Array(c.json.utf8), fileName: "web.json").get()
        #expect(decoded.service == c.expected)
        #expect(decoded.warnings == c.warnings)
        #expect(decoded.service.source == "file:web.json")
    }

    @Test func primaryDomain() throws {
        let json =
            #"{"id": "/web", "domain": "b.example.com", "domains": ["a.example.com"], "servicePort": 80, "hosts": []}"#
        let decoded = try ServiceFileDecoder.decode(Array(json.utf8), fileName: "web.json").get()
        #expect(decoded.service.domain?.rawValue == "b.example.com")
    }

    @Test func rawBufferEntryPoint() throws {
        let bytes = Array(#"{"id": "/web", "servicePort": 80, "hosts": []}"#.utf8)
        let decoded = try bytes.withUnsafeBytes { try ServiceFileDecoder.decode($0, fileName: "web.json").get() }
        #expect(decoded.service.id.rawValue == "/web")
    }
}

@Suite("ServiceFileDecoder repeated hosts")
struct ServiceFileDecoderRepeatedHostTests {
    /// Short lists are searched and long ones hashed; both must name the first occurrence.
    @Test(arguments: [4, 16, 17, 40])
    func repeatsNameTheirFirstOccurrence(_ count: Int) throws {
        var hosts = (0..<count - 2).map { #"{"ip": "10.0.0.\#($0)", "port": 80}"# }
        hosts.append(#"{"ip": "10.0.0.1", "port": 80}"#)  // repeats item 1
        hosts.append(#"{"ip": "[::ffff:10.0.0.0]", "port": 80}"#)  // not the same address: IPv6
        hosts.append(#"{"ip": "10.0.0.0", "port": 80}"#)  // repeats item 0
        let json = #"{"id": "/web", "servicePort": 80, "hosts": [\#(hosts.joined(separator: ","))]}"#
        let decoded = try ServiceFileDecoder.decode(Array(json.utf8), fileName: "web.json").get()
        #expect(decoded.service.hosts.count == count - 1)
        #expect(
            decoded.warnings == [
                "hosts[\(count - 2)]: 10.0.0.1:80 repeats hosts[1] and is ignored",
                "hosts[\(count)]: 10.0.0.0:80 repeats hosts[0] and is ignored",
            ])
    }

    @Test func sameAddressSpelledTwoWays() throws {
        let json =
            #"{"id": "/web", "servicePort": 80, "hosts": [{"ip": "::1", "port": 1}, {"ip": "[0::0:1]", "port": 1}]}"#
        let decoded = try ServiceFileDecoder.decode(Array(json.utf8), fileName: "web.json").get()
        #expect(decoded.warnings == ["hosts[1]: [::1]:1 repeats hosts[0] and is ignored"])
    }
}
