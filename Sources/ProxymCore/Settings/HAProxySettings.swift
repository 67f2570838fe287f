import ProxymModel

extension Settings {
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
        /// nil: all addresses.
        public var bindAddress: String?
        public var validate = true
        public var commandTimeout: Duration = .seconds(30)
        /// nil = derived from the original variables (``reloadMethod``).
        public var reloadMethodName: ReloadMethodName?
        /// The master CLI socket (master-worker); nil = `haproxy-master.sock` next to the config.
        public var masterSocket: String?
        /// Change servers through haproxy's stats socket, without reloads.
        public var runtimeAPI = false
        /// nil = the admin socket global.cfg declares, else `haproxy-admin.sock` next to the config
        /// (added to the rendered `global` section).
        public var statsSocket: String?
        /// At least this many server slots per backend (Runtime API).
        public var serverSlots = 8
        /// How long a leaving server stays in `drain` before `maint`.
        public var drainTime: Duration = .seconds(10)
        /// haproxy's own Prometheus exporter (PROMEX): a `frontend proxym-prometheus` on this address
        /// answering `/metrics`; nil = none.
        public var prometheusAddress: StatusSettings.ListenAddress?
        /// marathon-lb's :9091: a frontend routing `X-Marathon-App-Id` to the HTTP services that carry
        /// an app id; nil = none.
        public var appIDPort: UInt16?
        /// More plain virtual hosts than this: the frontends route them through a map file
        /// (``vhostMapPath``); 0 = never.
        public var vhostMapThreshold = 0

        /// The vhost map, next to the config file: `<config>.vhosts.map`.
        public var vhostMapPath: String { configFilePath + ".vhosts.map" }

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

        static let group = SettingGroup(
            "HAProxy",
            [
                SettingDeclaration(
                    "PROXYM_HAPROXY_ENABLED", \.haproxy.enabled, .bool,
                    "Render, validate, write and apply the HAProxy configuration."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_CONFIG_FILE_PATH", \.haproxy.configFilePath, .path, default: "(required)",
                    "The configuration file proxym writes (atomically, after `haproxy -c`)."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_OPTIONS_PATH", \.haproxy.optionsPath, .path, default: "(built-in defaults)",
                    "Directory holding global.cfg (put first in the config) and <domain>_<servicePort>/{config,domains}."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_HTTP_PORT", \.haproxy.httpPort, .port,
                    "Port of the shared HTTP frontend; services on this service port are HTTP virtual hosts."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_BIND_ADDRESS", \.haproxy.bindAddress,
                    .checked("is not an IP address (or * for all)") { text -> String?? in
                        if text == "*" { return .some(nil) }
                        guard let address = try? HostAddress(text), !address.isHostname else { return nil }
                        return address.description
                    },
                    default: "* (all)", "Address the frontend and TCP listeners bind to, e.g. 127.0.0.1."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_BINARY_PATH", \.haproxy.binaryPath, .path,
                    "haproxy binary. Set (with PID_PATH) to run haproxy the original way: -f CFG -p PIDFILE, reloads with -sf."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_PID_PATH", \.haproxy.pidPath, .path,
                    "PID file haproxy writes when proxym starts it (BINARY_PATH mode)."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_RELOAD_COMMAND", \.haproxy.reloadCommand, .string,
                    "Command run with /bin/sh -c after a new config is in place, e.g. `systemctl reload haproxy`."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_RELOAD_METHOD", \.haproxy.reloadMethodName, .optional(.oneOf),
                    default: "command if RELOAD_COMMAND is set, else sf if BINARY_PATH and PID_PATH are, else none",
                    "How a new config goes live: sf (start haproxy -D -p PID_PATH, reload with -sf <old pids>), master-worker (a haproxy -W master reached through MASTER_SOCKET: proxym starts and supervises one unless one already answers there, e.g. Debian's haproxy.service; reloads are checked in the master's `show proc`) or command (RELOAD_COMMAND)."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_MASTER_SOCKET", \.haproxy.masterSocket, .path,
                    default: "haproxy-master.sock next to the config file",
                    "master-worker: haproxy's master CLI socket (-S). Debian's haproxy.service uses /run/haproxy-master.sock."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_RUNTIME_API", \.haproxy.runtimeAPI, .bool,
                    "Apply changes that only touch servers (tasks scaled, replaced, unhealthy) through haproxy's Runtime API on the stats socket, without a reload; servers are rendered in fixed slots (node1..nodeN) and the file is rewritten to match. Anything structural still reloads."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_STATS_SOCKET", \.haproxy.statsSocket, .socketPath,
                    default: "the admin-level stats socket global.cfg declares, else haproxy-admin.sock next to the config file",
                    "haproxy's admin-level stats socket for the Runtime API. When global.cfg declares none at this path, proxym adds `stats socket <path> mode 600 level admin expose-fd listeners` to the rendered global section."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_SERVER_SLOTS", \.haproxy.serverSlots, .integer(1...10_000),
                    "Runtime API: each backend gets max(this, 2 x its servers) server slots; when a change needs more, the next reload grows them."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_DRAIN_TIME", \.haproxy.drainTime, .duration,
                    "Runtime API: a server that leaves is set to drain (no new connections) for this long, then to maint; its slot is free again afterwards."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_VALIDATE", \.haproxy.validate, .bool,
                    "Check each new config with `haproxy -c` before installing it (0 skips it)."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_COMMAND_TIMEOUT", \.haproxy.commandTimeout, .positiveDuration,
                    "Limit for `haproxy -c` and the reload; a command still running then is killed."),
                SettingDeclaration(
                    "PROXYM_HAPROXY_PROMETHEUS_ADDRESS", \.haproxy.prometheusAddress,
                    .optional(
                        .checked("is not IP:port (e.g. 127.0.0.1:8405)", show: { $0.description }) {
                            StatusSettings.ListenAddress(parsing: $0)
                        }), default: "(none)",
                    "IP:port of a frontend the rendered config gets for haproxy's own Prometheus exporter (GET /metrics there: haproxy_* metrics of every frontend, backend and server). Unset: no such frontend."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_APPID_PORT", \.haproxy.appIDPort, .optional(.port), default: "(unset: none)",
                    "Port of a frontend (proxym_appid, same bind address as HTTP) that routes by the X-Marathon-App-Id header to the first HTTP port of that Marathon app (marathon-lb's :9091). Unset: no such frontend."
                ),
                SettingDeclaration(
                    "PROXYM_HAPROXY_VHOST_MAP_THRESHOLD", \.haproxy.vhostMapThreshold, .integer(0...10_000_000),
                    "Above this many plain virtual hosts (no paths, no redirect to HTTPS, weight 0) the HTTP and HTTPS frontends route them through one map file, <config>.vhosts.map, instead of an acl and a use_backend line each (marathon-lb's --haproxy-map); with PROXYM_HAPROXY_RUNTIME_API a host added to, moved between or removed from existing backends then changes through the Runtime API (add/set/del map), without a reload. 0: never (the config stays as it always was)."
                ),
            ],
            check: check)

        /// Requirements and conflicts between the reload settings (when the module is on).
        static func check(_ reader: inout EnvironmentReader, _ s: inout Settings) {
            let h = s.haproxy
            guard h.enabled else { return }
            if let port = h.appIDPort, port == h.httpPort || port == s.tls.httpsPort {
                reader.errors.append("PROXYM_HAPROXY_APPID_PORT: \(port) is already the HTTP or HTTPS port")
            }

            if h.vhostMapThreshold > 0 && !h.configFilePath.isEmpty && !HAProxyMapText.isUsablePath(h.vhostMapPath) {
                reader.errors.append(
                    "PROXYM_HAPROXY_VHOST_MAP_THRESHOLD: the map file \(h.vhostMapPath) (next to PROXYM_HAPROXY_CONFIG_FILE_PATH) needs an absolute path of printable ASCII without blanks, quotes, backslashes or any of ,();#%[]{}$"
                )
            }
            if h.configFilePath.isEmpty {
                reader.errors.append("PROXYM_HAPROXY_CONFIG_FILE_PATH: required when PROXYM_HAPROXY_ENABLED is set")
            }
            switch h.reloadMethodName {
            case nil:
                if h.binaryPath != nil && h.pidPath == nil && h.reloadCommand == nil {
                    reader.errors.append(
                        "PROXYM_HAPROXY_PID_PATH: required with PROXYM_HAPROXY_BINARY_PATH (proxym starts haproxy with -p and reloads it with -sf)"
                    )
                }
                if h.reloadCommand != nil && h.binaryPath != nil {
                    reader.warnings.append(
                        "PROXYM_HAPROXY_RELOAD_COMMAND is set: it reloads haproxy; PROXYM_HAPROXY_BINARY_PATH is only used for validation"
                    )
                }
            case .sf?:
                if h.pidPath == nil {
                    reader.errors.append(
                        "PROXYM_HAPROXY_PID_PATH: required with PROXYM_HAPROXY_RELOAD_METHOD=sf (haproxy writes its pids there; reloads pass them to -sf)"
                    )
                }
            case .command?:
                if h.reloadCommand == nil {
                    reader.errors.append(
                        "PROXYM_HAPROXY_RELOAD_COMMAND: required with PROXYM_HAPROXY_RELOAD_METHOD=command")
                }
            case .masterWorker?:
                if !fitsSocketPath(h.effectiveMasterSocket) {
                    reader.errors.append(
                        "PROXYM_HAPROXY_MASTER_SOCKET: \"\(h.effectiveMasterSocket)\" \(socketPathTooLong)")
                }
            }
            if let method = h.reloadMethodName, method != .command, h.reloadCommand != nil {
                reader.warnings.append(
                    "PROXYM_HAPROXY_RELOAD_COMMAND is ignored with PROXYM_HAPROXY_RELOAD_METHOD=\(method.rawValue)")
            }
            if h.runtimeAPI && h.reloadMethod == .none {
                reader.warnings.append(
                    "PROXYM_HAPROXY_RUNTIME_API: no haproxy is reloaded (no reload method); the Runtime API is still used when its socket answers"
                )
            }
        }
    }
}

/// A UNIX socket path fits `sockaddr_un` (107 bytes and the terminating NUL).
func fitsSocketPath(_ path: String) -> Bool { path.utf8.count < 108 }

let socketPathTooLong = "is longer than a UNIX socket path may be (107 bytes)"

extension SettingParser where Value == String? {
    /// An absolute path short enough for a UNIX socket.
    static var socketPath: Self {
        .optional(
            SettingParser<String>(
                read: { reader, name in
                    guard let path = reader.path(name) else { return nil }
                    if fitsSocketPath(path) { return path }
                    reader.errors.append("\(name): \"\(path)\" \(socketPathTooLong)")
                    return nil
                }, show: { $0 }))
    }
}
