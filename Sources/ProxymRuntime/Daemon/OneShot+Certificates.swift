import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

extension OneShot {
    /// What `proxym check` found about the certificates.
    struct CertificateCheck {
        /// Refused bundles (each one is a problem).
        var problems: Int
        /// The settings with the state directory in `scratch`: what `haproxy -c` is to load.
        var settings: TLSSettings
    }

    /// `proxym check` with HTTPS: reads and checks every bundle of the certificate directory as `run`
    /// would, into a private scratch state directory (the real one is never touched), and says which
    /// certificate each HTTPS virtual host will be served with. Refused bundles count as problems; a
    /// host that only the default certificate answers is a warning (an ACME order when enabled).
    static func checkCertificates(
        _ tls: TLSSettings, services: [Service], httpPort: UInt16, scratch: String, loop: EventLoop, logger: Logger
    ) throws -> CertificateCheck {
        var settings = tls
        settings.statePath = scratch + "/tls"
        let store = CertificateStore(settings: settings, loop: loop, logger: logger)
        try store.start { _ in }
        defer { store.stop {} }
        for (name, reason) in store.invalid.sorted(by: { $0.key < $1.key }) {
            logger.error("certificate refused", metadata: ["file": "\(name)", "reason": "\(reason)"])
        }
        let (state, notes) = store.state(pins: HAProxyModule.certificatePins(services, httpPort: httpPort))
        for note in notes { logger.warning("\(note)") }
        try AtomicFileWriter.write(Array(state.list.text.utf8), to: settings.crtListPath, mode: 0o600)
        let now = WallClock.now().seconds
        for certificate in store.served.values.sorted(by: { $0.name < $1.name }) {
            var metadata = CertificateStore.metadata(certificate)
            metadata["remaining"] = "\(CertificateValidity.remaining(certificate.facts, now: now) / 86_400) days"
            logger.info("certificate", metadata: metadata)
        }
        let acmeDomains = Set(HAProxyModule.acmeDomains(services, httpPort: httpPort))
        for domain in Set(HAProxyModule.httpsDomains(services, httpPort: httpPort)).sorted() {
            guard let choice = CertificateSelection.choose(host: domain, list: state.list, certificates: state.certificates)
            else { continue }
            let metadata: Logger.Metadata = [
                "domain": "\(domain)", "certificate": "\(choice)",
                "expires": "\(CertificateValidity.utcText(choice.certificate.facts.notAfter))",
            ]
            if choice.coversHost {
                logger.info("HTTPS virtual host served with", metadata: metadata)
            } else if tls.acme.enabled && acmeDomains.contains(domain) {
                logger.notice("HTTPS virtual host has no certificate yet; ACME will order one", metadata: metadata)
            } else {
                logger.warning("HTTPS virtual host has no certificate covering it; clients will refuse", metadata: metadata)
            }
        }
        return CertificateCheck(problems: store.invalid.count, settings: settings)
    }
}
