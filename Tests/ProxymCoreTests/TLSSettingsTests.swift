import ProxymCore
import Testing

@Suite struct TLSSettingsTests {
    let base = [
        "PROXYM_HAPROXY_ENABLED": "1", "PROXYM_HAPROXY_CONFIG_FILE_PATH": "/var/lib/proxym/haproxy.cfg",
    ]

    func parse(_ extra: [String: String]) -> SettingsReport {
        Settings.parse(environment: base.merging(extra) { $1 })
    }

    @Test func unsetMeansNoHTTPS() {
        let report = parse([:])
        #expect(report.errors.isEmpty)
        #expect(!report.settings.tls.enabled)
        #expect(report.settings.tls == TLSSettings())
    }

    @Test func theHTTPSPortNeedsACertificateDirectoryAndDerivesTheStateDirectory() {
        let missing = parse(["PROXYM_HAPROXY_HTTPS_PORT": "443"])
        #expect(missing.errors == ["PROXYM_HAPROXY_TLS_CERTS_PATH: required with PROXYM_HAPROXY_HTTPS_PORT"])
        let report = parse(["PROXYM_HAPROXY_HTTPS_PORT": "443", "PROXYM_HAPROXY_TLS_CERTS_PATH": "/etc/proxym/certs"])
        #expect(report.errors.isEmpty && report.warnings.isEmpty)
        let tls = report.settings.tls
        #expect(tls.httpsPort == 443)
        #expect(tls.statePath == "/var/lib/proxym/proxym-tls")
        #expect(tls.crtListPath == "/var/lib/proxym/proxym-tls/crt-list")
        #expect(tls.liveCertificatesPath == "/var/lib/proxym/proxym-tls/certs")
    }

    @Test func unsafeValuesAreRefusedWithTheirReason() {
        let common = ["PROXYM_HAPROXY_HTTPS_PORT": "8443", "PROXYM_HAPROXY_TLS_CERTS_PATH": "/etc/proxym/certs"]
        #expect(
            parse(common.merging(["PROXYM_HAPROXY_TLS_STATE_PATH": "/var/lib/my tls"]) { $1 }).errors.first?
                .hasPrefix("PROXYM_HAPROXY_TLS_STATE_PATH: \"/var/lib/my tls\" may hold only") == true)
        #expect(
            parse(common.merging(["PROXYM_HAPROXY_TLS_DEFAULT_CERT": "../etc/shadow"]) { $1 }).errors == [
                "PROXYM_HAPROXY_TLS_DEFAULT_CERT: \"../etc/shadow\" is not a file name ending .pem (letters, digits, '.', '_', '-')"
            ])
        #expect(parse(["PROXYM_HAPROXY_HTTPS_PORT": "80", "PROXYM_HAPROXY_TLS_CERTS_PATH": "/c"]).errors == [
            "PROXYM_HAPROXY_HTTPS_PORT: 80 is also PROXYM_HAPROXY_HTTP_PORT"
        ])
        #expect(
            parse(common.merging(["PROXYM_HAPROXY_TLS_STATE_PATH": "/etc/proxym"]) { $1 }).errors == [
                "PROXYM_HAPROXY_TLS_CERTS_PATH: must not be inside PROXYM_HAPROXY_TLS_STATE_PATH (proxym's own)"
            ])
    }

    @Test func acmeNeedsHTTPSAndAnEmail() {
        #expect(parse(["PROXYM_ACME_ENABLED": "1"]).errors == [
            "PROXYM_ACME_ENABLED: needs PROXYM_HAPROXY_HTTPS_PORT (certificates are served there)"
        ])
        let https = ["PROXYM_HAPROXY_HTTPS_PORT": "443", "PROXYM_HAPROXY_TLS_CERTS_PATH": "/etc/proxym/certs", "PROXYM_ACME_ENABLED": "1"]
        #expect(parse(https).errors == ["PROXYM_ACME_EMAIL: required when PROXYM_ACME_ENABLED is set"])
        let report = parse(
            https.merging([
                "PROXYM_ACME_EMAIL": "ops@example.com", "PROXYM_ACME_DIRECTORY": "https://127.0.0.1:14000/dir",
                "PROXYM_ACME_RENEW_BEFORE": "240h", "PROXYM_ACME_HTTP_PORT": "18402",
            ]) { $1 })
        #expect(report.errors.isEmpty)
        #expect(report.settings.tls.acme.enabled)
        #expect(report.settings.tls.acme.renewBefore == .seconds(240 * 3600))
        #expect(report.settings.tls.acme.httpPort == 18402)
        #expect(parse(https.merging(["PROXYM_ACME_EMAIL": "a@b", "PROXYM_ACME_HTTP_PORT": "443"]) { $1 }).errors == [
            "PROXYM_ACME_HTTP_PORT: 443 is a port haproxy listens on"
        ])
        #expect(parse(https.merging(["PROXYM_ACME_EMAIL": "a@b", "PROXYM_ACME_DIRECTORY": "ftp://x"]) { $1 }).errors == [
            "PROXYM_ACME_DIRECTORY: \"ftp://x\" is not an https:// or http:// URL"
        ])
    }

    @Test(arguments: [
        ("shop.example.com.pem", true), ("a.pem", true), ("A_b-9.pem", true), (".hidden.pem", false), ("a b.pem", false),
        ("a.crt", false), (".pem", false), ("x/y.pem", false), ("a;b.pem", false),
    ])
    func certificateFileNames(_ name: String, _ valid: Bool) {
        #expect(TLSSettings.isCertificateFileName(name) == valid)
    }
}
