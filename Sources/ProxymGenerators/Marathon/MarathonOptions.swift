import ProxymModel

/// How ``MarathonMapper`` turns apps into services (from `PROXYM_MARATHON_*` and
/// `PROXYM_HAPROXY_HTTP_PORT`).
public struct MarathonOptions: Sendable, Hashable {
    /// `PROXYM_MARATHON_DOMAIN_STRATEGY` (+ `_DOMAIN_SUFFIX`).
    public var domainStrategy: DomainStrategy
    /// `PROXYM_HAPROXY_HTTP_PORT`: a port whose service port equals it is an HTTP virtual host (the
    /// original's rule), and an HTTP port without a service port of its own is given this one. Pass the
    /// value the renderer uses.
    public var httpPort: UInt16
    /// `PROXYM_MARATHON_GROUP`: keep only apps whose `HAPROXY_GROUP` label lists this group; `nil` (or
    /// `*`) keeps every app.
    public var group: String?
    /// `PROXYM_MARATHON_LABEL_CONFIG`: honour `proxym.port.<n>.config` labels (raw HAProxy lines).
    public var allowLabelConfig: Bool
    /// `PROXYM_MARATHON_STRICT`: expose only ports whose `HAPROXY_<n>_ENABLED` label says true
    /// (marathon-lb's `--strict-mode`); without it, `HAPROXY_<n>_ENABLED=false` hides a port.
    public var strict: Bool

    public init(
        domainStrategy: DomainStrategy = .idToDomainReverse,
        httpPort: UInt16 = 80,
        group: String? = nil,
        allowLabelConfig: Bool = false,
        strict: Bool = false
    ) {
        self.domainStrategy = domainStrategy
        self.httpPort = httpPort
        self.group = group
        self.allowLabelConfig = allowLabelConfig
        self.strict = strict
    }
}
