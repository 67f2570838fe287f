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
        var services: [Service] = []
        var problems: [Problem] = []
        var byID: [ServiceID: String] = [:]
        var byProxyName: [String: String] = [:]
        var byTCPPort: [UInt16: String] = [:]
        var byDomain: [DomainName: String] = [:]

        for source in sources {
            for service in source {
                func reject(_ reason: String, _ severity: Problem.Severity = .error) {
                    problems.append(
                        Problem(severity: severity, source: service.source, serviceID: service.id.rawValue, reason: reason))
                }
                if service.transport == .udp {
                    reject("protocol udp cannot be proxied by HAProxy; skipped", .warning)
                    continue
                }
                if let owner = byID[service.id] {
                    reject("id already defined by \(owner); skipped")
                    continue
                }
                let name = service.id.proxyName
                if let owner = byProxyName[name] {
                    reject("its HAProxy name \"\(name)\" is already used by \(owner); skipped")
                    continue
                }
                if service.isHTTP(httpPort: httpPort) {
                    guard !service.domains.isEmpty else {
                        reject("is served over HTTP but has no domain; skipped")
                        continue
                    }
                    if let clash = service.domains.first(where: { byDomain[$0] != nil }) {
                        reject("domain \(clash) is already routed to \(byDomain[clash]!); skipped")
                        continue
                    }
                    for domain in service.domains { byDomain[domain] = "\(service.id) (\(service.source))" }
                } else {
                    if service.servicePort == httpPort {
                        reject("TCP service port \(httpPort) is the HTTP frontend's port; skipped")
                        continue
                    }
                    if let owner = byTCPPort[service.servicePort] {
                        reject("TCP service port \(service.servicePort) is already used by \(owner); skipped")
                        continue
                    }
                    byTCPPort[service.servicePort] = "\(service.id) (\(service.source))"
                }
                byID[service.id] = service.source
                byProxyName[name] = "\(service.id) (\(service.source))"
                services.append(service)
            }
        }
        services.sort { $0.id < $1.id }
        return Result(services: services, problems: problems)
    }
}
