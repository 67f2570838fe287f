import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// HTTPS: the certificates haproxy serves follow the certificate store. The crt-list file is written
/// before anything reads it; a change the Runtime API can say (`CertificatePlanner`) goes through the
/// stats socket and is checked there; anything else, or a failure, reloads haproxy on the files, which
/// always say what is meant to be live.
extension HAProxyModule {
    /// Reads the certificate directory (and a previous run's checked copies) and watches it: the files
    /// the first apply's config names exist once this returns.
    public func startInputs(requestRefresh: @escaping (RefreshReason) -> Void) throws {
        try certificates?.start(notify: requestRefresh)
    }

    /// On the way out: no more watching, the ACME client stopped (it would hold its port).
    func stopCertificateInputs() {
        certificates?.stop {}
        acme?.stop {}
    }

    /// The certificates for `services` (nil without HTTPS), with the crt-list file brought up to date.
    func prepareCertificates(_ services: [Service]) -> CertificateState? {
        guard let certificates else { return nil }
        let (state, notes) = certificates.state(pins: Self.certificatePins(services, httpPort: settings.httpPort))
        for note in notes where reportedPinNotes.insert(note.description).inserted {
            logger.warning("\(note)")
        }
        let path = certificates.settings.crtListPath
        let text = Array(state.list.text.utf8)
        if (try? FileSystem.readFile(path, limit: 16 << 20)) != text {
            do {
                try AtomicFileWriter.write(text, to: path, mode: 0o600)
            } catch {
                // haproxy keeps the old list; the next apply tries again.
                logger.error("cannot write the crt-list", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        return state
    }

    /// The services' wishes for a certificate of the directory: their domains (without port) filed
    /// under that certificate.
    static func certificatePins(_ services: [Service], httpPort: UInt16) -> [CertificatePin] {
        services.compactMap { service in
            guard let certificate = service.tls.certificate, service.transport == .tcp, service.isHTTP(httpPort: httpPort)
            else {
                return nil
            }
            return CertificatePin(certificate: certificate, domains: hostNames(service), serviceID: service.id)
        }
    }

    /// The host names the HTTPS frontend terminates TLS for: every HTTP virtual host's domains, without
    /// port, lower-cased.
    static func httpsDomains(_ services: [Service], httpPort: UInt16) -> [String] {
        services.filter { $0.transport == .tcp && $0.isHTTP(httpPort: httpPort) }.flatMap(hostNames)
    }

    /// Those that want a certificate ordered (the service did not opt out).
    static func acmeDomains(_ services: [Service], httpPort: UInt16) -> [String] {
        services.filter { $0.transport == .tcp && $0.isHTTP(httpPort: httpPort) && $0.tls.acme }.flatMap(hostNames)
    }

    static func hostNames(_ service: Service) -> [String] {
        service.domains.map { domain in
            (domain.rawValue.split(separator: ":").first.map(String.init) ?? domain.rawValue).lowercased()
        }
    }

    /// The config text is live already; bring the certificates there too.
    func applyCertificates(_ candidate: Candidate, completion: @escaping (ApplyOutcome) -> Void) {
        guard let new = candidate.certificates else {
            completion(.unchanged("unchanged"))
            return
        }
        switch CertificatePlanner.decide(live: liveCertificates, new: new) {
        case .unchanged:
            completion(.unchanged("unchanged"))
        case .reload(let reasons):
            logger.info("reload needed", metadata: ["reasons": "\(reasons.joined(separator: "; "))"])
            reloadInstalled(candidate, note: "certificates", completion: completion)
        case .runtime(let steps):
            guard let socket = candidate.statsSocket, let applier = certificateApplier else {
                reloadInstalled(candidate, note: "certificates", completion: completion)
                return
            }
            let started = loop.now
            applier.apply(steps, socket: socket) { [weak self] problem in
                guard let self else { return }
                if let problem {
                    self.logger.error(
                        "the certificate change through the Runtime API did not take; reloading haproxy instead",
                        metadata: ["reason": "\(problem)"])
                    self.reloadInstalled(candidate, note: "the Runtime API failed", completion: completion)
                    return
                }
                self.liveCertificates = new
                self.certificates?.collectGarbage(keeping: new)
                self.certificateRuntimeApplyCount += 1
                let summary = steps.map(\.description).joined(separator: ", ")
                self.logger.info(
                    "certificates changed through the Runtime API, no reload",
                    metadata: ["changes": "\(summary)", "took": "\(self.loop.now - started)"])
                completion(.applied("certificates changed through the Runtime API (\(summary)), no reload"))
            }
        }
    }

    /// At startup, with haproxy already running on the current file: it serves the certificates it
    /// loaded then. Checked through the stats socket; a difference reloads it.
    func adoptCertificates(_ candidate: Candidate, completion: @escaping (ApplyOutcome) -> Void) {
        guard let new = candidate.certificates, let socket = candidate.statsSocket, let applier = certificateApplier else {
            becameLive(candidate)
            completion(.unchanged("config on disk is current"))
            return
        }
        applier.verify(new, socket: socket) { [weak self] problem in
            guard let self else { return }
            guard let problem else {
                self.becameLive(candidate)
                completion(.unchanged("config on disk is current"))
                return
            }
            self.logger.info("reload needed", metadata: ["reasons": "\(problem)"])
            self.reloadInstalled(candidate, note: "certificates", completion: completion)
        }
    }
}
