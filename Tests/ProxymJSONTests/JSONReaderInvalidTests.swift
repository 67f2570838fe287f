import ProxymJSON
import Testing

/// A document the reader must refuse, with the expected message (a substring) and position.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let message: String
    let line: Int
    let column: Int
    init(_ name: String, _ json: String, _ message: String, line: Int = 1, column: Int) {
        self.init(name, Array(json.utf8), message, line: line, column: column)
    }
    init(_ name: String, _ bytes: [UInt8], _ message: String, line: Int = 1, column: Int) {
        self.name = name
        self.bytes = bytes
        self.message = message
        self.line = line
        self.column = column
    }
    var testDescription: String { name }
}

@Suite("JSONReader refuses")
struct JSONReaderInvalidTests {
    static let structure: [InvalidCase] = [
        InvalidCase("empty input", "", "unexpected end of input, expected a JSON value", column: 1),
        InvalidCase("only whitespace", " \n ", "unexpected end of input, expected a JSON value", line: 2, column: 2),
        InvalidCase("only BOM", [0xEF, 0xBB, 0xBF], "unexpected end of input", column: 1),
        InvalidCase("BOM not at start", [0x20, 0xEF, 0xBB, 0xBF, 0x31], "unexpected byte 0xEF", column: 2),
        InvalidCase("trailing comma in array", "[1,]", "trailing comma before ']'", column: 4),
        InvalidCase("trailing comma in object", #"{"a":1,}"#, "trailing comma before '}'", column: 8),
        InvalidCase("leading comma", "[,1]", "unexpected character ','", column: 2),
        InvalidCase("double comma", "[1,,2]", "unexpected character ','", column: 4),
        InvalidCase("missing comma", "[1 2]", "expected ',' or ']' after array element", column: 4),
        InvalidCase("missing colon", #"{"a" 1}"#, "expected ':' after object key", column: 6),
        InvalidCase("missing value", #"{"a":}"#, "unexpected character '}', expected a JSON value", column: 6),
        InvalidCase("unquoted key", "{a:1}", "expected a string key", column: 2),
        InvalidCase("single-quoted key", "{'a':1}", "expected a string key", column: 2),
        InvalidCase("single-quoted string", "['a']", "unexpected character '''", column: 2),
        InvalidCase("number key", "{1:1}", "expected a string key", column: 2),
        InvalidCase("unclosed array", "[1", "unexpected end of input, expected ',' or ']'", column: 3),
        InvalidCase("unclosed object", #"{"a":1"#, "unexpected end of input, expected ',' or '}'", column: 7),
        InvalidCase("mismatched close", "[1}", "expected ',' or ']' after array element", column: 3),
        InvalidCase("extra close", "[1]]", "unexpected character ']' after the JSON value", column: 4),
        InvalidCase("two values", "1 2", "unexpected character '2' after the JSON value", column: 3),
        InvalidCase("trailing garbage", "{}x", "after the JSON value", column: 3),
        InvalidCase("trailing NUL", [0x7B, 0x7D, 0x00], "unexpected byte 0x00 after the JSON value", column: 3),
        InvalidCase("line comment", "[1] // c", "after the JSON value", column: 5),
        InvalidCase("block comment", "[/* c */ 1]", "comments are not allowed", column: 2),
        InvalidCase("form feed is not whitespace", "[\u{C}1]", "unexpected byte 0x0C", column: 2),
        InvalidCase("non-breaking space is not whitespace", "[\u{A0}1]", "unexpected byte 0xC2", column: 2),
        // Literals.
        InvalidCase("capital True", "True", "unexpected character 'T'", column: 1),
        InvalidCase("truncated true", "tru", "invalid literal, expected 'true'", column: 1),
        InvalidCase("misspelled null", "nul1", "invalid literal, expected 'null'", column: 1),
        InvalidCase("literal with suffix", "truex", "unexpected character 'x' after the JSON value", column: 5),
        InvalidCase("NaN", "NaN", "unexpected character 'N'", column: 1),
        InvalidCase("Infinity", "[Infinity]", "unexpected character 'I'", column: 2),
        InvalidCase("undefined", "undefined", "unexpected character 'u'", column: 1),
    ]

    static let numbers: [InvalidCase] = [
        InvalidCase("leading zero", "01", "leading zeros", column: 1),
        InvalidCase("negative leading zero", "-012", "leading zeros", column: 2),
        InvalidCase("plus sign", "+1", "unexpected character '+'", column: 1),
        InvalidCase("lone minus", "-", "expected a digit after '-'", column: 2),
        InvalidCase("minus then letter", "-a", "expected a digit after '-'", column: 2),
        InvalidCase("leading dot", ".5", "unexpected character '.'", column: 1),
        InvalidCase("trailing dot", "1.", "expected a digit after '.'", column: 3),
        InvalidCase("dot then exponent", "1.e5", "expected a digit after '.'", column: 3),
        InvalidCase("empty exponent", "1e", "expected a digit in the exponent", column: 3),
        InvalidCase("exponent sign only", "1e+", "expected a digit in the exponent", column: 4),
        InvalidCase("hex", "0x10", "unexpected character 'x' after the JSON value", column: 2),
        InvalidCase("NaN in array", "[-NaN]", "expected a digit after '-'", column: 3),
        InvalidCase("minus Infinity", "-Infinity", "expected a digit after '-'", column: 2),
        InvalidCase("comma decimal", "[1,5.]", "expected a digit after '.'", column: 6),
    ]

    static let strings: [InvalidCase] = [
        InvalidCase(
            "unterminated", #""abc"#, "unexpected end of input in the string that starts at line 1, column 1", column: 5
        ),
        InvalidCase("raw newline", "\"a\nb\"", "control character U+000A must be escaped", column: 3),
        InvalidCase("raw tab", "\"a\tb\"", "control character U+0009", column: 3),
        InvalidCase("raw NUL", [0x22, 0x00, 0x22], "control character U+0000", column: 2),
        InvalidCase("raw control after escape", "\"\\n\u{1}\"", "control character U+0001", column: 4),
        InvalidCase("bad escape", #""\x""#, "invalid escape '\\x'", column: 2),
        InvalidCase("escaped single quote", #""\'""#, "invalid escape '\\''", column: 2),
        InvalidCase("backslash then control", [0x22, 0x5C, 0x0A, 0x22], "backslash followed by byte 0x0A", column: 2),
        InvalidCase(
            "short unicode escape", #""\u12""#, "expected a hex digit in a \\u escape, got character '\"'", column: 6),
        InvalidCase("non-hex unicode escape", #""\uGGGG""#, "expected a hex digit", column: 4),
        InvalidCase("capital U escape", #""\U0041""#, "invalid escape '\\U'", column: 2),
        InvalidCase("lone high surrogate", #""\uD800""#, "lone high surrogate \\uD800", column: 2),
        InvalidCase("high surrogate then text", #""\uD800abc""#, "lone high surrogate \\uD800", column: 2),
        InvalidCase("high surrogate then escape", #""\uD800\n""#, "lone high surrogate \\uD800", column: 2),
        InvalidCase("lone low surrogate", #""\uDC00""#, "lone low surrogate \\uDC00", column: 2),
        InvalidCase(
            "two high surrogates", #""\uD800\uD800""#, "must be followed by a low surrogate, got \\uD800", column: 8),
        InvalidCase("reversed pair", #""\uDE00\uD83D""#, "lone low surrogate", column: 2),
        // Invalid UTF-8, raw.
        InvalidCase("stray continuation", [0x22, 0x80, 0x22], "invalid UTF-8 (byte 0x80)", column: 2),
        InvalidCase("overlong slash", [0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8 (byte 0xC0)", column: 2),
        InvalidCase("overlong three-byte", [0x22, 0xE0, 0x80, 0xAF, 0x22], "invalid UTF-8", column: 2),
        InvalidCase("encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8 (byte 0xED)", column: 2),
        InvalidCase("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8 (byte 0xF4)", column: 2),
        InvalidCase("F5 lead", [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "invalid UTF-8", column: 2),
        InvalidCase("FF byte", [0x22, 0xFF, 0x22], "invalid UTF-8 (byte 0xFF)", column: 2),
        InvalidCase("truncated sequence", [0x22, 0xE2, 0x82, 0x22], "invalid UTF-8 (byte 0xE2)", column: 2),
        InvalidCase("sequence cut by end", [0x22, 0xF0, 0x9F], "invalid UTF-8", column: 2),
        InvalidCase(
            "invalid UTF-8 after escape", [0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22], "invalid UTF-8 (byte 0xC3)", column: 4),
        InvalidCase("invalid UTF-8 in key", [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D], "invalid UTF-8", column: 3),
        InvalidCase("UTF-16 input", [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00], "unexpected byte 0xFF", column: 1),
    ]

    @Test(arguments: structure + numbers + strings)
    func refuses(_ c: InvalidCase) {
        do {
            let value = try JSONReader.parse(c.bytes)
            Issue.record("accepted: \(value)")
        } catch {
            #expect(error.message.contains(c.message), "message was: \(error.message)")
            #expect(error.line == c.line, "\(error)")
            #expect(error.column == c.column, "\(error)")
            #expect(error.description == "line \(error.line), column \(error.column): \(error.message)")
            // Messages never echo control characters from the input.
            #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        }
    }

    @Test func positionsOnLaterLines() {
        let json = """
            {
              "id": "/web",
              "servicePort": 80 "hosts": []
            }
            """
        #expect(throws: JSONError(line: 3, column: 21, offset: 38, message: "expected ',' or '}' after object member"))
        {
            try JSONReader.parse(json)
        }
    }

    @Test func columnsCountScalarsNotBytes() {
        // "é" is two bytes but one column; the BOM is not a column either.
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"é": x}"#.utf8)
        do {
            _ = try JSONReader.parse(bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.line == 1)
            #expect(error.column == 7)
            #expect(error.offset == 10)
        }
    }

    @Test func unterminatedStringNamesItsStart() {
        do {
            _ = try JSONReader.parse("[\n  \"ok\",\n  \"never closed\n]")
            Issue.record("accepted")
        } catch {
            #expect(error.message == "control character U+000A must be escaped in a string")
            #expect(error.line == 3)
        }
        do {
            _ = try JSONReader.parse("[\n  \"abc")
            Issue.record("accepted")
        } catch {
            #expect(error.message == "unexpected end of input in the string that starts at line 2, column 3")
        }
    }
}
