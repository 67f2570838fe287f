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

/// A string in the buffer, between its quotes (exclusive); the lexer's span.
typealias StringSpan = JSONStringSpan

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

    /// The read position and the byte-level scanners (strings, numbers, literals) shared with
    /// ``JSONReader``; the cursor adds structure, depth and typed reads.
    private var lexer: JSONLexer
    let maxDepth: Int
    private(set) var depth = 0
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
        self.lexer = JSONLexer(base: base, end: bytes.count)
        self.maxDepth = limits.maxDepth
        self.origin = TextPosition()
        self.positionsLater = false
        if lexer.startsWithByteOrderMark { index = 3 }
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
        self.lexer = JSONLexer(
            base: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!, end: bytes.count, index: index)
        self.maxDepth = limits.maxDepth
        self.origin = origin
        self.positionsLater = !exactPositions
        self.depth = depth
        if origin.offset == 0 && index == 0 && lexer.startsWithByteOrderMark { self.index = 3 }
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

    var index: Int {
        @inline(__always) get { lexer.index }
        @inline(__always) set { lexer.index = newValue }
    }
    var base: UnsafeRawPointer { @inline(__always) get { lexer.base } }
    var end: Int { @inline(__always) get { lexer.end } }

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { lexer.byte(i) }

    // MARK: Structure

    /// After the top-level value: only whitespace may follow.
    mutating func finish() throws(CursorError) {
        skipWhitespace()
        guard index == end else { throw syntax(at: index, "unexpected \(describe(index)) after the JSON value") }
    }

    @inline(__always)
    mutating func skipWhitespace() { lexer.skipWhitespace() }

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
    func numberText(from start: Int, to stop: Int) -> String { lexer.text(from: start, to: stop) }

    /// The decoded text of a span from ``nextKey(_:)`` or ``scanString()``.
    mutating func string(_ span: StringSpan) -> String { lexer.string(span, scratch: &scratch) }

    /// Whether the span's text is exactly `literal` (escapes decoded first).
    mutating func spanEquals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        if span.hasEscapes {
            scratch.removeAll(keepingCapacity: true)
            lexer.decodeEscaped(span, into: &scratch)
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

    // MARK: Lexing (``JSONLexer``'s scanners, their failures told the cursor's way)

    /// Scans (and checks) the string that starts at the current `"`; returns its contents' span.
    @inline(__always)
    mutating func scanString() throws(CursorError) -> StringSpan {
        do throws(JSONLexFailure) { return try lexer.scanString() } catch { throw lexFailure(error) }
    }

    /// Scans (and checks) the number at the current position; returns whether it is an integer literal.
    @inline(__always)
    mutating func scanNumber() throws(CursorError) -> Bool {
        do throws(JSONLexFailure) { return try lexer.scanNumber() } catch { throw lexFailure(error) }
    }

    @inline(__always)
    private mutating func expectLiteral(_ literal: StaticString) throws(CursorError) {
        do throws(JSONLexFailure) { try lexer.expectLiteral(literal) } catch { throw lexFailure(error) }
    }

    // MARK: Errors

    private func lexFailure(_ failure: JSONLexFailure) -> CursorError {
        syntax(at: failure.offset, failure.message(naming: position(of:)))
    }

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

    private func describe(_ i: Int) -> String { lexer.describe(i) }
}
