/// The subset of Go's `fmt` verbs that go-logging layouts use: `%{level:-8s}` is `fmt.Sprintf("%-8s", level)`.
///
/// Flags `-` (pad right), `0` (pad with zeros; for numbers after the sign), `+` (always a sign; ASCII-only
/// `%q`), ` ` (space for a plus sign; spaces between bytes of `% x`); a width; a `.precision`; verbs
/// `s v d x X o q`. Text after the verb is printed as is (`%%` as `%`). Anything else (`#`, `*`, `[n]`, other
/// verbs, a second `%` verb) is refused when the format is parsed, instead of printing Go's `%!(...)`.
///
/// Strings are padded with zeros under the `0` flag, as every Go release up to 1.22 did (and the Go of the
/// original proxym); widths and precisions count Unicode scalars, as Go counts runes.
struct GoFormatSpec: Hashable, Sendable {
    var minus = false
    var plus = false
    var space = false
    var zero = false
    var width: Int?
    var precision: Int?
    var verb: Unicode.Scalar = "v"
    /// Literal text after the verb.
    var tail = ""

    /// The layout without its leading `%` (`-8s`, `03x`, `.4s`); nil when it is outside the subset.
    init?(layout: String) {
        let scalars = Array(layout.unicodeScalars)
        var i = 0
        flags: while i < scalars.count {
            switch scalars[i] {
            case "-":
                minus = true
                zero = false  // zero padding is only allowed to the left
            case "0": zero = !minus
            case "+": plus = true
            case " ": space = true
            default: break flags
            }
            i += 1
        }
        var tooLarge = false
        func number() -> Int? {
            var value: Int?
            while i < scalars.count, scalars[i].value >= 0x30, scalars[i].value <= 0x39 {
                if !tooLarge {
                    let next = (value ?? 0) * 10 + Int(scalars[i].value - 0x30)
                    value = next
                    if next > 1_000_000 { tooLarge = true }  // Go: %!(BADWIDTH) / %!(BADPREC)
                }
                i += 1
            }
            return tooLarge ? nil : value
        }
        width = number()
        if i < scalars.count && scalars[i] == "." {
            i += 1
            precision = number() ?? 0
        }
        if tooLarge { return nil }
        guard i < scalars.count, "sdvxXoq".unicodeScalars.contains(scalars[i]) else { return nil }
        verb = scalars[i]
        i += 1
        var tail = String.UnicodeScalarView()
        while i < scalars.count {
            if scalars[i] == "%" {
                guard i + 1 < scalars.count, scalars[i + 1] == "%" else { return nil }
                i += 1
            }
            tail.append(scalars[i])
            i += 1
        }
        self.tail = String(tail)
    }

    /// A value as go-logging hands it to `fmt`.
    enum Value {
        case string(String)
        /// An integer and its Go type name (`int` for the pid, `uint64` for the id), for `%!s(int=42)`.
        case integer(Int64, goType: String)
        case unsigned(UInt64, goType: String)
        /// go-logging's `Level`: an integer with a `String()` method. String verbs print the name,
        /// `%d`/`%o` the number.
        case level(name: String, value: Int)
    }

    func format(_ value: Value) -> String {
        var spec = self
        // Go turns `+` into "plusV" for %v, which only matters for structs: `%+v` of 5 is `5`.
        if verb == "v" { spec.plus = false }
        return spec.formatted(value, verb: verb) + tail
    }

    private func formatted(_ value: Value, verb: Unicode.Scalar) -> String {
        switch value {
        case .string(let text):
            switch verb {
            case "s", "v": return paddedText(truncated(text))
            case "x", "X": return hex(text, uppercase: verb == "X")
            case "q": return paddedText(GoFormatSpec.quote(truncated(text), quote: "\"", asciiOnly: plus))
            default: return badVerb(value, type: "string", verb: verb)
            }
        case .level(let name, let number):
            switch verb {
            case "d", "o": return formatted(.integer(Int64(number), goType: "logging.Level"), verb: verb)
            default: return formatted(.string(name), verb: verb)
            }
        case .integer(let number, let type):
            return integer(number.magnitude, negative: number < 0, type: type, original: value, verb: verb)
        case .unsigned(let number, let type):
            return integer(number, negative: false, type: type, original: value, verb: verb)
        }
    }

    private func integer(_ magnitude: UInt64, negative: Bool, type: String, original: Value, verb: Unicode.Scalar)
        -> String
    {
        switch verb {
        case "d", "v": return integer(magnitude, negative: negative, radix: 10, uppercase: false)
        case "x": return integer(magnitude, negative: negative, radix: 16, uppercase: false)
        case "X": return integer(magnitude, negative: negative, radix: 16, uppercase: true)
        case "o": return integer(magnitude, negative: negative, radix: 8, uppercase: false)
        case "q":
            // Go's fmtQc: the value as a quoted rune; out of range (or negative) is U+FFFD.
            let code = negative || magnitude > 0x10FFFF ? 0xFFFD : UInt32(magnitude)
            let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"  // surrogates
            return paddedText(GoFormatSpec.quote(String(scalar), quote: "'", asciiOnly: plus))
        default: return badVerb(original, type: type, verb: verb)
        }
    }

    /// Go's fmtInteger: precision is the minimum number of digits (`%.0d` of 0 prints nothing); the `0`
    /// flag without precision pads with zeros after the sign; padding otherwise is spaces.
    private func integer(_ magnitude: UInt64, negative: Bool, radix: Int, uppercase: Bool) -> String {
        var minimumDigits = 0
        if let precision {
            minimumDigits = precision
            if precision == 0 && magnitude == 0 { return String(repeating: " ", count: width ?? 0) }
        } else if zero, !minus, let width {
            minimumDigits = width
            if negative || plus || space { minimumDigits -= 1 }
        }
        var digits = String(magnitude, radix: radix, uppercase: uppercase)
        if digits.count < minimumDigits {
            digits = String(repeating: "0", count: minimumDigits - digits.count) + digits
        }
        let sign = negative ? "-" : plus ? "+" : space ? " " : ""
        return padded(sign + digits, with: " ")
    }

    /// `%!d(string=hello)`: Go prints the value with %v and the same flags.
    private func badVerb(_ value: Value, type: String, verb: Unicode.Scalar) -> String {
        "%!\(verb)(\(type)=\(formatted(value, verb: "v")))"
    }

    /// Go's fmtSbx for strings: two hex digits per byte (precision limits the bytes), `% x` separates them.
    private func hex(_ text: String, uppercase: Bool) -> String {
        var bytes = Array(text.utf8)
        if let precision, precision < bytes.count { bytes = Array(bytes.prefix(precision)) }
        var out = ""
        for (index, byte) in bytes.enumerated() {
            if space && index > 0 { out += " " }
            let digits = String(byte, radix: 16, uppercase: uppercase)
            out += digits.count == 1 ? "0" + digits : digits
        }
        return paddedText(out)
    }

    private func truncated(_ text: String) -> String {
        guard let precision, text.unicodeScalars.count > precision else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
    }

    private func paddedText(_ text: String) -> String {
        padded(text, with: zero && !minus ? "0" : " ")
    }

    private func padded(_ text: String, with pad: Character) -> String {
        guard let width else { return text }
        let missing = width - text.unicodeScalars.count
        guard missing > 0 else { return text }
        let padding = String(repeating: pad, count: missing)
        return minus ? text + padding : padding + text
    }

    // MARK: - strconv.Quote

    /// Go's `strconv.Quote`/`QuoteToASCII`/`QuoteRune`: printable runes as is, `\a \b \f \n \r \t \v`,
    /// `\xHH` below space and DEL, `\uHHHH`/`\UHHHHHHHH` for other unprintable (or, ASCII-only, non-ASCII) runes.
    static func quote(_ text: String, quote: Unicode.Scalar, asciiOnly: Bool) -> String {
        var out = String.UnicodeScalarView()
        out.append(quote)
        for scalar in text.unicodeScalars {
            if scalar == quote || scalar == "\\" {
                out.append("\\")
                out.append(scalar)
                continue
            }
            if asciiOnly ? (scalar.isASCII && isPrint(scalar)) : isPrint(scalar) {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\u{07}": escape = "\\a"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{0B}": escape = "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escape = "\\x" + hexDigits(scalar.value, count: 2)
                } else if scalar.value < 0x10000 {
                    escape = "\\u" + hexDigits(scalar.value, count: 4)
                } else {
                    escape = "\\U" + hexDigits(scalar.value, count: 8)
                }
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        out.append(quote)
        return String(out)
    }

    private static func hexDigits(_ value: UInt32, count: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, count - digits.count)) + digits
    }

    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
