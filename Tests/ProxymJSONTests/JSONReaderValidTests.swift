import ProxymJSON
import Testing

/// A document and the value it must produce.
struct ValidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let expected: JSONValue
    init(_ name: String, _ json: String, _ expected: JSONValue) {
        self.name = name
        self.json = json
        self.expected = expected
    }
    var testDescription: String { name }
}

func num(_ text: String) -> JSONValue { .number(JSONNumber(text)!) }
func obj(_ members: (String, JSONValue)...) -> JSONValue {
    .object(JSONObject(members.map { JSONObject.Member(key: $0.0, value: $0.1) }))
}

@Suite("JSONReader accepts")
struct JSONReaderValidTests {
    static let cases: [ValidCase] = [
        // Scalars at the top level (RFC 8259 allows any value there).
        ValidCase("null", "null", .null),
        ValidCase("true", "true", .bool(true)),
        ValidCase("false", "false", .bool(false)),
        ValidCase("zero", "0", num("0")),
        ValidCase("negative zero", "-0", num("-0")),
        ValidCase("integer", "123", num("123")),
        ValidCase("fraction", "1.5", num("1.5")),
        ValidCase("exponent", "1e10", num("1e10")),
        ValidCase("capital exponent with sign", "1E+2", num("1E+2")),
        ValidCase("negative exponent", "-1.25e-3", num("-1.25e-3")),
        ValidCase("zero fraction", "0.0", num("0.0")),
        ValidCase("huge exponent", "1e999", num("1e999")),
        ValidCase("empty string", #""""#, .string("")),
        ValidCase("string", #""hello""#, .string("hello")),
        // Whitespace: the four RFC characters, anywhere between tokens.
        ValidCase("surrounding whitespace", " \t\r\n 1 \t\r\n ", num("1")),
        ValidCase("whitespace inside", "[ 1 , { \"a\" : 2 } ]", .array([num("1"), obj(("a", num("2")))])),
        // Containers.
        ValidCase("empty array", "[]", .array([])),
        ValidCase("empty object", "{}", obj()),
        ValidCase("empty containers with spaces", "[ { } , [ ] ]", .array([obj(), .array([])])),
        ValidCase("nested arrays", "[[[]]]", .array([.array([.array([])])])),
        ValidCase(
            "mixed array", #"[null,true,false,0,"x",[],{}]"#,
            .array([.null, .bool(true), .bool(false), num("0"), .string("x"), .array([]), obj()])),
        ValidCase("object keeps order", #"{"b":1,"a":2}"#, obj(("b", num("1")), ("a", num("2")))),
        ValidCase("duplicate keys kept", #"{"a":1,"a":2}"#, obj(("a", num("1")), ("a", num("2")))),
        ValidCase("empty key", #"{"":0}"#, obj(("", num("0")))),
        // Escapes.
        ValidCase("simple escapes", #""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{C}\n\r\t")),
        ValidCase("unicode escape", #""\u00e9""#, .string("é")),
        ValidCase("unicode escape upper hex", #""\u00C9""#, .string("É")),
        ValidCase("escaped NUL", #""a\u0000b""#, .string("a\u{0}b")),
        ValidCase("surrogate pair", #""\uD83D\uDE00""#, .string("😀")),
        ValidCase("lowercase surrogate pair", #""\ud834\udd1e""#, .string("𝄞")),
        ValidCase("escape then text", #""x\ty""#, .string("x\ty")),
        ValidCase("BMP edge", #""\uFFFF""#, .string("\u{FFFF}")),
        ValidCase("escaped key", #"{"\u0069d":1}"#, obj(("id", num("1")))),
        // Raw UTF-8 in strings.
        ValidCase("raw two-byte", "\"é\"", .string("é")),
        ValidCase("raw three-byte", "\"€\"", .string("€")),
        ValidCase("raw four-byte", "\"😀\"", .string("😀")),
        ValidCase("raw mixed with escapes", "\"ü\\nü\"", .string("ü\nü")),
        ValidCase("DEL is not a control character", "\"\u{7F}\"", .string("\u{7F}")),
        // Byte order mark at the start is skipped.
        ValidCase("BOM", "\u{FEFF}{\"a\":1}", obj(("a", num("1")))),
    ]

    @Test(arguments: cases)
    func parses(_ c: ValidCase) throws {
        #expect(try JSONReader.parse(c.json) == c.expected)
        // The same through the byte-array and raw-buffer entry points.
        #expect(try JSONReader.parse(Array(c.json.utf8)) == c.expected)
        let viaRaw = try Array(c.json.utf8).withUnsafeBytes { raw in try JSONReader.parse(raw) }
        #expect(viaRaw == c.expected)
    }

    @Test func realisticServiceFile() throws {
        let json = """
            {
              "id": "/redis",
              "domain": "redis.example.com",
              "protocol": "tcp",
              "servicePort": 6379,
              "hosts": [{"ip": "10.10.10.10", "port": 31001}]
            }
            """
        let o = try #require(try JSONReader.parse(json).objectValue)
        #expect(o.keys == ["id", "domain", "protocol", "servicePort", "hosts"])
        #expect(o["servicePort"]?.numberValue?.int == 6379)
        let host = o["hosts"]?.arrayValue?.first?.objectValue
        #expect(host?["ip"] == .string("10.10.10.10"))
    }

    @Test func longStringsAndManyMembers() throws {
        let long = String(repeating: "abcdefghij", count: 10_000)
        #expect(try JSONReader.parse("\"\(long)\"") == .string(long))
        let escapedLong = String(repeating: "ab\\n", count: 10_000)
        #expect(try JSONReader.parse("\"\(escapedLong)\"") == .string(String(repeating: "ab\n", count: 10_000)))
        let members = (0..<1000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONReader.parse("{\(members)}")
        #expect(value.objectValue?.count == 1000)
        #expect(value.objectValue?["k999"] == num("999"))
    }
}
