/// The original proxym's ways of naming a Marathon app's domain (`PROXYM_MARATHON_DOMAIN_STRATEGY`,
/// with `PROXYM_MARATHON_DOMAIN_SUFFIX`).
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
