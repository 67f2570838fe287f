import ProxymJSON

/// Why a Marathon body (or one app in it) could not be decoded.
enum CursorError: Error {
    /// The bytes are not JSON: the whole body is unusable.
    case syntax(JSONError)
    /// Valid JSON, but a field the decoder needs has the wrong type or value: costs one app (or task).
    case field(FieldError)
}

/// A needed field with the wrong type or value; `path` grows as the error travels outwards
/// (`ports` -> `tasks[1].ports` -> `apps[3].tasks[1].ports`).
struct FieldError: Error, Sendable {
    var path: String
    var message: String

    func nested(under prefix: String) -> FieldError {
        var copy = self
        if path.isEmpty {
            copy.path = prefix
        } else if path.hasPrefix("[") {
            copy.path = prefix + path
        } else {
            copy.path = prefix + "." + path
        }
        return copy
    }

    var description: String { path.isEmpty ? message : path + ": " + message }
}

/// A string in the buffer, between its quotes (exclusive).
struct StringSpan {
    var start: Int
    var end: Int
    var hasEscapes: Bool
    var count: Int { end - start }
}

/// A strict pull reader over a byte buffer, for large bodies where building a ``JSONValue`` tree would
/// cost more than the decoding itself: the decoder asks for the members it needs and skips the rest.
///
/// It accepts exactly what ``JSONReader`` accepts (RFC 8259, UTF-8 validated, no comments, no trailing
/// commas, no lone surrogates, bounded depth; a leading BOM is skipped): everything it skips is still
/// checked, so a truncated or corrupt body fails as a whole instead of decoding into something partial.
/// Tests compare its verdict with ``JSONReader``'s on every fixture and on mutations of them.
///
/// Only valid inside the `withUnsafeBytes` scope of the buffer it was made from.
struct JSONCursor {
    enum Kind {
        case object, array, string, number, bool, null

        /// `an object`, `a string`... for "expected X, got Y" messages.
        var phrase: String {
            switch self {
            case .object: return "an object"
            case .array: return "an array"
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    let base: UnsafeRawPointer
    let end: Int
    let maxDepth: Int
    private(set) var depth = 0
    var index = 0
    /// Reused when a string with escapes is decoded.
    private var scratch: [UInt8] = []
    /// Where `base` sits in the whole document, for error positions: a cursor over a piece of a body
    /// that arrives in parts (``MarathonAppsStream``) reports them as one over the whole body would.
    let origin: TextPosition
    /// Errors carry only their offset (line and column 0); see ``MarathonAppsStream``.
    let positionsLater: Bool

    init(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(CursorError) {
        guard bytes.count <= limits.maxBytes else {
            throw .syntax(
                JSONError(
                    line: 1,
                    column: 1,
                    offset: 0,
                    message: "document is \(bytes.count) bytes, the limit is \(limits.maxBytes)"
                )
            )
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw .syntax(
                JSONError(line: 1, column: 1, offset: 0, message: "unexpected end of input, expected a JSON value")
            )
        }
        self.base = base
        self.end = bytes.count
        self.maxDepth = limits.maxDepth
        self.origin = TextPosition()
        self.positionsLater = false
        if end >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF { index = 3 }
    }

    /// A cursor over the part of a document received so far that is not yet consumed: `bytes` starts
    /// at `origin` in the document (a leading byte order mark is skipped only at the very start), the
    /// reading goes on from `index`, already `depth` levels deep. `bytes` may be empty. The size
    /// limit is the caller's to check (it sees the whole document go by). Unless `exactPositions`,
    /// errors carry their offset only (line and column 0, positions in messages left out): most are
    /// "the input ran out here", and the caller asks again, exactly, for the one that stands.
    init(
        resuming bytes: UnsafeRawBufferPointer, at origin: TextPosition, index: Int, depth: Int, limits: JSONLimits,
        exactPositions: Bool = false
    ) {
        // Never read when `end` is 0: every read is guarded by `index < end`.
        self.base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!
        self.end = bytes.count
        self.maxDepth = limits.maxDepth
        self.origin = origin
        self.positionsLater = !exactPositions
        self.index = index
        self.depth = depth
        if origin.offset == 0 && index == 0 && end >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF {
            self.index = 3
        }
    }

    /// Position and depth, to come back to after a field error and skip the value whole.
    struct Mark {
        fileprivate var index: Int
        fileprivate var depth: Int
    }

    var mark: Mark { Mark(index: index, depth: depth) }

    mutating func reset(to mark: Mark) {
        index = mark.index
        depth = mark.depth
    }

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    // MARK: Structure

    /// After the top-level value: only whitespace may follow.
    mutating func finish() throws(CursorError) {
        skipWhitespace()
        guard index == end else { throw syntax(at: index, "unexpected \(describe(index)) after the JSON value") }
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

    /// The kind of the next value, without consuming it (whitespace before it is skipped).
    mutating func peek() throws(CursorError) -> Kind {
        skipWhitespace()
        guard index < end else { throw syntax(at: index, "unexpected end of input, expected a JSON value") }
        switch byte(index) {
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "/"): throw syntax(at: index, "comments are not allowed in JSON")
        default: throw syntax(at: index, "unexpected \(describe(index)), expected a JSON value")
        }
    }

    /// Consumes the `{` that ``peek()`` saw; then call ``nextKey(_:)`` until it returns `nil`.
    mutating func enterObject() throws(CursorError) {
        try enter()
        index += 1
    }

    /// Consumes the `[` that ``peek()`` saw; then call ``nextElement(_:)`` until it returns `false`.
    mutating func enterArray() throws(CursorError) {
        try enter()
        index += 1
    }

    private mutating func enter() throws(CursorError) {
        depth += 1
        guard depth <= maxDepth else { throw syntax(at: index, "nesting is deeper than \(maxDepth) levels") }
    }

    /// The next member's key, with its `:` consumed (the caller must then read or skip its value), or
    /// `nil` once the closing `}` is consumed. `first` starts `true` for each object.
    mutating func nextKey(_ first: inout Bool) throws(CursorError) -> StringSpan? {
        skipWhitespace()
        guard index < end else { throw expected(first ? "a string key or '}'" : "',' or '}' after object member") }
        let b = byte(index)
        if b == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return nil
        }
        if first {
            first = false
        } else {
            guard b == UInt8(ascii: ",") else { throw expected("',' or '}' after object member") }
            index += 1
            skipWhitespace()
            if index < end && byte(index) == UInt8(ascii: "}") {
                throw syntax(at: index, "trailing comma before '}' is not allowed")
            }
        }
        guard index < end, byte(index) == UInt8(ascii: "\"") else {
            throw expected("a string key for an object member")
        }
        let key = try scanString()
        skipWhitespace()
        guard index < end, byte(index) == UInt8(ascii: ":") else { throw expected("':' after object key") }
        index += 1
        return key
    }

    /// Whether another element follows (the caller must then read or skip it); `false` once the closing
    /// `]` is consumed. `first` starts `true` for each array.
    mutating func nextElement(_ first: inout Bool) throws(CursorError) -> Bool {
        skipWhitespace()
        guard index < end else {
            throw expected(first ? "a JSON value or ']'" : "',' or ']' after array element")
        }
        let b = byte(index)
        if b == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return false
        }
        if first {
            first = false
            return true
        }
        guard b == UInt8(ascii: ",") else { throw expected("',' or ']' after array element") }
        index += 1
        skipWhitespace()
        if index < end && byte(index) == UInt8(ascii: "]") {
            throw syntax(at: index, "trailing comma before ']' is not allowed")
        }
        return true
    }

    /// Skips one value of any kind, checking it as strictly as the rest.
    mutating func skipValue() throws(CursorError) {
        switch try peek() {
        case .string:
            _ = try scanString()
        case .number:
            _ = try scanNumber()
        case .bool:
            if byte(index) == UInt8(ascii: "t") { try expectLiteral("true") } else { try expectLiteral("false") }
        case .null:
            try expectLiteral("null")
        case .object:
            try enterObject()
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case .array:
            try enterArray()
            var first = true
            while try nextElement(&first) { try skipValue() }
        }
    }

    // MARK: Scalars

    /// Reads the string ``peek()`` saw.
    mutating func readString() throws(CursorError) -> String {
        let span = try scanString()
        return string(span)
    }

    /// Reads the `true`/`false` ``peek()`` saw.
    mutating func readBool() throws(CursorError) -> Bool {
        if byte(index) == UInt8(ascii: "t") {
            try expectLiteral("true")
            return true
        }
        try expectLiteral("false")
        return false
    }

    /// Reads the `null` ``peek()`` saw.
    mutating func readNull() throws(CursorError) {
        try expectLiteral("null")
    }

    /// Reads the number ``peek()`` saw: its value when it is an integer literal that fits an `Int`,
    /// else `nil` (`1.5`, `1e3`, `99999999999999999999`).
    mutating func readInteger() throws(CursorError) -> Int? {
        let start = index
        let isInteger = try scanNumber()
        guard isInteger else { return nil }
        var i = start
        let negative = byte(i) == UInt8(ascii: "-")
        if negative { i += 1 }
        var value = 0
        while i < index {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(byte(i) &- 0x30))
            if o1 || o2 { return nil }
            value = s
            i += 1
        }
        return negative ? -value : value
    }

    /// The text of the number ``peek()`` saw, consumed (for error messages).
    func numberText(from start: Int, to stop: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }

    /// The decoded text of a span from ``nextKey(_:)`` or ``scanString()``.
    mutating func string(_ span: StringSpan) -> String {
        if !span.hasEscapes {
            return String(decoding: UnsafeRawBufferPointer(start: base + span.start, count: span.count), as: UTF8.self)
        }
        scratch.removeAll(keepingCapacity: true)
        decodeEscaped(span)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Whether the span's text is exactly `literal` (escapes decoded first).
    mutating func spanEquals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        if span.hasEscapes {
            scratch.removeAll(keepingCapacity: true)
            decodeEscaped(span)
            guard scratch.count == count else { return false }
            let bytes = literal.utf8Start
            for k in 0..<count where scratch[k] != bytes[k] { return false }
            return true
        }
        guard span.count == count else { return false }
        let bytes = literal.utf8Start
        for k in 0..<count where byte(span.start + k) != bytes[k] { return false }
        return true
    }

    /// Whether the span's raw bytes start with `prefix` (a key with escapes never matches: callers use
    /// this only as a cheap filter and decode the survivors).
    func spanHasPrefix(_ span: StringSpan, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard span.count >= count else { return false }
        let bytes = prefix.utf8Start
        for k in 0..<count where byte(span.start + k) != bytes[k] { return false }
        return true
    }

    // MARK: Lexing

    /// Scans (and checks) the string that starts at the current `"`; returns its contents' span.
    mutating func scanString() throws(CursorError) -> StringSpan {
        let open = index
        index += 1
        let start = index
        var escapes = false
        while true {
            // Eight plain bytes at a time: none of `"`, `\`, a control character or a non-ASCII byte.
            while index + 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if JSONCursor.isPlain(word) { index += 8 } else { break }
            }
            guard index < end else { break }
            let b = byte(index)
            if b == UInt8(ascii: "\"") {
                let span = StringSpan(start: start, end: index, hasEscapes: escapes)
                index += 1
                return span
            }
            if b == UInt8(ascii: "\\") {
                escapes = true
                try checkEscape()
            } else if b < 0x20 {
                throw syntax(at: index, "control character U+\(hex(UInt16(b))) must be escaped in a string")
            } else if b < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        throw syntax(at: index, "unexpected end of input in the string that starts at \(position(of: open))")
    }

    /// True when none of the eight bytes is `"`, `\`, below 0x20 or above 0x7F.
    @inline(__always)
    static func isPlain(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & high != 0 }
        if word & high != 0 { return false }
        // With every high bit clear, a byte below 0x20 borrows into its own high bit.
        if (word &- ones &* 0x20) & high != 0 { return false }
        return !hasZeroByte(word ^ (ones &* 0x22)) && !hasZeroByte(word ^ (ones &* 0x5C))
    }

    /// At a backslash inside a string: checks one escape (a surrogate pair counts as one).
    private mutating func checkEscape() throws(CursorError) {
        let escape = index
        index += 1
        guard index < end else { throw syntax(at: index, "unexpected end of input in an escape sequence") }
        let b = byte(index)
        index += 1
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let first = try hex4()
            if first >= 0xDC00 && first <= 0xDFFF {
                throw syntax(at: escape, "lone low surrogate \\u\(hex(first)) is not allowed")
            }
            guard first >= 0xD800 && first <= 0xDBFF else { return }
            guard index + 1 < end, byte(index) == UInt8(ascii: "\\"), byte(index + 1) == UInt8(ascii: "u") else {
                if index >= end || (index + 1 >= end && byte(index) == UInt8(ascii: "\\")) {
                    throw syntax(at: index, "unexpected end of input after high surrogate \\u\(hex(first))")
                }
                throw syntax(at: escape, "lone high surrogate \\u\(hex(first)) is not allowed")
            }
            let secondEscape = index
            index += 2
            let second = try hex4()
            guard second >= 0xDC00 && second <= 0xDFFF else {
                throw syntax(
                    at: secondEscape,
                    "high surrogate \\u\(hex(first)) must be followed by a low surrogate, got \\u\(hex(second))"
                )
            }
        default:
            if b >= 0x20 && b < 0x7F {
                throw syntax(at: escape, "invalid escape '\\\(Character(Unicode.Scalar(b)))'")
            }
            throw syntax(at: escape, "invalid escape: backslash followed by \(describeByte(b))")
        }
    }

    private mutating func hex4() throws(CursorError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < end else { throw syntax(at: index, "unexpected end of input in a \\u escape") }
            let b = byte(index)
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw syntax(at: index, "expected a hex digit in a \\u escape, got \(describe(index))")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Decodes an already checked span into `scratch`.
    private mutating func decodeEscaped(_ span: StringSpan) {
        var i = span.start
        func hexValue(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 {
                let b = byte(at + k)
                let d: UInt8 = b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < span.end {
            let b = byte(i)
            guard b == UInt8(ascii: "\\") else {
                scratch.append(b)
                i += 1
                continue
            }
            let e = byte(i + 1)
            i += 2
            switch e {
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexValue(i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hexValue(i + 2)
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendScalar(scalar)
            default: scratch.append(e)  // `"`, `\`, `/`
            }
        }
    }

    private mutating func appendScalar(_ v: UInt32) {
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

    /// Length of the well-formed UTF-8 sequence (2-4 bytes) that starts with a non-ASCII byte at `i`
    /// (``UTF8Sequence/length(_:at:end:)``).
    @inline(__always)
    private func utf8SequenceLength(at i: Int) throws(CursorError) -> Int {
        if let length = UTF8Sequence.length(base, at: i, end: end) { return length }
        throw syntax(at: i, "invalid UTF-8 (byte 0x\(hex(UInt16(byte(i)), digits: 2)))")
    }

    /// Scans (and checks) the number at the current position; returns whether it is an integer literal.
    mutating func scanNumber() throws(CursorError) -> Bool {
        @inline(__always) func isDigit(_ i: Int) -> Bool { i < end && byte(i) &- 0x30 < 10 }
        var i = index
        if byte(i) == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw syntax(at: i, "expected a digit after '-'") }
        if byte(i) == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw syntax(at: i - 1, "numbers must not have leading zeros") }
        } else {
            while isDigit(i) { i += 1 }
        }
        var isInteger = true
        if i < end && byte(i) == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw syntax(at: i, "expected a digit after '.'") }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        if i < end && (byte(i) | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < end && (byte(i) == UInt8(ascii: "+") || byte(i) == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { throw syntax(at: i, "expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        index = i
        return isInteger
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(CursorError) {
        let count = literal.utf8CodeUnitCount
        let bytes = literal.utf8Start
        for k in 0..<count {
            guard index + k < end, byte(index + k) == bytes[k] else {
                throw syntax(at: index, "invalid literal, expected '\(literal)'")
            }
        }
        index += count
    }

    // MARK: Errors

    func syntax(at offset: Int, _ message: String) -> CursorError {
        if positionsLater {
            // Line 0: the stream computes the position if the error stands (most are "need more input").
            return .syntax(JSONError(line: 0, column: 0, offset: origin.offset + offset, message: message))
        }
        let (line, column) = lineAndColumn(of: offset)
        return .syntax(JSONError(line: line, column: column, offset: origin.offset + offset, message: message))
    }

    private func expected(_ what: String) -> CursorError {
        if index >= end { return syntax(at: index, "unexpected end of input, expected \(what)") }
        return syntax(at: index, "expected \(what)")
    }

    private func position(of offset: Int) -> String {
        if positionsLater { return "offset \(origin.offset + offset)" }
        let (line, column) = lineAndColumn(of: offset)
        return "line \(line), column \(column)"
    }

    /// Only computed for errors, the way ``JSONReader`` counts: lines by `\n`, columns by scalars.
    private func lineAndColumn(of offset: Int) -> (Int, Int) {
        let stop = min(offset, end)
        var position = origin
        position.advance(over: UnsafeRawBufferPointer(start: base, count: stop))
        return (position.line, position.column)
    }

    private func describe(_ i: Int) -> String {
        guard i < end else { return "end of input" }
        return describeByte(byte(i))
    }

    private func describeByte(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(hex(UInt16(b), digits: 2))"
    }

    private func hex(_ v: UInt16, digits: Int = 4) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// A place in a document as ``JSONReader`` reports it: byte offset, line (by `\n`) and column (by
/// Unicode scalars, a leading byte order mark not counted).
struct TextPosition: Hashable {
    var offset = 0
    var line = 1
    var column = 1

    /// Moves past `bytes`, which start at this position: one pass, eight bytes at a time.
    mutating func advance(over bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        var i = 0
        if offset == 0 && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func hasNewline(_ w: UInt64) -> Bool {
            // Exactly the bytes equal to '\n' get their high bit set (no borrow between bytes).
            let x = w ^ (ones &* 0x0A)
            return ~(((x & low) &+ low) | x) & high != 0
        }
        while i + 8 <= bytes.count {
            // Most bodies are one line of ASCII: 32 bytes at a time where that holds.
            if i + 32 <= bytes.count {
                let a = start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let b = start.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let c = start.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let d = start.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                if (a | b | c | d) & high == 0 && !hasNewline(a) && !hasNewline(b) && !hasNewline(c) && !hasNewline(d) {
                    column += 32
                    i += 32
                    continue
                }
            }
            let word = start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if !hasNewline(word) {
                // A continuation byte has bit 7 set and bit 6 clear.
                column += 8 - (word & ~(word << 1) & high).nonzeroBitCount
            } else {
                for k in i..<(i + 8) { step(bytes[k]) }
            }
            i += 8
        }
        while i < bytes.count {
            step(bytes[i])
            i += 1
        }
        offset += bytes.count
    }

    @inline(__always)
    private mutating func step(_ byte: UInt8) {
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }
}
