import ProxymModel

/// The rendered configuration plus what the renderer had to leave out or wants logged.
///
/// The renderer is pure and cannot log; the runtime logs `notes` (a note whose `isSkipped` is true
/// means the service is missing from `text`).
public struct Rendering: Sendable, Hashable {
    public var text: String
    /// In output order (services sorted by id), at most a few per service.
    public var notes: [RenderNote]
    /// The map file `text` routes plain virtual hosts through (`RenderOptions.vhostMap`, above its
    /// threshold); nil: none, `text` routes every host by acl rules.
    public var vhostMap: VHostMap?

    public init(text: String, notes: [RenderNote], vhostMap: VHostMap? = nil) {
        self.text = text
        self.notes = notes
        self.vhostMap = vhostMap
    }
}

/// One remark about one service.
public struct RenderNote: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// UDP services are not rendered: HAProxy proxies TCP only (as in the original).
        case udpSkipped
        /// The section name (`<name>` or `<name>_cluster`) is already used by the given service, or by
        /// proxym's own `frontend http-in` when `by` is nil. HAProxy would reject the whole file, so
        /// this service is not rendered. Happens when two ids mangle alike (`/a/b` and `a_b`).
        case nameTaken(name: String, by: ServiceID?)
        /// A TCP service wants a port already bound by the given service, or by the HTTP frontend when
        /// `by` is nil. HAProxy binds with SO_REUSEPORT, so both would start and the kernel would split
        /// the connections between them; this service is not rendered instead.
        case portTaken(port: UInt16, by: ServiceID?)
        /// Rendered without `server` lines: HAProxy answers 503 (HTTP) or closes connections (TCP).
        case noHosts
        /// An HTTP service without any domain: its backend is rendered but no `use_backend` routes to it.
        case noDomains
        /// An option line that would not stay inside the service's section (a section keyword however
        /// quoted, a `.if`/`.endif`, ...: ``OptionLine``); the line is left out, the service is rendered.
        case optionLineDropped(line: String, reason: String)
        /// `tlsPassthrough` cannot be honoured (or only for some of its names); the service is
        /// rendered otherwise as usual.
        case passthroughIgnored(reason: String)
        /// Part of the service's routing (``ServiceRouting``) cannot be honoured; the rest is rendered.
        case routingIgnored(reason: String)
    }

    public var serviceID: ServiceID
    /// `Service.source`, for logs.
    public var source: String
    public var kind: Kind

    public init(serviceID: ServiceID, source: String, kind: Kind) {
        self.serviceID = serviceID
        self.source = source
        self.kind = kind
    }

    /// True when the service is missing from the rendered text.
    public var isSkipped: Bool {
        switch kind {
        case .udpSkipped, .nameTaken, .portTaken: return true
        case .noHosts, .noDomains, .optionLineDropped, .passthroughIgnored, .routingIgnored: return false
        }
    }

    public var description: String {
        let subject = "service \(serviceID) (\(source))"
        switch kind {
        case .udpSkipped:
            return "\(subject): skipped, HAProxy cannot proxy UDP"
        case .nameTaken(let name, let other):
            let owner = other.map { "service \($0)" } ?? "proxym's HTTP frontend"
            return "\(subject): skipped, HAProxy section name '\(name)' is already used by \(owner)"
        case .portTaken(let port, let other):
            let owner = other.map { "service \($0)" } ?? "the HTTP frontend"
            return "\(subject): skipped, port \(port) is already bound by \(owner)"
        case .noHosts:
            return "\(subject): has no hosts, rendered without servers"
        case .noDomains:
            return "\(subject): HTTP service without domains, nothing routes to its backend"
        case .optionLineDropped(let line, let reason):
            return "\(subject): option line \"\(ValidationError.escaped(line))\" left out: \(reason)"
        case .passthroughIgnored(let reason):
            return "\(subject): TLS passthrough left out: \(reason)"
        case .routingIgnored(let reason):
            return "\(subject): routing option left out: \(reason)"
        }
    }
}
