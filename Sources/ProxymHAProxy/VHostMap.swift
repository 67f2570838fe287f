import ProxymModel

/// `PROXYM_HAPROXY_VHOST_MAP_THRESHOLD` (marathon-lb's `--haproxy-map`): above `threshold` plain
/// virtual hosts, the shared frontends route them through one map file instead of an acl and a
/// `use_backend` line each.
public struct VHostMapOptions: Sendable, Hashable {
    /// The map file as haproxy reads it (``HAProxyMapText/isUsablePath(_:)``).
    public var path: String
    /// More plain virtual hosts than this: map. Below 1 never.
    public var threshold: Int

    public init(path: String, threshold: Int) {
        self.path = path
        self.threshold = threshold
    }
}

/// The map file the frontends route plain virtual hosts through: `<host> <backend>` lines.
///
/// A plain virtual host is a domain of an HTTP service with no path rules, no redirect to HTTPS and
/// weight 0, none of whose domains a negative-weight rule also names: its acl rule would be the last
/// one to match that host anyway, so moving it behind every acl rule (the map's `use_backend` is the
/// frontend's last rule) changes nothing. The keys are what the acl matched (`hdr(host) -i`): the whole
/// Host header, lower-cased, with `<domain>:<port>` added when a frontend's port is not the scheme's
/// standard one; so `[::1]:8080` or a port in the Host header need no splitting.
public struct VHostMap: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// A lower-case Host header value (``HAProxyMapText/isUsableKey(_:)``).
        public var key: String
        /// `<name>_cluster`.
        public var backend: String

        public init(key: String, backend: String) {
            self.key = key
            self.backend = backend
        }
    }

    public var path: String
    /// Sorted by key, keys unique.
    public var entries: [Entry]

    public init(path: String, entries: [Entry]) {
        self.path = path
        self.entries = entries
    }

    /// The file: one `<key> <backend>` line per entry.
    public var text: String {
        var size = 0
        for entry in entries { size += entry.key.utf8.count + 1 + entry.backend.utf8.count + 1 }
        var text = ""
        text.reserveCapacity(size)
        for entry in entries {
            text += entry.key
            text += " "
            text += entry.backend
            text += "\n"
        }
        return text
    }

    /// `key -> backend`.
    public var dictionary: [String: String] {
        Dictionary(entries.map { ($0.key, $0.backend) }, uniquingKeysWith: { first, _ in first })
    }
}

/// One Runtime API command on a map file (haproxy management guide, "add map", "set map", "del map").
public enum MapCommand: Sendable, Hashable, CustomStringConvertible {
    /// `add map <map> <key> <value>` (appends, no duplicate check: only for keys not in the map).
    case add(map: String, key: String, value: String)
    /// `set map <map> <key> <value>` (every entry of the key).
    case set(map: String, key: String, value: String)
    /// `del map <map> <key>` (every entry of the key).
    case del(map: String, key: String)

    public var description: String {
        switch self {
        case .add(let map, let key, let value): return "add map \(map) \(key) \(value)"
        case .set(let map, let key, let value): return "set map \(map) \(key) \(value)"
        case .del(let map, let key): return "del map \(map) \(key)"
        }
    }
}

extension VHostMap {
    /// The Runtime API commands that turn `live` (the same file) into this map: new keys added, moved
    /// ones set, then the gone ones deleted, so a host is never without a backend while they run.
    public func commands(from live: VHostMap) -> [MapCommand] {
        let old = live.dictionary
        var changes: [MapCommand] = []
        var kept = Set<String>()
        for entry in entries {
            kept.insert(entry.key)
            switch old[entry.key] {
            case nil: changes.append(.add(map: path, key: entry.key, value: entry.backend))
            case entry.backend?: break
            case _?: changes.append(.set(map: path, key: entry.key, value: entry.backend))
            }
        }
        for entry in live.entries where !kept.contains(entry.key) {
            changes.append(.del(map: path, key: entry.key))
        }
        return changes
    }

    /// `show map <path>` (`0x55d0c8a1b2c0 <key> <value>` per entry) as entries sorted by key,
    /// duplicates kept (they would be a mismatch); lines that are not entries are skipped.
    public static func parseShowMap(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        // `\r\n` is one Character: split on both.
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3, fields[0].hasPrefix("0x") else { continue }
            entries.append(Entry(key: String(fields[1]), backend: String(fields[2].trimmingBlanks(alsoCR: true))))
        }
        return entries.sorted { ($0.key, $0.backend) < ($1.key, $1.backend) }
    }
}

extension Plan {
    /// Marks the services whose domains go through the map and builds it, when the options ask for a
    /// map and there are more plain virtual hosts than the threshold.
    mutating func planVHostMap(options: RenderOptions, notes: inout [RenderNote]) {
        guard let wanted = options.vhostMap, wanted.threshold > 0, HAProxyMapText.isUsablePath(wanted.path) else { return }
        // Domains a negative-weight rule names: the vhost rule of such a domain comes before it, so it
        // stays an acl rule.
        var shadowing = Set<DomainName>()
        for planned in http where services[planned.index].routing.weight < 0 {
            shadowing.formUnion(planned.domains)
        }
        var eligible: [Int] = []
        var count = 0
        for index in http.indices where !http[index].domains.isEmpty {
            let routing = services[http[index].index].routing
            guard routing.paths.isEmpty, routing.weight == 0, !routing.redirectToHttps else { continue }
            guard shadowing.isEmpty || !http[index].domains.contains(where: shadowing.contains) else { continue }
            if let bad = http[index].domains.first(where: { !HAProxyMapText.isUsableKey($0.rawValue) }) {
                let service = services[http[index].index]
                notes.append(
                    RenderNote(
                        serviceID: service.id, source: service.source,
                        kind: .routingIgnored(reason: "domain \"\(ValidationError.escaped(bad.rawValue))\" cannot be a map key; routed by an acl instead")))
                continue
            }
            eligible.append(index)
            count += http[index].domains.count
        }
        guard count > wanted.threshold else { return }
        var ports: [UInt16] = []
        if options.httpPort != 80 { ports.append(options.httpPort) }
        if let https = options.https, https.port != 443 { ports.append(https.port) }
        var seen = Set<String>()
        var entries: [VHostMap.Entry] = []
        entries.reserveCapacity(count * (1 + ports.count))
        // In render order: a host two services name goes to the first, as the acl rules did.
        for index in eligible {
            http[index].mapped = true
            let backend = http[index].name + "_cluster"
            for domain in http[index].domains {
                if seen.insert(domain.rawValue).inserted {
                    entries.append(VHostMap.Entry(key: domain.rawValue, backend: backend))
                }
                guard !domain.hasPort else { continue }
                for port in ports {
                    let key = domain.rawValue + ":" + String(port)
                    if seen.insert(key).inserted { entries.append(VHostMap.Entry(key: key, backend: backend)) }
                }
            }
        }
        entries.sort { $0.key < $1.key }
        vhostMap = VHostMap(path: wanted.path, entries: entries)
    }
}

extension HAProxyRenderer {
    /// The frontend's last routing rule: the Host header looked up in the map.
    static func appendMapUseBackend<Output: ConfigOutput>(_ map: VHostMap, to out: inout Output) {
        out.append("  use_backend %[req.hdr(host),lower,map_str(")
        out.append(map.path)
        out.append(")]\n")
    }
}
