import ProxymModel

/// Which certificate haproxy 2.6 answers a TLS client with for a given SNI, from a crt-list: the same
/// lookup as `ssl_sock_switchctx_cbk` (src/ssl_sock.c [v2.6.0]), so `proxym check` can say what each
/// virtual host will be served with.
///
/// - Each line files its certificate under its SNI filters, or, without filters, under the
///   certificate's CN and subjectAltName DNS names; `*.example.com` is a wildcard entry.
/// - An exact entry for the name wins over a wildcard one; a wildcard matches one label only, and a
///   `!name` filter on the same line excludes `name` from that line's wildcards.
/// - Among the entries of one kind, the first line wins per key type, and an ECDSA certificate is
///   preferred over an RSA one (modern clients support both).
/// - No entry: the default certificate (the first line).
public enum CertificateSelection {
    public struct Choice: Sendable, Hashable, CustomStringConvertible {
        public enum Reason: Sendable, Hashable {
            /// Filed under the exact name (a pin when `pinned`).
            case exact(pinned: Bool)
            case wildcard(pinned: Bool)
            /// No entry matched.
            case fallback
        }

        public var certificate: ServedCertificate
        public var reason: Reason

        /// Whether the certificate's own names cover the host (a pin may name one that does not:
        /// clients would then refuse it).
        public var coversHost: Bool

        public var description: String {
            let name = certificate.name == CrtList.defaultName ? "the default certificate" : certificate.name
            switch reason {
            case .exact(let pinned): return "\(name) (\(pinned ? "pinned by the service" : "exact name"))"
            case .wildcard(let pinned): return "\(name) (\(pinned ? "pinned wildcard" : "wildcard"))"
            case .fallback: return "\(name) (no certificate matches)"
            }
        }
    }

    /// What haproxy serves a client sending `host` (lower case, no port) as SNI. `certificates` holds
    /// every certificate the list names (by path), the default included.
    public static func choose(host: String, list: CrtList, certificates: [String: ServedCertificate]) -> Choice? {
        guard let first = list.lines.first, let fallback = certificates[first.path] else { return nil }
        let host = host.lowercased()
        var exact: [(ServedCertificate, Bool)] = []
        var wildcard: [(ServedCertificate, Bool)] = []
        let wildcardKey = host.firstIndex(of: ".").map { "*" + host[$0...] }
        for line in list.lines {
            guard let certificate = certificates[line.path] else { continue }
            let pinned = !line.filters.isEmpty
            let names: [String]
            if line.filters.isEmpty {
                names = certificate.facts.sniNames
            } else {
                names = line.filters.filter { !$0.hasPrefix("!") }.map { $0.lowercased() }
            }
            if names.contains(host) { exact.append((certificate, pinned)) }
            if let wildcardKey, names.contains(wildcardKey), !line.filters.contains("!" + host) {
                wildcard.append((certificate, pinned))
            }
        }
        func preferred(_ candidates: [(ServedCertificate, Bool)]) -> (ServedCertificate, Bool)? {
            candidates.first { $0.0.facts.keyType.isECDSA } ?? candidates.first { $0.0.facts.keyType.isRSA }
                ?? candidates.first
        }
        if let (certificate, pinned) = preferred(exact) {
            return Choice(certificate: certificate, reason: .exact(pinned: pinned), coversHost: certificate.facts.covers(host))
        }
        if let (certificate, pinned) = preferred(wildcard) {
            return Choice(
                certificate: certificate, reason: .wildcard(pinned: pinned), coversHost: certificate.facts.covers(host))
        }
        return Choice(certificate: fallback, reason: .fallback, coversHost: fallback.facts.covers(host))
    }
}
