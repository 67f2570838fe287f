import ProxymModel

/// A certificate haproxy is to serve: a checked bundle in proxym's own certificate directory.
public struct ServedCertificate: Sendable, Hashable {
    /// The file name in the operator's certificate directory (`shop.example.com.pem`), or
    /// ``CrtList/defaultName`` for the default certificate.
    public var name: String
    /// The absolute path haproxy loads (and the Runtime API knows it by).
    public var path: String
    public var facts: CertificateFacts
    /// Changes whenever the bundle's bytes change (a hash of them): what `set ssl cert` must update.
    public var revision: UInt64
    /// The bundle's size in bytes (a Runtime API request must fit haproxy's 16 KiB buffer).
    public var size: Int

    public init(name: String, path: String, facts: CertificateFacts, revision: UInt64, size: Int) {
        self.name = name
        self.path = path
        self.facts = facts
        self.revision = revision
        self.size = size
    }
}

/// A service's wish to serve its domains with one certificate of the directory (file key
/// `certificate`, label `proxym.port.<n>.certificate` / `HAPROXY_{n}_SSL_CERT`).
public struct CertificatePin: Sendable, Hashable {
    /// A file name in the certificate directory.
    public var certificate: String
    /// Lower-case host names, without port.
    public var domains: [String]
    /// Who asked, for messages.
    public var serviceID: ServiceID

    public init(certificate: String, domains: [String], serviceID: ServiceID) {
        self.certificate = certificate
        self.domains = domains
        self.serviceID = serviceID
    }
}

/// The crt-list haproxy's HTTPS bind reads (`bind ... ssl crt-list <path>`), one certificate per line:
///
/// ```
/// /var/lib/proxym/tls/default.pem !*
/// /var/lib/proxym/tls/certs/wild.example.com.pem shop.example.com
/// /var/lib/proxym/tls/certs/shop.example.com.pem
/// /var/lib/proxym/tls/certs/wild.example.com.pem
/// ```
///
/// - The first line is the default certificate (no SNI, or an SNI nothing matches); `!*` keeps its own
///   names out of the SNI lookup. Its path never changes, so a new default is `set ssl cert` on it:
///   haproxy 2.6 refuses to remove the default certificate of a bind at runtime (checked).
/// - Then the pins: a certificate a service asked for, filed under that service's domains only. A line
///   with SNI filters comes before the certificates' own lines, and haproxy takes the first line filed
///   under a name (checked), so a pin wins over a certificate that merely covers the name.
/// - Then every certificate, by file name, filed under its own names (CN and SANs).
///
/// Pure; the runtime writes `text` to the file before haproxy may read it.
public struct CrtList: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var path: String
        /// SNI filters as written (`!*` on the default line); empty: the certificate's own names.
        public var filters: [String]

        public init(path: String, filters: [String] = []) {
            self.path = path
            self.filters = filters
        }

        public var text: String { filters.isEmpty ? path : path + " " + filters.joined(separator: " ") }
    }

    /// The default certificate's name in ``ServedCertificate/name``.
    public static let defaultName = "(default)"

    public var lines: [Line]

    public init(lines: [Line]) { self.lines = lines }

    public var text: String {
        var text = ""
        for line in lines {
            text += line.text
            text += "\n"
        }
        return text
    }

    /// A pin that could not be honoured, for the log.
    public struct Note: Sendable, Hashable, CustomStringConvertible {
        public var pin: CertificatePin
        public var reason: String
        public var description: String {
            "service \(pin.serviceID): certificate \(pin.certificate) \(reason); its domains get the certificate their names select"
        }
    }

    /// The list for `certificates` (any order; listed by name) with `defaultCertificate` first. A pin
    /// naming a certificate that is not served is left out with a note.
    public static func make(
        defaultCertificate: ServedCertificate, certificates: [ServedCertificate], pins: [CertificatePin]
    ) -> (list: CrtList, notes: [Note]) {
        var lines = [Line(path: defaultCertificate.path, filters: ["!*"])]
        var notes: [Note] = []
        let byName = Dictionary(certificates.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // One line per certificate, with every domain pinned to it, in a stable order.
        var pinned: [String: [String]] = [:]
        for pin in pins {
            guard byName[pin.certificate] != nil else {
                notes.append(Note(pin: pin, reason: "is not served (missing or invalid)"))
                continue
            }
            for domain in pin.domains where !(pinned[pin.certificate]?.contains(domain) ?? false) {
                pinned[pin.certificate, default: []].append(domain)
            }
        }
        for name in pinned.keys.sorted() {
            lines.append(Line(path: byName[name]!.path, filters: pinned[name]!.sorted()))
        }
        for certificate in certificates.sorted(by: { $0.name < $1.name }) {
            lines.append(Line(path: certificate.path))
        }
        return (CrtList(lines: lines), notes)
    }
}
