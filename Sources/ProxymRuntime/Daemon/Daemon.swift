import Logging
import ProxymCore
import ProxymModel
import ProxymPosix

/// The daemon: one loop, notifiers that say "something changed", a scheduler that coalesces, a whole
/// refresh (every generator's complete list, merged, rendered, applied only if changed), and systemd
/// told what is going on.
///
/// Signals: SIGUSR1 = refresh (Signal module), SIGHUP = full resync and re-apply (RELOADING=1 …
/// READY=1), SIGTERM/SIGINT = graceful stop (STOPPING=1, let a running refresh finish, exit 0).
public final class Daemon {
    private let settings: Settings
    private let loop: EventLoop
    private let logger: Logger
    private let serviceManager: any ServiceManager
    private let wallClock: () -> String

    private var generators: [any ServiceGenerator] = []
    private var notifiers: [any Notifier] = []
    private var configGenerators: [any ConfigGenerator] = []

    private var scheduler: RefreshScheduler
    private var refreshTimer: EventLoop.TimerHandle?
    private var signalSource: SignalSource?

    /// Per generator: the last list it produced successfully, and its current failure if any.
    private var lastGood: [String: [Service]] = [:]
    private var failures: [String: (message: String, since: String)] = [:]
    private var lastProblems: Set<ServiceMerger.Problem> = []
    private var status: StatusReport

    private var ready = false
    private var reloadInProgress = false
    private var currentBatchHasSighup = false
    private var stopping = false
    private var notifiersStopping = 0
    private var retryDelay: Duration?
    private var retryTimer: EventLoop.TimerHandle?

    /// The safety guard, and per source the services of the last refresh it let through.
    private var safetyGuard: RemovalGuard
    private var appliedSources: [String: [Service]]?
    private var guardTimer: EventLoop.TimerHandle?
    /// The STATUS text of a refresh the guard holds, if any.
    private var heldAlert: String?

    /// Exit status of `run()`.
    public private(set) var exitCode: Int32 = 0

    public init(
        settings: Settings, loop: EventLoop, logger: Logger, serviceManager: any ServiceManager,
        environment: [String: String], wallClock: @escaping () -> String = TimeOfDay.now
    ) throws {
        self.settings = settings
        self.loop = loop
        self.logger = logger
        self.serviceManager = serviceManager
        self.wallClock = wallClock
        self.scheduler = RefreshScheduler(quietPeriod: settings.refresh.quietPeriod, maxDelay: settings.refresh.maxDelay)
        self.safetyGuard = RemovalGuard(
            maxRemovalShare: settings.safetyGuard.maxRemovalShare, hold: settings.safetyGuard.hold)

        if settings.file.enabled {
            let file = FileModule(directory: settings.file.configsPath, loop: loop, logger: logger)
            generators.append(file)
            notifiers.append(file)
        }
        if settings.marathon.enabled {
            let marathon = try MarathonModule(
                settings: settings.marathon, httpPort: settings.haproxy.httpPort, loop: loop, logger: logger)
            generators.append(marathon)
            notifiers.append(marathon)
        }
        if settings.haproxy.enabled {
            // HTTPS: the certificate directory is a watched input of the HAProxy output (started
            // before the first refresh, so the files haproxy loads exist), ACME a helper of it.
            var certificates: CertificateStore?
            var acme: ACMEManager?
            if settings.tls.enabled {
                let store = CertificateStore(settings: settings.tls, loop: loop, logger: logger)
                notifiers.append(store)
                certificates = store
                if settings.tls.acme.enabled {
                    let manager = ACMEManager(
                        settings: settings.tls, store: store, loop: loop, logger: logger, environment: environment)
                    notifiers.append(manager)
                    acme = manager
                }
            }
            do {
                configGenerators.append(
                    try HAProxyModule(
                        settings: settings.haproxy, loop: loop, logger: logger, environment: environment,
                        tls: settings.tls, certificates: certificates, acme: acme))
            } catch let error as GeneratorFailure {
                throw error
            }
        }
        if generators.isEmpty {
            logger.warning("no service source is enabled (set PROXYM_FILE_ENABLED=1); the config will have no services")
        }
        if configGenerators.isEmpty {
            logger.warning("PROXYM_HAPROXY_ENABLED is off: services are computed and logged, nothing is written")
        }
        self.status = StatusReport(serviceCount: 0, sources: generators.map { .init(name: $0.name, serviceCount: 0) })
    }

    /// What a signal means to the daemon. Tests inject these directly instead of sending signals.
    public enum Command: Sendable, Equatable {
        /// SIGUSR1 (Signal module): refresh.
        case refresh
        /// SIGHUP: re-read every input and re-apply, with RELOADING=1 ... READY=1.
        case reload
        /// SIGTERM/SIGINT: graceful stop; the payload names the signal for the log.
        case stop(String)
    }

    /// Sets everything up (signalfd, notifiers, watchdog) and schedules the startup refresh, without
    /// running the loop. `run()` = `start()` + the loop; tests call `start()` and step the loop.
    public func start(listenForSignals: Bool = true) throws {
        if listenForSignals {
            signalSource = try SignalSource(loop: loop, signals: SignalSet([.usr1, .hup, .term, .int])) {
                [weak self] signal, sender in
                self?.handle(signal: signal, sender: sender)
            }
        }
        for notifier in notifiers {
            try notifier.start { [weak self] reason in self?.requestRefresh(reason) }
        }
        for output in configGenerators {
            let name = output.name
            output.observe(
                problems: { [weak self] in self?.outputProblemsChanged() },
                restarts: { [weak self] in self?.requestRefresh(RefreshReason("\(name) restarted from the config file")) })
        }
        if let interval = serviceManager.watchdogInterval {
            scheduleWatchdog(every: interval / 2)
            logger.debug("watchdog enabled", metadata: ["ping_every": "\(interval / 2)"])
        }
        logger.info(
            "proxym starting",
            metadata: [
                "version": "\(ProxymVersion.string)",
                "sources": "\(generators.map(\.name).joined(separator: ","))",
                "outputs": "\(configGenerators.map(\.name).joined(separator: ","))",
            ])
        requestRefresh(.startup, immediate: true)
    }

    /// Runs until SIGTERM/SIGINT; returns the exit status.
    public func run() throws -> Int32 {
        try start()
        try loop.run()
        signalSource?.close()
        signalSource = nil
        logger.info("proxym stopped")
        return exitCode
    }

    /// True once the first refresh finished (READY=1 was sent).
    public var isReady: Bool { ready }
    /// True after a stop command, once the loop was told to stop.
    public var isStopping: Bool { stopping }
    /// The current STATUS= line.
    public var statusLine: String { status.line }

    // MARK: Signals

    private func handle(signal: Signal, sender: Int32) {
        logger.debug("signal received", metadata: ["signal": "\(signal)", "sender_pid": "\(sender)"])
        switch signal {
        case .usr1: handle(.refresh)
        case .hup: handle(.reload)
        case .term, .int: handle(.stop(signal.description))
        default: logger.debug("unexpected signal ignored", metadata: ["signal": "\(signal)"])
        }
    }

    public func handle(_ command: Command) {
        switch command {
        case .refresh:
            if settings.signalEnabled {
                requestRefresh(.sigusr1)
            } else {
                logger.notice("SIGUSR1 ignored: the Signal module is off (PROXYM_SIGNAL_ENABLED)")
            }
        case .reload:
            guard !stopping else { return }
            logger.info("SIGHUP: full resync")
            reloadInProgress = true
            notify("RELOADING=1\nMONOTONIC_USEC=\(loop.now.microseconds)\nSTATUS=Reloading: full resync")
            requestRefresh(.sighup, immediate: true)
        case .stop(let signal):
            beginShutdown(signal: signal)
        }
    }

    private func beginShutdown(signal: String) {
        guard !stopping else {
            logger.notice("second stop signal: exiting now", metadata: ["signal": "\(signal)"])
            loop.stop()
            return
        }
        stopping = true
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        notify("STOPPING=1\nSTATUS=Stopping")
        if let refreshTimer { loop.cancel(refreshTimer) }
        if let retryTimer { loop.cancel(retryTimer) }
        if let guardTimer { loop.cancel(guardTimer) }
        notifiersStopping = notifiers.count
        for notifier in notifiers {
            var called = false
            notifier.stop { [weak self] in
                guard let self, !called else { return }
                called = true
                self.notifiersStopping -= 1
                self.finishStopIfDone()
            }
        }
        if scheduler.isRunning {
            logger.info("waiting for the running refresh to finish")
        }
        // Bounded: a refresh's children have their own timeout; unregistering gets a few seconds.
        let limit = scheduler.isRunning ? settings.haproxy.commandTimeout * 2 + .seconds(5) : .seconds(5)
        loop.schedule(after: limit) { [weak self] in
            self?.logger.warning("shutdown did not finish in time; exiting anyway")
            self?.loop.stop()
        }
        finishStopIfDone()
    }

    /// Stops the loop once no refresh runs and every notifier has cleaned up.
    private func finishStopIfDone() {
        guard stopping, notifiersStopping == 0, !scheduler.isRunning else { return }
        loop.stop()
    }

    // MARK: Scheduling

    private func requestRefresh(_ reason: RefreshReason, immediate: Bool = false) {
        guard !stopping else { return }
        logger.debug("change noticed", metadata: ["reason": "\(reason)"])
        apply(scheduler.request(reason, at: loop.now, immediate: immediate))
    }

    private func apply(_ decision: RefreshScheduler.Decision) {
        if let refreshTimer {
            loop.cancel(refreshTimer)
            self.refreshTimer = nil
        }
        if let deadline = decision.timer {
            refreshTimer = loop.schedule(at: deadline) { [weak self] in
                guard let self else { return }
                self.refreshTimer = nil
                self.apply(self.scheduler.timerExpired(at: self.loop.now))
            }
        }
        if let batch = decision.start { startRefresh(batch) }
    }

    // MARK: Refresh

    private func startRefresh(_ batch: RefreshScheduler.Batch) {
        let fullResync = batch.forcesFullResync
        currentBatchHasSighup = batch.reasons.contains(.sighup)
        logger.info(
            "refresh",
            metadata: ["trigger": "\(batch.summary())"] + (fullResync ? ["mode": "full resync"] : [:]))
        var remaining = generators.count
        if remaining == 0 {
            finishGenerating(fullResync: fullResync)
            return
        }
        for generator in generators {
            let name = generator.name
            var answered = false
            generator.generate(fullResync: fullResync) { [weak self] result in
                guard let self, !answered else { return }
                answered = true
                self.record(name: name, result: result)
                remaining -= 1
                if remaining == 0 { self.finishGenerating(fullResync: fullResync) }
            }
        }
    }

    private func record(name: String, result: Result<[Service], GeneratorFailure>) {
        switch result {
        case .success(let services):
            if let failure = failures.removeValue(forKey: name) {
                logger.notice(
                    "source recovered", metadata: ["source": "\(name)", "failing_since": "\(failure.since)"])
            }
            lastGood[name] = services
        case .failure(let error):
            let kept = lastGood[name]?.count ?? 0
            if failures[name]?.message != error.message {
                logger.error(
                    "source failed; keeping its last good services",
                    metadata: ["source": "\(name)", "error": "\(error.message)", "kept": "\(kept)"])
            }
            failures[name] = (error.message, failures[name]?.since ?? wallClock())
        }
    }

    private func finishGenerating(fullResync: Bool) {
        let merged = ServiceMerger.merge(
            generators.map { lastGood[$0.name] ?? [] }, httpPort: settings.haproxy.httpPort)
        let problems = Set(merged.problems)
        for problem in merged.problems {
            // A conflict is logged once when it appears (and again after SIGHUP), not every refresh.
            if lastProblems.contains(problem) && !fullResync {
                logger.debug("\(problem)")
            } else if problem.severity == .error {
                logger.error("\(problem)")
            } else {
                logger.warning("\(problem)")
            }
        }
        lastProblems = problems
        status.serviceCount = merged.services.count
        status.skippedServices = merged.problems.filter { $0.severity == .error }.count
        status.sources = generators.map {
            StatusReport.Source(
                name: $0.name, serviceCount: lastGood[$0.name]?.count ?? 0, failure: failures[$0.name]?.message,
                failingSince: failures[$0.name]?.since, note: $0.statusNote)
        }
        logger.debug("services merged", metadata: ["count": "\(merged.services.count)"])

        let candidate = Dictionary(uniqueKeysWithValues: generators.map { ($0.name, lastGood[$0.name] ?? []) })
        switch safetyGuard.check(
            applied: appliedSources, candidate: candidate, now: loop.now, force: currentBatchHasSighup)
        {
        case .proceed(let note):
            if let guardTimer { loop.cancel(guardTimer) }
            guardTimer = nil
            if let note { logger.notice("safety guard: \(note)") }
            if heldAlert != nil {
                heldAlert = nil
                updateAlerts()
            }
            appliedSources = candidate
        case .hold(let reason, _, let until):
            if heldAlert == nil {
                heldSinceText = wallClock()
                logger.warning(
                    "safety guard: refresh held back; the live config stays",
                    metadata: [
                        "reason": "\(reason)", "applies_in": "\(until - loop.now)",
                        "override": "SIGHUP applies it at once",
                    ])
            }
            heldAlert =
                "HELD since \(heldSinceText ?? wallClock()): \(reason); applied if it persists \(settings.safetyGuard.hold), or at once on SIGHUP"
            updateAlerts()
            if guardTimer == nil {
                guardTimer = loop.schedule(at: until) { [weak self] in
                    self?.guardTimer = nil
                    self?.requestRefresh(RefreshReason("safety guard hold over"), immediate: true)
                }
            }
            finishRefresh(outcomes: [.unchanged("HELD by the safety guard")], serviceCount: merged.services.count)
            return
        }
        // Only SIGHUP forces a re-apply. The startup refresh re-reads everything too, but an output
        // whose file on disk is already current leaves the running haproxy alone.
        applyConfigs(merged.services, force: currentBatchHasSighup, index: 0, outcomes: [])
    }

    private var heldSinceText: String?

    /// STATUS alerts: a held refresh, and every output's problem (haproxy down, ...).
    private func updateAlerts() {
        status.alerts = (heldAlert.map { [$0] } ?? []) + configGenerators.compactMap { output in output.problem.map { "FAILING: \(output.name) (\($0))" } }
            + configGenerators.flatMap(\.statusNotes)
    }

    private func outputProblemsChanged() {
        updateAlerts()
        notify("STATUS=\(status.line)")
    }

    private func applyConfigs(_ services: [Service], force: Bool, index: Int, outcomes: [ApplyOutcome]) {
        guard index < configGenerators.count else {
            finishRefresh(outcomes: outcomes, serviceCount: services.count)
            return
        }
        configGenerators[index].apply(services, force: force) { [weak self] outcome in
            self?.applyConfigs(services, force: force, index: index + 1, outcomes: outcomes + [outcome])
        }
    }

    private func finishRefresh(outcomes: [ApplyOutcome], serviceCount: Int) {
        updateAlerts()
        var summary = outcomes.map(\.summary).joined(separator: "; ")
        if outcomes.isEmpty { summary = "computed (no output configured)" }
        status.lastRefresh = wallClock()
        status.lastOutcome = summary
        let failed = outcomes.contains { if case .failed = $0 { return true } else { return false } }
        let retry = outcomes.contains { if case .failed(_, true) = $0 { return true } else { return false } }
        if failed {
            logger.error("refresh failed", metadata: ["services": "\(serviceCount)", "outcome": "\(summary)"])
        } else {
            logger.info("refresh done", metadata: ["services": "\(serviceCount)", "outcome": "\(summary)"])
        }
        scheduleRetry(retry)

        var message = "STATUS=\(status.line)"
        if !ready {
            ready = true
            message = "READY=1\n" + message
            logger.notice("ready", metadata: ["services": "\(serviceCount)"])
        }
        if currentBatchHasSighup && reloadInProgress {
            reloadInProgress = false
            message = "READY=1\n" + message
        }
        notify(message)
        // What the refresh built and dropped (decoded apps, the old services) goes back to the kernel
        // rather than staying resident until the next refresh: on the next turn of the loop, once
        // the callbacks that ran this refresh have returned and let go of it.
        loop.schedule(after: .zero) { Memory.trim() }

        if stopping {
            if scheduler.isRunning { _ = scheduler.finished(at: loop.now) }
            finishStopIfDone()
            return
        }
        apply(scheduler.finished(at: loop.now))
    }

    /// A failed reload is retried with backoff (1 s doubling to 60 s); success resets it.
    private func scheduleRetry(_ needed: Bool) {
        if let retryTimer {
            loop.cancel(retryTimer)
            self.retryTimer = nil
        }
        guard needed else {
            retryDelay = nil
            return
        }
        let delay = retryDelay.map { min($0 * 2, .seconds(60)) } ?? .seconds(1)
        retryDelay = delay
        logger.notice("will retry", metadata: ["in": "\(delay)"])
        retryTimer = loop.schedule(after: delay) { [weak self] in
            self?.retryTimer = nil
            self?.requestRefresh(RefreshReason("retry after failed apply"), immediate: true)
        }
    }

    private var notifyRetry: EventLoop.TimerHandle?

    /// sd_notify that never blocks the loop: what the service manager could not send at once (its
    /// receiver's queue was full) is retried every 100 ms until it is through.
    private func notify(_ state: String) {
        serviceManager.notify(state)
        scheduleNotifyRetry()
    }

    private func scheduleNotifyRetry() {
        guard notifyRetry == nil, serviceManager.hasPendingNotifications else { return }
        notifyRetry = loop.schedule(after: .milliseconds(100)) { [weak self] in
            guard let self else { return }
            self.notifyRetry = nil
            if !self.serviceManager.flush() { self.scheduleNotifyRetry() }
        }
    }

    private func scheduleWatchdog(every interval: Duration) {
        loop.schedule(after: interval) { [weak self] in
            guard let self else { return }
            self.notify("WATCHDOG=1")
            self.scheduleWatchdog(every: interval)
        }
    }
}

extension Logger.Metadata {
    static func + (lhs: Logger.Metadata, rhs: Logger.Metadata) -> Logger.Metadata {
        lhs.merging(rhs) { _, new in new }
    }
}

/// `14:03:22`, local time, for the status line.
public enum TimeOfDay {
    public static func now() -> String {
        let t = WallClock.localTime(seconds: WallClock.now().seconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(t.hour)):\(two(t.minute)):\(two(t.second))"
    }
}
