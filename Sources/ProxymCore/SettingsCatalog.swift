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
                    name: "PROXYM_HAPROXY_VALIDATE", defaultValue: "1",
                    description: "Check each new config with `haproxy -c` before installing it (0 skips it)."),
                Variable(
                    name: "PROXYM_HAPROXY_COMMAND_TIMEOUT", defaultValue: "30s",
                    description: "Limit for `haproxy -c` and the reload; a command still running then is killed."),
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
    public static let marathonVariables: [String] = [
        "PROXYM_MARATHON_SERVERS", "PROXYM_MARATHON_HTTP_HOST", "PROXYM_MARATHON_HTTP_PORT",
        "PROXYM_MARATHON_ENDPOINT", "PROXYM_MARATHON_DOMAIN_STRATEGY", "PROXYM_MARATHON_DOMAIN_SUFFIX",
    ]

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
