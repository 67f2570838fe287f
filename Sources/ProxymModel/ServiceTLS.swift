/// What a service asks of the HTTPS frontend (`PROXYM_HAPROXY_HTTPS_PORT`), beyond being served there
/// like on HTTP: an HSTS header, a certificate of its own, TLS passed through to it untouched, no
/// automatic certificate. (The redirect from HTTP to HTTPS is part of ``ServiceRouting``.)
public struct ServiceTLS: Hashable, Sendable {
    /// `Strict-Transport-Security: max-age=<seconds>` on its HTTPS answers (nil: none).
    public private(set) var hstsMaxAge: Int?
    /// A file of the certificate directory that serves its domains (nil: the one their names select).
    public private(set) var certificate: String?
    /// A TCP service reached on the HTTPS port by SNI (its domains), TLS not terminated by haproxy.
    public var passthrough: Bool
    /// False: never order a certificate for its domains (ACME).
    public var acme: Bool

    /// marathon-lb's `HAPROXY_{n}_USE_HSTS` value (about six months).
    public static let marathonLBHSTSMaxAge = 15_768_000
    /// Two years (what browsers' preload lists ask for) is plenty; more is a typo.
    public static let hstsRange = 0...(2 * 366 * 86_400)

    public init(hstsMaxAge: Int? = nil, certificate: String? = nil, passthrough: Bool = false, acme: Bool = true)
        throws(ValidationError)
    {
        if let hstsMaxAge, !Self.hstsRange.contains(hstsMaxAge) {
            throw ValidationError(
                field: "hsts", reason: "must be a max-age in seconds between 0 and \(Self.hstsRange.upperBound)",
                value: String(hstsMaxAge))
        }
        if let certificate { try Self.validateCertificateName(certificate) }
        self.hstsMaxAge = hstsMaxAge
        self.certificate = certificate
        self.passthrough = passthrough
        self.acme = acme
    }

    public init() {
        hstsMaxAge = nil
        certificate = nil
        passthrough = false
        acme = true
    }

    public static let none = ServiceTLS()

    /// A file name of the certificate directory, never a path: letters, digits, `.`, `_`, `-`, ending
    /// `.pem`, not hidden. Nothing a service says can make haproxy read a file outside the directory,
    /// and crt-list lines and Runtime API commands (split on blanks) stay well-formed.
    public static func validateCertificateName(_ name: String, field: String = "certificate") throws(ValidationError) {
        guard isCertificateFileName(name) else {
            throw ValidationError(
                field: field,
                reason: "must be the name of a .pem file in the certificate directory (letters, digits, '.', '_', '-'; no path)",
                value: name)
        }
    }

    public static func isCertificateFileName(_ name: String) -> Bool {
        name.hasSuffix(".pem") && !name.hasPrefix(".") && name.utf8.count > 4 && name.utf8.count <= 255
            && name.utf8.allSatisfy(isSafeFileNameByte)
    }

    /// Letters, digits, `.`, `_`, `-`.
    public static func isSafeFileNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
