import ProxymModel
import Testing

@Suite("ServiceID")
struct ServiceIDTests {
    @Test(arguments: [
        "/one/webapp", "redis", "a.b-c_d", "/redis", "docker/registry", "/a/b/c/d", "A9", "/x", "-", ".",
        String(repeating: "a", count: 255), "/" + String(repeating: "a", count: 254),
    ])
    func valid(_ raw: String) throws {
        let id = try ServiceID(raw)
        #expect(id.rawValue == raw)
        #expect(id.description == raw)
    }

    /// (input, what the error says)
    static let invalidCases: [(String, String)] = [
        ("", "must not be empty"),
        ("/", "has no name after '/'"),
        ("//a", "has an empty path segment"),
        ("a/", "must not end with '/'"),
        ("/a/", "must not end with '/'"),
        ("a//b", "has an empty path segment"),
        ("a b", "may only contain"),
        (" a", "may only contain"),
        ("a\n", "may only contain"),
        ("a\nbackend evil", "may only contain"),
        ("a\r", "may only contain"),
        ("a\t", "may only contain"),
        ("a\u{0}", "may only contain"),
        ("a;b", "may only contain"),
        ("a#b", "may only contain"),
        ("a:b", "may only contain"),
        ("a\\b", "may only contain"),
        ("a\"b", "may only contain"),
        ("a'b", "may only contain"),
        ("a$b", "may only contain"),
        ("a{b}", "may only contain"),
        ("café", "may only contain"),
        ("ａ", "may only contain"),  // fullwidth a
        ("a\u{200B}", "may only contain"),  // zero-width space
        (String(repeating: "a", count: 256), "longer than 255 characters"),
        ("/" + String(repeating: "a", count: 255), "longer than 255 characters"),
    ]

    @Test(arguments: invalidCases)
    func invalid(_ raw: String, _ reason: String) {
        #expect {
            try ServiceID(raw)
        } throws: { error in
            guard let error = error as? ValidationError else { return false }
            return error.field == "id" && error.reason.contains(reason)
                && !error.description.contains("\n") && !error.description.contains("\r")
        }
    }

    @Test(arguments: [
        ("/one/webapp", "one_webapp"),
        ("/redis", "redis"),
        ("redis", "redis"),
        ("docker/registry", "docker_registry"),
        ("/a/b/c", "a_b_c"),
        ("/a.b-c_d", "a.b-c_d"),
    ])
    func proxyName(_ raw: String, _ expected: String) throws {
        #expect(try ServiceID(raw).proxyName == expected)
    }

    @Test func ordering() throws {
        let ids = try ["/b", "/a/z", "/a", "c"].map { try ServiceID($0) }
        #expect(ids.sorted().map(\.rawValue) == ["/a", "/a/z", "/b", "c"])
    }
}
