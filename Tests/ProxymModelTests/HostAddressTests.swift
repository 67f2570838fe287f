import ProxymModel
import Testing

@Suite("HostAddress")
struct HostAddressTests {
    // MARK: IPv4

    @Test(arguments: ["10.0.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1", "1.2.3.4", "192.168.100.200"])
    func ipv4(_ raw: String) throws {
        let address = try HostAddress(raw)
        guard case .ipv4 = address else {
            Issue.record("not IPv4: \(address)")
            return
        }
        #expect(address.description == raw)
        #expect(address.haproxyText == raw)
        #expect(!address.isHostname)
    }

    @Test func ipv4Value() throws {
        #expect(try HostAddress("10.0.0.1") == .ipv4(0x0A00_0001))
    }

    @Test(arguments: [
        "10.0.0.256", "256.0.0.1", "010.0.0.1", "10.00.0.1", "10.0.0.01", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.",
        ".1.2.3", "1234.1.1.1", "0", "1", "4294967295", "1.2.3.4.",
    ])
    func invalidIPv4(_ raw: String) {
        #expect(throws: ValidationError(field: "ip", reason: "is not a valid IPv4 address", value: raw)) {
            try HostAddress(raw)
        }
    }

    @Test(arguments: ["1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.-4", "+1.2.3.4", "1.2.3.4/24", "1.2.3.4:80"])
    func ipv4WithJunkIsRefused(_ raw: String) {
        #expect(throws: ValidationError.self) { try HostAddress(raw) }
    }

    // MARK: IPv6

    /// (input, RFC 5952 canonical text)
    static let ipv6Cases: [(String, String)] = [
        ("::1", "::1"),
        ("::", "::"),
        ("[::1]", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("fe80::1", "fe80::1"),
        ("1::", "1::"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0:0:0:0:0:0:0:0", "::"),
        // A single zero group is not shortened (RFC 5952 4.2.2).
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // The longest run is shortened; the first of equally long runs (4.2.3).
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        // Leading zeros inside a group go (4.1).
        ("2001:0db8:00aa:000b::0001", "2001:db8:aa:b::1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::FFFF:a00:1", "::ffff:10.0.0.1"),
        ("[::ffff:192.168.1.1]", "::ffff:192.168.1.1"),
        ("0:0:0:0:0:ffff:1.2.3.4", "::ffff:1.2.3.4"),
        // Other embedded IPv4 forms are plain hex.
        ("::1.2.3.4", "::102:304"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ]

    @Test(arguments: ipv6Cases)
    func ipv6(_ raw: String, _ canonical: String) throws {
        let address = try HostAddress(raw)
        guard case .ipv6(let bytes) = address else {
            Issue.record("not IPv6: \(address)")
            return
        }
        #expect(bytes.count == 16)
        #expect(address.description == canonical)
        #expect(address.haproxyText == "[\(canonical)]")
        // The canonical form reads back as the same address.
        #expect(try HostAddress(canonical) == address)
    }

    @Test(arguments: [
        ":::", "1::2::3", "12345::", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", ":1::", "1:", ":1", "1::2:", "g::1", "::1.2.3", "::1.2.3.256", "::01.2.3.4",
        "1.2.3.4::", "::1.2.3.4:1", "[::1", "::1]", "[[::1]]", "[::1]:80", "+1::", "-0::", "::+f", "0x1::",
        " ::1", "::1 ", "::1\n", ":: 1", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.4.5", "1:::2",
    ])
    func invalidIPv6(_ raw: String) {
        #expect {
            try HostAddress(raw)
        } throws: { error in
            guard let error = error as? ValidationError else { return false }
            return error.field == "ip" && !error.description.contains("\n")
        }
    }

    // MARK: Host names

    @Test(arguments: [
        ("agent-1.mesos", "agent-1.mesos"), ("Agent-1.Mesos", "agent-1.mesos"), ("localhost", "localhost"),
        ("slave_1.dc1", "slave_1.dc1"), ("1.2.3.4a", "1.2.3.4a"),
    ])
    func hostname(_ raw: String, _ stored: String) throws {
        let address = try HostAddress(raw)
        #expect(address == .hostname(stored))
        #expect(address.isHostname)
        #expect(address.description == stored)
        #expect(address.haproxyText == stored)
    }

    @Test(arguments: [
        "agent 1", "agent\n1", "a..b", "-", "-agent", "agent-", "a.-b", "agent_1.mesos.", "*.mesos", "ågent", "a/b",
    ])
    func invalidHostname(_ raw: String) {
        #expect {
            try HostAddress(raw, field: "hosts[0].ip")
        } throws: { error in
            guard let error = error as? ValidationError else { return false }
            return error.field == "hosts[0].ip" && error.reason == "is neither an IP address nor a host name"
                && !error.description.contains("\n")
        }
    }

    @Test(arguments: ["agent-1.mesos:80", "10.0.0.1:31001", "[10.0.0.1]:80"])
    func addressWithPort(_ raw: String) {
        #expect(throws: ValidationError(field: "ip", reason: "must be an address without a port", value: raw)) {
            try HostAddress(raw)
        }
    }

    @Test func emptyIsRefused() {
        #expect(throws: ValidationError(field: "ip", reason: "must not be empty")) { try HostAddress("") }
    }

    @Test func orderingIPv4ThenIPv6ThenNames() throws {
        let addresses = try ["b.mesos", "::2", "10.0.0.2", "a.mesos", "::1", "9.0.0.1", "10.0.0.10"].map {
            try HostAddress($0)
        }
        #expect(
            addresses.sorted().map(\.description) == [
                "9.0.0.1", "10.0.0.2", "10.0.0.10", "::1", "::2", "a.mesos", "b.mesos",
            ])
    }

    /// Issue 11, class 10: `0.0.0.0` and `::` (any spelling) are addresses, but no backend.
    @Test(arguments: ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", "::0"])
    func unspecifiedIsNoBackend(_ raw: String) throws {
        #expect(try HostAddress(raw).isUnspecified)
        #expect(throws: ValidationError.self) { try HostAddress.backend(raw) }
        #expect(throws: ValidationError.self) { try Host(ip: raw, port: 80) }
    }

    @Test(arguments: ["0.0.0.1", "::1", "10.0.0.1", "agent-1.example.com", "2001:db8::"])
    func specifiedAddressesAreBackends(_ raw: String) throws {
        #expect(try HostAddress.backend(raw) == HostAddress(raw))
    }
}
