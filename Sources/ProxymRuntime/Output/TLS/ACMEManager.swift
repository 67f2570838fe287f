import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix
import ProxymTLS

/// Automatic certificates through an ACME client run as a child process (Debian's `lego`), never an
/// ACME client of our own.
///
/// For every HTTPS virtual host that no certificate of the operator's covers, `ACMEPolicy` decides when
/// to order one; this runs `lego ... run` for it as a child watched by pidfd (never on the loop, one at a
/// time, bounded by a timeout), with the HTTP-01 challenge answered by lego's own listener on
/// 127.0.0.1:`PROXYM_ACME_HTTP_PORT`, which haproxy's HTTP frontend reaches for
/// `/.well-known/acme-challenge/` before any redirect or virtual host rule. The certificate lego stores
/// (`<state>/acme/certificates/<domain>.crt` + `.key`) is checked like any bundle and written, as one
/// PEM, into the certificate directory as `acme-<domain>.pem`, where the certificate store picks it up
/// like any other file.
///
/// `lego run` is used for renewals too: `ACMEPolicy` decides when one is due (`lego renew` would sleep
/// up to 8 minutes without a terminal and exits 0 whether or not it renewed).
public final class ACMEManager {
    public static let filePrefix = "acme-"

    private let settings: TLSSettings
    private let store: CertificateStore
    private let loop: EventLoop
    private let logger: Logger
    private let environment: [String]
    private let client: String
    private let now: () -> Int64
    private var policy: ACMEPolicy
    private var wanted: [String] = []
    private var timer: EventLoop.TimerHandle?
    private var child: ChildProcess?
    private var stopped = false
    /// Called when the STATUS note changes.
    public var onStatusChange: (() -> Void)?

    /// How long one order may take before the client is stopped.
    public static let orderTimeout: Duration = .seconds(300)

    public init(
        settings: TLSSettings, store: CertificateStore, loop: EventLoop, logger: Logger, environment: [String: String],
        now: @escaping () -> Int64 = { WallClock.now().seconds }
    ) {
        self.settings = settings
        self.store = store
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "acme"
        self.logger = logger
        self.now = now
        let acme = settings.acme
        self.client = acme.client.contains("/") ? acme.client : Paths.which(acme.client, environment: environment) ?? acme.client
        self.policy = ACMEPolicy(options: ACMEPolicy.Options(renewBefore: Int64(acme.renewBefore.components.seconds)))
        // lego gets what it needs and nothing of ours (no Marathon credentials, no notify socket).
        var childEnvironment: [String] = []
        for name in ["PATH", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] {
            if let value = environment[name] { childEnvironment.append("\(name)=\(value)") }
        }
        if environment["PATH"] == nil { childEnvironment.append("PATH=/usr/local/bin:/usr/bin:/bin") }
        if let caFile = acme.caFile { childEnvironment.append("LEGO_CA_CERTIFICATES=\(caFile)") }
        self.environment = childEnvironment
    }

    /// The HTTPS virtual hosts' domains, at every refresh: orders start for those that need one.
    public func update(domains: [String]) {
        let unique = Set(domains.filter(ACMEManager.isOrderable))
        wanted = unique.sorted()
        policy.retain(unique)
        consider()
    }

    /// Host names an ACME server can validate over HTTP-01: no wildcard, no IP address, a dot.
    static func isOrderable(_ domain: String) -> Bool {
        guard domain.contains("."), !domain.hasPrefix("*"), !domain.contains(":") else { return false }
        return !domain.split(separator: ".").allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    /// Stops the running client (SIGTERM, SIGKILL after 5 s) and orders no more.
    public func stop(done: @escaping () -> Void) {
        stopped = true
        if let timer { loop.cancel(timer) }
        timer = nil
        guard let child else {
            done()
            return
        }
        stopDone = done
        child.terminate(grace: .seconds(5))
    }

    private var stopDone: (() -> Void)?

    /// What covers each wanted domain now.
    func coverage() -> [String: ACMEPolicy.Coverage] {
        let now = now()
        var result: [String: ACMEPolicy.Coverage] = [:]
        let served = store.served.values.filter { $0.facts.notAfter > now }
        for domain in wanted {
            if served.contains(where: { !$0.name.hasPrefix(ACMEManager.filePrefix) && $0.facts.covers(domain) }) {
                result[domain] = .operatorCertificate
            } else if let own = store.served[ACMEManager.fileName(domain)] {
                result[domain] = .acme(notBefore: own.facts.notBefore, notAfter: own.facts.notAfter)
            } else {
                result[domain] = ACMEPolicy.Coverage.none
            }
        }
        return result
    }

    static func fileName(_ domain: String) -> String { filePrefix + domain + ".pem" }

    private func consider() {
        guard !stopped, child == nil else { return }
        if let timer { loop.cancel(timer) }
        timer = nil
        let coverage = coverage()
        let now = now()
        if let order = policy.next(coverage, now: now) {
            start(order)
            return
        }
        if let wake = policy.nextWakeUp(coverage, now: now) {
            let delay = Duration.seconds(max(1, wake - now))
            timer = loop.schedule(after: delay) { [weak self] in
                self?.timer = nil
                self?.consider()
            }
        }
    }

    private func start(_ order: ACMEPolicy.Order) {
        let domain = order.domain
        let arguments = [
            "--server", settings.acme.directory, "--accept-tos", "--email", settings.acme.email ?? "",
            "--domains", domain, "--http", "--http.port", "127.0.0.1:\(settings.acme.httpPort)",
            "--path", settings.acmeStatePath, "--key-type", "ec256", "run",
        ]
        policy.started(domain, now: now())
        logger.info(order.renewal ? "renewing certificate" : "ordering certificate", metadata: ["domain": "\(domain)"])
        onStatusChange?()
        let started = loop.now
        do {
            try prepareStateDirectory()
            child = try ChildProcess(
                loop: loop, executable: client, arguments: arguments, environment: environment,
                timeout: ACMEManager.orderTimeout
            ) { [weak self] outcome in
                self?.finished(domain, outcome: outcome, took: self.map { $0.loop.now - started } ?? .zero)
            }
        } catch {
            failed(domain, "cannot start \(client): \(error)")
        }
    }

    private func prepareStateDirectory() throws {
        if !FileSystem.exists(settings.acmeStatePath) { try FileSystem.mkdir(settings.acmeStatePath, mode: 0o700) }
    }

    private func finished(_ domain: String, outcome: ChildProcess.Outcome, took: Duration) {
        child = nil
        if stopped {
            logger.info("certificate order stopped", metadata: ["domain": "\(domain)"])
            stopDone?()
            stopDone = nil
            return
        }
        guard outcome.status.isSuccess, !outcome.timedOut else {
            let lines = LogText.lines(outcome.stderr + outcome.stdout, limit: 200)
            for line in lines.suffix(20) { logger.debug("lego: \(line)", metadata: ["domain": "\(domain)"]) }
            failed(domain, ACMEManager.reason(lines, status: outcome.summary(timeout: ACMEManager.orderTimeout)))
            return
        }
        do {
            try install(domain)
        } catch {
            failed(domain, "\(error)")
            return
        }
        policy.succeeded(domain, now: now())
        logger.notice("certificate issued", metadata: ["domain": "\(domain)", "took": "\(took)"])
        onStatusChange?()
        consider()
    }

    private func failed(_ domain: String, _ reason: String) {
        policy.failed(domain, reason: reason, now: now())
        let status = policy.status(coverage(), now: now()).first { $0.domain == domain }
        logger.error(
            "certificate order failed",
            metadata: [
                "domain": "\(domain)", "reason": "\(reason)",
                "next_attempt": "\(status?.nextAttempt.map { CertificateValidity.utcText($0) } ?? "soon")",
            ])
        onStatusChange?()
        consider()
    }

    /// The line of lego's output that says why: the last one naming an error, else the last one.
    static func reason(_ lines: [String], status: String) -> String {
        let useful = lines.last { $0.lowercased().contains("error") || $0.contains("Could not") } ?? lines.last
        guard let useful else { return "\(status), no output" }
        // lego prefixes its lines with a date and time.
        var words = useful.split(separator: " ", omittingEmptySubsequences: true)
        if words.count > 2, words[0].contains("/"), words[1].contains(":") { words.removeFirst(2) }
        return String(words.joined(separator: " ").prefix(300)) + " (\(status))"
    }

    /// lego's `<domain>.crt` (leaf + issuer) and `<domain>.key` -> one checked bundle in the
    /// certificate directory, written atomically with mode 0600.
    private func install(_ domain: String) throws {
        let base = settings.acmeStatePath + "/certificates/" + domain
        let certificate = try FileSystem.readFile(base + ".crt", limit: CertificateStore.maxBundleSize)
        let key = try FileSystem.readFile(base + ".key", limit: CertificateStore.maxBundleSize)
        let bundle: InspectedBundle
        switch PEMBundle.inspect(certificate + [UInt8(ascii: "\n")] + key) {
        case .success(let inspected): bundle = inspected
        case .failure(let problem): throw GeneratorFailure("the ACME client's certificate is unusable: \(problem)")
        }
        guard let directory = settings.certificatesPath else { throw GeneratorFailure("no certificate directory") }
        try AtomicFileWriter.write(bundle.canonicalPEM, to: directory + "/" + ACMEManager.fileName(domain), mode: 0o600)
        // Read it now, not when inotify says so: the next decision must see it served.
        store.refresh(names: [ACMEManager.fileName(domain)])
    }

    // MARK: - Status

    /// Every wanted domain's state (for STATUS, logs, metrics).
    public var status: [ACMEPolicy.DomainStatus] { policy.status(coverage(), now: now()) }

    /// `acme: 2 issued, 1 waiting, 1 failing (x.test: connection refused)`; nil when nothing is wanted.
    public var statusNote: String? {
        let all = status.filter { $0.state != .operatorCertificate }
        guard !all.isEmpty else { return nil }
        var counts: [String] = []
        let issued = all.filter { $0.state == .issued }.count
        let waiting = all.filter { $0.state == .waiting }.count
        if issued > 0 { counts.append("\(issued) issued") }
        if let ordering = all.first(where: { $0.state == .ordering }) { counts.append("ordering \(ordering.domain)") }
        if waiting > 0 { counts.append("\(waiting) waiting") }
        let failing = all.filter { $0.state == .failing }
        if !failing.isEmpty {
            let first = failing[0]
            counts.append("\(failing.count) failing (\(first.domain): \(first.reason ?? "?"))")
        }
        return "acme: " + counts.joined(separator: ", ")
    }
}
