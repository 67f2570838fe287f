/// The reference of every setting: one table feeds `proxym --help`, the README and the man page, and a
/// test checks the README lists each name, so documentation cannot drift from the parser.
public enum SettingsCatalog {
    public struct Variable: Sendable {
        public var name: String
        public var defaultValue: String
        public var description: String
    }

    public struct Module: Sendable {
        public var name: String
        public var variables: [Variable]
    }

    public static let modules: [Module] = [
        Module(
            name: "File",
            variables: [
                Variable(
                    name: "PROXYM_FILE_ENABLED", defaultValue: "0",
                    description: "Read services from JSON files and watch the directory with inotify."),
                Variable(
                    name: "PROXYM_FILE_CONFIGS_PATH", defaultValue: "(required)",
                    description: "Directory of *.json service files (one service per file)."),
            ]),
        Module(
            name: "HAProxy",
            variables: [
                Variable(
                    name: "PROXYM_HAPROXY_ENABLED", defaultValue: "0",
                    description: "Render, validate, write and apply the HAProxy configuration."),
                Variable(
                    name: "PROXYM_HAPROXY_CONFIG_FILE_PATH", defaultValue: "(required)",
                    description: "The configuration file proxym writes (atomically, after `haproxy -c`)."),
                Variable(
                    name: "PROXYM_HAPROXY_OPTIONS_PATH", defaultValue: "(built-in defaults)",
                    description:
                        "Directory holding global.cfg (put first in the config) and <domain>_<servicePort>/{config,domains}."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_HTTP_PORT", defaultValue: "80",
                    description: "Port of the shared HTTP frontend; services on this service port are HTTP virtual hosts."),
                Variable(
                    name: "PROXYM_HAPROXY_BIND_ADDRESS", defaultValue: "* (all)",
                    description: "Address the frontend and TCP listeners bind to, e.g. 127.0.0.1."),
                Variable(
                    name: "PROXYM_HAPROXY_BINARY_PATH", defaultValue: "(unset)",
                    description:
                        "haproxy binary. Set (with PID_PATH) to run haproxy the original way: -f CFG -p PIDFILE, reloads with -sf."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_PID_PATH", defaultValue: "(unset)",
                    description: "PID file haproxy writes when proxym starts it (BINARY_PATH mode)."),
                Variable(
                    name: "PROXYM_HAPROXY_RELOAD_COMMAND", defaultValue: "(unset)",
                    description: "Command run with /bin/sh -c after a new config is in place, e.g. `systemctl reload haproxy`."),
                Variable(
                    name: "PROXYM_HAPROXY_RELOAD_METHOD",
                    defaultValue: "command if RELOAD_COMMAND is set, else sf if BINARY_PATH and PID_PATH are, else none",
                    description:
                        "How a new config goes live: sf (start haproxy -D -p PID_PATH, reload with -sf <old pids>), master-worker (a haproxy -W master reached through MASTER_SOCKET: proxym starts and supervises one unless one already answers there, e.g. Debian's haproxy.service; reloads are checked in the master's `show proc`) or command (RELOAD_COMMAND)."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_MASTER_SOCKET", defaultValue: "haproxy-master.sock next to the config file",
                    description:
                        "master-worker: haproxy's master CLI socket (-S). Debian's haproxy.service uses /run/haproxy-master.sock."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_RUNTIME_API", defaultValue: "0",
                    description:
                        "Apply changes that only touch servers (tasks scaled, replaced, unhealthy) through haproxy's Runtime API on the stats socket, without a reload; servers are rendered in fixed slots (node1..nodeN) and the file is rewritten to match. Anything structural still reloads."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_STATS_SOCKET",
                    defaultValue: "the admin-level stats socket global.cfg declares, else haproxy-admin.sock next to the config file",
                    description:
                        "haproxy's admin-level stats socket for the Runtime API. When global.cfg declares none at this path, proxym adds `stats socket <path> mode 600 level admin expose-fd listeners` to the rendered global section."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_SERVER_SLOTS", defaultValue: "8",
                    description:
                        "Runtime API: each backend gets max(this, 2 x its servers) server slots; when a change needs more, the next reload grows them."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_DRAIN_TIME", defaultValue: "10s",
                    description:
                        "Runtime API: a server that leaves is set to drain (no new connections) for this long, then to maint; its slot is free again afterwards."
                ),
                Variable(
                    name: "PROXYM_HAPROXY_VALIDATE", defaultValue: "1",
                    description: "Check each new config with `haproxy -c` before installing it (0 skips it)."),
                Variable(
                    name: "PROXYM_HAPROXY_COMMAND_TIMEOUT", defaultValue: "30s",
                    description: "Limit for `haproxy -c` and the reload; a command still running then is killed."),
            ]),
        Module(
            name: "Guard",
            variables: [
                Variable(
                    name: "PROXYM_GUARD_MAX_REMOVAL", defaultValue: "50%",
                    description:
                        "A refresh that would remove more than this share of all servers at once, or empty a source that had services, is held back (logged, shown in STATUS) until it has persisted for PROXYM_GUARD_HOLD; SIGHUP applies it at once. 100% leaves only the empty-source rule."
                ),
                Variable(
                    name: "PROXYM_GUARD_HOLD", defaultValue: "30s",
                    description: "How long a held refresh must persist before it is applied; 0 turns the guard off."),
            ]),
        Module(
            name: "Signal",
            variables: [
                Variable(
                    name: "PROXYM_SIGNAL_ENABLED", defaultValue: "0",
                    description: "SIGUSR1 triggers a refresh (SIGHUP always does a full resync)."),
            ]),
        Module(
            name: "Refresh",
            variables: [
                Variable(
                    name: "PROXYM_REFRESH_QUIET_PERIOD", defaultValue: "100ms",
                    description: "A burst of changes is coalesced until this long passes without a new one."),
                Variable(
                    name: "PROXYM_REFRESH_MAX_DELAY", defaultValue: "1s",
                    description: "Under a continuous stream of changes, refresh at least this often."),
                Variable(
                    name: "PROXYM_SOURCE_WAIT", defaultValue: "15s",
                    description:
                        "At start and on SIGHUP, how long the apply waits for every source's whole read; a source still reading then is not waited for (at start it has no services until it answers)."),
            ]),
        Module(
            name: "Marathon",
            variables: [
                Variable(
                    name: "PROXYM_MARATHON_ENABLED", defaultValue: "0",
                    description: "Expose Marathon apps: services from /v2/apps?embed=apps.tasks, refreshed on events."),
                Variable(
                    name: "PROXYM_MARATHON_SERVERS", defaultValue: "(required)",
                    description:
                        "Comma-separated Marathon URLs, with or without http(s)://, e.g. http://m1:8080,m2:8080; credentials may be given as https://user:pass@host. On errors proxym moves to the next and stays with the one that works."
                ),
                Variable(
                    name: "PROXYM_MARATHON_HTTP_HOST", defaultValue: "(unset)",
                    description:
                        "Address or host name of this machine that Marathon can call back (callback mode); an IP address is also what the receiver binds to. A wildcard (0.0.0.0, ::) cannot be called back."
                ),
                Variable(
                    name: "PROXYM_MARATHON_HTTP_PORT", defaultValue: "39721",
                    description: "Port of the callback receiver."),
                Variable(
                    name: "PROXYM_MARATHON_ENDPOINT", defaultValue: "/callback",
                    description: "Path of the callback receiver."),
                Variable(
                    name: "PROXYM_MARATHON_CALLBACK_URL", defaultValue: "(built from HTTP_HOST, HTTP_PORT, ENDPOINT)",
                    description:
                        "URL registered with Marathon for callbacks, when it differs from the one built from the three above (NAT, a proxy)."
                ),
                Variable(
                    name: "PROXYM_MARATHON_EVENTS", defaultValue: "auto",
                    description:
                        "callback (HTTP callbacks, Marathon before 1.5), sse (event stream, 0.9+) or auto (asks /v2/info: callbacks before 1.5 when a callback URL is known, else SSE)."
                ),
                Variable(
                    name: "PROXYM_MARATHON_RESYNC_INTERVAL", defaultValue: "5m",
                    description: "Full re-read of Marathon at this interval, in case an event was lost."),
                Variable(
                    name: "PROXYM_MARATHON_DOMAIN_STRATEGY", defaultValue: "IdToDomainReverse",
                    description:
                        "Domain of an app: IdToDomainReverse (/com/example/web -> web.example.com) or LastPartOfIdAndSuffix (/x/web -> web.<DOMAIN_SUFFIX>). The label proxym.domains overrides it per app."
                ),
                Variable(
                    name: "PROXYM_MARATHON_DOMAIN_SUFFIX", defaultValue: "(required for LastPartOfIdAndSuffix)",
                    description: "Domain suffix for LastPartOfIdAndSuffix, e.g. example.com."),
                Variable(
                    name: "PROXYM_MARATHON_GROUP", defaultValue: "(all apps)",
                    description:
                        "Only apps whose HAPROXY_GROUP label (comma-separated, as marathon-lb reads it) lists this group; * means all."
                ),
                Variable(
                    name: "PROXYM_MARATHON_LABEL_CONFIG", defaultValue: "0",
                    description:
                        "Honour proxym.port.<n>.config labels (raw HAProxy lines for a backend). Off by default: anyone who can deploy an app could rewrite the proxy."
                ),
                Variable(
                    name: "PROXYM_MARATHON_USERNAME", defaultValue: "(unset)",
                    description: "HTTP basic authentication user (or give it in the server URL)."),
                Variable(
                    name: "PROXYM_MARATHON_PASSWORD", defaultValue: "(unset)",
                    description: "HTTP basic authentication password."),
                Variable(
                    name: "PROXYM_MARATHON_AUTH_TOKEN", defaultValue: "(unset)",
                    description: "DC/OS ACS token, sent as Authorization: token=<value> (instead of basic authentication)."),
                Variable(
                    name: "PROXYM_MARATHON_CA_FILE", defaultValue: "(system CAs)",
                    description: "PEM file of the CA(s) that signed Marathon's HTTPS certificate."),
                Variable(
                    name: "PROXYM_MARATHON_TIMEOUT", defaultValue: "10s",
                    description: "Limit for one request to Marathon (the event stream excepted)."),
                Variable(
                    name: "PROXYM_MARATHON_CONNECT_TIMEOUT", defaultValue: "3s",
                    description: "Limit for connecting to one Marathon server before trying the next."),
            ]),
        Module(
            name: "Log",
            variables: [
                Variable(
                    name: "PROXYM_LOG_APPLOG_LEVEL", defaultValue: "INFO",
                    description: "Level of the application log on stdout: DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL."),
                Variable(
                    name: "PROXYM_LOG_FORMAT", defaultValue: LogFormat.defaultFormat,
                    description: "go-logging format: %{time:<Go layout>} %{level} %{longfunc} %{shortfunc} %{module} %{message} ..."
                ),
            ]),
    ]

    /// Names read by the Marathon module.
    public static var marathonVariables: [String] {
        modules.first { $0.name == "Marathon" }?.variables.map(\.name) ?? []
    }

    /// Modules of the original proxym this one does not carry (their variables are accepted and ignored).
    public static let unsupportedModules: [(prefix: String, name: String)] = [
        ("MESOS_MASTER", "Mesos master"), ("HIPACHE", "Hipache"), ("PROXY", "Proxy (template)"),
        ("ELB", "ELB"), ("ANNOTATION_API", "annotation API"),
    ]

    public static var allNames: [String] { modules.flatMap { $0.variables.map(\.name) } }

    /// Plain-text reference for `--help`.
    public static func helpText(width: Int = 100) -> String {
        var out = "ENVIRONMENT (flags override these; booleans take 1/true or 0/false):\n"
        for module in modules {
            out += "\n  \(module.name):\n"
            for v in module.variables {
                out += "    \(v.name)  [default: \(v.defaultValue)]\n"
                out += wrap(v.description, indent: 8, width: width)
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
