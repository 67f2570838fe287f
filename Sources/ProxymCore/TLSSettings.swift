/// HTTPS at the front door: the HTTPS frontend, the certificate directory, and automatic certificates.
public struct TLSSettings: Sendable, Equatable {
    /// `PROXYM_HAPROXY_HTTPS_PORT`: the port of the shared HTTPS frontend; nil = no HTTPS (the output
    /// is then exactly what it was without these settings).
    public var httpsPort: UInt16?
    /// `PROXYM_HAPROXY_TLS_CERTS_PATH`: the operator's directory of PEM bundles (`*.pem`), watched.
    public var certificatesPath: String?
    /// `PROXYM_HAPROXY_TLS_DEFAULT_CERT`: the file of that directory served to clients whose SNI matches
    /// no certificate (or who send none); nil = a self-signed certificate proxym generates.
    public var defaultCertificate: String?
    /// `PROXYM_HAPROXY_TLS_STATE_PATH`: proxym's own directory (0700): the checked copies haproxy
    /// loads, the crt-list, the default certificate and the ACME client's account and orders.
    public var statePath: String = ""
    public var acme = ACME()

    public struct ACME: Sendable, Equatable {
        /// `PROXYM_ACME_ENABLED`.
        public var enabled = false
        /// `PROXYM_ACME_DIRECTORY`: the ACME server's directory URL.
        public var directory = ACME.letsEncrypt
        /// `PROXYM_ACME_EMAIL`: the account's contact.
        public var email: String?
        /// `PROXYM_ACME_CA_FILE`: PEM file of the CA(s) to trust for the ACME server (a private one).
        public var caFile: String?
        /// `PROXYM_ACME_CLIENT`: the ACME client (Debian's `lego`, found in PATH unless a path is given).
        public var client = "lego"
        /// `PROXYM_ACME_HTTP_PORT`: the port on 127.0.0.1 the client answers HTTP-01 challenges on while
        /// it runs; haproxy's HTTP frontend sends `/.well-known/acme-challenge/` there.
        public var httpPort: UInt16 = 8402
        /// `PROXYM_ACME_RENEW_BEFORE`: renew this long before expiry (at most half a certificate's lifetime).
        public var renewBefore: Duration = .seconds(30 * 86_400)

        public static let letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

        public init() {}
    }

    public init() {}

    /// HTTPS is on.
    public var enabled: Bool { httpsPort != nil }

    /// The checked copies of the operator's bundles, one per file name.
    public var liveCertificatesPath: String { statePath + "/certs" }
    /// The crt-list the HTTPS bind reads.
    public var crtListPath: String { statePath + "/crt-list" }
    /// The default certificate (first line of the crt-list; its path never changes).
    public var defaultBundlePath: String { statePath + "/default.pem" }
    /// The self-signed certificate generated when no default is configured (kept across restarts).
    public var placeholderPath: String { statePath + "/self-signed.pem" }
    /// lego's `--path`.
    public var acmeStatePath: String { statePath + "/acme" }
}
