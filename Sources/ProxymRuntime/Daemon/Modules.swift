import Logging
import ProxymCore
import ProxymModel
import ProxymObserve
import ProxymPosix

/// A generator failed to produce its list this time; the daemon keeps its last good services.
public struct GeneratorFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One input of services (the File module, Marathon; later others). It keeps its own latest good list
/// and state, brings them up to date on its own events and timers without ever blocking the loop, and
/// tells the daemon when they changed. A refresh merges the sources' lists as they are at that
/// moment: it never waits on a source that is still reading.
///
/// A source may apply an event that names what changed to its own state (one file, later one
/// Marathon app), but it reads itself whole when it starts, on `resync` (SIGHUP) and wherever it
/// cannot trust its state (an inotify overflow, a reconnect, a periodic resync).
public protocol ServiceSource: AnyObject {
    /// Short name for logs and the status line: `file`, `marathon`.
    var name: String { get }
    /// The latest good list (empty before the first good read): what a refresh merges now.
    var services: [Service] { get }
    /// What it is doing: ok, reading since, failing since (with the error), last success, count.
    var state: SourceState { get }
    /// Reads itself whole at once and, with `watching`, follows its events and timers from then on
    /// (`proxym render` reads once and does not watch). `update` runs on the loop after every change
    /// of the list or the state, never inside this call for an asynchronous source.
    func start(watching: Bool, update: @escaping (SourceUpdate) -> Void) throws
    /// Reads itself again: whole, trusting no cache, when `reason.forcesFullResync` (SIGHUP); else
    /// (SIGUSR1) it may skip what it knows to be unchanged. A read under way is followed by this one.
    func resync(_ reason: RefreshReason)
    /// Stops following changes; `done` runs once the source has cleaned up (e.g. unregistered a
    /// Marathon callback), possibly before this returns. The daemon waits for it, within seconds.
    func stop(done: @escaping () -> Void)
    /// What it counts for /metrics (Marathon events, ...); empty for most.
    var metricFamilies: [MetricFamily] { get }
    /// Inputs it read but could not turn into services (a broken file, an app without a port), and why.
    var skipped: [SkippedInput] { get }
}

extension ServiceSource {
    public var metricFamilies: [MetricFamily] { [] }
    public var skipped: [SkippedInput] { [] }
}

/// What a source tells the daemon.
public struct SourceUpdate: Sendable {
    /// What happened, for the refresh's INFO line (`file web.json changed`, `Marathon
    /// status_update_event`): a few reasons, and how many changes they stand for.
    public var reasons: [RefreshReason]
    public var changeCount: Int
    /// The reasons in one line (`file a.json changed, file b.json created (+3 more)`).
    public var reason: RefreshReason { RefreshReason.combined(reasons, count: changeCount) }
    /// The list changed: the daemon schedules a refresh. False for a change of state only (a read
    /// began, a read failed and the last good list stays, a file turned invalid).
    public var listChanged: Bool
    /// Set when a read finished (well or not): when that read began. Start-up and SIGHUP wait for
    /// an answer to a read begun after they asked.
    public var answeredReadBegunAt: Instant?

    public init(
        reasons: [RefreshReason], changeCount: Int? = nil, listChanged: Bool, answeredReadBegunAt: Instant? = nil
    ) {
        self.reasons = reasons
        self.changeCount = max(changeCount ?? reasons.count, 1)
        self.listChanged = listChanged
        self.answeredReadBegunAt = answeredReadBegunAt
    }
}

public enum ApplyOutcome: Sendable, Equatable {
    /// Nothing to do: the rendered text equals what is live.
    case unchanged(String)
    case applied(String)
    /// `retry`: worth trying again later with the same input (a reload command failed, `haproxy -c`
    /// timed out, was killed or could not be started, the disk was full), as opposed to a config
    /// haproxy ran and rejected (which only a change of input can fix).
    case failed(String, retry: Bool)

    /// Not `.failed`: what is live is what was asked for.
    public var isSuccess: Bool {
        if case .failed = self { return false }
        return true
    }

    public var summary: String {
        switch self {
        case .unchanged(let s): return s
        case .applied(let s): return s
        case .failed(let s, _): return "FAILED: \(s)"
        }
    }
}

/// Turns all services into a proxy configuration and applies it.
public protocol ConfigGenerator: AnyObject {
    var name: String { get }
    /// `force`: write and reload even when the text is unchanged (SIGHUP).
    func apply(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void)
    /// What is wrong with the output outside any apply (haproxy died and is being restarted, ...),
    /// phrased for the STATUS line; nil when all is well.
    var problem: String? { get }
    /// `problems` runs (on the loop) whenever `problem` changes; `restarts` when the proxy was started
    /// again from the file on disk (after it died).
    func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void)
    /// At start (`proxym run` only): removes what an earlier proxym that crashed left behind (its
    /// temp files next to the target).
    func removeLeftovers()
    /// On every way out: removes this run's temp files and ends a check still running.
    func cleanUp()
    /// The longest one command of an apply may run now (`haproxy -c` on the current config size).
    var commandLimit: Duration { get }
    /// Notes for the STATUS line about this output's own inputs (certificates refused, ACME orders
    /// failing), each phrased for a person; empty when there is nothing to say.
    var statusNotes: [String] { get }
    /// Starts what the output watches of its own (the certificate directory): called before the
    /// sources start, so what the first apply needs exists; `requestRefresh` asks for a refresh when
    /// one of those inputs changed.
    func startInputs(requestRefresh: @escaping (RefreshReason) -> Void) throws
    /// What the status endpoints show about this output (method, pids, reloads); nil: nothing to say.
    var observation: OutputObservation? { get }
    /// What it counts for /metrics (reloads, Runtime API operations, certificate expiry).
    var metricFamilies: [MetricFamily] { get }
    /// The stages of the applies since the last call (`render`, `check`, `apply`), for /metrics.
    func takeStageDurations() -> [(String, Duration)]
    /// The configuration text live now (nil: none yet), for /api/v1/config (redacted there).
    var liveConfig: String? { get }
}

extension ConfigGenerator {
    public var problem: String? { nil }
    public var statusNotes: [String] { [] }
    public func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void) {}
    public func removeLeftovers() {}
    public func cleanUp() {}
    public var commandLimit: Duration { .seconds(30) }
    public func startInputs(requestRefresh: @escaping (RefreshReason) -> Void) throws {}
    public var observation: OutputObservation? { nil }
    public var metricFamilies: [MetricFamily] { [] }
    public func takeStageDurations() -> [(String, Duration)] { [] }
    public var liveConfig: String? { nil }
}

/// The bookkeeping every source shares: its latest good list and `SourceState`, the one log line a
/// change of health deserves, and the update to the daemon.
final class SourceRecord {
    let name: String
    private let loop: EventLoop
    private let logger: Logger
    private(set) var services: [Service] = []
    private(set) var state: SourceState
    var update: ((SourceUpdate) -> Void)?

    init(name: String, loop: EventLoop, logger: Logger) {
        self.name = name
        self.loop = loop
        self.logger = logger
        self.state = SourceState(name: name)
    }

    /// Now, on both clocks.
    var now: Moment { Self.moment(on: loop) }

    static func moment(on loop: EventLoop) -> Moment {
        Moment(instant: loop.now, unixSeconds: WallClock.now().seconds)
    }

    /// A read began (asynchronous sources): the daemon hears of it, to say so once it takes long.
    func readBegan(_ reasons: [RefreshReason], count: Int) -> Instant {
        let moment = now
        state.readStarted(at: moment)
        update?(SourceUpdate(reasons: reasons, changeCount: count, listChanged: false))
        return moment.instant
    }

    /// A read succeeded. `listChanged` false: the same list as before (the state may still change).
    func succeeded(
        _ services: [Service], listChanged: Bool, reasons: [RefreshReason], count: Int, begun: Instant,
        note: String? = nil
    ) {
        if listChanged { self.services = services }
        state.note = note
        if case .recovered(let since) = state.succeeded(serviceCount: self.services.count, at: now) {
            logger.notice(
                "source recovered",
                metadata: ["source": "\(name)", "failing_since": "\(TimeOfDay.text(unixSeconds: since.unixSeconds))"])
        }
        update?(SourceUpdate(reasons: reasons, changeCount: count, listChanged: listChanged, answeredReadBegunAt: begun))
    }

    /// A read failed: the last good list stays.
    func failed(_ message: String, reasons: [RefreshReason], count: Int, begun: Instant) {
        if case .failed(let kept) = state.failed(message, at: now) {
            logger.error(
                "source failed; keeping its last good services",
                metadata: ["source": "\(name)", "error": "\(message)", "kept": "\(kept)"])
        }
        update?(SourceUpdate(reasons: reasons, changeCount: count, listChanged: false, answeredReadBegunAt: begun))
    }
}

extension RefreshReason {
    /// One reason for several events: the first few named, the rest counted.
    static func combined(_ reasons: [RefreshReason], count: Int) -> RefreshReason {
        guard reasons.count != 1 || count != 1 else { return reasons[0] }
        let summary = RefreshScheduler.Batch(reasons: reasons, requestCount: count).summary()
        return RefreshReason(summary, forcesFullResync: reasons.contains { $0.forcesFullResync })
    }
}

/// The sources `proxym run` and `proxym render` read, wired from the settings in priority order
/// (earlier wins a merge conflict), and how both report merge problems.
public enum ServiceSources {
    public static func make(settings: Settings, loop: EventLoop, logger: Logger) throws -> [any ServiceSource] {
        var sources: [any ServiceSource] = []
        if settings.file.enabled {
            sources.append(FileModule(directory: settings.file.configsPath, loop: loop, logger: logger))
        }
        if settings.marathon.enabled {
            sources.append(
                try MarathonModule(
                    settings: settings.marathon, httpPort: settings.haproxy.httpPort, refresh: settings.refresh,
                    loop: loop, logger: logger))
        }
        return sources
    }

    /// A conflict is logged at ERROR (a dropped service) or WARNING when it appears, quietly while it
    /// persists. Returns how many services the merge dropped.
    @discardableResult
    static func log(_ problems: [RefreshPipeline.Problem], logger: Logger) -> Int {
        var errors = 0
        for entry in problems {
            let problem = entry.problem
            if problem.severity == .error { errors += 1 }
            if entry.repeated {
                logger.debug("\(problem)")
            } else if problem.severity == .error {
                logger.error("\(problem)")
            } else {
                logger.warning("\(problem)")
            }
        }
        return errors
    }
}

/// Carries out a `RefreshScheduler`'s decisions on the loop: one timer at the instant it names, and
/// `start` for every batch it lets go (the daemon's refreshes, Marathon's fetches).
final class ScheduledRuns {
    private var scheduler: RefreshScheduler
    private let loop: EventLoop
    private var timer: EventLoop.TimerHandle?
    /// Runs a batch; the owner calls `finished()` when it is over.
    var start: ((RefreshScheduler.Batch) -> Void)?

    init(_ scheduler: RefreshScheduler, loop: EventLoop) {
        self.scheduler = scheduler
        self.loop = loop
    }

    var isRunning: Bool { scheduler.isRunning }

    func request(_ reason: RefreshReason, immediate: Bool = false) {
        apply(scheduler.request(reason, at: loop.now, immediate: immediate))
    }

    func request(_ reasons: [RefreshReason], count: Int, immediate: Bool = false) {
        apply(scheduler.request(reasons, count: count, at: loop.now, immediate: immediate))
    }

    /// The running batch is over; `startNext` false (stopping): nothing follows.
    func finished(startNext: Bool = true) {
        guard scheduler.isRunning else { return }
        let decision = scheduler.finished(at: loop.now)
        if startNext { apply(decision) }
    }

    func cancel() {
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    private func apply(_ decision: RefreshScheduler.Decision) {
        cancel()
        if let deadline = decision.timer {
            timer = loop.schedule(at: deadline) { [weak self] in
                guard let self else { return }
                self.timer = nil
                self.apply(self.scheduler.timerExpired(at: self.loop.now))
            }
        }
        if let batch = decision.start { start?(batch) }
    }
}
