import ProxymModel

/// Merges the services of every generator into one consistent list the renderer can always turn into a
/// config HAProxy accepts. Whatever would make that impossible (two services claiming one id, one
/// proxy name, one TCP port or one domain) costs only the later service, never the config.
public enum ServiceMerger {
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        public enum Severity: Sendable, Hashable { case warning, error }
        public var severity: Severity
        public var source: String
        public var serviceID: String
        public var reason: String

        public var description: String { "\(source): service \(serviceID): \(reason)" }
    }

    public struct Result: Sendable {
        /// Sorted by id, ready to render.
        public var services: [Service]
        public var problems: [Problem]
    }

    /// `sources` in priority order (earlier wins a conflict); within a source, earlier wins.
    ///
    /// `incumbents`: the services of the last refresh that was let through (empty at start). A conflict
    /// never moves an established route: what an incumbent held (its id, HAProxy name, TCP port,
    /// domains) stays with the service of the same id from the same source as long as it still claims
    /// it, and a newcomer claiming it is rejected, whatever their order. Without incumbents (at start)
    /// the order decides.
    public static func merge(_ sources: [[Service]], httpPort: UInt16, incumbents: [Service] = []) -> Result {
        // Conflicts are rare: merge by order first, and only if something conflicted merge again with
        // the incumbents' claims reserved for them (the common refresh pays nothing for them).
        let first = merge(sources, httpPort: httpPort, reserved: [:])
        guard first.conflicted, !incumbents.isEmpty else { return first.result }
        let reserved = reservations(sources, incumbents: incumbents, httpPort: httpPort)
        guard !reserved.isEmpty else { return first.result }
        return merge(sources, httpPort: httpPort, reserved: reserved).result
    }

    /// What a service may hold alone.
    enum Claim: Hashable {
        case id(ServiceID)
        case proxyName(String)
        case tcpPort(UInt16)
        /// A virtual host, or one path prefix under it (``ServiceRouting/paths``): services may share a
        /// domain under different paths, never the same route.
        case domain(DomainName, path: PathPrefix?)
    }

    /// The routes a HTTP service claims: each domain, or each domain and path.
    static func routes(of service: Service) -> [Claim] {
        let paths = service.routing.paths
        if paths.isEmpty { return service.domains.map { Claim.domain($0, path: nil) } }
        return service.domains.flatMap { domain in paths.map { Claim.domain(domain, path: $0) } }
    }

    /// The service of the same id and source that established a claim.
    struct Holder: Hashable {
        var id: ServiceID
        var source: String
    }

    static func claims(of service: Service, httpPort: UInt16) -> [Claim] {
        var claims: [Claim] = [.id(service.id), .proxyName(service.id.proxyName)]
        if service.isHTTP(httpPort: httpPort) {
            claims += routes(of: service)
        } else {
            claims.append(.tcpPort(service.servicePort))
        }
        return claims
    }

    /// Every claim an incumbent held that the same service (id and source) still makes now.
    static func reservations(_ sources: [[Service]], incumbents: [Service], httpPort: UInt16) -> [Claim: Holder] {
        var established: [ServiceID: Service] = [:]
        for incumbent in incumbents { established[incumbent.id] = incumbent }
        var reserved: [Claim: Holder] = [:]
        for source in sources {
            for service in source {
                guard let incumbent = established[service.id], incumbent.source == service.source else { continue }
                let held = claims(of: incumbent, httpPort: httpPort)
                for claim in claims(of: service, httpPort: httpPort) where held.contains(claim) {
                    if reserved[claim] == nil { reserved[claim] = Holder(id: service.id, source: service.source) }
                }
            }
        }
        return reserved
    }

    static func describe(_ claim: Claim) -> String {
        switch claim {
        case .id: return "its id"
        case .proxyName(let name): return "its HAProxy name \"\(name)\""
        case .tcpPort(let port): return "TCP service port \(port)"
        case .domain(let domain, nil): return "domain \(domain)"
        case .domain(let domain, let path?): return "domain \(domain) path \(path)"
        }
    }

    /// One pass in order; `conflicted`: a service lost a conflict with another.
    static func merge(_ sources: [[Service]], httpPort: UInt16, reserved: [Claim: Holder])
        -> (result: Result, conflicted: Bool)
    {
        var pass = Pass(httpPort: httpPort, reserved: reserved, total: sources.reduce(0) { $0 + $1.count })
        for source in sources {
            // By index into the buffer: `for service in source` would copy each service once more.
            source.withUnsafeBufferPointer { source in
                for position in source.indices { pass.add(source[position]) }
            }
        }
        return (Result(services: sortedByID(pass.services), problems: pass.problems), pass.conflicted)
    }

    /// One pass's state: the services accepted so far, who holds what, what was said.
    private struct Pass {
        let httpPort: UInt16
        let reserved: [Claim: Holder]
        var services: [Service] = []
        var problems: [Problem] = []
        var conflicted = false
        // Who holds what: an index into `services`; the owner's text is built only for a message.
        var byID: [ServiceID: Int] = [:]
        var byProxyName: [String: Int] = [:]
        var byTCPPort: [UInt16: Int] = [:]
        var byDomain: [Claim: Int] = [:]

        init(httpPort: UInt16, reserved: [Claim: Holder], total: Int) {
            self.httpPort = httpPort
            self.reserved = reserved
            services.reserveCapacity(total)
            byID.reserveCapacity(total)
            byProxyName.reserveCapacity(total)
        }

        func owner(_ index: Int) -> String { "\(services[index].id) (\(services[index].source))" }

        mutating func reject(
            _ service: Service, _ reason: String, _ severity: Problem.Severity = .error, conflict: Bool = true
        ) {
            if conflict { conflicted = true }
            problems.append(Problem(severity: severity, source: service.source, serviceID: service.id.rawValue, reason: reason))
        }

        /// Accepts `service`, or says why not.
        mutating func add(_ service: Service) {
            if service.transport == .udp {
                reject(service, "protocol udp cannot be proxied by HAProxy; skipped", .warning, conflict: false)
                return
            }
            if let reason = reservedClash(service) {
                reject(service, reason)
                return
            }
            if let index = byID[service.id] {
                reject(service, "id already defined by \(services[index].source); skipped")
                return
            }
            let name = service.id.proxyName
            if let index = byProxyName[name] {
                reject(service, "its HAProxy name \"\(name)\" is already used by \(owner(index)); skipped")
                return
            }
            let index = services.count
            let claimed =
                service.isHTTP(httpPort: httpPort) ? claimRoutes(of: service, at: index) : claimTCPPort(of: service, at: index)
            guard claimed else { return }
            byID[service.id] = index
            byProxyName[name] = index
            services.append(service)
        }

        /// A claim of `service` that an established service keeps (``reservations(_:incumbents:httpPort:)``).
        private func reservedClash(_ service: Service) -> String? {
            guard !reserved.isEmpty else { return nil }
            let holder = Holder(id: service.id, source: service.source)
            guard
                let (claim, other) = ServiceMerger.claims(of: service, httpPort: httpPort).lazy
                    .compactMap({ claim in reserved[claim].flatMap { $0 == holder ? nil : (claim, $0) } }).first
            else { return nil }
            return "\(ServiceMerger.describe(claim)) is held by the established service \(other.id) (\(other.source)), "
                + "which keeps it; skipped"
        }

        /// An HTTP service's routes (each domain, or domain and path), unless one is taken.
        private mutating func claimRoutes(of service: Service, at index: Int) -> Bool {
            guard !service.domains.isEmpty else {
                reject(service, "is served over HTTP but has no domain; skipped", conflict: false)
                return false
            }
            let routes = ServiceMerger.routes(of: service)
            if let clash = routes.first(where: { byDomain[$0] != nil }) {
                reject(service, "\(ServiceMerger.describe(clash)) is already routed to \(owner(byDomain[clash]!)); skipped")
                return false
            }
            for route in routes { byDomain[route] = index }
            return true
        }

        /// A TCP service's port, unless it is the HTTP port or taken.
        private mutating func claimTCPPort(of service: Service, at index: Int) -> Bool {
            if service.servicePort == httpPort {
                reject(service, "TCP service port \(httpPort) is the HTTP frontend's port; skipped", conflict: false)
                return false
            }
            if let other = byTCPPort[service.servicePort] {
                reject(service, "TCP service port \(service.servicePort) is already used by \(owner(other)); skipped")
                return false
            }
            byTCPPort[service.servicePort] = index
            return true
        }
    }

    /// Sorted by id (ids are unique here). Ids are ASCII, where `String`'s order is the bytes' order:
    /// their first 16 bytes, as two big-endian integers, settle most comparisons without comparing
    /// strings, and only indexes move until the end.
    static func sortedByID(_ services: [Service]) -> [Service] {
        // Checked through the buffer: zip would copy every service (a retain per field) to compare ids.
        let isSorted = services.withUnsafeBufferPointer { buffer in
            buffer.indices.dropFirst().allSatisfy { buffer[$0 - 1].id < buffer[$0].id }
        }
        if isSorted { return services }
        struct Key {
            var high: UInt64
            var low: UInt64
            var index: Int
        }
        var keys: [Key] = []
        keys.reserveCapacity(services.count)
        for (index, service) in services.enumerated() {
            var high: UInt64 = 0
            var low: UInt64 = 0
            var k = 0
            for byte in service.id.rawValue.utf8.prefix(16) {
                if k < 8 { high |= UInt64(byte) << (56 - 8 * k) } else { low |= UInt64(byte) << (56 - 8 * (k - 8)) }
                k += 1
            }
            keys.append(Key(high: high, low: low, index: index))
        }
        keys.sort { a, b in
            if a.high != b.high { return a.high < b.high }
            if a.low != b.low { return a.low < b.low }
            return services[a.index].id < services[b.index].id
        }
        return keys.map { services[$0.index] }
    }
}
