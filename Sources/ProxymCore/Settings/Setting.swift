/// One `PROXYM_*` setting, declared once: its name, the field of ``Settings`` it sets (whose initial
/// value is the default), how its text is read, and one line of documentation. Parsing,
/// `proxym --help` and the documentation tests all come from these declarations (``Settings/groups``).
public struct SettingDeclaration: Sendable {
    public let name: String
    /// The default as `--help` shows it: the field's initial value as the setting would be written,
    /// or a description where that value means "derived" or "none".
    public let shownDefault: String
    public let doc: String
    /// Whether ``shownDefault`` describes the default rather than writing it as a value.
    public let describesDefault: Bool
    let apply: @Sendable (inout EnvironmentReader, inout Settings) -> Void

    /// `default` describes the default where the field's initial value does not say it (nil, "").
    init<Value>(
        _ name: String, _ field: any WritableKeyPath<Settings, Value> & Sendable, _ parser: SettingParser<Value>,
        default shown: String? = nil, _ doc: String
    ) {
        self.name = name
        self.doc = doc
        let value = parser.show(Settings()[keyPath: field])
        self.shownDefault = shown ?? value ?? "(unset)"
        self.describesDefault = shown != nil || value == nil
        self.apply = { reader, settings in
            if let value = parser.read(&reader, name) { settings[keyPath: field] = value }
        }
    }
}

/// Settings as `--help` lists them together (mostly one of the original proxym's modules), with the
/// checks that involve more than one of them.
public struct SettingGroup: Sendable {
    public let name: String
    public let settings: [SettingDeclaration]
    /// Runs once the group's settings are read: requirements and conflicts between them, and values
    /// derived from several of them.
    let check: @Sendable (inout EnvironmentReader, inout Settings) -> Void

    init(
        _ name: String, _ settings: [SettingDeclaration],
        check: @escaping @Sendable (inout EnvironmentReader, inout Settings) -> Void = { _, _ in }
    ) {
        self.name = name
        self.settings = settings
        self.check = check
    }
}

/// How a setting's text becomes a value. `read` is given the setting's name (to look up and to name
/// in messages); it returns nil when the variable is unset or blank, or when it refuses the value
/// (the reader then holds the error or warning, and the field keeps its default). `show` writes a
/// value as the setting takes it (for the default `--help` shows); nil when there is nothing to show.
struct SettingParser<Value>: Sendable {
    let read: @Sendable (inout EnvironmentReader, String) -> Value?
    let show: @Sendable (Value) -> String?

    init(read: @escaping @Sendable (inout EnvironmentReader, String) -> Value?, show: @escaping @Sendable (Value) -> String?) {
        self.read = read
        self.show = show
    }

    /// The set value (trimmed, never blank) through `parse`, which returns the field's value or
    /// records why it refuses the text and returns nil.
    static func text(
        show: @escaping @Sendable (Value) -> String? = { _ in nil },
        _ parse: @escaping @Sendable (_ reader: inout EnvironmentReader, _ name: String, _ text: String) -> Value?
    ) -> Self {
        Self(read: { reader, name in reader.string(name).flatMap { parse(&reader, name, $0) } }, show: show)
    }

    /// The set value, with `valid` as the condition and `reason` the error (after `NAME: "value" `).
    static func checked(
        _ reason: String, show: @escaping @Sendable (Value) -> String? = { _ in nil },
        _ valid: @escaping @Sendable (String) -> Value?
    ) -> Self {
        text(show: show) { reader, name, text in
            if let value = valid(text) { return value }
            reader.errors.append("\(name): \"\(text)\" \(reason)")
            return nil
        }
    }

    /// `wrapped` for an optional field (unset leaves it as it is).
    static func optional<Wrapped>(_ wrapped: SettingParser<Wrapped>) -> Self where Value == Wrapped? {
        Self(read: { reader, name in wrapped.read(&reader, name).map { .some($0) } }, show: { $0.flatMap(wrapped.show) })
    }
}

extension SettingParser where Value == Bool {
    /// Go's strconv.ParseBool spellings (what the original accepted) plus yes/no/on/off.
    static var bool: Self { Self(read: { $0.bool($1) }, show: { $0 ? "1" : "0" }) }
}

extension SettingParser where Value == UInt16 {
    static var port: Self { Self(read: { $0.port($1) }, show: { "\($0)" }) }
}

extension SettingParser where Value == Int {
    static func integer(_ range: ClosedRange<Int>) -> Self {
        checked("is not a number between \(range.lowerBound) and \(range.upperBound)", show: { "\($0)" }) {
            Int($0).flatMap { range.contains($0) ? $0 : nil }
        }
    }
}

extension SettingParser where Value == Duration {
    /// Go-style durations (`300ms`, `1.5s`, `2m30s`); a bare number is seconds.
    static var duration: Self { Self(read: { $0.duration($1) }, show: { formatDuration($0) }) }

    /// A duration longer than zero.
    static var positiveDuration: Self {
        Self(
            read: { reader, name in
                guard let value = reader.duration(name) else { return nil }
                if value > .zero { return value }
                reader.errors.append("\(name): must be longer than 0")
                return nil
            }, show: { formatDuration($0) })
    }
}

extension SettingParser where Value == String {
    /// An absolute path; `""` (the field's default) means not given.
    static var path: Self { Self(read: { $0.path($1) }, show: { $0.isEmpty ? nil : $0 }) }
    /// Any text without control characters.
    static var string: Self { Self(read: { $0.string($1) }, show: { $0 }) }
}

extension SettingParser where Value == String? {
    static var path: Self { .optional(SettingParser<String>.path) }
    static var string: Self { .optional(SettingParser<String>.string) }
}

extension SettingParser where Value: RawRepresentable & CaseIterable & Sendable, Value.RawValue == String {
    /// One of the enumeration's raw values, in any case.
    static var oneOf: Self {
        let names = Value.allCases.map(\.rawValue)
        let list = names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return checked("is not \(list)", show: { $0.rawValue }) { text in
            Value.allCases.first { $0.rawValue.lowercased() == text.lowercased() }
        }
    }
}
