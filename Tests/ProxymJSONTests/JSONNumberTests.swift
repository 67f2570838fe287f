import ProxymJSON
import Testing

@Suite("JSONNumber")
struct JSONNumberTests {
    /// (literal, int, double)
    static let values: [(String, Int?, Double)] = [
        ("0", 0, 0),
        ("-0", 0, -0.0),
        ("80", 80, 80),
        ("-42", -42, -42),
        ("65535", 65535, 65535),
        ("9223372036854775807", Int.max, 0x1p63),
        ("-9223372036854775808", Int.min, -0x1p63),
        ("9223372036854775808", nil, 0x1p63),
        ("99999999999999999999", nil, 1e20),
        ("80.0", nil, 80),
        ("80.5", nil, 80.5),
        ("8e1", nil, 80),
        ("8E+1", nil, 80),
        ("1e-2", nil, 0.01),
        ("-1.5e3", nil, -1500),
        ("1e400", nil, .infinity),
        ("-1e400", nil, -.infinity),
        ("1e-400", nil, 0),
    ]

    @Test(arguments: values)
    func intAndDouble(_ literal: String, _ int: Int?, _ double: Double) throws {
        let parsed = try #require(try JSONReader.parse(literal).numberValue)
        #expect(parsed.text == literal)
        #expect(parsed.int == int)
        #expect(parsed.double == double)
        #expect(parsed.isIntegerLiteral == !literal.contains(where: { ".eE".contains($0) }))
        #expect(JSONNumber(literal) == parsed)
    }

    @Test(arguments: ["", " 1", "1 ", "+1", "01", "1.", ".1", "1e", "--1", "0x1", "NaN", "Infinity", "1_000", "١"])
    func refusesNonNumbers(_ text: String) {
        #expect(JSONNumber(text) == nil)
    }

    @Test func equalityIsTextual() {
        #expect(JSONNumber("1") != JSONNumber("1.0"))
        #expect(JSONNumber("1e2") != JSONNumber("100"))
        #expect(JSONNumber("100") == JSONNumber("100"))
    }
}
