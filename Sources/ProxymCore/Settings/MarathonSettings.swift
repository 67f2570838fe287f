import ProxymModel

extension Settings {
    public struct Marathon: Sendable, Equatable {
        /// How proxym learns that something changed.
        public enum EventsMode: String, Sendable, Equatable, CaseIterable {
            /// HTTP callback subscriptions (Marathon 0.x-1.4; removed in 1.5).
            case callback
            /// Server-Sent Events from `/v2/events` (Marathon 0.9+).
            case sse
            /// Ask `/v2/info`: callbacks below 1.5 when a callback URL is known, otherwise SSE.
            case auto
        }

        /// `PROXYM_MARATHON_DOMAIN_STRATEGY` as written (``domainStrategy`` adds the suffix).
        public enum DomainStrategyName: String, Sendable, Equatable, CaseIterable {
            case idToDomainReverse = "IdToDomainReverse"
            case lastPartOfIdAndSuffix = "LastPartOfIdAndSuffix"
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
        public var domainStrategyName: DomainStrategyName = .idToDomainReverse
        /// The suffix for `LastPartOfIdAndSuffix`.
        public var domainSuffix: DomainName?
        /// Keep only apps whose `HAPROXY_GROUP` label lists it (`nil`: all apps).
        public var group: String?
        /// Honour `proxym.port.<n>.config` labels (raw HAProxy lines).
        public var labelConfig = false
        /// Expose only app ports labelled `HAPROXY_<n>_ENABLED=true` (marathon-lb's `--strict-mode`).
        public var strict = false
        public var username: String?
        public var password: String?
        /// DC/OS ACS token, sent as `Authorization: token=<value>`.
        public var authToken: String?
        public var caFile: String?
        public var resyncInterval: Duration = .seconds(300)
        /// Limit for a whole request (not for the never-ending SSE stream).
        public var timeout: Duration = .seconds(10)
        public var connectTimeout: Duration = .seconds(3)

        /// The original proxym's way of naming an app's domain (a missing suffix is a settings error).
        public var domainStrategy: DomainStrategy {
            switch (domainStrategyName, domainSuffix) {
            case (.lastPartOfIdAndSuffix, let suffix?): return .lastPartOfIdAndSuffix(suffix)
            case (.lastPartOfIdAndSuffix, nil), (.idToDomainReverse, _): return .idToDomainReverse
            }
        }

        static let group = SettingGroup(
            "Marathon",
            [
                SettingDeclaration(
                    "PROXYM_MARATHON_ENABLED", \.marathon.enabled, .bool,
                    "Expose Marathon apps: services from /v2/apps?embed=apps.tasks, refreshed on events."),
                SettingDeclaration(
                    "PROXYM_MARATHON_SERVERS", \.marathon.servers, .marathonServers, default: "(required)",
                    "Comma-separated Marathon URLs, with or without http(s)://, e.g. http://m1:8080,m2:8080; credentials may be given as https://user:pass@host. On errors proxym moves to the next and stays with the one that works."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_HTTP_HOST", \.marathon.httpHost,
                    .checked("is neither an IP address nor a host name") { text -> String?? in
                        if ["0.0.0.0", "::", "[::]", "*"].contains(text) { return .some(nil) }
                        guard (try? HostAddress(text)) != nil else { return nil }
                        return text
                    },
                    "Address or host name of this machine that Marathon can call back (callback mode); an IP address is also what the receiver binds to. A wildcard (0.0.0.0, ::) cannot be called back."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_HTTP_PORT", \.marathon.httpPort, .port, "Port of the callback receiver."),
                SettingDeclaration(
                    "PROXYM_MARATHON_ENDPOINT", \.marathon.endpoint,
                    .checked("is not a path (it must start with / and hold no spaces, ? or #)", show: { $0 }) { text in
                        // No blanks, controls, ? or #.
                        let plain = text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3F && $0 != 0x23 }
                        return text.hasPrefix("/") && plain ? text : nil
                    },
                    "Path of the callback receiver."),
                SettingDeclaration(
                    "PROXYM_MARATHON_CALLBACK_URL", \.marathon.callbackURL,
                    .text { reader, name, text in
                        if case .success = MarathonURL.check(Substring(text)) { return text }
                        reader.errors.append(
                            "\(name): \"\(MarathonURL.redactingCredentials(Substring(text)))\" is not an http:// or https:// URL")
                        return nil
                    },
                    default: "(built from HTTP_HOST, HTTP_PORT, ENDPOINT)",
                    "URL registered with Marathon for callbacks, when it differs from the one built from the three above (NAT, a proxy)."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_EVENTS", \.marathon.events, .oneOf,
                    "callback (HTTP callbacks, Marathon before 1.5), sse (event stream, 0.9+) or auto (asks /v2/info: callbacks before 1.5 when a callback URL is known, else SSE)."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_RESYNC_INTERVAL", \.marathon.resyncInterval, .positiveDuration,
                    "Full re-read of Marathon at this interval, in case an event was lost."),
                SettingDeclaration(
                    "PROXYM_MARATHON_DOMAIN_STRATEGY", \.marathon.domainStrategyName, .oneOf,
                    "Domain of an app: IdToDomainReverse (/com/example/web -> web.example.com) or LastPartOfIdAndSuffix (/x/web -> web.<DOMAIN_SUFFIX>). The label proxym.domains overrides it per app."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_DOMAIN_SUFFIX", \.marathon.domainSuffix,
                    .checked("is not a domain name") { text -> DomainName?? in
                        guard let name = try? DomainName(text), !name.hasPort else { return nil }
                        return name
                    },
                    default: "(required for LastPartOfIdAndSuffix)", "Domain suffix for LastPartOfIdAndSuffix, e.g. example.com."),
                SettingDeclaration(
                    "PROXYM_MARATHON_GROUP", \.marathon.group,
                    .optional(
                        .checked("must be one group name (no spaces or commas)") { text in
                            text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") } ? text : nil
                        }),
                    default: "(all apps)",
                    "Only apps whose HAPROXY_GROUP label (comma-separated, as marathon-lb reads it) lists this group; * means all."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_LABEL_CONFIG", \.marathon.labelConfig, .bool,
                    "Honour proxym.port.<n>.config labels (raw HAProxy lines for a backend). Off by default: anyone who can deploy an app could rewrite the proxy."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_STRICT", \.marathon.strict, .bool,
                    "Expose only app ports labelled HAPROXY_<n>_ENABLED=true (marathon-lb's --strict-mode). Without it every port is exposed unless HAPROXY_<n>_ENABLED=false."
                ),
                SettingDeclaration(
                    "PROXYM_MARATHON_USERNAME", \.marathon.username, .string,
                    "HTTP basic authentication user (or give it in the server URL)."),
                SettingDeclaration(
                    "PROXYM_MARATHON_PASSWORD", \.marathon.password, .string, "HTTP basic authentication password."),
                SettingDeclaration(
                    "PROXYM_MARATHON_AUTH_TOKEN", \.marathon.authToken, .string,
                    "DC/OS ACS token, sent as Authorization: token=<value> (instead of basic authentication)."),
                SettingDeclaration(
                    "PROXYM_MARATHON_CA_FILE", \.marathon.caFile, .path, default: "(system CAs)",
                    "PEM file of the CA(s) that signed Marathon's HTTPS certificate."),
                SettingDeclaration(
                    "PROXYM_MARATHON_TIMEOUT", \.marathon.timeout, .positiveDuration,
                    "Limit for one request to Marathon (the event stream excepted)."),
                SettingDeclaration(
                    "PROXYM_MARATHON_CONNECT_TIMEOUT", \.marathon.connectTimeout, .positiveDuration,
                    "Limit for connecting to one Marathon server before trying the next."),
            ],
            check: check)

        /// Requirements and conflicts, and the values derived from several settings (the bind
        /// address, the callback URL).
        static func check(_ reader: inout EnvironmentReader, _ s: inout Settings) {
            var m = s.marathon
            defer { s.marathon = m }
            if m.enabled && !reader.hasValue("PROXYM_MARATHON_SERVERS") {
                reader.errors.append(
                    "PROXYM_MARATHON_SERVERS: required when PROXYM_MARATHON_ENABLED is set (e.g. http://marathon-1:8080,http://marathon-2:8080)"
                )
            }
            checkCallback(&reader, &m)
            checkDomain(&reader, m)
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
            if m.connectTimeout > m.timeout {
                reader.warnings.append(
                    "PROXYM_MARATHON_CONNECT_TIMEOUT is longer than PROXYM_MARATHON_TIMEOUT; using the request timeout for both")
                m.connectTimeout = m.timeout
            }
        }

        /// The receiver's bind address and the URL Marathon calls, and whether callbacks can work.
        static func checkCallback(_ reader: inout EnvironmentReader, _ m: inout Marathon) {
            let address = m.httpHost.flatMap { try? HostAddress($0) }
            m.bindAddress = address.flatMap { $0.isHostname ? nil : $0.description }
            if let address, !reader.hasValue("PROXYM_MARATHON_CALLBACK_URL") {
                m.callbackURL = "http://\(address.haproxyText):\(m.httpPort)\(m.endpoint)"
            }
            guard m.enabled && m.events != .sse && m.callbackURL == nil else { return }
            let given = reader.raw("PROXYM_MARATHON_HTTP_HOST") ?? ""
            let what = given.isEmpty ? "is not set" : "is the wildcard address \"\(given)\""
            let fix = "set it to an address or host name of this machine that Marathon can reach, or set PROXYM_MARATHON_CALLBACK_URL"
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

        /// The suffix goes with `LastPartOfIdAndSuffix` only.
        static func checkDomain(_ reader: inout EnvironmentReader, _ m: Marathon) {
            let suffixGiven = !(reader.raw("PROXYM_MARATHON_DOMAIN_SUFFIX") ?? "").isEmpty
            switch m.domainStrategyName {
            case .idToDomainReverse:
                if suffixGiven {
                    reader.warnings.append(
                        "PROXYM_MARATHON_DOMAIN_SUFFIX: only used with PROXYM_MARATHON_DOMAIN_STRATEGY=LastPartOfIdAndSuffix; ignored")
                }
            case .lastPartOfIdAndSuffix:
                if !suffixGiven {
                    reader.errors.append(
                        "PROXYM_MARATHON_DOMAIN_SUFFIX: required with PROXYM_MARATHON_DOMAIN_STRATEGY=LastPartOfIdAndSuffix (e.g. example.com)"
                    )
                }
            }
        }
    }
}

extension SettingParser where Value == [String] {
    /// Comma-separated Marathon server URLs (each checked; a bad one is an error that names it
    /// without its credentials).
    static var marathonServers: Self {
        text { reader, name, text in
            var servers: [String] = []
            for part in text.split(separator: ",") {
                let entry = part.trimmingBlanks()
                if entry.isEmpty { continue }
                switch MarathonURL.server(entry) {
                case .success(let url): servers.append(url)
                case .failure(let reason):
                    reader.errors.append("\(name): \"\(MarathonURL.redactingCredentials(entry))\" \(reason)")
                }
            }
            return servers
        }
    }
}
