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
///
/// A value type whose fields live in one shared, immutable box: the sources' lists, the merge, the
/// guard's memory of what was applied and the renderer's plan all hold the same 5,000 services at
/// 5,000 apps, and copying a service (or an array of them) is one reference count, not the twenty
/// or so of its strings and arrays. A change to a field makes a new box (services are built once,
/// by their generator, and then only read).
public struct Service: Hashable, Sendable {
    /// The fields, as one plain value. Usable from inlinable code, so that reading a field of a
    /// service from another module (`service.routing.healthCheck`) is a load from the box, not a call
    /// that copies the whole field out (the renderer reads routing several times per service).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var id: ServiceID
        @usableFromInline var domains: [DomainName]
        @usableFromInline var transport: TransportProtocol
        @usableFromInline var applicationProtocol: ApplicationProtocol?
        @usableFromInline var servicePort: UInt16
        @usableFromInline var hosts: [Host]
        @usableFromInline var source: String
        @usableFromInline var configLines: [String] = []
        @usableFromInline var tls: ServiceTLS = .none
        @usableFromInline var routing: ServiceRouting = .none

        init(
            id: ServiceID, domains: [DomainName], transport: TransportProtocol, applicationProtocol: ApplicationProtocol?,
            servicePort: UInt16, hosts: [Host], source: String
        ) {
            self.id = id
            self.domains = domains
            self.transport = transport
            self.applicationProtocol = applicationProtocol
            self.servicePort = servicePort
            self.hosts = hosts
            self.source = source
        }
    }

    @usableFromInline final class Box: Sendable {
        @usableFromInline let fields: Fields
        @usableFromInline init(_ fields: Fields) { self.fields = fields }
    }

    @usableFromInline var box: Box

    /// Read through the box; a write puts the changed fields in a new one.
    @usableFromInline var fields: Fields {
        get { box.fields }
        set { box = Box(newValue) }
    }

    @inlinable public var id: ServiceID {
        _read { yield box.fields.id }
        set { fields.id = newValue }
    }
    /// Host names for HTTP routing; the first is the primary one (used for the options directory).
    @inlinable public var domains: [DomainName] {
        _read { yield box.fields.domains }
        set { fields.domains = newValue }
    }
    @inlinable public var transport: TransportProtocol {
        _read { yield box.fields.transport }
        set { fields.transport = newValue }
    }
    /// `nil` = the original rule: HTTP when the service port equals the HTTP port, TCP otherwise.
    @inlinable public var applicationProtocol: ApplicationProtocol? {
        _read { yield box.fields.applicationProtocol }
        set { fields.applicationProtocol = newValue }
    }
    @inlinable public var servicePort: UInt16 {
        _read { yield box.fields.servicePort }
        set { fields.servicePort = newValue }
    }
    /// Sorted, without duplicates.
    @inlinable public private(set) var hosts: [Host] {
        _read { yield box.fields.hosts }
        set { fields.hosts = newValue }
    }
    @inlinable public var source: String {
        _read { yield box.fields.source }
        set { fields.source = newValue }
    }
    /// Extra HAProxy lines for this service's backend/listen section that came with the service
    /// itself (Marathon's `proxym.port.<n>.config` label, only when the operator allows it). Already
    /// split into lines and stripped of control characters by the generator.
    @inlinable public var configLines: [String] {
        _read { yield box.fields.configLines }
        set { fields.configLines = newValue }
    }
    /// HSTS, a certificate of its own, TLS passthrough, no ACME: what it asks of the HTTPS frontend.
    @inlinable public var tls: ServiceTLS {
        _read { yield box.fields.tls }
        set { fields.tls = newValue }
    }
    /// Paths, weight, redirect to HTTPS, sticky sessions, balance, bind address, basic auth, path
    /// rewrite, health check, marathon-lb's port habits (``ServiceRouting``; `.none`: none of them).
    @inlinable public var routing: ServiceRouting {
        _read { yield box.fields.routing }
        set { fields.routing = newValue }
    }

    /// The same box: equal without looking at the fields (a cheap first test for lists that are
    /// mostly what they were).
    @inlinable
    public func isSameStorage(as other: Service) -> Bool { box === other.box }

    /// Equal but for the hosts: what a task event or a scale usually changes, and all it changes in
    /// the merge (which never looks at hosts) and in the rendered text (the server lines).
    public func sameExceptHosts(as other: Service) -> Bool {
        if box === other.box { return true }
        var fields = box.fields
        fields.hosts = other.box.fields.hosts
        return fields == other.box.fields
    }

    public static func == (lhs: Service, rhs: Service) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }

    public init(
        id: ServiceID,
        domains: [DomainName],
        transport: TransportProtocol = .tcp,
        applicationProtocol: ApplicationProtocol? = nil,
        servicePort: UInt16,
        hosts: [Host],
        source: String
    ) {
        box = Box(
            Fields(
                id: id, domains: Service.unique(domains), transport: transport,
                applicationProtocol: applicationProtocol, servicePort: servicePort,
                hosts: Service.sortedUnique(hosts), source: source))
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
