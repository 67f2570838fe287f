import ProxymModel

/// HTTPS at the front door: the HTTPS frontend, the certificate directory, and automatic certificates.
public struct TLSSettings: Sendable, Equatable {
    /// The shared HTTPS frontend's port; nil = no HTTPS (the output is then exactly what it was
    /// without these settings).
    public var httpsPort: UInt16?
    /// The operator's directory of PEM bundles (`*.pem`), watched.
    public var certificatesPath: String?
    /// The file of that directory served to clients whose SNI matches no certificate (or who send
    /// none); nil = a self-signed certificate proxym generates.
    public var defaultCertificate: String?
    /// proxym's own directory (0700): the checked copies haproxy loads, the crt-list, the default
    /// certificate, the ACME client's account and orders. "" = `proxym-tls` next to the config file.
    public var statePath = ""
    public var acme = ACME()

    public struct ACME: Sendable, Equatable {
        public var enabled = false
        /// The ACME server's directory URL.
        public var directory = ACME.letsEncrypt
        /// The account's contact.
        public var email: String?
        /// PEM file of the CA(s) to trust for the ACME server (a private one).
        public var caFile: String?
        /// The ACME client (Debian's `lego`, found in PATH unless a path is given).
        public var client = "lego"
        /// The port on 127.0.0.1 the client answers HTTP-01 challenges on while it runs; haproxy's HTTP
        /// frontend sends `/.well-known/acme-challenge/` there.
        public var httpPort: UInt16 = 8402
        /// Renew this long before expiry (at most half a certificate's lifetime).
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

    /// A name in the certificate directory proxym can hand haproxy (``ServiceTLS/isCertificateFileName(_:)``).
    public static func isCertificateFileName(_ name: String) -> Bool { ServiceTLS.isCertificateFileName(name) }

    /// A directory haproxy and its Runtime API can name: an absolute path of safe characters.
    static func isSafeDirectory(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.allSatisfy { $0 == UInt8(ascii: "/") || ServiceTLS.isSafeFileNameByte($0) }
    }
}

extension Settings {
    static let tlsGroup = SettingGroup(
        "HTTPS",
        [
            SettingDeclaration(
                "PROXYM_HAPROXY_HTTPS_PORT", \.tls.httpsPort, .optional(.port), default: "(unset: no HTTPS)",
                "Port of the shared HTTPS frontend (same bind address as HTTP): the same virtual hosts, paths and backends as the HTTP frontend, TLS terminated with the certificates of PROXYM_HAPROXY_TLS_CERTS_PATH chosen by SNI, HTTP/2 (alpn h2,http/1.1), X-Forwarded-Proto: https."
            ),
            SettingDeclaration(
                "PROXYM_HAPROXY_TLS_CERTS_PATH", \.tls.certificatesPath, .path, default: "(required with the HTTPS port)",
                "Directory of PEM bundles, one per *.pem file (certificate, its chain, its key), watched with inotify: a certificate that comes, changes or goes is served within a second, through the Runtime API where haproxy allows it. A broken bundle is logged and keeps its last good version."
            ),
            SettingDeclaration(
                "PROXYM_HAPROXY_TLS_DEFAULT_CERT", \.tls.defaultCertificate,
                .optional(.checked("is not a file name ending .pem (letters, digits, '.', '_', '-')") {
                    TLSSettings.isCertificateFileName($0) ? $0 : nil
                }),
                default: "(a self-signed certificate)",
                "The file of the certificate directory served to clients that send no SNI or a name no certificate covers."
            ),
            SettingDeclaration(
                "PROXYM_HAPROXY_TLS_STATE_PATH", \.tls.statePath, .path, default: "proxym-tls next to the config file",
                "proxym's own directory (mode 0700): the checked copies of the bundles haproxy loads, the crt-list, the default certificate, the ACME client's account and orders."
            ),
            SettingDeclaration(
                "PROXYM_ACME_ENABLED", \.tls.acme.enabled, .bool,
                "Obtain and renew certificates automatically for every HTTPS virtual host that no certificate in the directory covers, with an ACME client run as a child process (HTTP-01 answered through haproxy's HTTP frontend)."
            ),
            SettingDeclaration(
                "PROXYM_ACME_DIRECTORY", \.tls.acme.directory,
                .checked("is not an https:// or http:// URL") { text in
                    (text.hasPrefix("https://") || text.hasPrefix("http://")) && !text.contains(" ") ? text : nil
                },
                "The ACME server's directory URL (Let's Encrypt's staging server: https://acme-staging-v02.api.letsencrypt.org/directory)."
            ),
            SettingDeclaration(
                "PROXYM_ACME_EMAIL", \.tls.acme.email, .string, default: "(required with ACME)",
                "Contact address of the ACME account (the CA's expiry notices go there)."),
            SettingDeclaration(
                "PROXYM_ACME_CA_FILE", \.tls.acme.caFile, .path, default: "(system CAs)",
                "PEM file of the CA(s) of a private ACME server's HTTPS certificate."),
            SettingDeclaration(
                "PROXYM_ACME_CLIENT", \.tls.acme.client, .string,
                "The ACME client: Debian's lego (found in PATH), or its path."),
            SettingDeclaration(
                "PROXYM_ACME_HTTP_PORT", \.tls.acme.httpPort, .port,
                "Port on 127.0.0.1 where the ACME client answers HTTP-01 challenges while it runs; haproxy's HTTP frontend sends /.well-known/acme-challenge/ there before any redirect or virtual host rule."
            ),
            SettingDeclaration(
                "PROXYM_ACME_RENEW_BEFORE", \.tls.acme.renewBefore, .positiveDuration,
                "Renew a certificate this long before it expires (at half its lifetime at the latest)."),
        ],
        check: checkTLS)

    /// Requirements between the HTTPS settings and with the HAProxy ones.
    static func checkTLS(_ reader: inout EnvironmentReader, _ s: inout Settings) {
        guard let port = s.tls.httpsPort else {
            if s.tls.acme.enabled {
                reader.errors.append("PROXYM_ACME_ENABLED: needs PROXYM_HAPROXY_HTTPS_PORT (certificates are served there)")
            }
            return
        }
        if port == s.haproxy.httpPort {
            reader.errors.append("PROXYM_HAPROXY_HTTPS_PORT: \(port) is also PROXYM_HAPROXY_HTTP_PORT")
        }
        if s.tls.certificatesPath == nil {
            reader.errors.append("PROXYM_HAPROXY_TLS_CERTS_PATH: required with PROXYM_HAPROXY_HTTPS_PORT")
        }
        if s.tls.statePath.isEmpty {
            s.tls.statePath = (s.haproxy.configDirectory == "/" ? "" : s.haproxy.configDirectory) + "/proxym-tls"
        }
        if !TLSSettings.isSafeDirectory(s.tls.statePath) {
            reader.errors.append(
                "PROXYM_HAPROXY_TLS_STATE_PATH: \"\(s.tls.statePath)\" may hold only letters, digits, '.', '_', '-' and '/' (haproxy's crt-list and Runtime API name files by it)"
            )
        }
        if let certificates = s.tls.certificatesPath, certificates == s.tls.statePath || certificates.hasPrefix(s.tls.statePath + "/") {
            reader.errors.append("PROXYM_HAPROXY_TLS_CERTS_PATH: must not be inside PROXYM_HAPROXY_TLS_STATE_PATH (proxym's own)")
        }
        if s.tls.acme.enabled {
            if s.tls.acme.email == nil {
                reader.errors.append("PROXYM_ACME_EMAIL: required when PROXYM_ACME_ENABLED is set")
            }
            if s.tls.acme.httpPort == port || s.tls.acme.httpPort == s.haproxy.httpPort {
                reader.errors.append("PROXYM_ACME_HTTP_PORT: \(s.tls.acme.httpPort) is a port haproxy listens on")
            }
        }
    }
}
