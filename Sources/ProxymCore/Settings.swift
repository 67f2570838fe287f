import ProxymModel
import Logging

/// Everything proxym is configured with, read from `PROXYM_*` environment variables (the original
/// proxym's names keep their meaning; new settings follow the same naming). Pure: parsing takes a
/// dictionary, so tests never touch the process environment.
public struct Settings: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var enabled = false
        public var configsPath = ""
    }

    public enum ReloadMethod: Sendable, Equatable {
        /// Write the file only (no haproxy to reload was configured).
        case none
        /// The original proxym's way: start `haproxy -f CFG -p PIDFILE -D`, later add `-sf <old pids>`.
        case startStop(binary: String, pidFile: String)
        /// Run the user's command through `/bin/sh -c` (e.g. `systemctl reload haproxy`).
        case command(String)
    }

    public struct HAProxy: Sendable, Equatable {
        public var enabled = false
        public var configFilePath = ""
        public var binaryPath: String?
        public var pidPath: String?
        public var reloadCommand: String?
        public var httpPort: UInt16 = 80
        public var optionsPath: String?
        public var bindAddress: String?
        public var validate = true
        public var commandTimeout: Duration = .seconds(30)

        public var reloadMethod: ReloadMethod {
            if let reloadCommand { return .command(reloadCommand) }
            if let binaryPath, let pidPath { return .startStop(binary: binaryPath, pidFile: pidPath) }
            return .none
        }
    }

    public struct Refresh: Sendable, Equatable {
        public var quietPeriod: Duration = .milliseconds(100)
        public var maxDelay: Duration = .seconds(1)
    }

    public struct Log: Sendable, Equatable {
        public var appLogLevel: Logger.Level = .info
        public var format = LogFormat.defaultFormat
    }

    public struct Marathon: Sendable, Equatable {
        public var enabled = false
    }

    public var file = File()
    public var haproxy = HAProxy()
    public var signalEnabled = false
    public var log = Log()
    public var refresh = Refresh()
    public var marathon = Marathon()

    public init() {}
}

/// The outcome of reading settings: what could be read, and what was wrong with the rest.
public struct SettingsReport: Sendable {
    public var settings: Settings
    /// Values that make it unsafe to start (named variable + reason). Non-empty = refuse to run.
    public var errors: [String]
    /// Values that were ignored or defaulted.
    public var warnings: [String]
}

extension Settings {
    /// Reads every known variable from `environment`. Unknown `PROXYM_*` names are reported as warnings
    /// (a typo should not silently change nothing).
    public static func parse(environment env: [String: String]) -> SettingsReport {
        var reader = EnvironmentReader(env: env)
        var s = Settings()

        // Log
        if let raw = reader.string("PROXYM_LOG_APPLOG_LEVEL") {
            if let level = parseLogLevel(raw) {
                s.log.appLogLevel = level
            } else {
                reader.warnings.append(
                    "PROXYM_LOG_APPLOG_LEVEL: unknown level \"\(raw)\" (use critical, error, warning, notice, info or debug); using INFO"
                )
            }
        }
        if let format = reader.string("PROXYM_LOG_FORMAT") {
            do {
                _ = try LogFormat(format)
                s.log.format = format
            } catch {
                reader.errors.append("PROXYM_LOG_FORMAT: \(error)")
            }
        }

        // File module
        s.file.enabled = reader.bool("PROXYM_FILE_ENABLED") ?? false
        if let path = reader.path("PROXYM_FILE_CONFIGS_PATH") { s.file.configsPath = path }
        if s.file.enabled && s.file.configsPath.isEmpty {
            reader.errors.append("PROXYM_FILE_CONFIGS_PATH: required when PROXYM_FILE_ENABLED is set")
        }

        // HAProxy module
        s.haproxy.enabled = reader.bool("PROXYM_HAPROXY_ENABLED") ?? false
        if let path = reader.path("PROXYM_HAPROXY_CONFIG_FILE_PATH") { s.haproxy.configFilePath = path }
        s.haproxy.binaryPath = reader.path("PROXYM_HAPROXY_BINARY_PATH")
        s.haproxy.pidPath = reader.path("PROXYM_HAPROXY_PID_PATH")
        s.haproxy.reloadCommand = reader.string("PROXYM_HAPROXY_RELOAD_COMMAND")
        s.haproxy.optionsPath = reader.path("PROXYM_HAPROXY_OPTIONS_PATH")
        if let port = reader.port("PROXYM_HAPROXY_HTTP_PORT") { s.haproxy.httpPort = port }
        if let bind = reader.string("PROXYM_HAPROXY_BIND_ADDRESS") {
            if bind == "*" {
                s.haproxy.bindAddress = nil
            } else if let address = try? HostAddress(bind), !address.isHostname {
                s.haproxy.bindAddress = address.description
            } else {
                reader.errors.append("PROXYM_HAPROXY_BIND_ADDRESS: \"\(bind)\" is not an IP address (or * for all)")
            }
        }
        s.haproxy.validate = reader.bool("PROXYM_HAPROXY_VALIDATE") ?? true
        if let timeout = reader.duration("PROXYM_HAPROXY_COMMAND_TIMEOUT") {
            if timeout > .zero { s.haproxy.commandTimeout = timeout } else {
                reader.errors.append("PROXYM_HAPROXY_COMMAND_TIMEOUT: must be longer than 0")
            }
        }
        if s.haproxy.enabled {
            if s.haproxy.configFilePath.isEmpty {
                reader.errors.append("PROXYM_HAPROXY_CONFIG_FILE_PATH: required when PROXYM_HAPROXY_ENABLED is set")
            }
            if s.haproxy.binaryPath != nil && s.haproxy.pidPath == nil && s.haproxy.reloadCommand == nil {
                reader.errors.append(
                    "PROXYM_HAPROXY_PID_PATH: required with PROXYM_HAPROXY_BINARY_PATH (proxym starts haproxy with -p and reloads it with -sf)"
                )
            }
            if s.haproxy.reloadCommand != nil && s.haproxy.binaryPath != nil {
                reader.warnings.append(
                    "PROXYM_HAPROXY_RELOAD_COMMAND is set: it reloads haproxy; PROXYM_HAPROXY_BINARY_PATH is only used for validation"
                )
            }
        }

        // Signal module
        s.signalEnabled = reader.bool("PROXYM_SIGNAL_ENABLED") ?? false

        // Refresh scheduling
        if let quiet = reader.duration("PROXYM_REFRESH_QUIET_PERIOD") { s.refresh.quietPeriod = quiet }
        if let maxDelay = reader.duration("PROXYM_REFRESH_MAX_DELAY") { s.refresh.maxDelay = maxDelay }
        if s.refresh.maxDelay < s.refresh.quietPeriod {
            reader.warnings.append(
                "PROXYM_REFRESH_MAX_DELAY is shorter than PROXYM_REFRESH_QUIET_PERIOD; using the quiet period for both")
            s.refresh.maxDelay = s.refresh.quietPeriod
        }

        // Marathon (module arrives separately; keep the switch readable now)
        s.marathon.enabled = reader.bool("PROXYM_MARATHON_ENABLED") ?? false
        for name in SettingsCatalog.marathonVariables { _ = reader.string(name) }

        // Modules of the original proxym that this one does not carry.
        for legacy in SettingsCatalog.unsupportedModules {
            let enabled = reader.bool("PROXYM_\(legacy.prefix)_ENABLED") ?? false
            for (name, _) in env where name.hasPrefix("PROXYM_\(legacy.prefix)_") { reader.seen.insert(name) }
            if enabled {
                reader.warnings.append(
                    "PROXYM_\(legacy.prefix)_ENABLED: the original proxym's \(legacy.name) module is not part of this proxym; ignored"
                )
            }
        }
        _ = reader.string("PROXYM_LISTEN_ADDRESS")  // the original's metrics listener; not carried over

        let unknown = env.keys.filter { $0.hasPrefix("PROXYM_") && !reader.seen.contains($0) }.sorted()
        for name in unknown {
            reader.warnings.append("\(name): unknown setting, ignored (see `proxym --help` for the list)")
        }
        return SettingsReport(settings: s, errors: reader.errors, warnings: reader.warnings)
    }
}

/// Typed reads of `PROXYM_*` values; collects errors instead of stopping at the first.
struct EnvironmentReader {
    let env: [String: String]
    var errors: [String] = []
    var warnings: [String] = []
    var seen: Set<String> = []

    /// A set, non-empty value (surrounding blanks trimmed). Empty counts as unset, like envconfig.
    mutating func string(_ name: String) -> String? {
        seen.insert(name)
        guard let raw = env[name] else { return nil }
        let trimmed = raw.trimmingBlanks
        if trimmed.isEmpty { return nil }
        if trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            errors.append("\(name): contains control characters")
            return nil
        }
        return trimmed
    }

    mutating func path(_ name: String) -> String? {
        guard let value = string(name) else { return nil }
        guard value.hasPrefix("/") else {
            errors.append("\(name): must be an absolute path (got \"\(value)\")")
            return nil
        }
        return value
    }

    /// Go's strconv.ParseBool spellings (what the original accepted) plus yes/no/on/off.
    mutating func bool(_ name: String) -> Bool? {
        guard let value = string(name) else { return nil }
        switch value.lowercased() {
        case "1", "t", "true", "yes", "y", "on": return true
        case "0", "f", "false", "no", "n", "off": return false
        default:
            errors.append("\(name): \"\(value)\" is not a boolean (use 1/true or 0/false)")
            return nil
        }
    }

    mutating func port(_ name: String) -> UInt16? {
        guard let value = string(name) else { return nil }
        guard let number = Int(value), number >= 1, number <= 65535 else {
            errors.append("\(name): \"\(value)\" is not a port number (1-65535)")
            return nil
        }
        return UInt16(number)
    }

    mutating func duration(_ name: String) -> Duration? {
        guard let value = string(name) else { return nil }
        guard let duration = parseDuration(value) else {
            errors.append("\(name): \"\(value)\" is not a duration (e.g. 100ms, 1.5s, 2m; a bare number means seconds)")
            return nil
        }
        return duration
    }
}

/// Go-style durations: `300ms`, `1.5s`, `2m30s`, `1h`; a bare number is seconds. Units: ns us µs ms s m h.
public func parseDuration(_ text: String) -> Duration? {
    if let seconds = Double(text), seconds >= 0, seconds.isFinite, !text.contains("e"), !text.contains("E") {
        return .nanoseconds(Int64(seconds * 1e9))
    }
    var total: Double = 0
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
        guard numberEnd != rest.startIndex, let number = Double(rest[..<numberEnd]) else { return nil }
        rest = rest[numberEnd...]
        let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
        let unit = rest[..<unitEnd]
        rest = rest[unitEnd...]
        let scale: Double
        switch unit {
        case "ns": scale = 1
        case "us", "µs": scale = 1e3
        case "ms": scale = 1e6
        case "s": scale = 1e9
        case "m": scale = 60e9
        case "h": scale = 3600e9
        default: return nil
        }
        total += number * scale
    }
    guard total.isFinite, total < 9e18 else { return nil }
    return .nanoseconds(Int64(total))
}

extension String {
    var trimmingBlanks: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
