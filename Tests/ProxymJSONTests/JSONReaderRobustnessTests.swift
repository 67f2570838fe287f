import ProxymJSON
import Testing

@Suite("JSONReader robustness")
struct JSONReaderRobustnessTests {
    /// Documents whose top level is a container, so no proper prefix is itself a document.
    static let documents: [String] = [
        #"{"id": "/redis", "domain": "redis.example.com", "protocol": "tcp", "servicePort": 6379, "hosts": [{"ip": "10.10.10.10", "port": 31001}]}"#,
        #"[null, true, false, -1.5e+10, 0, "a\"b\\c\u00e9\uD83D\uDE00", [], {}, [[{"x": []}]]]"#,
        "\u{FEFF}{\n\t\"k\u{E9}y\" : [ 1 , 2 ] ,\r\n \"\u{1F600}\" : \"\u{20AC}\" }",
        #"["\/\b\f\n\r\t", 123456789012345678901234567890, -0.0e-0]"#,
    ]

    @Test(arguments: documents)
    func everyTruncationFailsCleanly(_ json: String) throws {
        let bytes = Array(json.utf8)
        _ = try JSONReader.parse(bytes)  // the whole document is fine
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            do {
                let value = try JSONReader.parse(prefix)
                Issue.record("prefix of \(length) bytes accepted: \(value)")
            } catch {
                #expect(error.offset <= length, "offset \(error.offset) beyond \(length) bytes")
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
    }

    @Test(arguments: documents)
    func corruptedBytesNeverCrash(_ json: String) {
        // Every single byte replaced by a handful of troublesome values: the reader either accepts the
        // result or throws; it must never trap or loop.
        let bytes = Array(json.utf8)
        let replacements: [UInt8] = [0x00, 0x0A, 0x22, 0x5C, 0x7B, 0x5D, 0x2C, 0x80, 0xC3, 0xFF]
        for i in bytes.indices {
            for r in replacements {
                var mutated = bytes
                mutated[i] = r
                _ = try? JSONReader.parse(mutated)
            }
        }
    }

    @Test func depthLimit() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }
        _ = try JSONReader.parse(nested(64))
        #expect(throws: JSONError(line: 1, column: 65, offset: 64, message: "nesting is deeper than 64 levels")) {
            try JSONReader.parse(nested(65))
        }
        // Objects count the same as arrays.
        let objects = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        _ = try JSONReader.parse(objects)
        #expect(throws: JSONError.self) { try JSONReader.parse("[" + objects + "]") }
        // A custom limit.
        let shallow = JSONLimits(maxDepth: 2)
        _ = try JSONReader.parse("[[1]]", limits: shallow)
        #expect(throws: JSONError.self) { try JSONReader.parse("[[[1]]]", limits: shallow) }
        // Deep input beyond the limit fails quickly instead of exhausting the stack.
        #expect(throws: JSONError.self) { try JSONReader.parse(String(repeating: "[", count: 1_000_000)) }
    }

    @Test func ceilingDepthFitsOnATestThread() throws {
        let limits = JSONLimits(maxDepth: JSONLimits.depthCeiling)
        let depth = JSONLimits.depthCeiling
        let json = String(repeating: #"{"a":["#, count: depth / 2) + String(repeating: "]}", count: depth / 2)
        _ = try JSONReader.parse(json, limits: limits)
    }

    @Test func sizeLimit() throws {
        let limits = JSONLimits(maxBytes: 10)
        _ = try JSONReader.parse("[1,2,3,40]", limits: limits)
        #expect(throws: JSONError(line: 1, column: 1, offset: 0, message: "document is 11 bytes, the limit is 10")) {
            try JSONReader.parse("[1,2,3,400]", limits: limits)
        }
    }
}
