import Logging

// The File, Guard, Refresh and Log groups (Signal is one line in Settings.swift).

extension Settings {
    public struct File: Sendable, Equatable {
        public var enabled = false
        public var configsPath = ""

        static let group = SettingGroup(
            "File",
            [
                SettingDeclaration(
                    "PROXYM_FILE_ENABLED", \.file.enabled, .bool,
                    "Read services from JSON files and watch the directory with inotify."),
                SettingDeclaration(
                    "PROXYM_FILE_CONFIGS_PATH", \.file.configsPath, .path, default: "(required)",
                    "Directory of *.json service files (one service per file)."),
            ]
        ) { reader, s in
            if s.file.enabled && s.file.configsPath.isEmpty {
                reader.errors.append("PROXYM_FILE_CONFIGS_PATH: required when PROXYM_FILE_ENABLED is set")
            }
        }
    }

    /// The safety guard: a refresh that removes too much at once is held back.
    public struct SafetyGuard: Sendable, Equatable {
        /// A refresh removing more than this share of all servers is held.
        public var maxRemovalShare = 0.5
        /// How long such a refresh must persist before it is applied (0 = off).
        public var hold: Duration = .seconds(30)

        static let group = SettingGroup(
            "Guard",
            [
                SettingDeclaration(
                    "PROXYM_GUARD_MAX_REMOVAL", \.safetyGuard.maxRemovalShare,
                    .checked("is not a share (e.g. 50% or 0.5, between 0 and 100%)", show: { "\(Int($0 * 100))%" }, parseShare),
                    "A refresh that would remove more than this share of all servers at once, or empty a source that had services, is held back (logged, shown in STATUS) until it has persisted for PROXYM_GUARD_HOLD; SIGHUP applies it at once. 100% leaves only the empty-source rule."
                ),
                SettingDeclaration(
                    "PROXYM_GUARD_HOLD", \.safetyGuard.hold, .duration,
                    "How long a held refresh must persist before it is applied; 0 turns the guard off."),
            ])

        /// `50%`, `50 %`, `0.5`: a share between 0 and 1.
        static func parseShare(_ text: String) -> Double? {
            var body = Substring(text)
            var percent = false
            if body.hasSuffix("%") {
                percent = true
                body = body.dropLast()
                while body.last == " " { body = body.dropLast() }
            }
            guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(body) else {
                return nil
            }
            let share = percent ? value / 100 : value
            return share >= 0 && share <= 1 ? share : nil
        }
    }

    public struct Refresh: Sendable, Equatable {
        public var quietPeriod: Duration = .milliseconds(100)
        public var maxDelay: Duration = .seconds(1)
        /// `PROXYM_SOURCE_WAIT`: at start and on SIGHUP, how long the apply waits for every source to
        /// answer its whole read; a source that has not answered by then is not waited for.
        public var sourceWait: Duration = .seconds(15)

        static let group = SettingGroup(
            "Refresh",
            [
                SettingDeclaration(
                    "PROXYM_REFRESH_QUIET_PERIOD", \.refresh.quietPeriod, .duration,
                    "The first change after a quiet spell is applied at once; the changes that follow are coalesced until this long passes without a new one."),
                SettingDeclaration(
                    "PROXYM_REFRESH_MAX_DELAY", \.refresh.maxDelay, .duration,
                    "Under a continuous stream of changes, refresh at least this often."),
                SettingDeclaration(
                    "PROXYM_SOURCE_WAIT", \.refresh.sourceWait, .duration,
                    "At start and on SIGHUP, how long the apply waits for every source's whole read; a source still reading then is not waited for (at start it has no services until it answers)."),
            ]
        ) { reader, s in
            if s.refresh.maxDelay < s.refresh.quietPeriod {
                reader.warnings.append(
                    "PROXYM_REFRESH_MAX_DELAY is shorter than PROXYM_REFRESH_QUIET_PERIOD; using the quiet period for both")
                s.refresh.maxDelay = s.refresh.quietPeriod
            }
        }
    }

    public struct Log: Sendable, Equatable {
        public var appLogLevel: Logger.Level = .info
        public var format = LogFormat.defaultFormat
        /// `PROXYM_LOG_REPEAT_INTERVAL`: repeated lines collapsed per kind and interval (zero: off).
        public var repeatInterval: Duration = .seconds(10)

        static let group = SettingGroup(
            "Log",
            [
                SettingDeclaration(
                    "PROXYM_LOG_APPLOG_LEVEL", \.log.appLogLevel,
                    .text(show: { $0.goLoggingName }) { reader, name, text in
                        if let level = parseLogLevel(text) { return level }
                        reader.warnings.append(
                            "\(name): unknown level \"\(text)\" (use critical, error, warning, notice, info or debug); using \(Log().appLogLevel.goLoggingName)")
                        return nil
                    },
                    "Level of the application log on stdout: DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL."),
                SettingDeclaration(
                    "PROXYM_LOG_FORMAT", \.log.format,
                    .text(show: { $0 }) { reader, name, text in
                        do {
                            _ = try LogFormat(text)
                            return text
                        } catch {
                            reader.errors.append("\(name): \(error)")
                            return nil
                        }
                    },
                    "go-logging format: %{time:<Go layout>} %{level} %{longfunc} %{shortfunc} %{module} %{message} ..."),
                SettingDeclaration(
                    "PROXYM_LOG_REPEAT_INTERVAL", \.log.repeatInterval, .duration,
                    "Repeated log lines are collapsed: of one kind (level, place and message; NOTICE and above) at most 5 lines per interval are written, then one line per interval with the count of those left out, e.g. \"... (8,812 more in the last 10 s)\". 0 writes every line."),
            ])
    }
}
