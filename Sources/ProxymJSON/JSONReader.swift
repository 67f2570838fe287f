/// A strict RFC 8259 reader: bytes in, one ``JSONValue`` out, or a ``JSONError`` naming line and column.
///
/// Strict means: no comments, no trailing commas, no leading zeros, no `NaN`/`Infinity`, no single
/// quotes, no unescaped control characters in strings, no lone surrogates (escaped or not), no invalid
/// UTF-8 anywhere, nothing but whitespace after the value. A UTF-8 byte order mark at the very start is
/// skipped. The reader works on the caller's buffer directly; the only allocations are the values it
/// returns.
public enum JSONReader {
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONError)
        -> JSONValue
    {
        guard bytes.count <= limits.maxBytes else {
            throw JSONError(
                line: 1, column: 1, offset: 0,
                message: "document is \(bytes.count) bytes, the limit is \(limits.maxBytes)")
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONError(line: 1, column: 1, offset: 0, message: "unexpected end of input, expected a JSON value")
        }
        var parser = Parser(base: base, end: bytes.count, maxDepth: limits.maxDepth)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) -> JSONValue in try parse(raw, limits: limits) }
        }
        return try result.get()
    }

    /// Convenience for tests and small inline documents.
    public static func parse(_ text: String, limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONError) -> JSONValue in try parse(UnsafeRawBufferPointer(buffer), limits: limits) }
        }
        return try result.get()
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
}

/// The parser's state: structure and depth over a ``JSONLexer``, which scans the tokens. Recursion
/// depth is bounded by `maxDepth`, which `JSONLimits` caps.
private struct Parser {
    var lexer: JSONLexer
    let maxDepth: Int
    var depth = 0
    /// Reused for strings that contain escapes, so decoding them allocates only the result.
    var scratch: [UInt8] = []

    init(base: UnsafeRawPointer, end: Int, maxDepth: Int) {
        self.lexer = JSONLexer(base: base, end: end)
        self.maxDepth = maxDepth
    }

    var index: Int {
        @inline(__always) get { lexer.index }
        @inline(__always) set { lexer.index = newValue }
    }
    var end: Int { @inline(__always) get { lexer.end } }

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { lexer.byte(i) }

    @inline(__always)
    mutating func skipWhitespace() { lexer.skipWhitespace() }

    // MARK: Structure

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if lexer.startsWithByteOrderMark { index = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == end else {
            throw error(at: index, "unexpected \(lexer.describe(index)) after the JSON value")
        }
        return value
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard index < end else { throw error(at: index, "unexpected end of input, expected a JSON value") }
        switch byte(index) {
        case ASCII.quote: return .string(try parseString())
        case ASCII.openBrace: return .object(try parseObject())
        case ASCII.openBracket: return .array(try parseArray())
        case ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.slash:
            throw error(at: index, "comments are not allowed in JSON")
        default:
            throw error(at: index, "unexpected \(lexer.describe(index)), expected a JSON value")
        }
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= maxDepth else { throw error(at: index, "nesting is deeper than \(maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONError) -> JSONObject {
        try enter()
        index += 1  // '{'
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if index < end && byte(index) == ASCII.closeBrace {
            index += 1
            depth -= 1
            return JSONObject(members)
        }
        while true {
            guard index < end, byte(index) == ASCII.quote else {
                throw expected("a string key for an object member")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < end, byte(index) == ASCII.colon else { throw expected("':' after object key") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < end else { throw expected("',' or '}' after object member") }
            let b = byte(index)
            if b == ASCII.closeBrace {
                index += 1
                break
            }
            guard b == ASCII.comma else { throw expected("',' or '}' after object member") }
            index += 1
            skipWhitespace()
            if index < end && byte(index) == ASCII.closeBrace {
                throw error(at: index, "trailing comma before '}' is not allowed")
            }
        }
        depth -= 1
        return JSONObject(members)
    }

    mutating func parseArray() throws(JSONError) -> [JSONValue] {
        try enter()
        index += 1  // '['
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < end && byte(index) == ASCII.closeBracket {
            index += 1
            depth -= 1
            return elements
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard index < end else { throw expected("',' or ']' after array element") }
            let b = byte(index)
            if b == ASCII.closeBracket {
                index += 1
                break
            }
            guard b == ASCII.comma else { throw expected("',' or ']' after array element") }
            index += 1
            skipWhitespace()
            if index < end && byte(index) == ASCII.closeBracket {
                throw error(at: index, "trailing comma before ']' is not allowed")
            }
        }
        depth -= 1
        return elements
    }

    // MARK: Tokens (scanned by the lexer)

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        do throws(JSONLexFailure) { try lexer.expectLiteral(literal) } catch { throw lexFailure(error) }
    }

    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = index
        let isInteger: Bool
        do throws(JSONLexFailure) { isInteger = try lexer.scanNumber() } catch { throw lexFailure(error) }
        return JSONNumber(validatedText: lexer.text(from: start, to: index), isIntegerLiteral: isInteger)
    }

    /// Reads a string starting at its opening quote (UTF-8 validated on the way).
    mutating func parseString() throws(JSONError) -> String {
        let span: JSONStringSpan
        do throws(JSONLexFailure) { span = try lexer.scanString() } catch { throw lexFailure(error) }
        return lexer.string(span, scratch: &scratch)
    }

    // MARK: Errors

    func lexFailure(_ failure: JSONLexFailure) -> JSONError {
        error(at: failure.offset, failure.message(naming: position(of:)))
    }

    /// "expected X" at the current position, or "unexpected end of input, expected X" at the end.
    func expected(_ what: String) -> JSONError {
        if index >= end { return error(at: index, "unexpected end of input, expected \(what)") }
        return error(at: index, "expected \(what)")
    }

    func error(at offset: Int, _ message: String) -> JSONError {
        let (line, column) = lineAndColumn(of: offset)
        return JSONError(line: line, column: column, offset: offset, message: message)
    }

    func position(of offset: Int) -> String {
        let (line, column) = lineAndColumn(of: offset)
        return "line \(line), column \(column)"
    }

    /// Only computed for errors (``TextPosition``: lines by `\n`, columns by scalars, a BOM not counted).
    func lineAndColumn(of offset: Int) -> (Int, Int) {
        var position = TextPosition()
        position.advance(over: UnsafeRawBufferPointer(start: lexer.base, count: min(offset, end)))
        return (position.line, position.column)
    }
}
