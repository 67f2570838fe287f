import ProxymModel

/// What haproxy serves over TLS: the crt-list and, per certificate path, the revision of its bundle.
public struct CertificateState: Sendable, Hashable {
    public var list: CrtList
    /// Every certificate the list names, by path.
    public var certificates: [String: ServedCertificate]

    public init(list: CrtList, certificates: [String: ServedCertificate]) {
        self.list = list
        self.certificates = certificates
    }
}

/// Decides how a change of certificates reaches a running haproxy 2.6: through the Runtime API
/// (`set`/`commit ssl cert` for a new version of a bundle, `new`/`set`/`commit ssl cert` + `add ssl
/// crt-list` for a new one, `del ssl crt-list` + `del ssl cert` for a removed one), or by a reload
/// when the Runtime API cannot say it. Pure: the caller passes what haproxy runs and what it should.
///
/// The files come first in every case (the caller writes the bundles and the crt-list before it
/// applies the decision), so a reload or a restart at any moment loads what is meant to be live.
public enum CertificatePlanner {
    public enum Step: Sendable, Hashable, CustomStringConvertible {
        /// A new version of a bundle haproxy already serves.
        case update(ServedCertificate)
        /// A bundle haproxy does not know yet, appended to the crt-list.
        case add(ServedCertificate)
        /// A bundle the crt-list no longer names.
        case remove(path: String)

        public var description: String {
            switch self {
            case .update(let certificate): return "update \(certificate.name)"
            case .add(let certificate): return "add \(certificate.name)"
            case .remove(let path): return "remove \(path)"
            }
        }
    }

    public enum Decision: Sendable, Hashable {
        case unchanged
        case runtime([Step])
        case reload(reasons: [String])
    }

    /// The largest bundle sent through the Runtime API: the whole `set ssl cert <path> <<` request must
    /// fit haproxy's `tune.bufsize` (16384 bytes by default; a larger one is dropped without an answer,
    /// checked), and the path and command take their share.
    public static let payloadLimit = 15_000

    /// How to go from `live` (nil: unknown, e.g. before the first reload) to `new`.
    public static func decide(live: CertificateState?, new: CertificateState) -> Decision {
        guard let live else { return .reload(reasons: ["the certificates haproxy serves are not known"]) }
        if live == new { return .unchanged }
        var steps: [Step] = []
        var reasons: [String] = []

        // The lines that stay, in their order, must be the same: a runtime change can only append a
        // line at the end or remove one, and the order decides which certificate a name gets.
        let oldLines = live.list.lines
        let newLines = new.list.lines
        let kept = newLines.filter { oldLines.contains($0) }
        if kept != oldLines.filter({ newLines.contains($0) }) {
            reasons.append("the order of the crt-list changed")
        }
        if oldLines.first != newLines.first {
            reasons.append("the default certificate's line changed")
        }
        let removed = oldLines.filter { !newLines.contains($0) }
        let added = newLines.filter { !oldLines.contains($0) }
        for line in removed + added where !line.filters.isEmpty {
            reasons.append("the certificate pinned for \(line.filters.joined(separator: ", ")) changed")
        }
        // An added line goes to the end at runtime; the file has it at its place by name. The same
        // certificate is served either way unless a later line of the file shares one of its names.
        for line in added where line.filters.isEmpty {
            guard let certificate = new.certificates[line.path],
                let index = newLines.firstIndex(of: line)
            else { continue }
            let names = Set(certificate.facts.sniNames)
            let later = newLines[(index + 1)...].filter { !added.contains($0) }
            if let shared = later.first(where: { other in
                guard let facts = new.certificates[other.path]?.facts else { return false }
                let otherNames = other.filters.isEmpty ? facts.sniNames : other.filters
                return !names.isDisjoint(with: otherNames)
            }) {
                let otherName = new.certificates[shared.path]?.name ?? shared.path
                reasons.append("\(certificate.name) shares a name with \(otherName), which comes after it")
            }
        }
        if !reasons.isEmpty { return .reload(reasons: reasons) }

        for line in removed where !newLines.contains(where: { $0.path == line.path }) {
            steps.append(.remove(path: line.path))
        }
        for (path, certificate) in new.certificates.sorted(by: { $0.key < $1.key }) {
            if let old = live.certificates[path], oldLines.contains(where: { $0.path == path }) {
                if old.revision != certificate.revision { steps.append(.update(certificate)) }
            } else if added.contains(where: { $0.path == path }) {
                steps.append(.add(certificate))
            }
        }
        for step in steps {
            switch step {
            case .update(let certificate), .add(let certificate):
                if certificate.size > payloadLimit {
                    reasons.append(
                        "\(certificate.name) is \(certificate.size) bytes, more than a Runtime API request may carry")
                }
            case .remove:
                break
            }
        }
        if !reasons.isEmpty { return .reload(reasons: reasons) }
        return steps.isEmpty ? .unchanged : .runtime(steps)
    }
}
