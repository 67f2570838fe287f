import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// The HAProxy module: renders the config (pure), and when it changed: writes it to a temp file next
/// to the target, `haproxy -c -f tmp` (a child watched by pidfd, never blocking the loop), `rename()`
/// over the target, then reloads haproxy the configured way (`HAProxyRunner`). A config haproxy rejects
/// is never installed; it is kept as `<target>.rejected` for inspection and haproxy's own words are
/// logged.
///
/// With `PROXYM_HAPROXY_RUNTIME_API=1` servers live in numbered slots (`SlotPlanner`): a refresh that
/// changes only which hosts serve existing backends rewrites the file (atomically, same structure)
/// and sends `set server` commands to the stats socket, then checks `show servers state`; anything
/// else, or a Runtime API failure, reloads.
public final class HAProxyModule: ConfigGenerator {
    public let name = "haproxy"

    let settings: Settings.HAProxy
    let loop: EventLoop
    let logger: Logger
    let childEnvironment: [String]
    /// The haproxy used for `-c` (BINARY_PATH, else found in PATH); nil when validation is off.
    let checkBinary: String?
    let runner: any HAProxyRunner
    let slotOptions: SlotPlanner.Options

    /// The text currently live (written and successfully applied), nil before the first apply.
    var liveText: String?
    /// The vhost map `liveText` routes through (nil: none, or not known).
    var liveVHostMap: VHostMap?
    /// What the map file held before an apply replaced it (`.some(nil)`: there was none), until the
    /// new config is installed.
    var vhostMapBefore: [UInt8]??
    /// The last text haproxy rejected: not re-checked until the input changes (or SIGHUP).
    var rejectedText: String?
    /// An apply or a drain step is running; others wait in `queue`.
    private var busy = false
    private var queue: [() -> Void] = []
    /// Set once an apply went through write/check/install: from then on a nil `liveText` means that
    /// apply failed, not that proxym just started, so the file on disk proves nothing.
    var wroteOnce = false

    // Runtime API state: what haproxy runs (nil = unknown: the next apply reloads).
    var liveSlots: SlotTable?
    /// The last render, patched when a refresh changed only hosts (``RenderMemo``).
    private var renderMemo = RenderMemo()
    /// The rendering of `liveSlots.skeleton` with the live services and options.
    var liveSkeleton: String?
    /// The sections and render options of the live text, for the drain step.
    var liveSections: [ServerSection] = []
    var drainTimer: EventLoop.TimerHandle?
    /// The stats socket of the live configuration.
    var liveStatsSocket: String?
    var warnedSocket: String?
    /// Reads global.cfg and the options directories (keeps their last good content).
    lazy var optionsLoader = HAProxyOptionsLoader(logger: logger)
    private var problemHandler: (() -> Void)?
    private var restartHandler: (() -> Void)?

    // HTTPS: its settings, the certificates (a watched input), and what haproxy serves (nil = unknown).
    let tls: TLSSettings
    let certificates: CertificateStore?
    let acme: ACMEManager?
    var liveCertificates: CertificateState?
    lazy var certificateApplier: CertificateApplier? = certificates.map {
        CertificateApplier(loop: loop, logger: logger, timeout: settings.commandTimeout, crtList: $0.settings.crtListPath)
    }
    /// Pin notes logged already (each once).
    var reportedPinNotes: Set<String> = []
    /// How many certificate changes went through the Runtime API alone (for logs and tests).
    public internal(set) var certificateRuntimeApplyCount = 0

    /// How many times haproxy was reloaded (or started) by this module, and how many refreshes went
    /// through the Runtime API alone (for logs and tests).
    public internal(set) var reloadCount = 0
    public internal(set) var runtimeApplyCount = 0
    /// For the status endpoints: when haproxy was last reloaded (or started) by this module, the last
    /// outcome that was not `unchanged`, and how many applies failed in a row.
    var lastReloadAt: Moment?
    var lastApplyOutcome: String?
    var consecutiveFailures = 0
    /// For /metrics: the stages of the running apply (render, check, apply), taken by the daemon
    /// after each apply; reloads and Runtime API changes that failed.
    var stageDurations: [(String, Duration)] = []
    var reloadFailures = 0
    var runtimeAPIFailures = 0

    var rejectedPath: String { settings.configFilePath + ".rejected" }

    public init(
        settings: Settings.HAProxy, loop: EventLoop, logger: Logger, environment: [String: String],
        tls: TLSSettings = TLSSettings()
    ) throws {
        self.settings = settings
        self.tls = tls
        // HTTPS: the certificate directory is an input of this output (watched once `startInputs`
        // runs, before the first apply), ACME a helper of it; `proxym render|check` never start them.
        let store = tls.enabled ? CertificateStore(settings: tls, loop: loop, logger: logger) : nil
        self.certificates = store
        self.acme = store.flatMap { store in
            tls.acme.enabled
                ? ACMEManager(settings: tls, store: store, loop: loop, logger: logger, environment: environment) : nil
        }
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "haproxy"
        self.logger = logger
        self.childEnvironment = ChildEnvironment.make(from: environment)
        self.slotOptions = SlotPlanner.Options(minimumSlots: settings.serverSlots, drainTime: settings.drainTime)
        if settings.validate {
            guard let binary = settings.binaryPath ?? Paths.which("haproxy", environment: environment) else {
                throw GeneratorFailure(
                    "validating configs needs haproxy: install it, set PROXYM_HAPROXY_BINARY_PATH, or set PROXYM_HAPROXY_VALIDATE=0"
                )
            }
            self.checkBinary = binary
        } else {
            self.checkBinary = nil
        }
        let commands = CommandRunner(loop: loop, logger: logger, environment: childEnvironment, timeout: settings.commandTimeout)
        // A name without "/" is looked up in PATH now; if it is not there, starting it fails later
        // with a clear error (and `proxym render`, which never starts haproxy, still works).
        func resolve(_ binary: String) -> String {
            binary.contains("/") ? binary : Paths.which(binary, environment: environment) ?? binary
        }
        switch settings.reloadMethod {
        case .none:
            runner = FileOnlyRunner()
        case .command(let command):
            runner = ReloadCommandRunner(command: command, pidFile: settings.pidPath, runner: commands, logger: logger)
        case .startStop(let binary, let pidFile):
            runner = SFRunner(
                binary: resolve(binary), pidFile: pidFile, configPath: settings.configFilePath, runner: commands,
                logger: logger)
        case .masterWorker(let binary, let socket, let pidFile):
            runner = MasterWorkerRunner(
                binary: resolve(binary), socket: socket, pidFile: pidFile, configPath: settings.configFilePath,
                runner: commands, logger: logger)
        }
        runner.onEvent = { [weak self] event in self?.runnerEvent(event) }
    }

    // MARK: ConfigGenerator

    public var problem: String? { runner.problem }
    /// `sf`, `master-worker`, `command`, `none`.
    public var methodName: String { runner.methodName }

    public func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void) {
        problemHandler = problems
        restartHandler = restarts
        acme?.onStatusChange = problems
    }

    public var statusNotes: [String] { [certificates?.statusNote, acme?.statusNote].compactMap { $0 } }

    private func runnerEvent(_ event: HAProxyRunnerEvent) {
        switch event {
        case .problemChanged:
            problemHandler?()
        case .restartedFromFile:
            // What runs is the file on disk, which is what proxym last wrote.
            reloadCount += 1
            if let slots = liveSlots { liveSlots = slots.afterReload }
            problemHandler?()
            restartHandler?()
        }
    }

    // MARK: Applying

    public func apply(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        exclusively { done in
            let reloadsBefore = self.reloadCount
            self.applyNow(services, force: force) { outcome in
                done()
                self.noteApplied(outcome, reloaded: self.reloadCount != reloadsBefore)
                // Orders start once haproxy runs a config that routes the challenge to the client.
                if let acme = self.acme, outcome.isSuccess {
                    acme.update(domains: Self.acmeDomains(services, httpPort: self.settings.httpPort))
                }
                completion(outcome)
            }
        }
    }

    /// Runs `operation` when nothing else runs; `operation` calls its argument when it is over.
    func exclusively(_ operation: @escaping (@escaping () -> Void) -> Void) {
        guard !busy else {
            queue.append { [weak self] in self?.exclusively(operation) }
            return
        }
        busy = true
        operation { [weak self] in
            guard let self else { return }
            self.busy = false
            if !self.queue.isEmpty { self.queue.removeFirst()() }
        }
    }

    private func applyNow(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        let options: RenderOptions
        let socket: StatsSocketChoice?
        do {
            (options, socket) = try self.options(services)
        } catch {
            completion(.failed("cannot render: \(error)", retry: false))
            return
        }
        let tls = prepareCertificates(services)
        if settings.runtimeAPI {
            applySlotted(services, options: options, socket: socket, tls: tls, force: force, completion: completion)
        } else {
            applyRendered(services, options: options, socket: socket, tls: tls, force: force, completion: completion)
        }
    }

    /// Without the Runtime API: the render (patched by the memo when only hosts changed), then the
    /// certificates alone when nothing else changed, else the reload pipeline.
    private func applyRendered(
        _ services: [Service], options: RenderOptions, socket: StatsSocketChoice?, tls: CertificateState?,
        force: Bool, completion: @escaping (ApplyOutcome) -> Void
    ) {
        let renderBegan = loop.now
        let rendering = HAProxyRenderer.renderWithNotes(services, options: options, memo: &renderMemo)
        let text = rendering.text
        stageDurations.append(("render", loop.now - renderBegan))
        var candidate = Candidate(text: text)
        candidate.vhostMap = rendering.vhostMap
        candidate.statsSocket = socket?.path
        if let socket, socket.exposesListeners && socket.isAdmin { candidate.exposedSocket = socket.path }
        candidate.certificates = tls
        if let range = renderMemo.lastRewrittenRange, let liveText {
            candidate.differsFromLive = TextBytes.differ(text, liveText, within: range)
        }
        if !force, !candidate.differsFromLive, text == liveText, rendering.vhostMap == liveVHostMap, tls != nil {
            applyCertificates(candidate, completion: completion)
            return
        }
        applyText(candidate, force: force, completion: completion)
    }

    /// With the Runtime API: the slot layout, then what the slot planner decides (nothing, Runtime
    /// API commands, or a reload of the compacted layout).
    private func applySlotted(
        _ services: [Service], options: RenderOptions, socket: StatsSocketChoice?, tls: CertificateState?,
        force: Bool, completion: @escaping (ApplyOutcome) -> Void
    ) {
        let renderBegan = loop.now
        let sections = HAProxyRenderer.sections(services, options: options)
        let assignment = SlotPlanner.assign(
            live: liveSlots ?? SlotTable(), sections: sections, now: loop.now.nanoseconds, options: slotOptions)
        var candidate = slotted(assignment.table, services, sections: sections, options: options, socket: socket)
        stageDurations.append(("render", loop.now - renderBegan))
        candidate.certificates = tls
        if liveSlots == nil {
            // Unknown live state: the fresh layout (what a reload would load) is the one to compare
            // with the file on disk at startup, and to reload otherwise.
            applyText(candidate, force: force, completion: completion)
            return
        }
        var decision =
            force
            ? SlotPlanner.Decision.reload(reasons: ["SIGHUP: full re-apply"])
            : SlotPlanner.decide(
                live: liveSlots, liveSkeleton: liveSkeleton, new: assignment, newSkeleton: candidate.skeleton ?? "")
        if case .unchanged = decision, candidate.text == liveText, candidate.vhostMap != liveVHostMap {
            // Only virtual hosts of existing backends moved: the map changes through the Runtime API.
            decision = .runtime(commands: [])
        }
        switch decision {
        case .unchanged where candidate.text == liveText:
            if tls != nil {
                applyCertificates(candidate, completion: completion)
            } else {
                completion(.unchanged("unchanged"))
            }
        case .runtime(let commands):
            runtimeApplyThenCertificates(candidate, commands: commands, completion: completion)
        case .unchanged, .reload:
            if case .reload(let reasons) = decision, !force {
                logger.info("reload needed", metadata: ["reasons": "\(reasons.joined(separator: "; "))"])
            }
            let table = SlotPlanner.compacted(assignment.table, options: slotOptions)
            candidate = slotted(table, services, sections: sections, options: options, socket: socket)
            applyText(candidate, force: force, completion: completion)
        }
    }

    /// The servers through the Runtime API; the certificates, if they changed too, follow the same way.
    private func runtimeApplyThenCertificates(
        _ candidate: Candidate, commands: [RuntimeCommand], completion: @escaping (ApplyOutcome) -> Void
    ) {
        runtimeApply(candidate, commands: commands) { [weak self] outcome in
            guard let self, candidate.certificates != nil, case .applied(let summary) = outcome,
                self.liveText == candidate.text
            else {
                completion(outcome)
                return
            }
            self.applyCertificates(candidate) { certificates in
                if case .applied(let more) = certificates {
                    completion(.applied(summary + "; " + more))
                } else if case .unchanged = certificates {
                    completion(outcome)
                } else {
                    completion(certificates)
                }
            }
        }
    }

    /// `haproxy -c` takes longer the bigger the config: 50,000 services (8.2 MiB) took 10 s of CPU
    /// here (1.2 s per MiB), 30 s on a loaded 2-core machine. The check gets
    /// PROXYM_HAPROXY_COMMAND_TIMEOUT plus 5 s per MiB of config, and twice that after a check timed
    /// out (up to 16 times, back to once after a check that finished), so a big config on a busy
    /// machine gets through on a retry instead of timing out for ever.
    public func checkTimeout(bytes: Int) -> Duration {
        (settings.commandTimeout + .seconds(5 * (bytes >> 20))) * checkPatience
    }

    /// Doubles after each check that timed out (at most 16), 1 after one that finished.
    var checkPatience = 1

    public var commandLimit: Duration { max(settings.commandTimeout, lastCheckTimeout) }

    // MARK: Temp files

    /// The temp file of the apply under way (written, being checked): removed on every way out.
    var pendingTemp: String?
    /// The `haproxy -c` under way, ended on the way out.
    var checking: ChildProcess?
    var lastCheckTimeout: Duration = .zero
}
