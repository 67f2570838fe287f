/// Why a value from outside (a service file, Marathon, a setting) was refused.
///
/// `field` names where the value came from (`id`, `domains[1]`, `hosts[0].port`), `reason` says what
/// is wrong in words, and `value` carries the offending input with every non-printable byte escaped,
/// so printing an error can never itself inject a newline into a log or a config.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var value: String?

    public init(field: String, reason: String, value: String? = nil) {
        self.field = field
        self.reason = reason
        self.value = value.map { ValidationError.escaped($0) }
    }

    /// The same error, reported under a longer path (`hosts[2]` + `ip` -> `hosts[2].ip`).
    public func nested(under prefix: String) -> ValidationError {
        var copy = self
        copy.field = field.isEmpty ? prefix : (field.hasPrefix("[") ? prefix + field : prefix + "." + field)
        return copy
    }

    public var description: String {
        if let value { return "\(field): \(reason) (got \"\(value)\")" }
        return "\(field): \(reason)"
    }

    /// Printable ASCII stays as it is; everything else becomes `\n`, `\t`, `\u{..}`; long values are cut.
    public static func escaped(_ raw: String, limit: Int = 80) -> String {
        var out = ""
        var count = 0
        for scalar in raw.unicodeScalars {
            if count == limit {
                out += "..."
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case " "..."~": out.unicodeScalars.append(scalar)
            default: out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }
}
