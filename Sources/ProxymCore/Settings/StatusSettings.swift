/// The status listener: health, status JSON, metrics and the status page (read-only).
public struct StatusSettings: Sendable, Equatable {
    /// Where the listener binds; nil = off (`PROXYM_STATUS_ADDRESS=` set empty).
    public var address: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9911)
    /// A source stale (failing, or a read running) for longer than this makes /healthz answer 503.
    public var staleAfter: Duration = .seconds(120)

    public init() {}

    /// `host:port` with an IP address (`[::1]:9911` for IPv6).
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: UInt16

        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }

        /// `127.0.0.1:9911`, `[::1]:9911`, `0.0.0.0:9911`; nil for anything else.
        public init?(parsing text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0
            else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") {
                host = String(host.dropFirst().dropLast())
                guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            } else {
                let parts = host.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }) else {
                    return nil
                }
            }
            self.init(host: host, port: port)
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        /// Bound to a loopback address only.
        public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }
    }

    static let group = SettingGroup(
        "Status",
        [
            SettingDeclaration(
                "PROXYM_STATUS_ADDRESS", \.status.address, addressParser,
                "Address (IP:port) of the read-only status listener (/healthz, /api/v1/status, ...; `proxym status` asks it). Set it empty to turn the listener off. It answers anyone who can reach it: keep it on loopback or a private network."
            ),
            SettingDeclaration(
                "PROXYM_STATUS_STALE_AFTER", \.status.staleAfter, .positiveDuration,
                "/healthz (and `proxym status`) report unhealthy when a source has failed, or a read of it has been running, for longer than this."
            ),
        ]
    ) { reader, s in
        // Read after every other group (the HTTPS port included).
        let h = s.haproxy
        if h.enabled, let promex = h.prometheusAddress, promex.port == h.httpPort || promex.port == s.tls.httpsPort {
            reader.errors.append(
                "PROXYM_HAPROXY_PROMETHEUS_ADDRESS: port \(promex.port) is already haproxy's HTTP or HTTPS port")
        }
    }

    /// Set but empty = off; unset = the default.
    static let addressParser = SettingParser<ListenAddress?>(
        read: { reader, name in
            guard let raw = reader.raw(name) else { return nil }
            if raw.isEmpty { return .some(nil) }
            guard let text = reader.string(name) else { return nil }
            if let address = ListenAddress(parsing: text) { return .some(address) }
            reader.errors.append("\(name): \"\(text)\" is not IP:port (e.g. 127.0.0.1:9911, [::1]:9911), or empty for off")
            return nil
        }, show: { $0.map(\.description) ?? "" })
}
