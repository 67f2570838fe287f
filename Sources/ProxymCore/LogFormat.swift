import Logging

/// A log line layout in the syntax of op/go-logging, which the original proxym read from
/// `PROXYM_LOG_FORMAT`: `%{verb}` or `%{verb:layout}` placeholders in literal text.
///
/// Verbs: `time` (layout: a Go time layout, default `2006-01-02T15:04:05.999Z07:00`), `level` (CRITICAL,
/// ERROR, WARNING, NOTICE, INFO, DEBUG), `id`, `pid`, `program`, `module`, `message`, `longfile`,
/// `shortfile`, `longpkg`, `shortpkg`, `longfunc`, `shortfunc`, `callpath` (layout: a depth, ignored: Swift
/// gives one frame) and `color` (`%{color}`, `%{color:bold}`, `%{color:reset}`). Other verbs take a Go
/// fmt spec without its `%` (`%{level:.4s}`, `%{id:03x}`, `%{level:-8s}`), see `GoFormatSpec`.
///
/// Placeholders are found as go-logging's regular expression `%{([a-z]+)(?::(.*?[^\\]))?}` finds them:
/// text that does not match (`%d`, `%{Level}`, `%{level:}`, a lone `%`) is literal; a match with an
/// unknown verb is an error, and so is a format without any placeholder (go-logging refused both).
public struct LogFormat: Hashable, Sendable {
    /// The original proxym's default.
    public static let defaultFormat = "%{time:02.01.2006 15:04:05} [%{level}] %{longfunc}: %{message}"

    enum Field: String, CaseIterable, Sendable {
        case level, id, pid, program, module, message, longfile, shortfile, longpkg, shortpkg, longfunc,
            shortfunc, callpath
    }

    enum Part: Hashable, Sendable {
        case literal(String)
        case time(GoTimeLayout)
        case color(bold: Bool)
        case colorReset
        case field(Field, GoFormatSpec)
    }

    let parts: [Part]

    public init(_ format: String) throws(LogFormatError) {
        let scalars = Array(format.unicodeScalars)
        var parts: [Part] = []
        var literal = String.UnicodeScalarView()
        var sawPlaceholder = false
        var i = 0
        while i < scalars.count {
            if let match = LogFormat.placeholder(in: scalars, at: i) {
                if !literal.isEmpty {
                    parts.append(.literal(String(literal)))
                    literal = String.UnicodeScalarView()
                }
                parts.append(try LogFormat.part(verb: match.verb, layout: match.layout))
                sawPlaceholder = true
                i = match.end
                continue
            }
            literal.append(scalars[i])
            i += 1
        }
        if !literal.isEmpty { parts.append(.literal(String(literal))) }
        guard sawPlaceholder else { throw .noPlaceholders(format: format) }
        self.parts = parts
    }

    /// One line for `record`, without a trailing newline.
    public func format(_ record: LogRecord) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text):
                out += text
            case .time(let layout):
                out += layout.format(record.time, nanosecond: record.nanosecond)
            case .color(let bold):
                out += record.level.goLoggingColor(bold: bold)
            case .colorReset:
                out += "\u{1B}[0m"
            case .field(let field, let spec):
                out += spec.format(LogFormat.value(of: field, in: record))
            }
        }
        return out
    }

    private static func value(of field: Field, in record: LogRecord) -> GoFormatSpec.Value {
        switch field {
        case .level: return .level(name: record.level.goLoggingName, value: record.level.goLoggingValue)
        case .id: return .unsigned(record.id, goType: "uint64")
        case .pid: return .integer(Int64(record.pid), goType: "int")
        case .program: return .string(record.program)
        case .module: return .string(record.module)
        case .message: return .string(record.fullMessage)
        case .longfile: return .string(record.longFile)
        case .shortfile: return .string(record.shortFile)
        case .longpkg, .shortpkg: return .string(record.package)
        case .longfunc, .callpath: return .string(record.longFunction)
        case .shortfunc: return .string(record.shortFunction)
        }
    }

    // MARK: - Parsing

    /// go-logging's `%{([a-z]+)(?::(.*?[^\\]))?}` anchored at `start`: the verb, the layout (nil without
    /// `:`) and the index after the closing brace. The layout is the shortest non-empty text whose last
    /// character is not a backslash and which is followed by `}`; it cannot span a newline (Go's `.`).
    private static func placeholder(
        in s: [Unicode.Scalar],
        at start: Int
    ) -> (verb: String, layout: String?, end: Int)? {
        guard start + 1 < s.count, s[start] == "%", s[start + 1] == "{" else { return nil }
        var i = start + 2
        while i < s.count, ("a"..."z").contains(s[i]) { i += 1 }
        guard i > start + 2, i < s.count else { return nil }
        let verb = String(String.UnicodeScalarView(s[(start + 2)..<i]))
        if s[i] == "}" { return (verb, nil, i + 1) }
        guard s[i] == ":" else { return nil }
        let layoutStart = i + 1
        var close = layoutStart + 1
        while close < s.count {
            if s[close] == "}" && s[close - 1] != "\\" {
                return (verb, String(String.UnicodeScalarView(s[layoutStart..<close])), close + 1)
            }
            if s[close - 1] == "\n" { return nil }  // `.*?` does not cross a newline
            close += 1
        }
        return nil
    }

    private static func part(verb: String, layout: String?) throws(LogFormatError) -> Part {
        switch verb {
        case "time":
            return .time(GoTimeLayout(layout ?? GoTimeLayout.goLoggingDefault))
        case "color":
            switch layout {
            case "bold": return .color(bold: true)
            case "reset": return .colorReset
            default: return .color(bold: false)
            }
        case "callpath":
            // The layout is a stack depth; a Swift log call site has one frame, so only its form is checked.
            if let layout, !layout.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) {
                throw .unsupportedLayout(verb: verb, layout: layout)
            }
            return .field(.callpath, GoFormatSpec(layout: "s")!)
        default:
            guard let field = Field(rawValue: verb) else { throw .unknownVerb(verb) }
            let defaultLayout = field == .id || field == .pid ? "d" : "s"
            guard let spec = GoFormatSpec(layout: layout ?? defaultLayout) else {
                throw .unsupportedLayout(verb: verb, layout: layout ?? defaultLayout)
            }
            return .field(field, spec)
        }
    }
}

/// Why a `PROXYM_LOG_FORMAT` was refused.
public enum LogFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `%{name}` with a name go-logging does not know (its "unknown variable").
    case unknownVerb(String)
    /// A layout outside what proxym implements, e.g. `%{level:#x}` or `%{id:*d}`.
    case unsupportedLayout(verb: String, layout: String)
    /// Not a single `%{verb}` in the format (go-logging: "invalid log format").
    case noPlaceholders(format: String)

    public var description: String {
        switch self {
        case .unknownVerb(let verb):
            return "unknown log format verb %{\(verb)}; known: time, level, id, pid, program, module, message, "
                + "longfile, shortfile, longpkg, shortpkg, longfunc, shortfunc, callpath, color"
        case .unsupportedLayout(let verb, let layout):
            return "unsupported layout '\(layout)' in %{\(verb):\(layout)}: use Go fmt flags - 0 + space, "
                + "a width, a .precision and one of the verbs s v d x X o q"
        case .noPlaceholders(let format):
            return "log format \"\(format)\" has no %{verb} placeholder"
        }
    }
}
