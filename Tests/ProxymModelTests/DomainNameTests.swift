import ProxymModel
import Testing

@Suite("DomainName")
struct DomainNameTests {
    /// (input, stored form, has a port)
    static let validCases: [(String, String, Bool)] = [
        ("example.com", "example.com", false),
        ("Shop.Example.COM", "shop.example.com", false),
        ("a_b.example.com", "a_b.example.com", false),
        ("example.com:8080", "example.com:8080", true),
        ("example.com:1", "example.com:1", true),
        ("example.com:65535", "example.com:65535", true),
        ("localhost", "localhost", false),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", false),
        ("1.2.3.4", "1.2.3.4", false),
        ("a-b.c-d", "a-b.c-d", false),
        ("a--b.example", "a--b.example", false),
        ("_dmarc.example.com", "_dmarc.example.com", false),
        (String(repeating: "a", count: 63) + ".com", String(repeating: "a", count: 63) + ".com", false),
        (Self.longest, Self.longest, false),
    ]

    /// Exactly 253 bytes: three labels of 63, one of 61, three dots.
    static let longest =
        [String](repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".")
        + "." + String(repeating: "b", count: 61)

    @Test(arguments: validCases)
    func valid(_ raw: String, _ stored: String, _ hasPort: Bool) throws {
        let name = try DomainName(raw)
        #expect(name.rawValue == stored)
        #expect(name.description == stored)
        #expect(name.hasPort == hasPort)
    }

    /// (input, what the error says)
    static let invalidCases: [(String, String)] = [
        ("", "must not be empty"),
        ("exa mple.com", "may only contain"),
        ("example.com\n  acl x hdr(host) -i evil", "may only contain"),
        ("example.com\n", "may only contain"),
        ("example.com\r", "may only contain"),
        ("example.com\t", "may only contain"),
        ("example.com#x", "may only contain"),
        ("example.com;x", "may only contain"),
        ("exa\u{0}mple.com", "may only contain"),
        ("a..b", "has an empty label"),
        (".a", "has an empty label"),
        ("a.", "has an empty label"),
        (".", "has an empty label"),
        (String(repeating: "a", count: 64) + ".com", "has a label longer than 63 characters"),
        (Self.longest + "b", "longer than 253 characters"),
        ("*.example.com", "may only contain"),
        ("-f", "has a label that starts with '-'"),
        ("-m.example.com", "has a label that starts with '-'"),
        ("a.-b.com", "has a label that starts with '-'"),
        ("a-.b.com", "has a label that ends with '-'"),
        ("example.com-", "has a label that ends with '-'"),
        ("example.com-:80", "has a label that ends with '-'"),
        ("-", "has a label that starts with '-'"),
        ("bücher.example", "may only contain"),
        ("example.com:0", "invalid ':port' suffix"),
        ("example.com:99999", "invalid ':port' suffix"),
        ("example.com:65536", "invalid ':port' suffix"),
        ("example.com:08", "invalid ':port' suffix"),
        ("example.com:", "invalid ':port' suffix"),
        ("example.com:+80", "invalid ':port' suffix"),
        ("example.com:-0", "invalid ':port' suffix"),
        ("example.com: 80", "invalid ':port' suffix"),
        ("example.com:80 ", "invalid ':port' suffix"),
        ("example.com:8a", "invalid ':port' suffix"),
        (":80", "has an empty label"),
        ("a:b:80", "may only contain"),
        ("[::1]:80", "may only contain"),
    ]

    @Test(arguments: invalidCases)
    func invalid(_ raw: String, _ reason: String) {
        #expect {
            try DomainName(raw, field: "domains[2]")
        } throws: { error in
            guard let error = error as? ValidationError else { return false }
            return error.field == "domains[2]" && error.reason.contains(reason)
                && !error.description.contains("\n") && !error.description.contains("\r")
        }
    }

    @Test func lowerCasedNamesCompareEqual() throws {
        #expect(try DomainName("WWW.Example.com") == DomainName("www.example.COM"))
        #expect(try DomainName("a.example.com") < DomainName("b.example.com"))
    }
}
