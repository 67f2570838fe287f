import Logging
import ProxymCore
import ProxymModel
import ProxymObserve
import ProxymPosix

/// The daemon: one loop, independent sources that keep their own latest lists and say when they
/// changed, a scheduler that coalesces, a refresh that merges the lists as they are at that moment
/// (`RefreshPipeline`: merge, safety guard) and applies the result only if it changed, and systemd
/// told what is going on. The sequencing decisions are pure values (`SourceGate`,
/// `ReadinessSequence`, `ApplyRetry`, `ShutdownSequence`); this class carries them out.
///
/// Start-up: the first apply waits for every source's first answer (success or failure), at most
/// `PROXYM_SOURCE_WAIT`; after that nothing ever waits on a source.
/// Signals: SIGUSR1 = every source looks again and a refresh follows (Signal module), SIGHUP = every source re-reads itself whole and the
/// result is re-applied (RELOADING=1 … READY=1, the re-apply waiting for the sources' answers at most
/// `PROXYM_SOURCE_WAIT`), SIGTERM/SIGINT = graceful stop (STOPPING=1, let a running refresh finish,
/// exit 0). Other signals that would kill or stop the process are logged and ignored.
public final class Daemon {
    /// A read running longer than this makes its source stale in STATUS (and one WARNING).
    static let stalePatience: Duration = .seconds(5)

    let settings: Settings
    let loop: EventLoop
    let logger: Logger
    let serviceManager: any ServiceManager
    let wallClock: () -> String

    let sources: [any ServiceSource]
    var outputs: [any ConfigGenerator] = []

    let refreshes: ScheduledRuns
    var pipeline: RefreshPipeline
    var readiness = ReadinessSequence()
    var reloadAnswers = ReloadAnswers()
    var retry = ApplyRetry()
    var shutdown = ShutdownSequence()
    private var gate: SourceGate?

    var retryTimer: EventLoop.TimerHandle?
    var guardTimer: EventLoop.TimerHandle?
    private var gateTimer: EventLoop.TimerHandle?
    private var staleTimers: [String: EventLoop.TimerHandle] = [:]
    private var signalSource: SignalSource?
    private var strays = StraySignalLog()

    var status: StatusReport
    /// When the daemon was made (uptime on the status endpoints).
    let startedAt: Moment
    /// The status listener (`PROXYM_STATUS_ADDRESS`), and why it is not there when it should be.
    var statusServer: HTTPServer?
    var statusListenerAlert: String?
    /// The refresh the safety guard holds, for the status endpoints.
    var held: StatusSnapshot.Held?
    /// Refreshes by trigger and result, stage durations (for /metrics).
    var refreshMetrics = RefreshMetrics()
    /// Servers in the last plan: counted when /metrics asks, not on every refresh (at 10,000 services
    /// that count is a tenth of the time an edited file takes to reach the config).
    var serverCount: Int { plannedServices.reduce(0) { $0 + $1.hosts.count } }
    /// The last plan's services and merge problems (for /api/v1/services).
    var plannedServices: [Service] = []
    var mergeProblems: [RefreshPipeline.Problem] = []
    /// The batch of the running refresh, and when it began.
    var running: (batch: RefreshScheduler.Batch, startedAt: Moment)?
    /// The STATUS text of a refresh the guard holds, if any.
    var heldAlert: String?
    var heldSinceText: String?
    /// Sources already reported stale (one WARNING each time one becomes stale).
    private var reportedStale: Set<String> = []
    /// The last refreshes, newest last: trigger, duration, outcome (for a status endpoint).
    public internal(set) var recentRefreshes = RefreshHistory()

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
        self.startedAt = SourceRecord.moment(on: loop)
        self.refreshes = ScheduledRuns(
            RefreshScheduler(quietPeriod: settings.refresh.quietPeriod, maxDelay: settings.refresh.maxDelay), loop: loop)
        self.pipeline = RefreshPipeline(
            httpPort: settings.haproxy.httpPort, maxRemovalShare: settings.safetyGuard.maxRemovalShare,
            guardHold: settings.safetyGuard.hold)
        self.sources = try ServiceSources.make(settings: settings, loop: loop, logger: logger)
        if settings.haproxy.enabled {
            outputs.append(
                try HAProxyModule(
                    settings: settings.haproxy, loop: loop, logger: logger, environment: environment, tls: settings.tls))
        }
        if sources.isEmpty {
            logger.warning("no service source is enabled (set PROXYM_FILE_ENABLED=1); the config will have no services")
        }
        if outputs.isEmpty {
            logger.warning("PROXYM_HAPROXY_ENABLED is off: services are computed and logged, nothing is written")
        }
        self.status = StatusReport(serviceCount: 0, sources: sources.map { .init(name: $0.name, serviceCount: 0) })
        refreshes.start = { [weak self] batch in self?.startRefresh(batch) }
    }

    /// What a signal means to the daemon. Tests inject these directly instead of sending signals.
    public enum Command: Sendable, Equatable {
        /// SIGUSR1 (Signal module): refresh.
        case refresh
        /// SIGHUP: every source re-reads itself whole; the result is re-applied, RELOADING=1 ... READY=1.
        case reload
        /// SIGTERM/SIGINT: graceful stop; the payload names the signal for the log.
        case stop(String)
    }

    /// Sets everything up (signalfd, sources, watchdog) and starts the sources' first reads, without
    /// running the loop. `run()` = `start()` + the loop; tests call `start()` and step the loop.
    public func start(listenForSignals: Bool = true) throws {
        if listenForSignals {
            signalSource = try SignalSource(loop: loop, signals: ProcessSetup.daemonSignals) {
                [weak self] info in
                self?.handle(signal: info)
            }
        }
        for output in outputs {
            let name = output.name
            output.removeLeftovers()
            output.observe(
                problems: { [weak self] in self?.outputProblemsChanged() },
                restarts: { [weak self] in self?.requestRefresh(RefreshReason("\(name) restarted from the config file")) })
            try output.startInputs { [weak self] reason in self?.requestRefresh(reason) }
        }
        if let interval = serviceManager.watchdogInterval {
            scheduleWatchdog(every: interval / 2)
            logger.debug("watchdog enabled", metadata: ["ping_every": "\(interval / 2)"])
        }
        logger.info(
            "proxym starting",
            metadata: [
                "version": "\(ProxymVersion.string)",
                "sources": "\(sources.map(\.name).joined(separator: ","))",
                "outputs": "\(outputs.map(\.name).joined(separator: ","))",
            ])
        // The first apply waits for every source's first answer (bounded).
        gate = SourceGate(
            purpose: .startup, sources: sources.map(\.name), now: loop.now, patience: settings.refresh.sourceWait)
        for source in sources {
            try source.start(watching: true) { [weak self, weak source] update in
                guard let self, let source else { return }
                self.sourceUpdated(source, update)
            }
        }
        startStatusListener()
        evaluateGate()
    }

    /// Runs until SIGTERM/SIGINT; returns the exit status. Temp files are removed on every way out.
    public func run() throws -> Int32 {
        defer { cleanUp() }
        try start()
        try loop.run()
        statusServer?.close()
        statusServer = nil
        signalSource?.close()
        signalSource = nil
        logger.info("proxym stopped")
        return exitCode
    }

    /// Removes this run's temp files and ends a check still running (every way out of `run`).
    public func cleanUp() {
        for output in outputs { output.cleanUp() }
    }

    /// True once the first refresh finished (READY=1 was sent).
    public var isReady: Bool { readiness.isReady }
    /// True after a stop command, once the loop was told to stop.
    public var isStopping: Bool { shutdown.isStopping }
    /// The current STATUS= line.
    public var statusLine: String { status.line }
    /// Every source's state, as it is now.
    public var sourceStates: [SourceState] { sources.map(\.state) }

    // What the refresh code keeps between calls (Daemon+Refresh.swift).
    var lastSentStatus: String?
    var notifyRetry: EventLoop.TimerHandle?

    // MARK: Signals

    private func handle(signal info: SignalFD.Info) {
        let signal = info.signal
        let sender = info.senderPID
        logger.debug("signal received", metadata: ["signal": "\(signal)", "sender_pid": "\(sender)"])
        switch signal {
        case .usr1: handle(.refresh)
        case .hup:
            // `proxym reload` asks to be answered once the resync is applied.
            if info.isQueued && info.value == ReloadAnswers.marker && !shutdown.isStopping {
                reloadAnswers.asked(by: sender)
            }
            handle(.reload)
        case .term, .int: handle(.stop(signal.description))
        default:
            // Our own writes to a closed pipe raise SIGPIPE too (the write itself returns EPIPE).
            if signal == .pipe && sender == CurrentProcess.pid { return }
            if let line = strays.received(signal.description, at: loop.now) {
                logger.notice(
                    "\(line); ignored", metadata: ["signal": "\(signal)", "sender_pid": "\(sender)"])
            }
        }
    }

    public func handle(_ command: Command) {
        switch command {
        case .refresh:
            if settings.signalEnabled {
                // Every source looks again (Marathon fetches, coalesced with a fetch under way).
                for source in sources { source.resync(.sigusr1) }
                requestRefresh(.sigusr1)
            } else {
                logger.notice("SIGUSR1 ignored: the Signal module is off (PROXYM_SIGNAL_ENABLED)")
            }
        case .reload:
            guard !shutdown.isStopping else { return }
            logger.info("SIGHUP: full resync")
            let lines = readiness.handle(.reloadRequested(now: loop.now))
            if !lines.isEmpty { notify((lines + ["STATUS=Reloading: full resync"]).joined(separator: "\n")) }
            if gate?.purpose != .startup {
                // The re-apply waits for every source's whole re-read (bounded); nothing else does.
                gate = SourceGate(
                    purpose: .reload, sources: sources.map(\.name), now: loop.now, patience: settings.refresh.sourceWait)
            }
            for source in sources { source.resync(.sighup) }
            evaluateGate()
        case .stop(let signal):
            beginShutdown(signal: signal)
        }
    }

    // MARK: Sources

    private func sourceUpdated(_ source: any ServiceSource, _ update: SourceUpdate) {
        guard !shutdown.isStopping else { return }
        // Until the first apply, the start-up refresh takes every list as it is then.
        let starting = gate?.purpose == .startup
        watchStaleness(of: source)
        if let begun = update.answeredReadBegunAt { refreshMetrics.stage("fetch", took: loop.now - begun) }
        if let begun = update.answeredReadBegunAt, var current = gate {
            _ = current.answered(source.name, readBegan: begun, now: loop.now)
            gate = current
            evaluateGate()
        }
        if update.listChanged && !starting {
            guard !shutdown.isStopping else { return }
            logger.debug("change noticed", metadata: ["reason": "\(update.reason)"])
            refreshes.request(update.reasons, count: update.changeCount)
        } else if readiness.isReady {
            refreshStatus()
        }
    }

    /// Opens the gate when every source answered or its deadline passed: the start-up refresh, or
    /// the re-apply after SIGHUP.
    private func evaluateGate() {
        guard let current = gate else { return }
        if let gateTimer { loop.cancel(gateTimer) }
        gateTimer = nil
        switch current.check(now: loop.now) {
        case .wait(let until):
            gateTimer = loop.schedule(at: until) { [weak self] in
                self?.gateTimer = nil
                self?.evaluateGate()
            }
        case .open(let missing):
            gate = nil
            if !missing.isEmpty {
                logger.warning(
                    current.purpose == .startup
                        ? "starting without waiting longer for a source: it keeps no services until it answers"
                        : "re-applying without waiting longer for a source: it keeps its last good services",
                    metadata: [
                        "sources": "\(missing.joined(separator: ","))", "waited": "\(settings.refresh.sourceWait)",
                        "setting": "PROXYM_SOURCE_WAIT",
                    ])
            }
            requestRefresh(current.purpose == .startup ? .startup : .sighup, immediate: true)
        }
    }

    /// A read that began arms a check at `stalePatience`; STATUS and one WARNING say so then.
    private func watchStaleness(of source: any ServiceSource) {
        let name = source.name
        if let timer = staleTimers.removeValue(forKey: name) { loop.cancel(timer) }
        let state = source.state
        if let stale = state.staleSince(at: loop.now, patience: Self.stalePatience) {
            guard reportedStale.insert(name).inserted, state.fetchingSince != nil, !state.isFailing else { return }
            logger.warning(
                "source is stale: a read has been running for \(loop.now - stale.instant); its last good services stay, the other sources are still applied",
                metadata: [
                    "source": "\(name)", "since": "\(TimeOfDay.text(unixSeconds: stale.unixSeconds))",
                    "last_success": "\(state.lastSuccess.map { TimeOfDay.text(unixSeconds: $0.unixSeconds) } ?? "never")",
                ])
            return
        }
        reportedStale.remove(name)
        if let since = state.fetchingSince {
            staleTimers[name] = loop.schedule(at: since.instant + Self.stalePatience) { [weak self, weak source] in
                guard let self, let source else { return }
                self.staleTimers[name] = nil
                self.watchStaleness(of: source)
                self.refreshStatus()
            }
        }
    }

    // MARK: Shutdown

    private func beginShutdown(signal: String) {
        let step = shutdown.stopRequested(
            now: loop.now, sources: sources.count, refreshRunning: refreshes.isRunning,
            refreshLimit: checkTimeoutBound * 2 + .seconds(5))
        switch step {
        case .exit:
            logger.notice("second stop signal: exiting now", metadata: ["signal": "\(signal)"])
            loop.stop()
            return
        case .wait:
            return
        case .begin(let deadline, let waitingForRefresh):
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            let lines = readiness.handle(.stopRequested)
            notify((lines + ["STATUS=Stopping"]).joined(separator: "\n"))
            refreshes.cancel()
            for timer in [retryTimer, guardTimer, gateTimer].compactMap({ $0 }) { loop.cancel(timer) }
            for timer in staleTimers.values { loop.cancel(timer) }
            staleTimers = [:]
            retryTimer = nil
            guardTimer = nil
            gateTimer = nil
            gate = nil
            for source in sources {
                var called = false
                source.stop { [weak self] in
                    guard let self, !called else { return }
                    called = true
                    self.carryOut(self.shutdown.sourceStopped())
                }
            }
            if waitingForRefresh { logger.info("waiting for the running refresh to finish") }
            loop.schedule(at: deadline) { [weak self] in
                guard let self else { return }
                self.carryOut(self.shutdown.deadlinePassed())
            }
            carryOut(shutdown.next())
        }
    }

    func carryOut(_ step: ShutdownSequence.Step) {
        guard case .exit(let reason) = step else { return }
        if reason == .deadlinePassed { logger.warning("shutdown did not finish in time; exiting anyway") }
        loop.stop()
    }

    /// The longest a running refresh's commands may take (a check's timeout grows with the config).
    private var checkTimeoutBound: Duration {
        outputs.map(\.commandLimit).max() ?? settings.haproxy.commandTimeout
    }

    // MARK: Scheduling

    func requestRefresh(_ reason: RefreshReason, immediate: Bool = false) {
        guard !shutdown.isStopping else { return }
        logger.debug("change noticed", metadata: ["reason": "\(reason)"])
        refreshes.request(reason, immediate: immediate)
    }
}

extension Logger.Metadata {
    static func + (lhs: Logger.Metadata, rhs: Logger.Metadata) -> Logger.Metadata {
        lhs.merging(rhs) { _, new in new }
    }
}

/// `14:03:22`, local time, for the status line.
public enum TimeOfDay {
    public static func now() -> String { text(unixSeconds: WallClock.now().seconds) }

    public static func text(unixSeconds: Int64) -> String {
        let t = WallClock.localTime(seconds: unixSeconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(t.hour)):\(two(t.minute)):\(two(t.second))"
    }
}
