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
    public static func merge(_ sources: [[Service]], httpPort: UInt16) -> Result {
        let total = sources.reduce(0) { $0 + $1.count }
        var services: [Service] = []
        services.reserveCapacity(total)
        var problems: [Problem] = []
        // Who holds what: an index into `services`; the owner's text is built only for a message.
        var byID: [ServiceID: Int] = [:]
        byID.reserveCapacity(total)
        var byProxyName: [String: Int] = [:]
        byProxyName.reserveCapacity(total)
        var byTCPPort: [UInt16: Int] = [:]
        var byDomain: [DomainName: Int] = [:]
        func owner(_ index: Int) -> String { "\(services[index].id) (\(services[index].source))" }

        for source in sources {
            // By index into the buffer: `for service in source` would copy each service once more.
            source.withUnsafeBufferPointer { source in
                for position in source.indices {
                    let service = source[position]
                    func reject(_ reason: String, _ severity: Problem.Severity = .error) {
                        problems.append(
                            Problem(severity: severity, source: service.source, serviceID: service.id.rawValue, reason: reason))
                    }
                    if service.transport == .udp {
                        reject("protocol udp cannot be proxied by HAProxy; skipped", .warning)
                        continue
                    }
                    if let index = byID[service.id] {
                        reject("id already defined by \(services[index].source); skipped")
                        continue
                    }
                    let name = service.id.proxyName
                    if let index = byProxyName[name] {
                        reject("its HAProxy name \"\(name)\" is already used by \(owner(index)); skipped")
                        continue
                    }
                    let index = services.count
                    if service.isHTTP(httpPort: httpPort) {
                        guard !service.domains.isEmpty else {
                            reject("is served over HTTP but has no domain; skipped")
                            continue
                        }
                        if let clash = service.domains.first(where: { byDomain[$0] != nil }) {
                            reject("domain \(clash) is already routed to \(owner(byDomain[clash]!)); skipped")
                            continue
                        }
                        for domain in service.domains { byDomain[domain] = index }
                    } else {
                        if service.servicePort == httpPort {
                            reject("TCP service port \(httpPort) is the HTTP frontend's port; skipped")
                            continue
                        }
                        if let other = byTCPPort[service.servicePort] {
                            reject("TCP service port \(service.servicePort) is already used by \(owner(other)); skipped")
                            continue
                        }
                        byTCPPort[service.servicePort] = index
                    }
                    byID[service.id] = index
                    byProxyName[name] = index
                    services.append(service)
                }
            }
        }
        return Result(services: sortedByID(services), problems: problems)
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
