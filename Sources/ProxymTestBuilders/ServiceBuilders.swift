import ProxymModel

/// Builds a validated ``Service`` for tests, from plain strings and numbers: the one place tests write
/// how a service is assembled (each suite passes only what it is about).
///
/// - Parameters:
///   - id: the service id, e.g. `/web`.
///   - domains: domain names (none for a TCP-only service).
///   - hosts: `(ip, port)` pairs.
///   - source: the `source` the service names (`test`, `file:web.json`, ...).
public func makeService(
    _ id: String,
    domains: [String] = [],
    port: UInt16,
    hosts: [(String, Int)] = [],
    transport: TransportProtocol = .tcp,
    protocol applicationProtocol: ApplicationProtocol? = nil,
    tls: ServiceTLS = .none,
    source: String = "test"
) throws -> Service {
    var service = Service(
        id: try ServiceID(id),
        domains: try domains.map { try DomainName($0) },
        transport: transport,
        applicationProtocol: applicationProtocol,
        servicePort: port,
        hosts: try hosts.map { try Host(ip: $0.0, port: $0.1) },
        source: source
    )
    service.tls = tls
    return service
}
