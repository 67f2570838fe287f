import ProxymModel

/// How ``MarathonMapper`` turns apps into services (from `PROXYM_MARATHON_*` and
/// `PROXYM_HAPROXY_HTTP_PORT`).
public struct MarathonOptions: Sendable, Hashable {
    /// The original proxym's ways of naming an app's domain (`PROXYM_MARATHON_DOMAIN_STRATEGY`).
    public enum DomainStrategy: Sendable, Hashable {
        /// `IdToDomainReverse`, the default: `/com/example/webapp` -> `webapp.example.com`.
        case idToDomainReverse
        /// `LastPartOfIdAndSuffix`: `/x/webapp` + `example.com` -> `webapp.example.com`.
        case lastPartOfIdAndSuffix(DomainName)

        /// The domain for an app id, validated. Empty path segments (a leading `/`) are ignored.
        public func domain(forAppID id: String) throws(ValidationError) -> DomainName {
            let parts = id.split(separator: "/")
            let field = "domain derived from the app id"
            guard let last = parts.last else {
                throw ValidationError(field: field, reason: "the app id has no name", value: id)
            }
            switch self {
            case .idToDomainReverse:
                return try DomainName(parts.reversed().joined(separator: "."), field: field)
            case .lastPartOfIdAndSuffix(let suffix):
                return try DomainName(last + "." + suffix.rawValue, field: field)
            }
        }
    }

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

    public init(
        domainStrategy: DomainStrategy = .idToDomainReverse,
        httpPort: UInt16 = 80,
        group: String? = nil,
        allowLabelConfig: Bool = false
    ) {
        self.domainStrategy = domainStrategy
        self.httpPort = httpPort
        self.group = group
        self.allowLabelConfig = allowLabelConfig
    }
}
