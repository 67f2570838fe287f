/// Everything proxym is configured with, read from `PROXYM_*` environment variables (the original
/// proxym's names keep their meaning; new settings follow the same naming). Pure: parsing takes a
/// dictionary, so tests never touch the process environment.
///
/// Each setting is declared once, in the file of its group (`FileSettings.swift`, ...): a field whose
/// initial value is the default, and a ``SettingDeclaration`` in the group's list (name, field,
/// parser, one line of documentation). Parsing, `--help` and the documentation tests follow from them.
public struct Settings: Sendable, Equatable {
    public var file = File()
    public var haproxy = HAProxy()
    public var signalEnabled = false
    public var log = Log()
    public var refresh = Refresh()
    public var marathon = Marathon()
    public var safetyGuard = SafetyGuard()
    /// HTTPS, certificates and ACME.
    public var tls = TLSSettings()
    /// The status listener (health, status, metrics, page).
    public var status = StatusSettings()

    public init() {}

    /// Every setting, by group, in the order `--help` lists them.
    public static let groups: [SettingGroup] = [
        File.group, HAProxy.group, tlsGroup, SafetyGuard.group, signalGroup, Refresh.group, Marathon.group,
        Log.group, StatusSettings.group,
    ]

    public static var declarations: [SettingDeclaration] { groups.flatMap(\.settings) }

    static let signalGroup = SettingGroup(
        "Signal",
        [
            SettingDeclaration(
                "PROXYM_SIGNAL_ENABLED", \.signalEnabled, .bool,
                "SIGUSR1 triggers a refresh (SIGHUP always does a full resync).")
        ])

    /// Modules of the original proxym this one does not carry: their variables are accepted and
    /// ignored (a warning says so when one is enabled).
    public static let retiredModules: [(prefix: String, name: String)] = [
        ("MESOS_MASTER", "Mesos master"), ("HIPACHE", "Hipache"), ("PROXY", "Proxy (template)"),
        ("ELB", "ELB"), ("ANNOTATION_API", "annotation API"),
    ]

    /// The original's metrics listener, not carried over; accepted and ignored.
    public static let retiredListenAddress = "PROXYM_LISTEN_ADDRESS"
}

/// The outcome of reading settings: what could be read, and what was wrong with the rest.
public struct SettingsReport: Sendable {
    public var settings: Settings
    /// Values that make it unsafe to start (named variable + reason). Non-empty = refuse to run.
    public var errors: [String]
    /// Values that were ignored or defaulted.
    public var warnings: [String]
    /// Every `PROXYM_*` name the parser looked up (set or not).
    public var namesRead: Set<String>
}

extension Settings {
    /// Reads every declared variable from `env`, group by group, then each group's checks. Unknown
    /// `PROXYM_*` names are reported as warnings (a typo should not silently change nothing).
    public static func parse(environment env: [String: String]) -> SettingsReport {
        var reader = EnvironmentReader(env: env)
        var settings = Settings()
        for group in groups {
            for setting in group.settings { setting.apply(&reader, &settings) }
            group.check(&reader, &settings)
        }
        for retired in retiredModules {
            let enabled = reader.bool("PROXYM_\(retired.prefix)_ENABLED") ?? false
            _ = reader.names(withPrefix: "PROXYM_\(retired.prefix)_")
            if enabled {
                reader.warnings.append(
                    "PROXYM_\(retired.prefix)_ENABLED: the original proxym's \(retired.name) module is not part of this proxym; ignored"
                )
            }
        }
        _ = reader.string(retiredListenAddress)

        let unknown = env.keys.filter { $0.hasPrefix("PROXYM_") && !reader.namesRead.contains($0) }.sorted()
        for name in unknown {
            reader.warnings.append("\(name): unknown setting, ignored (see `proxym --help` for the list)")
        }
        return SettingsReport(settings: settings, errors: reader.errors, warnings: reader.warnings, namesRead: reader.namesRead)
    }

    /// Plain-text reference for `--help`.
    public static func helpText(width: Int = 100) -> String {
        var out = "ENVIRONMENT (flags override these; booleans take 1/true or 0/false):\n"
        for group in groups {
            out += "\n  \(group.name):\n"
            for setting in group.settings {
                out += "    \(setting.name)  [default: \(setting.shownDefault)]\n"
                out += wrap(setting.doc, indent: 8, width: width)
            }
        }
        return out
    }

    static func wrap(_ text: String, indent: Int, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        let pad = String(repeating: " ", count: indent)
        return lines.map { pad + $0 + "\n" }.joined()
    }
}
