/// Writes JSON text, value by value, with nothing to parse back: what the status endpoints answer.
/// Strings are escaped as RFC 8259 asks (quotes, backslashes, control characters); numbers are
/// written so every JSON reader takes them (no NaN or infinity: those become null).
public struct JSONText: Sendable {
    public private(set) var text = ""
    private var needsComma: [Bool] = [false]

    public init() {}

    private mutating func beforeValue() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func key(_ name: String) {
        beforeValue()
        Self.appendQuoted(name, to: &text)
        text += ":"
        needsComma[needsComma.count - 1] = false
    }

    public mutating func string(_ value: String?) {
        beforeValue()
        guard let value else { return text += "null" }
        Self.appendQuoted(value, to: &text)
    }

    public mutating func int(_ value: Int64?) {
        beforeValue()
        text += value.map { String($0) } ?? "null"
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func double(_ value: Double?) {
        beforeValue()
        guard let value, value.isFinite else { return text += "null" }
        text += Self.number(value)
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        text += value ? "true" : "false"
    }

    public mutating func null() {
        beforeValue()
        text += "null"
    }

    public mutating func object(_ body: (inout JSONText) -> Void) {
        beforeValue()
        text += "{"
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "}"
    }

    public mutating func array(_ body: (inout JSONText) -> Void) {
        beforeValue()
        text += "["
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "]"
    }

    /// `"name": value` shorthands.
    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        string(value)
    }

    public mutating func field(_ name: String, _ value: Int64?) {
        key(name)
        int(value)
    }

    public mutating func field(_ name: String, _ value: Int) {
        key(name)
        int(value)
    }

    public mutating func field(_ name: String, _ value: Double?) {
        key(name)
        double(value)
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    public mutating func field(_ name: String, strings: [String]) {
        key(name)
        array { out in for value in strings { out.string(value) } }
    }

    /// A finite number the shortest way Swift prints it, never in a form JSON refuses (`1e-05` is
    /// fine for JSON; integers keep no `.0`).
    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    public static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "<": text += "\\u003c"  // safe to embed in the status page's <script>
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }

    public static func quoted(_ value: String) -> String {
        var text = ""
        appendQuoted(value, to: &text)
        return text
    }
}
