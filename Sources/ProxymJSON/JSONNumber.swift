/// A JSON number, kept as the exact text of the document (`-0`, `1.50`, `2E+3` stay as written).
///
/// Two numbers are equal when their text is equal, so `1` and `1.0` differ: that is the distinction a
/// strict decoder needs (`"port": 80.0` is not an integer).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal as it appeared in the document.
    public let text: String
    /// True when the literal has neither a fraction nor an exponent.
    public let isIntegerLiteral: Bool

    /// Wraps text the reader has already checked against the grammar.
    init(validatedText text: String, isIntegerLiteral: Bool) {
        self.text = text
        self.isIntegerLiteral = isIntegerLiteral
    }

    /// A number from text; `nil` unless `text` is exactly one RFC 8259 number (no spaces, no `+`,
    /// no leading zeros, no `NaN`).
    public init?(_ text: String) {
        var copy = text
        let scanned: Scan? = copy.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return JSONNumber.scan(UnsafeRawPointer(base), from: 0, end: buffer.count)
        }
        guard case .number(let end, let isInteger)? = scanned, end == text.utf8.count else { return nil }
        self.text = text
        self.isIntegerLiteral = isInteger
    }

    /// The value as an `Int`, only for an integer literal (no fraction, no exponent) that fits.
    /// `80` gives 80; `80.0`, `8e1` and `99999999999999999999` give `nil`.
    public var int: Int? {
        isIntegerLiteral ? Int(text) : nil
    }

    /// The value as the nearest `Double` (literals beyond its range give ±infinity).
    public var double: Double {
        // The grammar the reader enforces is a subset of what `Double.init?(_:)` accepts.
        Double(text) ?? .nan
    }

    public var description: String { text }

    @usableFromInline
    enum Scan {
        /// A number ends (exclusive) at `end`.
        case number(end: Int, isInteger: Bool)
        /// No number: what is wrong, at which offset.
        case invalid(offset: Int, message: String)
    }

    /// Scans the number that starts at `start` (a `-` or a digit) and stops at the first byte that
    /// cannot continue it; the caller decides whether what follows is acceptable.
    @inlinable @inline(__always)
    static func scan(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Scan {
        @inline(__always) func at(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }
        @inline(__always) func isDigit(_ i: Int) -> Bool { i < end && at(i) &- 0x30 < 10 }
        var i = start
        if i < end && at(i) == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return .invalid(offset: i, message: "expected a digit after '-'") }
        if at(i) == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { return .invalid(offset: i - 1, message: "numbers must not have leading zeros") }
        } else {
            while isDigit(i) { i += 1 }
        }
        var isInteger = true
        if i < end && at(i) == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return .invalid(offset: i, message: "expected a digit after '.'") }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        if i < end && (at(i) | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < end && (at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { return .invalid(offset: i, message: "expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        return .number(end: i, isInteger: isInteger)
    }
}
