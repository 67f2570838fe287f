import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix
import ProxymTLS

/// The certificate directory as a watched input, and the certificates haproxy may serve.
///
/// The operator's directory (`PROXYM_HAPROXY_TLS_CERTS_PATH`) holds PEM bundles, one per `*.pem` file.
/// Each one is read (non-blocking, size-limited, regular files only), checked the way haproxy loads it
/// (`PEMBundle`: OpenSSL, key against certificate, the security level) and for its dates, and, when
/// good, copied into proxym's own directory (`PROXYM_HAPROXY_TLS_STATE_PATH/certs`, 0700, files 0600)
/// as OpenSSL re-encoded it. haproxy's crt-list names only those copies. So:
///
/// - a broken bundle (unreadable, not a regular file, not PEM, no key, a key that does not match, an
///   expired certificate) costs only itself: an ERROR names the file and the reason, and the last good
///   copy of it stays what haproxy serves, through reloads and restarts of proxym and haproxy alike;
/// - a file in the operator's directory can never make `haproxy -c` or a reload fail;
/// - private keys are read by proxym and written only into the 0700 directory; they are never logged.
///
/// It asks for a refresh after a bundle came, changed or went (inotify on the loop,
/// coalesced for 50 ms); the HAProxy module then brings haproxy up to date, through the Runtime API
/// where 2.6 allows. Removed bundles' copies are deleted only once haproxy no longer names them
/// (`collectGarbage`).
public final class CertificateStore {
    public let settings: TLSSettings
    private let loop: EventLoop
    let logger: Logger
    let now: () -> Int64

    /// Certificates served, by file name in the operator's directory (their latest good version).
    public internal(set) var served: [String: ServedCertificate] = [:]
    /// Files whose latest version cannot be served, with the reason.
    public private(set) var invalid: [String: String] = [:]
    /// The default certificate (first line of the crt-list).
    public internal(set) var defaultCertificate: ServedCertificate?
    /// Where the default comes from: a file of the directory, or the self-signed one.
    public internal(set) var defaultSource = "self-signed"

    private var watcher: DirectoryWatcher?
    private var pending: Set<String> = []
    private var rescanAll = false
    private var syncTimer: EventLoop.TimerHandle?
    private var expiryTimer: EventLoop.TimerHandle?
    private var notify: ((RefreshReason) -> Void)?
    /// Per file, the problem last logged (logged again only when it changes).
    private var logged: [String: String] = [:]
    /// Files whose copy expires soon, warned about already today.
    private var warnedExpiry: [String: Int64] = [:]

    /// Bundles larger than this are refused.
    public static let maxBundleSize = PEMBundle.sizeLimit
    /// Warn this long before a served certificate expires.
    public static let expiryWarning: Int64 = 14 * 86_400

    public init(settings: TLSSettings, loop: EventLoop, logger: Logger, now: @escaping () -> Int64 = { WallClock.now().seconds }) {
        self.settings = settings
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "tls"
        self.logger = logger
        self.now = now
    }

    /// `*.pem`, not hidden (editors' and proxym's own temporary files are).
    public static func isBundleName(_ name: String) -> Bool {
        name.hasSuffix(".pem") && !name.hasPrefix(".") && name.count > 4
    }

    // MARK: - Watching

    /// Prepares proxym's directory, reads the copies a previous run left there (the last good versions),
    /// then the operator's directory, and starts watching it: when this returns, the files haproxy is
    /// to load exist.
    public func start(notify: @escaping (RefreshReason) -> Void) throws {
        self.notify = notify
        try prepareStateDirectory()
        loadLiveCopies()
        if let path = settings.certificatesPath {
            watcher = try DirectoryWatcher(loop: loop, path: path) { [weak self] event in self?.watched(event) }
            if watcher?.isWatching != true {
                logger.error(
                    "certificate directory missing; serving the last good certificates until it appears",
                    metadata: ["directory": "\(path)"])
            }
        }
        syncAll()
        try ensureDefault()
        scheduleExpiryCheck()
    }

    public func stop(done: @escaping () -> Void) {
        watcher?.close()
        watcher = nil
        if let syncTimer { loop.cancel(syncTimer) }
        if let expiryTimer { loop.cancel(expiryTimer) }
        syncTimer = nil
        expiryTimer = nil
        done()
    }

    private func watched(_ event: DirectoryWatcher.Event) {
        switch event {
        case .file(let name, let change):
            // A file being created is read once its writer closes it (or it is renamed in).
            guard CertificateStore.isBundleName(name), change != .created else { return }
            pending.insert(name)
        case .overflow, .directoryAppeared:
            rescanAll = true
        case .directoryVanished:
            logger.error(
                "certificate directory is gone; serving the last good certificates until it comes back",
                metadata: ["directory": "\(settings.certificatesPath ?? "")"])
            return
        }
        scheduleSync()
    }

    private func scheduleSync() {
        guard syncTimer == nil else { return }
        syncTimer = loop.schedule(after: .milliseconds(50)) { [weak self] in
            guard let self else { return }
            self.syncTimer = nil
            let refusedBefore = self.invalid
            let changed: [String]
            if self.rescanAll {
                self.rescanAll = false
                self.pending = []
                changed = self.syncAll()
            } else {
                let names = self.pending.sorted()
                self.pending = []
                changed = self.sync(names)
            }
            if !changed.isEmpty {
                self.notify?(RefreshReason("certificate \(changed.prefix(3).joined(separator: ", "))\(changed.count > 3 ? ", ..." : "") changed"))
            } else if self.invalid != refusedBefore {
                // Nothing served changed, but STATUS must say which files are refused (a refresh
                // finds nothing to apply and updates it).
                let names = Set(self.invalid.keys).symmetricDifference(refusedBefore.keys).union(
                    self.invalid.keys.filter { refusedBefore[$0] != nil && refusedBefore[$0] != self.invalid[$0] })
                self.notify?(RefreshReason("certificate \(names.sorted().prefix(3).joined(separator: ", ")) refused or fixed"))
            }
        }
    }

    /// Reads `names` now (a file proxym itself just wrote) and asks for a refresh when one changed.
    public func refresh(names: [String]) {
        let changed = sync(names)
        if !changed.isEmpty { notify?(RefreshReason("certificate \(changed.joined(separator: ", ")) changed")) }
    }

    // MARK: - Reading

    /// Reads every name in the operator's directory and every name served; returns those whose served
    /// version changed.
    @discardableResult
    func syncAll() -> [String] {
        var names = Set(served.keys)
        if let path = settings.certificatesPath {
            do {
                for entry in try FileSystem.listDirectory(path) where CertificateStore.isBundleName(entry.name) {
                    names.insert(entry.name)
                }
            } catch {
                // Missing or unreadable: keep serving what we have; the watcher says when it is back.
                logger.error(
                    "cannot list the certificate directory; serving the last good certificates",
                    metadata: ["directory": "\(path)", "error": "\(error)"])
                return []
            }
        }
        return sync(names.sorted())
    }

    /// Re-reads `names` from the operator's directory; returns those whose served version changed.
    @discardableResult
    func sync(_ names: [String]) -> [String] {
        guard let path = settings.certificatesPath else { return [] }
        let directory: OwnedFD
        do {
            directory = try FileSystem.openDirectory(path)
        } catch {
            logger.error(
                "cannot open the certificate directory; serving the last good certificates",
                metadata: ["directory": "\(path)", "error": "\(error)"])
            return []
        }
        var changed: [String] = []
        for name in names where load(name, directory: directory.rawValue) { changed.append(name) }
        if changed.contains(where: { $0 == settings.defaultCertificate }) { try? ensureDefault() }
        return changed
    }

    /// One file: returns true when what is served for it changed (new version, new file, removed).
    private func load(_ name: String, directory: CInt) -> Bool {
        guard TLSSettings.isCertificateFileName(name) else {
            // crt-list lines and Runtime API commands are split on blanks: such a name cannot be served.
            refuse(name, "its name may hold only letters, digits, '.', '_' and '-'")
            return false
        }
        let bytes: [UInt8]
        switch CertificateStore.readBundle(directory: directory, name: name) {
        case .success(let read):
            bytes = read
        case .failure(.missing):
            invalid[name] = nil
            logged[name] = nil
            guard served.removeValue(forKey: name) != nil else { return false }
            logger.notice("certificate removed; haproxy stops serving it", metadata: ["file": "\(name)"])
            return true
        case .failure(let problem):
            refuse(name, problem.description)
            return false
        }
        let bundle: InspectedBundle
        switch PEMBundle.inspect(bytes) {
        case .success(let inspected): bundle = inspected
        case .failure(let problem):
            refuse(name, problem.reason)
            return false
        }
        if let problem = CertificateValidity.problem(bundle.facts, now: now()) {
            refuse(name, problem)
            return false
        }
        let revision = CertificateStore.revision(bundle.canonicalPEM)
        if invalid.removeValue(forKey: name) != nil || logged.removeValue(forKey: name) != nil {
            logger.notice("certificate valid again", metadata: ["file": "\(name)"])
        }
        if let current = served[name], current.revision == revision { return false }
        let path = settings.liveCertificatesPath + "/" + name
        do {
            try AtomicFileWriter.write(bundle.canonicalPEM, to: path, mode: 0o600)
        } catch {
            refuse(name, "cannot write its checked copy \(path): \(error)")
            return false
        }
        let certificate = ServedCertificate(
            name: name, path: path, facts: bundle.facts, revision: revision, size: bundle.canonicalPEM.count)
        let verb = served[name] == nil ? "certificate added" : "certificate changed"
        served[name] = certificate
        logger.info("\(verb)", metadata: CertificateStore.metadata(certificate))
        for warning in bundle.facts.warnings { logger.warning("\(warning)", metadata: ["file": "\(name)"]) }
        return true
    }

    private func refuse(_ name: String, _ reason: String) {
        invalid[name] = reason
        guard logged[name] != reason else { return }
        logged[name] = reason
        logger.error(
            "certificate refused",
            metadata: [
                "file": "\(name)", "reason": "\(reason)",
                "kept": served[name] == nil ? "nothing (no earlier good version)" : "its last good version",
            ])
    }

    static func metadata(_ certificate: ServedCertificate) -> Logger.Metadata {
        [
            "file": "\(certificate.name)",
            "names": "\(certificate.facts.sniNames.joined(separator: ","))",
            "expires": "\(CertificateValidity.utcText(certificate.facts.notAfter))",
            "serial": "\(certificate.facts.serial)",
            "key": "\(certificate.facts.keyType)",
        ]
    }

    /// What reading a bundle can run into besides success.
    enum ReadProblem: Error, CustomStringConvertible {
        case missing
        case notRegular
        case tooLarge(Int64)
        case failed(SysError)

        var description: String {
            switch self {
            case .missing: return "gone"
            case .notRegular: return "not a regular file"
            case .tooLarge(let size): return "\(size) bytes, more than a bundle may have (\(CertificateStore.maxBundleSize))"
            case .failed(let error): return "cannot read it: \(error)"
            }
        }
    }

    /// Opens without blocking (a FIFO named `x.pem` must not stall the loop), refuses anything but a
    /// regular file and anything larger than a bundle, then reads it.
    static func readBundle(directory: CInt, name: String) -> Result<[UInt8], ReadProblem> {
        do {
            return .success(try FileSystem.readRegularFile(directory: directory, name, limit: maxBundleSize).bytes)
        } catch {
            switch error {
            case .system(let error): return .failure(error.isNoEntry ? .missing : .failed(error))
            case .notRegular: return .failure(.notRegular)
            case .tooLarge(_, let info, _): return .failure(.tooLarge(info.size))
            }
        }
    }

    /// FNV-1a (64 bits) of a bundle's bytes: equal bundles, equal revisions.
    static func revision(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    // MARK: - What haproxy is to serve

    /// The crt-list and certificates for haproxy, with the services' pins.
    public func state(pins: [CertificatePin]) -> (state: CertificateState, notes: [CrtList.Note]) {
        guard let defaultCertificate else {
            preconditionFailure("CertificateStore.state before start()")
        }
        let certificates = Array(served.values)
        let (list, notes) = CrtList.make(defaultCertificate: defaultCertificate, certificates: certificates, pins: pins)
        var byPath = [defaultCertificate.path: defaultCertificate]
        for certificate in certificates { byPath[certificate.path] = certificate }
        return (CertificateState(list: list, certificates: byPath), notes)
    }

    /// Deletes the copies neither served nor named by what haproxy runs (`keeping`).
    public func collectGarbage(keeping live: CertificateState?) {
        guard let entries = try? FileSystem.listDirectory(settings.liveCertificatesPath) else { return }
        let kept = Set(served.values.map(\.path)).union(live?.certificates.keys.map { $0 } ?? [])
        for entry in entries {
            let path = settings.liveCertificatesPath + "/" + entry.name
            guard !kept.contains(path) else { continue }
            // Temporary files of an interrupted write, and copies nothing names any more.
            try? FileSystem.unlink(path)
            if CertificateStore.isBundleName(entry.name) {
                logger.debug("checked copy deleted", metadata: ["file": "\(entry.name)"])
            }
        }
    }

    // MARK: - Expiry

    /// Certificates expiring within two weeks are warned about once a day; an expired one is an ERROR
    /// (haproxy keeps serving it: there is nothing better to serve; clients refuse it).
    private func scheduleExpiryCheck() {
        if let expiryTimer { loop.cancel(expiryTimer) }
        checkExpiry()
        expiryTimer = loop.schedule(after: .seconds(3600)) { [weak self] in self?.scheduleExpiryCheck() }
    }

    private func checkExpiry() {
        let now = now()
        for certificate in served.values.sorted(by: { $0.name < $1.name }) {
            let remaining = CertificateValidity.remaining(certificate.facts, now: now)
            guard remaining < CertificateStore.expiryWarning else { continue }
            if let last = warnedExpiry[certificate.name], now - last < 86_400 { continue }
            warnedExpiry[certificate.name] = now
            if remaining <= 0 {
                logger.error("served certificate has expired; replace it", metadata: CertificateStore.metadata(certificate))
            } else {
                logger.warning("served certificate expires soon", metadata: CertificateStore.metadata(certificate))
            }
        }
    }

    /// For the STATUS line: how many are served, which files are refused.
    public var statusNote: String? {
        var parts: [String] = []
        let expired = served.values.filter { $0.facts.notAfter <= now() }.map(\.name).sorted()
        if !expired.isEmpty { parts.append("\(expired.count) expired: \(expired.prefix(3).joined(separator: ", "))") }
        let refused = invalid.keys.sorted()
        if !refused.isEmpty {
            let list = refused.prefix(3).map { "\($0) (\(invalid[$0]!))" }.joined(separator: ", ")
            parts.append("\(refused.count) refused: \(list)\(refused.count > 3 ? ", ..." : "")")
        }
        guard !parts.isEmpty else { return nil }
        return "certificates: \(served.count) served, " + parts.joined(separator: "; ")
    }
}
