/// One backend address of a service.
public struct Host: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var address: HostAddress
    public var port: UInt16

    public init(address: HostAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Validating initializer for values from outside.
    public init(ip: String, port: Int) throws(ValidationError) {
        self.address = try HostAddress.backend(ip, field: "ip")
        self.port = try Port.validate(port, field: "port")
    }

    public var description: String { "\(address.haproxyText):\(port)" }

    public static func < (lhs: Host, rhs: Host) -> Bool {
        lhs.address == rhs.address ? lhs.port < rhs.port : lhs.address < rhs.address
    }
}

/// How HAProxy should treat a service's traffic.
public enum ApplicationProtocol: String, Sendable, Hashable, CaseIterable {
    /// Routed by `Host` header through the shared HTTP frontend.
    case http
    /// A TCP listener of its own on the service port.
    case tcp
}

/// The transport a service speaks. HAProxy proxies TCP only; UDP services are skipped with a warning.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
    case tcp
    case udp
}

/// A service to expose: the unit every generator produces and the renderer consumes.
///
/// Every field is already validated (the types make sure of it), so rendering can never be steered
/// by hostile input. `source` says where it came from, for logs and conflict messages.
public struct Service: Hashable, Sendable {
    public var id: ServiceID
    /// Host names for HTTP routing; the first is the primary one (used for the options directory).
    public var domains: [DomainName]
    public var transport: TransportProtocol
    /// `nil` = the original rule: HTTP when the service port equals the HTTP port, TCP otherwise.
    public var applicationProtocol: ApplicationProtocol?
    public var servicePort: UInt16
    /// Sorted, without duplicates.
    public private(set) var hosts: [Host]
    public var source: String
    /// Extra HAProxy lines for this service's backend/listen section that came with the service
    /// itself (Marathon's `proxym.port.<n>.config` label, only when the operator allows it). Already
    /// split into lines and stripped of control characters by the generator.
    public var configLines: [String] = []
    /// HSTS, a certificate of its own, TLS passthrough, no ACME: what it asks of the HTTPS frontend.
    public var tls: ServiceTLS = .none
    /// Paths, weight, redirect to HTTPS, sticky sessions, balance, bind address, basic auth, path
    /// rewrite, health check, marathon-lb's port habits (``ServiceRouting``; `.none`: none of them).
    public var routing: ServiceRouting = .none

    public init(
        id: ServiceID,
        domains: [DomainName],
        transport: TransportProtocol = .tcp,
        applicationProtocol: ApplicationProtocol? = nil,
        servicePort: UInt16,
        hosts: [Host],
        source: String
    ) {
        self.id = id
        self.domains = Service.unique(domains)
        self.transport = transport
        self.applicationProtocol = applicationProtocol
        self.servicePort = servicePort
        self.hosts = Service.sortedUnique(hosts)
        self.source = source
    }

    public mutating func setHosts(_ hosts: [Host]) { self.hosts = Service.sortedUnique(hosts) }

    /// First occurrences, in order. Services have a handful of domains: search, don't hash.
    private static func unique(_ domains: [DomainName]) -> [DomainName] {
        guard domains.count > 1 else { return domains }
        if domains.count > 32 {
            var seen = Set<DomainName>()
            return domains.filter { seen.insert($0).inserted }
        }
        var unique: [DomainName] = []
        unique.reserveCapacity(domains.count)
        for domain in domains where !unique.contains(domain) { unique.append(domain) }
        return unique
    }

    /// Sorting first makes repeats neighbours, so no hashing is needed.
    private static func sortedUnique(_ hosts: [Host]) -> [Host] {
        var sorted = hosts.sorted()
        var kept = 0
        for i in sorted.indices where kept == 0 || sorted[i] != sorted[kept - 1] {
            sorted.swapAt(kept, i)
            kept += 1
        }
        sorted.removeSubrange(kept...)
        return sorted
    }

    /// The primary domain, if any.
    public var domain: DomainName? { domains.first }

    /// Whether this service is served through the shared HTTP frontend given the HTTP port.
    public func isHTTP(httpPort: UInt16) -> Bool {
        switch applicationProtocol {
        case .http: return true
        case .tcp: return false
        case nil: return servicePort == httpPort
        }
    }
}

public enum Port {
    /// 1-65535, as an integer from JSON or the environment.
    public static func validate(_ value: Int, field: String) throws(ValidationError) -> UInt16 {
        guard value >= 1 && value <= 65535 else {
            throw ValidationError(field: field, reason: "must be a port number between 1 and 65535", value: String(value))
        }
        return UInt16(value)
    }
}
