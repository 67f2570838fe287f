/// What proxym knows about one certificate bundle once it has been read and checked: the leaf's names,
/// validity and key type. No key material: this value may be logged, shown and compared freely.
public struct CertificateFacts: Sendable, Hashable {
    /// The leaf's public key type, which decides what haproxy serves when an ECDSA and an RSA
    /// certificate cover the same name (ECDSA to clients that support it).
    public enum KeyType: Sendable, Hashable, CustomStringConvertible {
        case rsa(bits: Int)
        /// `curve` is OpenSSL's group name (`prime256v1`, `secp384r1`, ...).
        case ecdsa(curve: String)
        case ed25519
        case ed448
        case other(String)

        public var isECDSA: Bool {
            if case .ecdsa = self { return true }
            return false
        }

        public var isRSA: Bool {
            if case .rsa = self { return true }
            return false
        }

        public var description: String {
            switch self {
            case .rsa(let bits): return "RSA \(bits)"
            case .ecdsa(let curve): return "ECDSA \(curve)"
            case .ed25519: return "Ed25519"
            case .ed448: return "Ed448"
            case .other(let name): return name
            }
        }
    }

    /// The leaf's subject common name ("" when it has none).
    public var commonName: String
    /// The leaf's subjectAltName DNS entries, lower-cased, in certificate order (`*.example.com` for
    /// a wildcard).
    public var dnsNames: [String]
    /// Validity, in seconds since the Unix epoch.
    public var notBefore: Int64
    public var notAfter: Int64
    /// The serial number in upper-case hex, as `openssl x509 -serial` and haproxy's `show ssl cert` print it.
    public var serial: String
    /// The issuer's common name (or its whole name when it has none).
    public var issuer: String
    public var keyType: KeyType
    /// How many certificates follow the leaf in the bundle (intermediates).
    public var chainLength: Int
    /// SHA-256 of the leaf (DER), upper-case hex: identifies the certificate in logs.
    public var fingerprint: String
    /// Things that do not stop haproxy from serving the bundle but that a person should know (a chain
    /// out of order, blocks left out).
    public var warnings: [String]

    public init(
        commonName: String, dnsNames: [String], notBefore: Int64, notAfter: Int64, serial: String, issuer: String,
        keyType: KeyType, chainLength: Int, fingerprint: String, warnings: [String] = []
    ) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.serial = serial
        self.issuer = issuer
        self.keyType = keyType
        self.chainLength = chainLength
        self.fingerprint = fingerprint
        self.warnings = warnings
    }

    /// The names haproxy 2.6 files the certificate under for SNI when its crt-list line has no filter:
    /// every subjectAltName DNS entry and the common name (`ckch_inst_new_load_store` inserts both;
    /// checked: a certificate whose CN is not among its SANs answers for both). Lower-cased, without
    /// repeats, in that order.
    public var sniNames: [String] {
        var names: [String] = []
        for name in dnsNames + [commonName.lowercased()] where !name.isEmpty && !names.contains(name) {
            names.append(name)
        }
        return names
    }

    /// Whether this certificate answers for `host` (lower-case, no port) by its own names: an exact
    /// name, or a wildcard `*.rest` for a host of exactly one more label (`a.rest`, not `a.b.rest`).
    public func covers(_ host: String) -> Bool {
        CertificateFacts.matches(names: sniNames, host: host) != nil
    }

    /// How `names` match `host`: `.exact` before `.wildcard`, as haproxy looks them up; nil for no match.
    public static func matches(names: [String], host: String) -> NameMatch? {
        if names.contains(host) { return .exact }
        guard let dot = host.firstIndex(of: ".") else { return nil }
        let wildcard = "*" + host[dot...]
        return names.contains(wildcard) ? .wildcard : nil
    }

    public enum NameMatch: Sendable, Hashable {
        case exact
        case wildcard
    }
}
