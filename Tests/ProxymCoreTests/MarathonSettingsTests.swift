import ProxymCore
import ProxymModel
import Testing

@Suite struct MarathonSettingsTests {
    typealias Marathon = Settings.Marathon

    /// The required variables for an enabled module, plus `extra`.
    func parse(_ extra: [String: String], enabled: Bool = true) -> SettingsReport {
        var env = extra
        if enabled {
            env["PROXYM_MARATHON_ENABLED"] = env["PROXYM_MARATHON_ENABLED"] ?? "1"
            env["PROXYM_MARATHON_SERVERS"] = env["PROXYM_MARATHON_SERVERS"] ?? "marathon-1:8080"
            env["PROXYM_MARATHON_EVENTS"] = env["PROXYM_MARATHON_EVENTS"] ?? "sse"
        }
        return Settings.parse(environment: env)
    }

    @Test func defaults() {
        let report = Settings.parse(environment: [:])
        #expect(report.errors.isEmpty && report.warnings.isEmpty)
        let m = report.settings.marathon
        #expect(!m.enabled && m.servers.isEmpty && m.httpHost == nil && m.bindAddress == nil)
        #expect(m.httpPort == 39721 && m.endpoint == "/callback" && m.callbackURL == nil)
        #expect(m.events == .auto && m.domainStrategy == .idToDomainReverse && m.group == nil && !m.labelConfig)
        #expect(m.username == nil && m.password == nil && m.authToken == nil && m.caFile == nil)
        #expect(m.resyncInterval == .seconds(300) && m.timeout == .seconds(10) && m.connectTimeout == .seconds(3))
    }

    /// The original's packaged /etc/proxym/proxym.conf with Marathon switched on.
    @Test func originalPackagedConfigEnabled() {
        let report = Settings.parse(environment: [
            "PROXYM_MARATHON_ENABLED": "1", "PROXYM_MARATHON_HTTP_HOST": "", "PROXYM_MARATHON_HTTP_PORT": "39721",
            "PROXYM_MARATHON_ENDPOINT": "/callback", "PROXYM_MARATHON_SERVERS": "http://marathon.local:8080",
        ])
        #expect(report.errors.isEmpty)
        #expect(report.settings.marathon.servers == ["http://marathon.local:8080"])
        // auto mode: no callback URL can be built, so callbacks are out, which is said once.
        #expect(report.warnings.count == 1)
        #expect(
            report.warnings.first?.hasPrefix("PROXYM_MARATHON_HTTP_HOST: is not set, which Marathon cannot call back")
                == true
        )
    }

    @Test(arguments: [
        ("marathon-1:8080", ["http://marathon-1:8080"]),
        ("http://a:8080/, https://b:8443", ["http://a:8080", "https://b:8443"]),
        (" , a ,, ", ["http://a"]),
        ("HTTPS://user:pw@m:8443/marathon/", ["https://user:pw@m:8443/marathon"]),
        ("http://[::1]:8080,10.0.0.1", ["http://[::1]:8080", "http://10.0.0.1"]),
    ])
    func servers(_ value: String, _ expected: [String]) {
        let report = parse(["PROXYM_MARATHON_SERVERS": value])
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.settings.marathon.servers == expected)
    }

    @Test(arguments: [
        ("ftp://m:8080", "must use http:// or https://"), ("http://", "has no host"), ("http://:8080", "has no host"),
        ("http://m:99999", "has an invalid port"), ("http://m:x", "has an invalid port"),
        ("http://m/?leader=1", "must not have a query or fragment"),
        ("m a", "must not contain spaces or control characters"),
    ])
    func badServers(_ value: String, _ reason: String) {
        let report = parse(["PROXYM_MARATHON_SERVERS": "good:8080," + value])
        #expect(report.settings.marathon.servers == ["http://good:8080"])
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.hasPrefix("PROXYM_MARATHON_SERVERS: \"") == true)
        #expect(report.errors.first?.hasSuffix(reason) == true, "\(report.errors)")
    }

    @Test func credentialsNeverReachMessages() {
        let report = parse(["PROXYM_MARATHON_SERVERS": "http://admin:s3cret@bad host:8080"])
        #expect(
            report.errors == [
                #"PROXYM_MARATHON_SERVERS: "http://***@bad host:8080" must not contain spaces or control characters"#
            ]
        )
    }

    @Test func serversRequiredWhenEnabled() {
        #expect(
            parse(["PROXYM_MARATHON_SERVERS": ""]).errors.first?.hasPrefix("PROXYM_MARATHON_SERVERS: required") == true
        )
        #expect(parse(["PROXYM_MARATHON_SERVERS": ""], enabled: false).errors.isEmpty)
    }

    @Test(
        arguments: [
            ("10.0.0.5", "10.0.0.5", "10.0.0.5", "http://10.0.0.5:39721/callback"),
            ("proxym-1.example.com", "proxym-1.example.com", nil, "http://proxym-1.example.com:39721/callback"),
            ("::1", "::1", "::1", "http://[::1]:39721/callback"),
            ("0.0.0.0", nil, nil, nil), ("::", nil, nil, nil), ("*", nil, nil, nil), ("", nil, nil, nil),
        ] as [(String, String?, String?, String?)]
    )
    func callbackHost(_ host: String, _ httpHost: String?, _ bind: String?, _ url: String?) {
        let m = parse(["PROXYM_MARATHON_HTTP_HOST": host]).settings.marathon
        #expect(m.httpHost == httpHost && m.bindAddress == bind && m.callbackURL == url)
    }

    @Test func callbackURLPartsAndOverride() {
        let built = parse([
            "PROXYM_MARATHON_HTTP_HOST": "10.0.0.5", "PROXYM_MARATHON_HTTP_PORT": "8081",
            "PROXYM_MARATHON_ENDPOINT": "/marathon/events",
        ])
        #expect(built.errors.isEmpty && built.settings.marathon.callbackURL == "http://10.0.0.5:8081/marathon/events")
        let given = parse([
            "PROXYM_MARATHON_HTTP_HOST": "0.0.0.0", "PROXYM_MARATHON_CALLBACK_URL": "https://lb.example.com/proxym",
            "PROXYM_MARATHON_EVENTS": "callback",
        ])
        #expect(given.errors.isEmpty && given.warnings.isEmpty)
        #expect(given.settings.marathon.callbackURL == "https://lb.example.com/proxym")
        #expect(given.settings.marathon.bindAddress == nil)
    }

    @Test(arguments: ["0.0.0.0", "::", ""])
    func wildcardIsRefusedAsACallbackHost(_ host: String) {
        let callback = parse(["PROXYM_MARATHON_HTTP_HOST": host, "PROXYM_MARATHON_EVENTS": "callback"])
        #expect(callback.errors.count == 1)
        #expect(callback.errors.first?.hasPrefix("PROXYM_MARATHON_HTTP_HOST: ") == true)
        #expect(callback.errors.first?.contains("which Marathon cannot call back") == true)
        #expect(callback.errors.first?.contains("PROXYM_MARATHON_CALLBACK_URL") == true)
        let sse = parse(["PROXYM_MARATHON_HTTP_HOST": host, "PROXYM_MARATHON_EVENTS": "sse"])
        #expect(sse.errors.isEmpty && sse.warnings.isEmpty)
        let auto = parse(["PROXYM_MARATHON_HTTP_HOST": host, "PROXYM_MARATHON_EVENTS": "auto"])
        #expect(auto.errors.isEmpty && auto.warnings.count == 1)
        #expect(auto.warnings.first?.contains("followed over SSE") == true)
    }

    @Test(arguments: [
        ("PROXYM_MARATHON_HTTP_HOST", "not a host!"), ("PROXYM_MARATHON_HTTP_PORT", "0"),
        ("PROXYM_MARATHON_ENDPOINT", "callback"), ("PROXYM_MARATHON_ENDPOINT", "/call back"),
        ("PROXYM_MARATHON_ENDPOINT", "/cb?x=1"), ("PROXYM_MARATHON_CALLBACK_URL", "proxym:39721/callback"),
        ("PROXYM_MARATHON_EVENTS", "poll"), ("PROXYM_MARATHON_DOMAIN_STRATEGY", "Reverse"),
        ("PROXYM_MARATHON_DOMAIN_SUFFIX", "exa mple.com"), ("PROXYM_MARATHON_DOMAIN_SUFFIX", "example.com:80"),
        ("PROXYM_MARATHON_GROUP", "a,b"), ("PROXYM_MARATHON_GROUP", "a b"), ("PROXYM_MARATHON_LABEL_CONFIG", "maybe"),
        ("PROXYM_MARATHON_USERNAME", "a:b"), ("PROXYM_MARATHON_PASSWORD", "alone"),
        ("PROXYM_MARATHON_CA_FILE", "ca.pem"), ("PROXYM_MARATHON_RESYNC_INTERVAL", "0"),
        ("PROXYM_MARATHON_RESYNC_INTERVAL", "often"), ("PROXYM_MARATHON_TIMEOUT", "0s"),
        ("PROXYM_MARATHON_CONNECT_TIMEOUT", "-1s"), ("PROXYM_MARATHON_ENABLED", "yes please"),
    ])
    func badValuesAreNamedErrors(_ name: String, _ value: String) {
        let report = parse([name: value])
        #expect(report.errors.count == 1, "\(report.errors)")
        #expect(report.errors.first?.hasPrefix(name + ":") == true, "\(report.errors)")
    }

    @Test func tokenAndBasicAuthExcludeEachOther() {
        let report = parse(["PROXYM_MARATHON_USERNAME": "u", "PROXYM_MARATHON_AUTH_TOKEN": "t"])
        #expect(report.errors.count == 1 && report.errors[0].hasPrefix("PROXYM_MARATHON_AUTH_TOKEN:"))
        let basic = parse(["PROXYM_MARATHON_USERNAME": "u", "PROXYM_MARATHON_PASSWORD": "p w"]).settings.marathon
        #expect(basic.username == "u" && basic.password == "p w")
        let token = parse(["PROXYM_MARATHON_AUTH_TOKEN": "eyJ0eXAi"]).settings.marathon
        #expect(token.authToken == "eyJ0eXAi")
    }

    @Test(
        arguments: [
            ([:], DomainStrategy.idToDomainReverse, 0),
            (["PROXYM_MARATHON_DOMAIN_STRATEGY": "IdToDomainReverse"], .idToDomainReverse, 0),
            (
                [
                    "PROXYM_MARATHON_DOMAIN_STRATEGY": "LastPartOfIdAndSuffix",
                    "PROXYM_MARATHON_DOMAIN_SUFFIX": "Example.com",
                ],
                .lastPartOfIdAndSuffix(try! DomainName("example.com")), 0
            ),
            (
                ["PROXYM_MARATHON_DOMAIN_STRATEGY": "lastpartofidandsuffix", "PROXYM_MARATHON_DOMAIN_SUFFIX": "a.b"],
                .lastPartOfIdAndSuffix(try! DomainName("a.b")), 0
            ),
            (["PROXYM_MARATHON_DOMAIN_SUFFIX": "example.com"], .idToDomainReverse, 1),
        ] as [([String: String], DomainStrategy, Int)]
    )
    func domainStrategies(_ env: [String: String], _ expected: DomainStrategy, _ warnings: Int) {
        let report = parse(env)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.settings.marathon.domainStrategy == expected)
        #expect(report.warnings.count == warnings)
    }

    @Test func suffixRequiredForLastPart() {
        let report = parse(["PROXYM_MARATHON_DOMAIN_STRATEGY": "LastPartOfIdAndSuffix"])
        #expect(report.errors.count == 1 && report.errors[0].hasPrefix("PROXYM_MARATHON_DOMAIN_SUFFIX: required"))
    }

    @Test func everythingElse() {
        let report = parse([
            "PROXYM_MARATHON_EVENTS": "SSE", "PROXYM_MARATHON_GROUP": "external",
            "PROXYM_MARATHON_LABEL_CONFIG": "true",
            "PROXYM_MARATHON_CA_FILE": "/etc/proxym/marathon-ca.pem", "PROXYM_MARATHON_RESYNC_INTERVAL": "1m30s",
            "PROXYM_MARATHON_TIMEOUT": "20s", "PROXYM_MARATHON_CONNECT_TIMEOUT": "500ms",
        ])
        #expect(report.errors.isEmpty && report.warnings.isEmpty)
        let m = report.settings.marathon
        #expect(m.enabled && m.events == .sse && m.group == "external" && m.labelConfig)
        #expect(m.caFile == "/etc/proxym/marathon-ca.pem" && m.resyncInterval == .seconds(90))
        #expect(m.timeout == .seconds(20) && m.connectTimeout == .milliseconds(500))
    }

    @Test func connectTimeoutIsCappedByTheRequestTimeout() {
        let report = parse(["PROXYM_MARATHON_TIMEOUT": "2s", "PROXYM_MARATHON_CONNECT_TIMEOUT": "5s"])
        #expect(report.errors.isEmpty && report.warnings.count == 1)
        #expect(report.settings.marathon.connectTimeout == .seconds(2))
    }
}
