import ProxymModel

/// Everything besides the services that shapes the rendered configuration.
///
/// The renderer never reads files: the runtime loads `PROXYM_HAPROXY_OPTIONS_PATH/global.cfg` and the
/// per-service `<domain>_<servicePort>/{config,domains}` files and hands their contents in here.
public struct RenderOptions: Sendable, Hashable {
    /// `global.cfg`, written first and verbatim (control characters other than newline and tab removed).
    public var globalConfig: String
    /// `PROXYM_HAPROXY_HTTP_PORT`: the port of the shared `frontend http-in`.
    public var httpPort: UInt16
    /// The address every listener binds to: `nil` binds all addresses, otherwise an IPv4 or IPv6 literal
    /// (validated by the caller; IPv6 may be given with or without brackets).
    public var bindAddress: String?
    /// Per-service extras, keyed like the original's `<domain>_<servicePort>` directories.
    public var serviceOptions: [ServiceOptionsKey: ServiceOptions]
    /// Runtime API layout: each section's servers in these numbered slots (`nil`: the original layout,
    /// `server nodeN` for the N-th host). A section missing from the table gets the original layout.
    public var slots: SlotTable?
    /// An admin-level stats socket that must exist: when the global config declares no `stats socket`
    /// at this path, `stats socket <path> mode 600 level admin expose-fd listeners` is added to its
    /// `global` section (`nil`: the global config is written as given).
    public var statsSocket: String?
    /// `option idle-close-on-response` in the HTTP frontend: at a reload, idle keep-alive client
    /// connections get one more response (with `Connection: close`) instead of being closed under a
    /// client about to reuse them.
    public var idleCloseOnResponse: Bool
    /// The shared HTTPS frontend (`PROXYM_HAPROXY_HTTPS_PORT`); nil: none, and the output is exactly
    /// what it is without HTTPS.
    public var https: HTTPSOptions? = nil
    /// `PROXYM_HAPROXY_APPID_PORT`: a frontend on this port routing by `X-Marathon-App-Id` to the HTTP
    /// services that carry an app id (marathon-lb's :9091); nil: none.
    public var appIDPort: UInt16? = nil
    /// `PROXYM_HAPROXY_VHOST_MAP_THRESHOLD`: plain virtual hosts through a map file above a threshold
    /// (``VHostMap``); nil: acl rules only, the output is exactly what it is without.
    public var vhostMap: VHostMapOptions? = nil

    public init(
        globalConfig: String,
        httpPort: UInt16 = 80,
        bindAddress: String? = nil,
        serviceOptions: [ServiceOptionsKey: ServiceOptions] = [:],
        slots: SlotTable? = nil,
        statsSocket: String? = nil,
        idleCloseOnResponse: Bool = false
    ) {
        self.globalConfig = globalConfig
        self.httpPort = httpPort
        self.bindAddress = bindAddress
        self.serviceOptions = serviceOptions
        self.slots = slots
        self.statsSocket = statsSocket
        self.idleCloseOnResponse = idleCloseOnResponse
    }
}

/// Names one options directory of the original proxym: `OPTIONS_PATH/<domain>_<servicePort>/`.
///
/// `domain` is the service's primary domain (`Service.domain`) or the empty string for a service
/// without domains: the original formatted `"%s_%d"` with an empty domain, i.e. `_41000`.
public struct ServiceOptionsKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var domain: String
    public var servicePort: UInt16

    public init(domain: String, servicePort: UInt16) {
        self.domain = domain
        self.servicePort = servicePort
    }

    /// The key the renderer looks up for `service`.
    public init(for service: Service) {
        self.init(domain: service.domain?.rawValue ?? "", servicePort: service.servicePort)
    }

    /// The directory name, `shop.example.com_80`.
    public var description: String { "\(domain)_\(servicePort)" }

    public static func < (lhs: ServiceOptionsKey, rhs: ServiceOptionsKey) -> Bool {
        lhs.domain == rhs.domain ? lhs.servicePort < rhs.servicePort : lhs.domain < rhs.domain
    }
}

/// The contents of one options directory.
public struct ServiceOptions: Sendable, Hashable {
    /// Lines of `config`, added to the service's `backend`/`listen` section. The renderer trims them,
    /// drops empty ones and removes control characters, so they may be passed in raw.
    public var configLines: [String]
    /// Host names from `domains`, matched in addition to the service's own domains (HTTP only).
    public var extraDomains: [DomainName]

    public init(configLines: [String] = [], extraDomains: [DomainName] = []) {
        self.configLines = configLines
        self.extraDomains = extraDomains
    }
}
