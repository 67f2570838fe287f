import Logging
import ProxymCore
import Testing

@Suite struct SettingsTests {
    /// The original proxym's packaged /etc/proxym/proxym.conf, with the file and haproxy modules on.
    let original: [String: String] = [
        "PROXYM_FILE_CONFIGS_PATH": "/etc/proxym/file",
        "PROXYM_FILE_ENABLED": "1",
        "PROXYM_HAPROXY_BINARY_PATH": "/usr/sbin/haproxy",
        "PROXYM_HAPROXY_CONFIG_FILE_PATH": "/etc/haproxy/haproxy.cfg",
        "PROXYM_HAPROXY_ENABLED": "1",
        "PROXYM_HAPROXY_HTTP_PORT": "80",
        "PROXYM_HAPROXY_OPTIONS_PATH": "/etc/proxym/haproxy",
        "PROXYM_HAPROXY_PID_PATH": "/var/run/haproxy.pid",
        "PROXYM_MARATHON_HTTP_HOST": "",
        "PROXYM_MARATHON_HTTP_PORT": "39721",
        "PROXYM_MARATHON_ENABLED": "0",
        "PROXYM_MARATHON_ENDPOINT": "/callback",
        "PROXYM_MARATHON_SERVERS": "",
        "PROXYM_MESOS_MASTER_DOMAIN": "mesos",
        "PROXYM_MESOS_MASTER_ENABLED": "0",
        "PROXYM_MESOS_MASTER_MASTERS": "",
        "PROXYM_MESOS_MASTER_POLL_INTERVAL": "10",
        "PROXYM_SIGNAL_ENABLED": "0",
    ]

    @Test func theOriginalPackagedConfigStillWorks() {
        let report = Settings.parse(environment: original)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.warnings.isEmpty, "\(report.warnings)")
        let s = report.settings
        #expect(s.file.enabled && s.file.configsPath == "/etc/proxym/file")
        #expect(s.haproxy.enabled && s.haproxy.configFilePath == "/etc/haproxy/haproxy.cfg")
        #expect(s.haproxy.reloadMethod == .startStop(binary: "/usr/sbin/haproxy", pidFile: "/var/run/haproxy.pid"))
        #expect(s.haproxy.optionsPath == "/etc/proxym/haproxy")
        #expect(s.haproxy.httpPort == 80)
        #expect(!s.signalEnabled)
        #expect(s.log.appLogLevel == .info)
    }

    @Test func defaults() {
        let s = Settings.parse(environment: [:]).settings
        #expect(!s.file.enabled && !s.haproxy.enabled && !s.signalEnabled)
        #expect(s.haproxy.httpPort == 80 && s.haproxy.validate && s.haproxy.reloadMethod == .none)
        #expect(s.refresh.quietPeriod == .milliseconds(100) && s.refresh.maxDelay == .seconds(1))
    }

    @Test(arguments: ["1", "true", "TRUE", "True", "t", "yes", "on"])
    func booleanTrueSpellings(_ value: String) {
        #expect(Settings.parse(environment: ["PROXYM_SIGNAL_ENABLED": value]).settings.signalEnabled)
    }

    @Test(arguments: ["0", "false", "FALSE", "f", "no", "off", ""])
    func booleanFalseSpellings(_ value: String) {
        let r = Settings.parse(environment: ["PROXYM_SIGNAL_ENABLED": value])
        #expect(!r.settings.signalEnabled && r.errors.isEmpty)
    }

    @Test func badValuesAreNamedErrors() {
        let r = Settings.parse(environment: [
            "PROXYM_SIGNAL_ENABLED": "maybe",
            "PROXYM_HAPROXY_HTTP_PORT": "http",
            "PROXYM_FILE_ENABLED": "1",
            "PROXYM_HAPROXY_ENABLED": "1",
            "PROXYM_HAPROXY_BINARY_PATH": "/usr/sbin/haproxy",
            "PROXYM_HAPROXY_OPTIONS_PATH": "relative/dir",
            "PROXYM_REFRESH_QUIET_PERIOD": "soon",
            "PROXYM_HAPROXY_BIND_ADDRESS": "localhost",
        ])
        let joined = r.errors.joined(separator: "\n")
        for name in [
            "PROXYM_SIGNAL_ENABLED", "PROXYM_HAPROXY_HTTP_PORT", "PROXYM_FILE_CONFIGS_PATH",
            "PROXYM_HAPROXY_CONFIG_FILE_PATH", "PROXYM_HAPROXY_PID_PATH", "PROXYM_HAPROXY_OPTIONS_PATH",
            "PROXYM_REFRESH_QUIET_PERIOD", "PROXYM_HAPROXY_BIND_ADDRESS",
        ] {
            #expect(joined.contains(name + ":"), "missing error for \(name) in:\n\(joined)")
        }
    }

    @Test func reloadCommandWinsOverBinary() {
        let s = Settings.parse(environment: [
            "PROXYM_HAPROXY_RELOAD_COMMAND": "systemctl reload haproxy",
            "PROXYM_HAPROXY_BINARY_PATH": "/usr/sbin/haproxy",
        ]).settings
        #expect(s.haproxy.reloadMethod == .command("systemctl reload haproxy"))
    }

    @Test func unknownVariablesAndUnsupportedModulesWarn() {
        let r = Settings.parse(environment: ["PROXYM_FILE_ENABLD": "1", "PROXYM_MESOS_MASTER_ENABLED": "1", "HOME": "/root"])
        #expect(r.errors.isEmpty)
        #expect(r.warnings.contains { $0.hasPrefix("PROXYM_FILE_ENABLD: unknown setting") })
        #expect(r.warnings.contains { $0.contains("Mesos master") })
        #expect(r.warnings.count == 2)
    }

    @Test func logLevelAndBindAddress() {
        let r = Settings.parse(environment: [
            "PROXYM_LOG_APPLOG_LEVEL": "debug", "PROXYM_HAPROXY_BIND_ADDRESS": "127.0.0.1",
        ])
        #expect(r.settings.log.appLogLevel == .debug)
        #expect(r.settings.haproxy.bindAddress == "127.0.0.1")
        let bad = Settings.parse(environment: ["PROXYM_LOG_APPLOG_LEVEL": "loud"])
        #expect(bad.settings.log.appLogLevel == .info && bad.warnings.count == 1)
    }

    @Test(arguments: [
        ("100ms", Duration.milliseconds(100)), ("1s", .seconds(1)), ("1.5s", .milliseconds(1500)),
        ("2m30s", .seconds(150)), ("1h", .seconds(3600)), ("5", .seconds(5)), ("0.25", .milliseconds(250)),
        ("250us", .microseconds(250)),
    ])
    func durations(_ text: String, _ expected: Duration) { #expect(parseDuration(text) == expected) }

    @Test(arguments: ["", "ms", "1x", "-1s", "1e3", "fast", "1s2"])
    func badDurations(_ text: String) { #expect(parseDuration(text) == nil) }
}
