/// The byte-level scanners of strict JSON (RFC 8259), shared by the tree reader (``JSONReader``) and
/// the streaming Marathon decoder: whitespace, strings (escapes, `\u` and surrogate pairs, UTF-8
/// validated), numbers, literals, and how a byte is named in a message.
///
/// A lexer is a read position over a buffer it does not own, valid only inside the scope that owns
/// the buffer. It knows nothing of structure (objects, arrays, depth) nor of how its callers report
/// positions: a failure carries the offset and the message (see ``JSONLexFailure``).
public struct JSONLexer {
    public let base: UnsafeRawPointer
    public let end: Int
    public var index: Int

    /// `end` bytes from `base`; never read when `end` is 0 (every read is guarded by `index < end`).
    @inlinable
    public init(base: UnsafeRawPointer, end: Int, index: Int = 0) {
        self.base = base
        self.end = end
        self.index = index
    }

    @inlinable @inline(__always)
    public func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    /// Whether the buffer starts with a UTF-8 byte order mark (which a document may carry, once).
    @inlinable
    public var startsWithByteOrderMark: Bool {
        end >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF
    }

    @inlinable @inline(__always)
    public mutating func skipWhitespace() {
        while index < end {
            switch byte(index) {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    // MARK: Strings

    /// Scans (and checks) the string that starts at the `"` at `index`; returns its contents' span,
    /// with `index` past the closing quote.
    @inlinable
    public mutating func scanString() throws(JSONLexFailure) -> JSONStringSpan {
        let open = index
        index += 1
        let start = index
        var escapes = false
        while true {
            // Eight plain bytes at a time: none of `"`, `\`, a control character or a non-ASCII byte.
            while index + 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if JSONLexer.isPlain(word) { index += 8 } else { break }
            }
            guard index < end else { break }
            let b = byte(index)
            if b == UInt8(ascii: "\"") {
                let span = JSONStringSpan(start: start, end: index, hasEscapes: escapes)
                index += 1
                return span
            }
            if b == UInt8(ascii: "\\") {
                escapes = true
                try checkEscape()
            } else if b < 0x20 {
                throw JSONLexFailure(
                    offset: index, "control character U+\(JSONLexer.hex(UInt16(b))) must be escaped in a string")
            } else if b < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        throw JSONLexFailure(unterminatedStringAt: index, openedAt: open)
    }

    /// True when none of the eight bytes is `"`, `\`, below 0x20 or above 0x7F.
    @inlinable @inline(__always)
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
    @usableFromInline
    mutating func checkEscape() throws(JSONLexFailure) {
        let escape = index
        index += 1
        guard index < end else { throw JSONLexFailure(offset: index, "unexpected end of input in an escape sequence") }
        let b = byte(index)
        index += 1
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let first = try hex4()
            if first >= 0xDC00 && first <= 0xDFFF {
                throw JSONLexFailure(offset: escape, "lone low surrogate \\u\(JSONLexer.hex(first)) is not allowed")
            }
            guard first >= 0xD800 && first <= 0xDBFF else { return }
            guard index + 1 < end, byte(index) == UInt8(ascii: "\\"), byte(index + 1) == UInt8(ascii: "u") else {
                if index >= end || (index + 1 >= end && byte(index) == UInt8(ascii: "\\")) {
                    throw JSONLexFailure(
                        offset: index, "unexpected end of input after high surrogate \\u\(JSONLexer.hex(first))")
                }
                throw JSONLexFailure(offset: escape, "lone high surrogate \\u\(JSONLexer.hex(first)) is not allowed")
            }
            let secondEscape = index
            index += 2
            let second = try hex4()
            guard second >= 0xDC00 && second <= 0xDFFF else {
                throw JSONLexFailure(
                    offset: secondEscape,
                    "high surrogate \\u\(JSONLexer.hex(first)) must be followed by a low surrogate, "
                        + "got \\u\(JSONLexer.hex(second))")
            }
        default:
            if b >= 0x20 && b < 0x7F {
                throw JSONLexFailure(offset: escape, "invalid escape '\\\(Character(Unicode.Scalar(b)))'")
            }
            throw JSONLexFailure(offset: escape, "invalid escape: backslash followed by \(JSONLexer.describeByte(b))")
        }
    }

    /// Four hex digits after `\u`.
    @usableFromInline
    mutating func hex4() throws(JSONLexFailure) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < end else { throw JSONLexFailure(offset: index, "unexpected end of input in a \\u escape") }
            let b = byte(index)
            guard let digit = JSONLexer.hexDigit(b) else {
                throw JSONLexFailure(offset: index, "expected a hex digit in a \\u escape, got \(describe(index))")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    @usableFromInline @inline(__always)
    static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Length of the well-formed UTF-8 sequence (2-4 bytes) that starts with a non-ASCII byte at `i`
    /// (``UTF8Sequence/length(_:at:end:)``).
    @inlinable @inline(__always)
    func utf8SequenceLength(at i: Int) throws(JSONLexFailure) -> Int {
        if let length = UTF8Sequence.length(base, at: i, end: end) { return length }
        throw JSONLexFailure(offset: i, "invalid UTF-8 (byte 0x\(JSONLexer.hex(UInt16(byte(i)), digits: 2)))")
    }

    /// The text of a span that ``scanString()`` returned: copied straight from the buffer when it has
    /// no escapes, else decoded through `scratch` (reused, so decoding allocates only the result).
    @inlinable
    public func string(_ span: JSONStringSpan, scratch: inout [UInt8]) -> String {
        if !span.hasEscapes { return text(from: span.start, to: span.end) }
        scratch.removeAll(keepingCapacity: true)
        decodeEscaped(span, into: &scratch)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// The bytes `start..<stop` as text; only for bytes already checked (they are never repaired).
    @inlinable @inline(__always)
    public func text(from start: Int, to stop: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }

    /// Appends the decoded bytes of a span that ``scanString()`` checked to `scratch`.
    public func decodeEscaped(_ span: JSONStringSpan, into scratch: inout [UInt8]) {
        func hexValue(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v = v << 4 | UInt32(JSONLexer.hexDigit(byte(at + k)) ?? 0) }
            return v
        }
        var i = span.start
        var run = i
        while i < span.end {
            guard byte(i) == UInt8(ascii: "\\") else {
                i += 1
                continue
            }
            if i > run { scratch.append(contentsOf: UnsafeRawBufferPointer(start: base + run, count: i - run)) }
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
                JSONLexer.appendUTF8(scalar, to: &scratch)
            default: scratch.append(e)  // `"`, `\`, `/`
            }
            run = i
        }
        if span.end > run { scratch.append(contentsOf: UnsafeRawBufferPointer(start: base + run, count: span.end - run)) }
    }

    static func appendUTF8(_ v: UInt32, to bytes: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            bytes.append(UInt8(v))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | v >> 6))
            bytes.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | v >> 12))
            bytes.append(UInt8(0x80 | (v >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | v & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | v >> 18))
            bytes.append(UInt8(0x80 | (v >> 12) & 0x3F))
            bytes.append(UInt8(0x80 | (v >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | v & 0x3F))
        }
    }

    // MARK: Numbers and literals

    /// Scans (and checks) the number that starts at `index` (a `-` or a digit); returns whether it is
    /// an integer literal (no fraction, no exponent), with `index` past it.
    @inlinable
    public mutating func scanNumber() throws(JSONLexFailure) -> Bool {
        switch JSONNumber.scan(base, from: index, end: end) {
        case .invalid(let offset, let message):
            throw JSONLexFailure(offset: offset, message)
        case .number(let stop, let isInteger):
            index = stop
            return isInteger
        }
    }

    /// Consumes `literal` (`true`, `false`, `null`) at `index`.
    @inlinable
    public mutating func expectLiteral(_ literal: StaticString) throws(JSONLexFailure) {
        let count = literal.utf8CodeUnitCount
        let bytes = literal.utf8Start
        for k in 0..<count {
            guard index + k < end, byte(index + k) == bytes[k] else {
                throw JSONLexFailure(offset: index, "invalid literal, expected '\(literal)'")
            }
        }
        index += count
    }

    // MARK: Naming bytes in messages

    /// `character 'x'` for printable ASCII, `byte 0xNN` otherwise, `end of input` past the end; never
    /// echoes a control character.
    public func describe(_ i: Int) -> String {
        guard i < end else { return "end of input" }
        return JSONLexer.describeByte(byte(i))
    }

    public static func describeByte(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(hex(UInt16(b), digits: 2))"
    }

    /// Upper-case hex, zero-padded to `digits`.
    public static func hex(_ v: UInt16, digits: Int = 4) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// A string in the buffer, between its quotes (exclusive).
public struct JSONStringSpan: Sendable {
    public var start: Int
    public var end: Int
    public var hasEscapes: Bool
    public var count: Int { end - start }

    @inlinable
    public init(start: Int, end: Int, hasEscapes: Bool) {
        self.start = start
        self.end = end
        self.hasEscapes = hasEscapes
    }
}

/// Why a scanner stopped: at which offset (from the lexer's `base`), and what is wrong. Callers turn
/// it into their own error, naming positions their way; the one message that names a second
/// position (a string that never ends names where it starts) leaves that to ``message(naming:)``.
public struct JSONLexFailure: Error, Sendable {
    public let offset: Int
    @usableFromInline let text: String
    @usableFromInline let openQuote: Int?

    @inlinable
    init(offset: Int, _ message: String) {
        self.offset = offset
        self.text = message
        self.openQuote = nil
    }

    @inlinable
    init(unterminatedStringAt offset: Int, openedAt open: Int) {
        self.offset = offset
        self.text = ""
        self.openQuote = open
    }

    /// The message, with `position` naming any other offset it mentions (`line 3, column 7`).
    public func message(naming position: (Int) -> String) -> String {
        guard let open = openQuote else { return text }
        return "unexpected end of input in the string that starts at \(position(open))"
    }
}
