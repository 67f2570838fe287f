import ProxymModel

/// An input a source or the merge did not turn into a route, and why: the answer to "why is my app
/// not routed".
public struct SkippedInput: Sendable, Equatable {
    /// `file`, `marathon`, or `merge` (a conflict between sources).
    public var source: String
    /// The file, app or service concerned (may be empty when the reason names it).
    public var item: String
    public var reason: String

    public init(source: String, item: String, reason: String) {
        self.source = source
        self.item = item
        self.reason = reason
    }
}

/// `GET /api/v1/services`: every routed service and every skipped input. A service's own haproxy
/// lines (`configLines`) are left out: they come from labels and may hold anything; of basic auth
/// only whether it is on.
public enum ServicesReport {
    public static func render(services: [Service], skipped: [SkippedInput], httpPort: UInt16, time: Int64) -> String {
        var out = JSONText()
        out.object { o in
            o.field("time", time)
            o.field("count", services.count)
            o.key("services")
            o.array { a in
                for service in services {
                    a.object { s in
                        s.field("id", service.id.rawValue)
                        s.field("source", service.source)
                        s.field("domains", strings: service.domains.map(\.rawValue))
                        s.field("protocol", service.transport == .tcp ? "tcp" : "udp")
                        s.field("http", service.isHTTP(httpPort: httpPort))
                        s.field("paths", strings: service.routing.paths.map(\.rawValue))
                        s.field("servicePort", Int(service.servicePort))
                        s.field("servers", strings: service.hosts.map(\.description))
                        s.field("hsts", service.tls.hstsMaxAge.map { Int64($0) })
                        s.field("tlsPassthrough", service.tls.passthrough)
                        // Whether basic auth guards it; never the users or their hashes.
                        s.field("basicAuth", service.routing.auth != nil)
                        s.field("extraConfigLines", service.configLines.count)
                    }
                }
            }
            o.key("skipped")
            o.array { a in
                for entry in skipped {
                    a.object { s in
                        s.field("source", entry.source)
                        s.field("item", entry.item)
                        s.field("reason", entry.reason)
                    }
                }
            }
        }
        return out.text + "\n"
    }
}
