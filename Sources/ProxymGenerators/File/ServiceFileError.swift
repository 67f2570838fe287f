import ProxymModel

/// Why a service file was refused: which file, which field (`nil` when the whole file is at fault),
/// what is wrong, and the offending value.
///
/// `description` reads `web.json: hosts[1].ip: is not a valid IPv4 address (got "10.0.0.300")`. Every
/// piece that comes from outside (the file name, the value, a read error's text) is escaped, so
/// printing an error can never inject a line into a log.
public struct ServiceFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// `id`, `servicePort`, `domains[2]`, `hosts[1].ip`; `nil` for whole-file errors (size, JSON syntax,
    /// not an object, unreadable).
    public var field: String?
    public var reason: String
    /// The offending input, already escaped (see ``ValidationError/escaped(_:limit:)``).
    public var value: String?

    public init(file: String, field: String?, reason: String, value: String? = nil) {
        self.file = file
        self.field = field
        self.reason = reason
        self.value = value.map { ValidationError.escaped($0) }
    }

    /// A model validation error, reported for `file`; its field and escaped value carry over.
    public init(file: String, _ error: ValidationError) {
        self.file = file
        self.field = error.field
        self.reason = error.reason
        self.value = error.value
    }

    public var description: String {
        var text = ValidationError.escaped(file, limit: 255) + ": "
        if let field { text += field + ": " }
        text += reason
        if let value { text += " (got \"\(value)\")" }
        return text
    }
}
