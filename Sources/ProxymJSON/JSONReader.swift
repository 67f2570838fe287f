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
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let newline = UInt8(ascii: "\n")
}

/// The parser's state: a read position over a buffer it does not own. Recursion depth is bounded by
/// `maxDepth`, which `JSONLimits` caps.
private struct Parser {
    let base: UnsafeRawPointer
    let end: Int
    let maxDepth: Int
    var index = 0
    var depth = 0
    /// Reused for strings that contain escapes, so decoding them allocates only the result.
    var scratch: [UInt8] = []

    init(base: UnsafeRawPointer, end: Int, maxDepth: Int) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
    }

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    // MARK: Structure

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if end >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF { index = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == end else {
            throw error(at: index, "unexpected \(describe(index)) after the JSON value")
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
            throw error(at: index, "unexpected \(describe(index)), expected a JSON value")
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

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        let bytes = literal.utf8Start
        for k in 0..<count {
            guard start + k < end, byte(start + k) == bytes[k] else {
                throw error(at: start, "invalid literal, expected '\(literal)'")
            }
        }
        index = start + count
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < end {
            switch byte(index) {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = index
        switch JSONNumber.scan(base, from: start, end: end) {
        case .invalid(let offset, let message):
            throw error(at: offset, message)
        case .number(let stop, let isInteger):
            index = stop
            return JSONNumber(validatedText: makeString(from: start, to: stop), isIntegerLiteral: isInteger)
        }
    }

    // MARK: Strings

    /// Reads a string starting at its opening quote. Plain strings (no escapes) are copied straight
    /// from the buffer; UTF-8 is validated on the way.
    mutating func parseString() throws(JSONError) -> String {
        let open = index
        index += 1
        let start = index
        while index < end {
            let b = byte(index)
            if b == ASCII.quote {
                let s = makeString(from: start, to: index)
                index += 1
                return s
            }
            if b == ASCII.backslash { break }
            if b < 0x20 { throw controlCharacter(at: index) }
            if b < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        guard index < end else {
            throw error(at: index, "unexpected end of input in the string that starts at \(position(of: open))")
        }
        return try parseEscapedString(from: start, open: open)
    }

    /// The slow path, from the first backslash on: decodes into `scratch`.
    mutating func parseEscapedString(from start: Int, open: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        appendRaw(from: start, to: index)
        var run = index
        while index < end {
            let b = byte(index)
            if b == ASCII.quote {
                appendRaw(from: run, to: index)
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == ASCII.backslash {
                appendRaw(from: run, to: index)
                try parseEscape()
                run = index
                continue
            }
            if b < 0x20 { throw controlCharacter(at: index) }
            if b < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        throw error(at: index, "unexpected end of input in the string that starts at \(position(of: open))")
    }

    /// At a backslash: decodes one escape (a surrogate pair counts as one) into `scratch`.
    mutating func parseEscape() throws(JSONError) {
        let escape = index
        index += 1
        guard index < end else { throw error(at: index, "unexpected end of input in an escape sequence") }
        let b = byte(index)
        index += 1
        switch b {
        case ASCII.quote, ASCII.backslash, ASCII.slash: scratch.append(b)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let first = try hex4()
            var scalar = UInt32(first)
            if first >= 0xDC00 && first <= 0xDFFF {
                throw error(at: escape, "lone low surrogate \\u\(hex(first)) is not allowed")
            }
            if first >= 0xD800 && first <= 0xDBFF {
                guard index + 1 < end, byte(index) == ASCII.backslash, byte(index + 1) == UInt8(ascii: "u") else {
                    if index >= end || (index + 1 >= end && byte(index) == ASCII.backslash) {
                        throw error(at: index, "unexpected end of input after high surrogate \\u\(hex(first))")
                    }
                    throw error(at: escape, "lone high surrogate \\u\(hex(first)) is not allowed")
                }
                let secondEscape = index
                index += 2
                let second = try hex4()
                guard second >= 0xDC00 && second <= 0xDFFF else {
                    throw error(
                        at: secondEscape,
                        "high surrogate \\u\(hex(first)) must be followed by a low surrogate, got \\u\(hex(second))")
                }
                scalar = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
            }
            appendScalar(scalar)
        default:
            if b >= 0x20 && b < 0x7F {
                throw error(at: escape, "invalid escape '\\\(Character(Unicode.Scalar(b)))'")
            }
            throw error(at: escape, "invalid escape: backslash followed by \(describeByte(b))")
        }
    }

    /// Four hex digits after `\u`.
    mutating func hex4() throws(JSONError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < end else { throw error(at: index, "unexpected end of input in a \\u escape") }
            let b = byte(index)
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error(at: index, "expected a hex digit in a \\u escape, got \(describe(index))")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Length of the well-formed UTF-8 sequence (2-4 bytes) that starts with a non-ASCII byte at `i`
    /// (``UTF8Sequence/length(_:at:end:)``).
    @inline(__always)
    func utf8SequenceLength(at i: Int) throws(JSONError) -> Int {
        if let length = UTF8Sequence.length(base, at: i, end: end) { return length }
        throw error(at: i, "invalid UTF-8 (byte 0x\(hex(UInt16(byte(i)), digits: 2)))")
    }

    @inline(__always)
    func makeString(from start: Int, to stop: Int) -> String {
        // Already validated, so `decoding` never has to repair anything.
        String(decoding: UnsafeRawBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }

    mutating func appendRaw(from start: Int, to stop: Int) {
        guard stop > start else { return }
        scratch.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: stop - start))
    }

    mutating func appendScalar(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(v))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | (v >> 6) & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | (v >> 12) & 0x3F))
            scratch.append(UInt8(0x80 | (v >> 6) & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    // MARK: Errors

    func controlCharacter(at i: Int) -> JSONError {
        error(at: i, "control character U+\(hex(UInt16(byte(i)))) must be escaped in a string")
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

    /// Only computed for errors: counts newlines and, on the last line, UTF-8 lead bytes.
    func lineAndColumn(of offset: Int) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = end >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF ? 3 : 0
        let stop = min(offset, end)
        while i < stop {
            let b = byte(i)
            if b == ASCII.newline {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    /// `'x'` for printable ASCII, `byte 0xNN` otherwise; never echoes a control character.
    func describe(_ i: Int) -> String {
        guard i < end else { return "end of input" }
        return describeByte(byte(i))
    }

    func describeByte(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(hex(UInt16(b), digits: 2))"
    }

    func hex(_ v: UInt16, digits: Int = 4) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}
