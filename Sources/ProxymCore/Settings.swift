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
        /// `sf`, the original proxym's way: start `haproxy -f CFG -p PIDFILE -D`, later add `-sf <old pids>`.
        /// `binary` is `haproxy` (looked up in PATH) unless PROXYM_HAPROXY_BINARY_PATH is set.
        case startStop(binary: String, pidFile: String)
        /// `master-worker`: a haproxy master reached through its master CLI socket. If none answers
        /// there when proxym starts, proxym starts `haproxy -W -db -S <socket> -f CFG [-p PIDFILE]` as
        /// its own child; otherwise it drives the running one (Debian's haproxy.service, say).
        case masterWorker(binary: String, masterSocket: String, pidFile: String?)
        /// Run the user's command through `/bin/sh -c` (e.g. `systemctl reload haproxy`).
        case command(String)
    }

    /// `PROXYM_HAPROXY_RELOAD_METHOD` as written.
    public enum ReloadMethodName: String, Sendable, Equatable, CaseIterable {
        case sf
        case masterWorker = "master-worker"
        case command
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
        /// `PROXYM_HAPROXY_RELOAD_METHOD`; nil = derived from the original variables (`reloadMethod`).
        public var reloadMethodName: ReloadMethodName?
        /// `PROXYM_HAPROXY_MASTER_SOCKET` (master-worker); nil = `haproxy-master.sock` next to the config.
        public var masterSocket: String?
        /// `PROXYM_HAPROXY_RUNTIME_API`: change servers through haproxy's stats socket, without reloads.
        public var runtimeAPI = false
        /// `PROXYM_HAPROXY_STATS_SOCKET`; nil = the admin socket global.cfg declares, else
        /// `haproxy-admin.sock` next to the config (added to the rendered `global` section).
        public var statsSocket: String?
        /// `PROXYM_HAPROXY_SERVER_SLOTS`: at least this many server slots per backend (Runtime API).
        public var serverSlots = 8
        /// `PROXYM_HAPROXY_DRAIN_TIME`: how long a leaving server stays in `drain` before `maint`.
        public var drainTime: Duration = .seconds(10)

        /// The directory of the config file (for default socket paths).
        public var configDirectory: String {
            guard let slash = configFilePath.lastIndex(of: "/") else { return "." }
            let directory = String(configFilePath[..<slash])
            return directory.isEmpty ? "/" : directory
        }

        /// The master CLI socket in master-worker mode.
        public var effectiveMasterSocket: String {
            masterSocket ?? (configDirectory == "/" ? "" : configDirectory) + "/haproxy-master.sock"
        }

        /// The stats socket proxym adds to `global` when global.cfg declares no admin-level one.
        public var defaultStatsSocket: String {
            (configDirectory == "/" ? "" : configDirectory) + "/haproxy-admin.sock"
        }

        /// How a new config goes live. Without PROXYM_HAPROXY_RELOAD_METHOD, today's behaviour: the
        /// reload command if set, else `sf` if BINARY_PATH and PID_PATH are set, else none.
        public var reloadMethod: ReloadMethod {
            switch reloadMethodName {
            case .command?:
                return reloadCommand.map { .command($0) } ?? .none
            case .sf?:
                return pidPath.map { .startStop(binary: binaryPath ?? "haproxy", pidFile: $0) } ?? .none
            case .masterWorker?:
                return .masterWorker(binary: binaryPath ?? "haproxy", masterSocket: effectiveMasterSocket, pidFile: pidPath)
            case nil:
                if let reloadCommand { return .command(reloadCommand) }
                if let binaryPath, let pidPath { return .startStop(binary: binaryPath, pidFile: pidPath) }
                return .none
            }
        }
    }

    /// The safety guard: a refresh that removes too much at once is held back.
    public struct SafetyGuard: Sendable, Equatable {
        /// `PROXYM_GUARD_MAX_REMOVAL`: a refresh removing more than this share of all servers is held.
        public var maxRemovalShare = 0.5
        /// `PROXYM_GUARD_HOLD`: how long such a refresh must persist before it is applied (0 = off).
        public var hold: Duration = .seconds(30)
    }

    public struct Refresh: Sendable, Equatable {
        public var quietPeriod: Duration = .milliseconds(100)
        public var maxDelay: Duration = .seconds(1)
        /// `PROXYM_SOURCE_WAIT`: at start and on SIGHUP, how long the apply waits for every source to
        /// answer its whole read; a source that has not answered by then is not waited for.
        public var sourceWait: Duration = .seconds(15)
    }

    public struct Log: Sendable, Equatable {
        public var appLogLevel: Logger.Level = .info
        public var format = LogFormat.defaultFormat
    }

    public struct Marathon: Sendable, Equatable {
        /// `PROXYM_MARATHON_EVENTS`: how proxym learns that something changed.
        public enum EventsMode: String, Sendable, Equatable, CaseIterable {
            /// HTTP callback subscriptions (Marathon 0.x-1.4; removed in 1.5).
            case callback
            /// Server-Sent Events from `/v2/events` (Marathon 0.9+).
            case sse
            /// Ask `/v2/info`: callbacks below 1.5 when a callback URL is known, otherwise SSE.
            case auto
        }

        /// `PROXYM_MARATHON_DOMAIN_STRATEGY` (+ `_DOMAIN_SUFFIX`): the original proxym's ways of naming an
        /// app's domain.
        public enum DomainStrategy: Sendable, Equatable {
            /// `/com/example/webapp` -> `webapp.example.com`.
            case idToDomainReverse
            /// `/x/webapp` + `example.com` -> `webapp.example.com`.
            case lastPartOfIdAndSuffix(DomainName)
        }

        public var enabled = false
        /// Base URLs with their scheme and without a trailing `/`, e.g. `http://marathon-1:8080`; they may
        /// carry credentials (`https://user:pass@host:8443`) and a path prefix.
        public var servers: [String] = []
        /// `PROXYM_MARATHON_HTTP_HOST` as given (an IP address or a host name); `nil` when unset or a
        /// wildcard (`0.0.0.0`, `::`, `*`).
        public var httpHost: String?
        /// The address the callback receiver binds to: `httpHost` when it is an IP address, else `nil`
        /// (all addresses; a host name is only advertised, not bound).
        public var bindAddress: String?
        public var httpPort: UInt16 = 39721
        public var endpoint = "/callback"
        /// The URL registered with Marathon: `PROXYM_MARATHON_CALLBACK_URL`, else
        /// `http://<httpHost>:<httpPort><endpoint>`; `nil` when `httpHost` is a wildcard (callbacks then
        /// cannot be used: a wildcard is no address Marathon can call).
        public var callbackURL: String?
        public var events: EventsMode = .auto
        public var domainStrategy: DomainStrategy = .idToDomainReverse
        /// `PROXYM_MARATHON_GROUP`: keep only apps whose `HAPROXY_GROUP` label lists it (`nil`: all apps).
        public var group: String?
        /// `PROXYM_MARATHON_LABEL_CONFIG`: honour `proxym.port.<n>.config` labels (raw HAProxy lines).
        public var labelConfig = false
        public var username: String?
        public var password: String?
        /// DC/OS ACS token, sent as `Authorization: token=<value>`.
        public var authToken: String?
        public var caFile: String?
        public var resyncInterval: Duration = .seconds(300)
        /// Limit for a whole request (not for the never-ending SSE stream).
        public var timeout: Duration = .seconds(10)
        public var connectTimeout: Duration = .seconds(3)
    }

    public var file = File()
    public var haproxy = HAProxy()
    public var signalEnabled = false
    public var log = Log()
    public var refresh = Refresh()
    public var marathon = Marathon()
    public var safetyGuard = SafetyGuard()

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
        parseReloadAndRuntime(&reader, &s.haproxy)
        if s.haproxy.enabled {
            if s.haproxy.configFilePath.isEmpty {
                reader.errors.append("PROXYM_HAPROXY_CONFIG_FILE_PATH: required when PROXYM_HAPROXY_ENABLED is set")
            }
            switch s.haproxy.reloadMethodName {
            case nil:
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
            case .sf?:
                if s.haproxy.pidPath == nil {
                    reader.errors.append(
                        "PROXYM_HAPROXY_PID_PATH: required with PROXYM_HAPROXY_RELOAD_METHOD=sf (haproxy writes its pids there; reloads pass them to -sf)"
                    )
                }
            case .command?:
                if s.haproxy.reloadCommand == nil {
                    reader.errors.append(
                        "PROXYM_HAPROXY_RELOAD_COMMAND: required with PROXYM_HAPROXY_RELOAD_METHOD=command")
                }
            case .masterWorker?:
                if s.haproxy.effectiveMasterSocket.utf8.count >= 108 {
                    reader.errors.append(
                        "PROXYM_HAPROXY_MASTER_SOCKET: \"\(s.haproxy.effectiveMasterSocket)\" is longer than a UNIX socket path may be (107 bytes)"
                    )
                }
            }
            if s.haproxy.reloadMethodName != nil && s.haproxy.reloadMethodName != .command && s.haproxy.reloadCommand != nil {
                reader.warnings.append(
                    "PROXYM_HAPROXY_RELOAD_COMMAND is ignored with PROXYM_HAPROXY_RELOAD_METHOD=\(s.haproxy.reloadMethodName!.rawValue)")
            }
            if s.haproxy.runtimeAPI && s.haproxy.reloadMethod == .none {
                reader.warnings.append(
                    "PROXYM_HAPROXY_RUNTIME_API: no haproxy is reloaded (no reload method); the Runtime API is still used when its socket answers"
                )
            }
        }

        // Safety guard
        if let raw = reader.string("PROXYM_GUARD_MAX_REMOVAL") {
            if let share = parseShare(raw) {
                s.safetyGuard.maxRemovalShare = share
            } else {
                reader.errors.append("PROXYM_GUARD_MAX_REMOVAL: \"\(raw)\" is not a share (e.g. 50% or 0.5, between 0 and 100%)")
            }
        }
        if let hold = reader.duration("PROXYM_GUARD_HOLD") { s.safetyGuard.hold = hold }

        // Signal module
        s.signalEnabled = reader.bool("PROXYM_SIGNAL_ENABLED") ?? false

        // Refresh scheduling
        if let quiet = reader.duration("PROXYM_REFRESH_QUIET_PERIOD") { s.refresh.quietPeriod = quiet }
        if let maxDelay = reader.duration("PROXYM_REFRESH_MAX_DELAY") { s.refresh.maxDelay = maxDelay }
        if let wait = reader.duration("PROXYM_SOURCE_WAIT") { s.refresh.sourceWait = wait }
        if s.refresh.maxDelay < s.refresh.quietPeriod {
            reader.warnings.append(
                "PROXYM_REFRESH_MAX_DELAY is shorter than PROXYM_REFRESH_QUIET_PERIOD; using the quiet period for both")
            s.refresh.maxDelay = s.refresh.quietPeriod
        }

        // Marathon
        s.marathon = parseMarathon(&reader)

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

extension Settings {
    static func parseReloadAndRuntime(_ reader: inout EnvironmentReader, _ h: inout HAProxy) {
        if let name = reader.string("PROXYM_HAPROXY_RELOAD_METHOD") {
            if let method = ReloadMethodName(rawValue: name.lowercased()) {
                h.reloadMethodName = method
            } else {
                reader.errors.append("PROXYM_HAPROXY_RELOAD_METHOD: \"\(name)\" is not sf, master-worker or command")
            }
        }
        h.masterSocket = reader.path("PROXYM_HAPROXY_MASTER_SOCKET")
        h.runtimeAPI = reader.bool("PROXYM_HAPROXY_RUNTIME_API") ?? false
        h.statsSocket = reader.path("PROXYM_HAPROXY_STATS_SOCKET")
        if let socket = h.statsSocket, socket.utf8.count >= 108 {
            reader.errors.append("PROXYM_HAPROXY_STATS_SOCKET: \"\(socket)\" is longer than a UNIX socket path may be (107 bytes)")
        }
        if let raw = reader.string("PROXYM_HAPROXY_SERVER_SLOTS") {
            if let slots = Int(raw), slots >= 1, slots <= 10_000 {
                h.serverSlots = slots
            } else {
                reader.errors.append("PROXYM_HAPROXY_SERVER_SLOTS: \"\(raw)\" is not a number between 1 and 10000")
            }
        }
        if let drain = reader.duration("PROXYM_HAPROXY_DRAIN_TIME") { h.drainTime = drain }
    }

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

    static func parseMarathon(_ reader: inout EnvironmentReader) -> Marathon {
        var m = Marathon()
        m.enabled = reader.bool("PROXYM_MARATHON_ENABLED") ?? false

        let serversGiven = reader.string("PROXYM_MARATHON_SERVERS")
        if let raw = serversGiven {
            for part in raw.split(separator: ",") {
                let entry = Substring(String(part).trimmingBlanks)
                if entry.isEmpty { continue }
                switch marathonServerURL(entry) {
                case .success(let url): m.servers.append(url)
                case .failure(let reason):
                    reader.errors.append("PROXYM_MARATHON_SERVERS: \"\(redactingCredentials(entry))\" \(reason)")
                }
            }
        }
        if m.enabled && serversGiven == nil {
            reader.errors.append(
                "PROXYM_MARATHON_SERVERS: required when PROXYM_MARATHON_ENABLED is set (e.g. http://marathon-1:8080,http://marathon-2:8080)"
            )
        }

        // The callback receiver and the URL Marathon calls.
        var hostForURL: String?
        if let host = reader.string("PROXYM_MARATHON_HTTP_HOST") {
            if ["0.0.0.0", "::", "[::]", "*"].contains(host) {
                m.httpHost = nil
            } else if let address = try? HostAddress(host) {
                m.httpHost = host
                m.bindAddress = address.isHostname ? nil : address.description
                hostForURL = address.haproxyText
            } else {
                reader.errors.append(
                    "PROXYM_MARATHON_HTTP_HOST: \"\(host)\" is neither an IP address nor a host name")
            }
        }
        if let port = reader.port("PROXYM_MARATHON_HTTP_PORT") { m.httpPort = port }
        if let endpoint = reader.string("PROXYM_MARATHON_ENDPOINT") {
            let plain = endpoint.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3F && $0 != 0x23 }  // no ? or #
            if endpoint.hasPrefix("/") && plain {
                m.endpoint = endpoint
            } else {
                reader.errors.append(
                    "PROXYM_MARATHON_ENDPOINT: \"\(endpoint)\" is not a path (it must start with / and hold no spaces, ? or #)")
            }
        }
        if let url = reader.string("PROXYM_MARATHON_CALLBACK_URL") {
            if case .success = httpURL(Substring(url)) {
                m.callbackURL = url
            } else {
                reader.errors.append(
                    "PROXYM_MARATHON_CALLBACK_URL: \"\(redactingCredentials(Substring(url)))\" is not an http:// or https:// URL")
            }
        } else if let hostForURL {
            m.callbackURL = "http://\(hostForURL):\(m.httpPort)\(m.endpoint)"
        }
        if let events = reader.string("PROXYM_MARATHON_EVENTS") {
            if let mode = Marathon.EventsMode(rawValue: events.lowercased()) {
                m.events = mode
            } else {
                reader.errors.append("PROXYM_MARATHON_EVENTS: \"\(events)\" is not callback, sse or auto")
            }
        }
        if m.enabled && m.events != .sse && m.callbackURL == nil {
            let given = reader.env["PROXYM_MARATHON_HTTP_HOST"]?.trimmingBlanks ?? ""
            let what = given.isEmpty ? "is not set" : "is the wildcard address \"\(given)\""
            let fix =
                "set it to an address or host name of this machine that Marathon can reach, or set PROXYM_MARATHON_CALLBACK_URL"
            if m.events == .callback {
                reader.errors.append(
                    "PROXYM_MARATHON_HTTP_HOST: \(what), which Marathon cannot call back (PROXYM_MARATHON_EVENTS=callback); \(fix)"
                )
            } else {
                reader.warnings.append(
                    "PROXYM_MARATHON_HTTP_HOST: \(what), which Marathon cannot call back; Marathon before 1.5 will be followed over SSE instead of callbacks (\(fix) to use callbacks)"
                )
            }
        }

        // Mapping
        var suffix: DomainName?
        if let raw = reader.string("PROXYM_MARATHON_DOMAIN_SUFFIX") {
            if let name = try? DomainName(raw), !name.hasPort {
                suffix = name
            } else {
                reader.errors.append("PROXYM_MARATHON_DOMAIN_SUFFIX: \"\(raw)\" is not a domain name")
            }
        }
        let suffixGiven = reader.env["PROXYM_MARATHON_DOMAIN_SUFFIX"].map { !$0.trimmingBlanks.isEmpty } ?? false
        let strategy = reader.string("PROXYM_MARATHON_DOMAIN_STRATEGY")
        switch strategy?.lowercased() {
        case nil, "idtodomainreverse":
            if suffixGiven {
                reader.warnings.append(
                    "PROXYM_MARATHON_DOMAIN_SUFFIX: only used with PROXYM_MARATHON_DOMAIN_STRATEGY=LastPartOfIdAndSuffix; ignored")
            }
        case "lastpartofidandsuffix":
            if let suffix {
                m.domainStrategy = .lastPartOfIdAndSuffix(suffix)
            } else if !suffixGiven {
                reader.errors.append(
                    "PROXYM_MARATHON_DOMAIN_SUFFIX: required with PROXYM_MARATHON_DOMAIN_STRATEGY=LastPartOfIdAndSuffix (e.g. example.com)"
                )
            }
        case .some:
            reader.errors.append(
                "PROXYM_MARATHON_DOMAIN_STRATEGY: \"\(strategy ?? "")\" is not IdToDomainReverse or LastPartOfIdAndSuffix"
            )
        }
        if let group = reader.string("PROXYM_MARATHON_GROUP") {
            if group.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }) {
                m.group = group
            } else {
                reader.errors.append("PROXYM_MARATHON_GROUP: \"\(group)\" must be one group name (no spaces or commas)")
            }
        }
        m.labelConfig = reader.bool("PROXYM_MARATHON_LABEL_CONFIG") ?? false

        // Authentication and transport
        m.username = reader.string("PROXYM_MARATHON_USERNAME")
        m.password = reader.string("PROXYM_MARATHON_PASSWORD")
        m.authToken = reader.string("PROXYM_MARATHON_AUTH_TOKEN")
        if let user = m.username, user.contains(":") {
            reader.errors.append("PROXYM_MARATHON_USERNAME: must not contain ':' (HTTP basic authentication)")
        }
        if m.password != nil && m.username == nil {
            reader.errors.append("PROXYM_MARATHON_PASSWORD: set without PROXYM_MARATHON_USERNAME")
        }
        if m.authToken != nil && m.username != nil {
            reader.errors.append(
                "PROXYM_MARATHON_AUTH_TOKEN: set together with PROXYM_MARATHON_USERNAME; both use the Authorization header, set one"
            )
        }
        m.caFile = reader.path("PROXYM_MARATHON_CA_FILE")
        for (name, keyPath) in [
            ("PROXYM_MARATHON_RESYNC_INTERVAL", \Marathon.resyncInterval), ("PROXYM_MARATHON_TIMEOUT", \Marathon.timeout),
            ("PROXYM_MARATHON_CONNECT_TIMEOUT", \Marathon.connectTimeout),
        ] {
            guard let value = reader.duration(name) else { continue }
            if value > .zero { m[keyPath: keyPath] = value } else { reader.errors.append("\(name): must be longer than 0") }
        }
        if m.connectTimeout > m.timeout {
            reader.warnings.append(
                "PROXYM_MARATHON_CONNECT_TIMEOUT is longer than PROXYM_MARATHON_TIMEOUT; using the request timeout for both")
            m.connectTimeout = m.timeout
        }
        return m
    }

    /// A server entry as a base URL: `http://` added when there is no scheme, trailing `/` removed.
    static func marathonServerURL(_ entry: Substring) -> Result<String, MarathonURLError> {
        let lower = entry.lowercased()
        let url: Substring
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            url = entry
        } else if entry.contains("://") {
            return .failure(MarathonURLError("must use http:// or https://"))
        } else {
            url = "http://" + entry
        }
        // The scheme in lower case (`HTTPS://` works, but logs and comparisons read better).
        let schemeLength = url.lowercased().hasPrefix("https://") ? 8 : 7
        var trimmed = url
        while trimmed.hasSuffix("/") && trimmed.count > schemeLength { trimmed = trimmed.dropLast() }
        let normalized = trimmed.prefix(schemeLength).lowercased() + trimmed.dropFirst(schemeLength)
        return httpURL(Substring(normalized)).map { _ in normalized }
    }

    /// Checks `http(s)://[user[:pass]@]host[:port][/path]` loosely: a host is there, nothing blank or
    /// control, no query or fragment.
    static func httpURL(_ url: Substring) -> Result<Void, MarathonURLError> {
        let lower = url.lowercased()
        guard let schemeEnd = lower.hasPrefix("http://") ? 7 : lower.hasPrefix("https://") ? 8 : nil else {
            return .failure(MarathonURLError("must use http:// or https://"))
        }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(MarathonURLError("must not contain spaces or control characters"))
        }
        guard !url.contains("?") && !url.contains("#") else {
            return .failure(MarathonURLError("must not have a query or fragment"))
        }
        let rest = url.dropFirst(schemeEnd)
        var authority = rest.prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host = authority.hasPrefix("[") ? authority : authority.prefix { $0 != ":" }
        guard !host.isEmpty, host != "[" else { return .failure(MarathonURLError("has no host")) }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            let port = authority[authority.index(after: colon)...]
            guard let number = Int(port), number >= 1, number <= 65535 else {
                return .failure(MarathonURLError("has an invalid port"))
            }
        }
        return .success(())
    }

    /// The URL with any `user:password@` shown as `***@`, for messages.
    static func redactingCredentials(_ url: Substring) -> String {
        let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        let authorityEnd = url[schemeEnd...].firstIndex(of: "/") ?? url.endIndex
        guard let at = url[schemeEnd..<authorityEnd].lastIndex(of: "@") else { return String(url) }
        return String(url[..<schemeEnd]) + "***" + String(url[at...])
    }
}

struct MarathonURLError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension MarathonURLError: CustomStringConvertible {
    var description: String { reason }
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
