import ProxymCore
import Testing

/// The declarations are the one list of settings: the parser reads exactly those names, `--help` shows
/// each with its default, and a default shown as a value reads back as the default.
@Suite struct SettingDeclarationTests {
    let declared = Settings.declarations.map(\.name)

    /// Environments that take the parser through every group's checks (modules on, each reload
    /// method, each events mode and domain strategy, every variable set or blank).
    var environments: [[String: String]] {
        let on = [
            "PROXYM_FILE_ENABLED": "1", "PROXYM_HAPROXY_ENABLED": "1", "PROXYM_MARATHON_ENABLED": "1",
            "PROXYM_HAPROXY_RUNTIME_API": "1",
        ]
        var list: [[String: String]] = [[:], on, Dictionary(uniqueKeysWithValues: declared.map { ($0, "") })]
        for method in Settings.ReloadMethodName.allCases {
            list.append(on.merging(["PROXYM_HAPROXY_RELOAD_METHOD": method.rawValue]) { $1 })
            list.append(on.merging(["PROXYM_HAPROXY_RELOAD_METHOD": method.rawValue, "PROXYM_HAPROXY_RELOAD_COMMAND": "x"]) { $1 })
        }
        list.append(on.merging(["PROXYM_HAPROXY_BINARY_PATH": "/usr/sbin/haproxy", "PROXYM_HAPROXY_RELOAD_COMMAND": "x"]) { $1 })
        for events in Settings.Marathon.EventsMode.allCases {
            for strategy in Settings.Marathon.DomainStrategyName.allCases {
                for host in ["", "0.0.0.0", "10.0.0.1"] {
                    list.append(
                        on.merging([
                            "PROXYM_MARATHON_EVENTS": events.rawValue, "PROXYM_MARATHON_DOMAIN_STRATEGY": strategy.rawValue,
                            "PROXYM_MARATHON_HTTP_HOST": host, "PROXYM_MARATHON_DOMAIN_SUFFIX": host.isEmpty ? "" : "a.b",
                            "PROXYM_MARATHON_USERNAME": "u:1", "PROXYM_MARATHON_PASSWORD": "p", "PROXYM_MARATHON_AUTH_TOKEN": "t",
                            "PROXYM_MARATHON_CONNECT_TIMEOUT": "1h", "PROXYM_REFRESH_MAX_DELAY": "1ms",
                        ]) { $1 })
                }
            }
        }
        return list
    }

    @Test func theParserReadsExactlyTheDeclaredNames() {
        func isRetired(_ name: String) -> Bool {
            name == Settings.retiredListenAddress
                || Settings.retiredModules.contains { name.hasPrefix("PROXYM_\($0.prefix)_") }
        }
        var read: Set<String> = []
        for env in environments { read.formUnion(Settings.parse(environment: env).namesRead) }
        #expect(read.filter { !isRetired($0) } == Set(declared))
    }

    @Test func eachNameIsDeclaredOnce() {
        #expect(Set(declared).count == declared.count)
        #expect(declared.allSatisfy { $0.hasPrefix("PROXYM_") })
        #expect(Settings.declarations.allSatisfy { !$0.doc.isEmpty && !$0.shownDefault.isEmpty })
    }

    /// The original proxym's variables (its packaged proxym.conf and README) keep working.
    @Test func theOriginalNamesAreStillDeclared() {
        for name in [
            "PROXYM_FILE_ENABLED", "PROXYM_FILE_CONFIGS_PATH", "PROXYM_HAPROXY_ENABLED", "PROXYM_HAPROXY_BINARY_PATH",
            "PROXYM_HAPROXY_CONFIG_FILE_PATH", "PROXYM_HAPROXY_HTTP_PORT", "PROXYM_HAPROXY_OPTIONS_PATH",
            "PROXYM_HAPROXY_PID_PATH", "PROXYM_MARATHON_ENABLED", "PROXYM_MARATHON_SERVERS", "PROXYM_MARATHON_HTTP_HOST",
            "PROXYM_MARATHON_HTTP_PORT", "PROXYM_MARATHON_ENDPOINT", "PROXYM_MARATHON_DOMAIN_STRATEGY",
            "PROXYM_MARATHON_DOMAIN_SUFFIX", "PROXYM_SIGNAL_ENABLED", "PROXYM_LOG_APPLOG_LEVEL", "PROXYM_LOG_FORMAT",
        ] {
            #expect(declared.contains(name), "\(name)")
        }
    }

    @Test func helpListsEverySettingWithItsDefault() {
        let help = Settings.helpText()
        for setting in Settings.declarations {
            #expect(help.contains("\(setting.name)  [default: \(setting.shownDefault)]"), "\(setting.name)")
        }
        #expect(help.contains("PROXYM_REFRESH_QUIET_PERIOD  [default: 100ms]"))
        #expect(help.contains("PROXYM_GUARD_MAX_REMOVAL  [default: 50%]"))
        #expect(help.contains("PROXYM_MARATHON_RESYNC_INTERVAL  [default: 5m]"))
        #expect(help.contains("PROXYM_LOG_APPLOG_LEVEL  [default: INFO]"))
    }

    /// A default shown as a value (not a description such as "(unset)") is written the way the
    /// setting reads it: setting it changes nothing.
    @Test func aShownDefaultReadsBackAsTheDefault() {
        let defaults = Settings.parse(environment: [:]).settings
        var checked = 0
        for setting in Settings.declarations where !setting.describesDefault {
            let report = Settings.parse(environment: [setting.name: setting.shownDefault])
            #expect(report.errors.isEmpty && report.settings == defaults, "\(setting.name)=\(setting.shownDefault)")
            checked += 1
        }
        #expect(checked > 20)
    }

    @Test(arguments: [
        (Duration.milliseconds(100), "100ms"), (.seconds(300), "5m"), (.seconds(90), "90s"), (.zero, "0s"),
        (.microseconds(250), "250us"), (.nanoseconds(7), "7ns"), (.seconds(7200), "2h"),
    ])
    func durationsAreWrittenInTheirLargestWholeUnit(_ duration: Duration, _ text: String) {
        #expect(formatDuration(duration) == text)
        #expect(parseDuration(text) == duration)
    }
}
