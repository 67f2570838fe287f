import Logging
import ProxymCore

/// Keeps haproxy running for the runners that start it (`sf`, and master-worker's own master): when it
/// dies it is started again at once, then backing off 1 s, 2 s ... 60 s while it keeps dying within
/// 30 s of a start. Holds the runner's `problem` and reports its changes and the restarts (`onEvent`).
final class RestartSupervisor {
    private let loop: EventLoop
    private let logger: Logger
    private var backoff = Backoff(first: .zero, initial: .seconds(1), cap: .seconds(60))
    /// A start counts as lasting (the backoff starts over) when haproxy then runs this long.
    private let lasting: Duration = .seconds(30)
    private var startedAt: Instant?
    private var timer: EventLoop.TimerHandle?
    private(set) var problem: String?
    var onEvent: ((HAProxyRunnerEvent) -> Void)?

    init(loop: EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
    }

    var restartPending: Bool { timer != nil }

    /// haproxy (re)started: nothing is wrong any more, and the time it lasts starts now.
    func started() {
        startedAt = loop.now
        setProblem(nil)
    }

    /// A reload or start is about to run anyway: no restart needed.
    func cancelRestart() {
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    /// haproxy died: says so (`<summary>; restarting it`, the problem `<summary> (<detail>); restarting
    /// it in <delay>`), then calls `restart` after the backoff delay. `restart` starts haproxy and
    /// calls back with the outcome; an applied one is reported as a restart from the file on disk.
    /// Nothing happens while a restart is already pending.
    func restartAfterDeath(
        _ summary: String, detail: String, metadata: Logger.Metadata,
        restart: @escaping (_ done: @escaping (ApplyOutcome) -> Void) -> Void
    ) {
        guard timer == nil else { return }
        if let startedAt, loop.now - startedAt >= lasting { backoff.reset() }
        let delay = backoff.take()
        logger.error("\(summary); restarting it", metadata: metadata.merging(["in": "\(delay)"]) { $1 })
        setProblem("\(summary) (\(detail)); restarting it in \(delay)")
        timer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.timer = nil
            restart { [weak self] outcome in
                guard let self, case .applied = outcome else { return }
                self.logger.notice("haproxy restarted from the config file")
                self.onEvent?(.restartedFromFile)
            }
        }
    }

    func setProblem(_ text: String?) {
        guard problem != text else { return }
        problem = text
        onEvent?(.problemChanged)
    }
}

/// A runner that starts haproxy itself: its problem and its events are its supervisor's.
protocol SupervisedRunner: HAProxyRunner {
    var supervisor: RestartSupervisor { get }
}

extension SupervisedRunner {
    var problem: String? { supervisor.problem }
    var onEvent: ((HAProxyRunnerEvent) -> Void)? {
        get { supervisor.onEvent }
        set { supervisor.onEvent = newValue }
    }
}
