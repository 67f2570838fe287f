import ProxymJSON
import Testing

@Suite("JSONObject lookups")
struct JSONObjectTests {
    func object(_ json: String) throws -> JSONObject {
        try #require(try JSONReader.parse(json).objectValue)
    }

    /// (document, key asked for, expected value)
    static let caseInsensitive: [(String, String, JSONValue?)] = [
        (#"{"id": 1}"#, "id", num("1")),
        (#"{"ID": 1}"#, "id", num("1")),
        (#"{"Id": 1}"#, "id", num("1")),
        (#"{"iD": 1}"#, "id", num("1")),
        (#"{"SERVICEPORT": 1}"#, "servicePort", num("1")),
        (#"{"serviceport": 1}"#, "servicePort", num("1")),
        (#"{"servicePort": 1}"#, "SERVICEPORT", num("1")),
        // An exact spelling wins over folded ones, wherever it is.
        (#"{"id": 1, "ID": 2}"#, "id", num("1")),
        (#"{"ID": 2, "id": 1}"#, "id", num("1")),
        (#"{"id": 1, "ID": 2, "id": 3}"#, "id", num("3")),
        // Without an exact spelling, the last folded match wins.
        (#"{"ID": 1, "Id": 2}"#, "id", num("2")),
        (#"{"Id": 2, "ID": 1}"#, "id", num("1")),
        // No match.
        (#"{"ids": 1}"#, "id", nil),
        (#"{"i d": 1}"#, "id", nil),
        (#"{}"#, "id", nil),
        // Folding is ASCII only: no Unicode case mapping, no Kelvin sign for "k".
        (#"{"\u212A": 1}"#, "k", nil),
        (#"{"É": 1}"#, "é", nil),
        (#"{"É": 1}"#, "É", num("1")),
        // Only letters fold: '@' (0x40) and '`' (0x60) differ by the case bit but are not letters.
        (#"{"@": 1}"#, "`", nil),
        (#"{"[": 1}"#, "{", nil),
    ]

    @Test(arguments: caseInsensitive)
    func memberCaseInsensitive(_ json: String, _ key: String, _ expected: JSONValue?) throws {
        #expect(try object(json).member(caseInsensitive: key) == expected)
    }

    @Test func exactSubscriptTakesTheLastExactMatch() throws {
        let o = try object(#"{"a": 1, "A": 2, "a": 3}"#)
        #expect(o["a"] == num("3"))
        #expect(o["A"] == num("2"))
        #expect(o["b"] == nil)
        #expect(o.count == 3)
        #expect(o.keys == ["a", "A", "a"])
    }

    @Test func valueAccessors() throws {
        let v = try JSONReader.parse(#"[null, true, 1, "s", [], {}]"#)
        let items = try #require(v.arrayValue)
        #expect(items.map(\.typeName) == ["null", "boolean", "number", "string", "array", "object"])
        #expect(items[0].isNull)
        #expect(items[1].boolValue == true)
        #expect(items[2].numberValue?.int == 1)
        #expect(items[3].stringValue == "s")
        #expect(items[4].arrayValue == [])
        #expect(items[5].objectValue == JSONObject())
        #expect(items[3].numberValue == nil && items[2].stringValue == nil)
    }
}
