import Logging
import ProxymCore
import ProxymHAProxy
import ProxymPosix

/// How a config file that is in place gets into a running haproxy, and who keeps haproxy running:
/// one implementation per `PROXYM_HAPROXY_RELOAD_METHOD`. All of them run on the loop and never block.
protocol HAProxyRunner: AnyObject {
    /// For logs and outcomes: `sf`, `master-worker`, `command`, `none`.
    var methodName: String { get }
    /// Startup with the config file already current: start haproxy if this method runs it and it is
    /// not running; otherwise leave a running haproxy alone.
    func ensureRunning(completion: @escaping (ApplyOutcome) -> Void)
    /// The new file is in place: make haproxy load it (starting it if needed). `exposedSocket`: a stats
    /// socket with `expose-fd listeners` a new process may take the listeners from (`-x`).
    func reload(exposedSocket: String?, completion: @escaping (ApplyOutcome) -> Void)
    /// What is wrong outside any reload (haproxy died, restarting, ...), nil when all is well.
    var problem: String? { get }
    /// Called on the loop when `problem` changed, or haproxy was (re)started from the file on disk.
    var onEvent: ((HAProxyRunnerEvent) -> Void)? { get set }
}

enum HAProxyRunnerEvent {
    case problemChanged
    /// A new haproxy process loaded the file on disk (restart after a death): what runs is the file.
    case restartedFromFile
}

/// Runs children for the runners: exit status 0 within the timeout, or the reason and output.
struct CommandRunner {
    let loop: EventLoop
    let logger: Logger
    let environment: [String]
    let timeout: Duration

    struct Failure: Error {
        var status: String
        var outputLines: [String]
        /// How the child ended; nil when it could not be started.
        var outcome: ChildProcess.Outcome?

        /// The program ran and said no on its own: it exited with a failure status, was not timed out
        /// or killed, and is not the shell's "cannot run it" (126, 127). Anything else is a failed
        /// attempt, worth repeating.
        var ranAndFailed: Bool {
            guard let outcome, !outcome.timedOut, case .exited(let code) = outcome.status else { return false }
            return code != 0 && code != 126 && code != 127
        }
    }

    /// Runs the command; the child (nil when it could not be started) may be ended early by the caller.
    @discardableResult
    func run(
        _ executable: String, _ arguments: [String], timeout: Duration? = nil,
        completion: @escaping (Result<Void, Failure>) -> Void
    ) -> ChildProcess? {
        logger.debug("running", metadata: ["command": "\(([executable] + arguments).joined(separator: " "))"])
        let timeout = timeout ?? self.timeout
        do {
            return try ChildProcess(
                loop: loop, executable: executable, arguments: arguments, environment: environment, timeout: timeout
            ) { outcome in
                if outcome.status.isSuccess && !outcome.timedOut {
                    completion(.success(()))
                } else {
                    completion(
                        .failure(
                            Failure(
                                status: outcome.summary(timeout: timeout),
                                outputLines: LogText.lines(outcome.stderr + outcome.stdout), outcome: outcome)))
                }
            }
        } catch {
            completion(.failure(Failure(status: "could not be started: \(error)", outputLines: [], outcome: nil)))
            return nil
        }
    }
}

// MARK: - none

/// No reload configured: the file is written, nothing else.
final class FileOnlyRunner: HAProxyRunner {
    let methodName = "none"
    var problem: String? { nil }
    var onEvent: ((HAProxyRunnerEvent) -> Void)?
    func ensureRunning(completion: @escaping (ApplyOutcome) -> Void) { completion(.unchanged("config on disk is current")) }
    func reload(exposedSocket: String?, completion: @escaping (ApplyOutcome) -> Void) {
        completion(.applied("config written (no reload configured)"))
    }
}

// MARK: - command

/// `command`: the user's reload command through `/bin/sh -c`. haproxy belongs to someone else (its
/// systemd unit, say): when PROXYM_HAPROXY_PID_PATH names its pid file, proxym watches those pids and
/// reports when haproxy is gone (and when it is back), but never starts it.
final class ReloadCommandRunner: HAProxyRunner {
    let methodName = "command"
    private let command: String
    private let runner: CommandRunner
    private let logger: Logger
    private let monitor: PidFileMonitor?
    var onEvent: ((HAProxyRunnerEvent) -> Void)? {
        didSet { monitor?.onChange = { [weak self] in self?.onEvent?(.problemChanged) } }
    }

    init(command: String, pidFile: String?, runner: CommandRunner, logger: Logger) {
        self.command = command
        self.runner = runner
        self.logger = logger
        monitor = pidFile.map {
            PidFileMonitor(
                loop: runner.loop, pidFile: $0, logger: logger,
                whenGone: "proxym does not run haproxy with PROXYM_HAPROXY_RELOAD_METHOD=command; its supervisor must restart it")
        }
    }

    var problem: String? { monitor?.problem }

    func ensureRunning(completion: @escaping (ApplyOutcome) -> Void) {
        monitor?.check()
        completion(.unchanged("config on disk is current"))
    }

    func reload(exposedSocket: String?, completion: @escaping (ApplyOutcome) -> Void) {
        runner.run("/bin/sh", ["-c", command]) { [weak self] result in
            guard let self else { return }
            self.monitor?.check()
            switch result {
            case .success:
                self.logger.info("haproxy reloaded", metadata: ["command": "\(self.command)"])
                completion(.applied("applied, reload command succeeded"))
            case .failure(let failure):
                self.logger.error(
                    "reload command failed; haproxy keeps running the config it had (the new file stays in place and is reloaded at the retry)",
                    metadata: ["command": "\(self.command)", "status": "\(failure.status)"])
                for line in failure.outputLines { self.logger.error("reload: \(line)") }
                completion(.failed("reload command \(failure.status)", retry: true))
            }
        }
    }
}

/// Watches the pids in a pid file someone else's haproxy writes; reports when they are all gone and,
/// polling the file every 2 s meanwhile, when haproxy is back.
final class PidFileMonitor {
    private let loop: EventLoop
    private let pidFile: String
    private let logger: Logger
    private let whenGone: String
    private var watch: ProcessWatch?
    private var poll: EventLoop.TimerHandle?
    private(set) var problem: String?
    var onChange: (() -> Void)?

    init(loop: EventLoop, pidFile: String, logger: Logger, whenGone: String) {
        self.loop = loop
        self.pidFile = pidFile
        self.logger = logger
        self.whenGone = whenGone
    }

    /// Re-reads the pid file and watches what it names (after a reload the pids change).
    func check() {
        let pids = HAProxyPidFile.alivePIDs(pidFile)
        watch?.cancel()
        watch = nil
        if pids.isEmpty {
            gone(pids: [])
            return
        }
        if problem != nil {
            problem = nil
            logger.notice("haproxy is running again", metadata: ["pids": "\(pids.map(String.init).joined(separator: ","))"])
            onChange?()
        }
        if let poll { loop.cancel(poll) }
        poll = nil
        watch = ProcessWatch(loop: loop, pids: pids) { [weak self] in self?.gone(pids: pids) }
    }

    private func gone(pids: [Int32]) {
        if problem == nil {
            problem = "haproxy is not running (pid file \(pidFile)); \(whenGone)"
            logger.error(
                "haproxy is gone; reporting it, not restarting it",
                metadata: ["pids": "\(pids.map(String.init).joined(separator: ","))", "pid_file": "\(pidFile)"])
            onChange?()
        }
        if poll == nil {
            poll = loop.schedule(after: .seconds(2)) { [weak self] in
                self?.poll = nil
                self?.check()
            }
        }
    }
}

// MARK: - sf

/// `sf`, the original way: `haproxy -f CFG -p PIDFILE -D`, and for a reload the same plus
/// `-sf <old pids>` (and `-x <stats socket>` when one exposes the listeners, so the new process takes
/// them over instead of binding: no connection in the accept queue is lost). proxym watches the pids
/// in the pid file: when they all die, it starts haproxy again (at once, then backing off 1 s, 2 s,
/// ... 60 s while it keeps dying within 30 s).
final class SFRunner: HAProxyRunner {
    let methodName = "sf"
    private let binary: String
    private let pidFile: String
    private let configPath: String
    private let runner: CommandRunner
    private let logger: Logger
    private var loop: EventLoop { runner.loop }
    private var watch: ProcessWatch?
    private var busy = false
    private var startedAt: Instant?
    private var backoff = RetryBackoff(first: .zero, base: .seconds(1), maximum: .seconds(60))
    private var restartTimer: EventLoop.TimerHandle?
    private(set) var problem: String?
    var onEvent: ((HAProxyRunnerEvent) -> Void)?

    init(binary: String, pidFile: String, configPath: String, runner: CommandRunner, logger: Logger) {
        self.binary = binary
        self.pidFile = pidFile
        self.configPath = configPath
        self.runner = runner
        self.logger = logger
    }

    func ensureRunning(completion: @escaping (ApplyOutcome) -> Void) {
        let alive = HAProxyPidFile.alivePIDs(pidFile)
        if alive.isEmpty {
            reload(exposedSocket: nil, completion: completion)
            return
        }
        watchCurrent()
        completion(.unchanged("config on disk is current"))
    }

    func reload(exposedSocket: String?, completion: @escaping (ApplyOutcome) -> Void) {
        if let restartTimer {
            loop.cancel(restartTimer)
            self.restartTimer = nil
        }
        busy = true
        let old = HAProxyPidFile.alivePIDs(pidFile)
        var arguments = ["-f", configPath, "-p", pidFile, "-D"]
        if !old.isEmpty {
            if let exposedSocket, FileSystem.exists(exposedSocket) { arguments += ["-x", exposedSocket] }
            arguments += ["-sf"] + old.map { String($0) }
        }
        runner.run(binary, arguments) { [weak self] result in
            guard let self else { return }
            if case .failure(let failure) = result, arguments.contains("-x") {
                // The old process's socket did not hand over the listeners (started before it had
                // `expose-fd listeners`, say): haproxy then refuses to start; bind the usual way.
                self.logger.warning(
                    "haproxy could not take the listeners over from the old process; reloading without -x",
                    metadata: ["status": "\(failure.status)"])
                for line in failure.outputLines { self.logger.warning("haproxy: \(line)") }
                self.busy = false
                self.reload(exposedSocket: nil, completion: completion)
                return
            }
            self.busy = false
            switch result {
            case .success:
                let new = HAProxyPidFile.alivePIDs(self.pidFile)
                let verb = old.isEmpty ? "started" : "reloaded"
                self.logger.info(
                    "haproxy \(verb)",
                    metadata: [
                        "old_pids": "\(old.map(String.init).joined(separator: ","))",
                        "pids": "\(new.map(String.init).joined(separator: ","))",
                    ])
                self.startedAt = self.loop.now
                self.setProblem(nil)
                self.watchCurrent()
                completion(.applied("applied, haproxy \(verb)"))
            case .failure(let failure):
                self.logger.error(
                    old.isEmpty ? "haproxy failed to start" : "haproxy failed to reload; the old process keeps serving",
                    metadata: ["status": "\(failure.status)"])
                for line in failure.outputLines { self.logger.error("haproxy: \(line)") }
                self.watchCurrent()
                completion(.failed("haproxy \(old.isEmpty ? "start" : "reload") \(failure.status)", retry: true))
            }
        }
    }

    private func watchCurrent() {
        watch?.cancel()
        let pids = HAProxyPidFile.alivePIDs(pidFile)
        watch = ProcessWatch(loop: loop, pids: pids) { [weak self] in self?.allExited(pids) }
    }

    private func allExited(_ pids: [Int32]) {
        // During a reload the old pids exit on purpose; the reload's end re-watches.
        guard !busy, restartTimer == nil else { return }
        if let startedAt, loop.now - startedAt >= .seconds(30) { backoff.reset() }
        let delay = backoff.next()
        logger.error(
            "haproxy exited; restarting it",
            metadata: ["pids": "\(pids.map(String.init).joined(separator: ","))", "in": "\(delay)"])
        setProblem("haproxy exited (pids \(pids.map(String.init).joined(separator: ","))); restarting it in \(delay)")
        restartTimer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.restartTimer = nil
            self.reload(exposedSocket: nil) { outcome in
                if case .applied = outcome {
                    self.logger.notice("haproxy restarted from the config file")
                    self.onEvent?(.restartedFromFile)
                } else {
                    self.allExited([])
                }
            }
        }
    }

    private func setProblem(_ text: String?) {
        guard problem != text else { return }
        problem = text
        onEvent?(.problemChanged)
    }
}

// MARK: - master-worker

/// `master-worker`: a haproxy master (`-W`) reached through its master CLI socket.
///
/// - If a master answers on the socket when proxym first needs it, proxym drives that one (Debian's
///   haproxy.service, or one an earlier proxym left running): reloads with the master CLI's `reload`,
///   watches the master's pid and reports when it is gone (its supervisor restarts it; proxym notices
///   it back by polling the socket).
/// - Otherwise proxym starts `haproxy -W -db -S <socket>,mode,600 -f CFG [-p PIDFILE]` as its own child
///   (supervised by pidfd, not daemonized), reloads it with SIGUSR2, and when it dies starts it again
///   (at once, then backing off 1 s, 2 s, ... 60 s while it keeps dying within 30 s). proxym's own stop
///   leaves it running, as in `sf` mode.
///
/// Every reload is checked in `show proc`: haproxy 2.6 reports a configuration it could not load only
/// there (`[failed: N]`, the old workers keep serving), and proxym reports that as a failed apply.
final class MasterWorkerRunner: HAProxyRunner {
    let methodName = "master-worker"
    private let binary: String
    private let socket: String
    private let pidFile: String?
    private let configPath: String
    private let runner: CommandRunner
    private let logger: Logger
    private var loop: EventLoop { runner.loop }
    private var timeout: Duration { runner.timeout }

    private enum Ownership { case undecided, own, external }
    private var ownership = Ownership.undecided
    private var child: ChildProcess?
    private var externalWatch: ProcessWatch?
    private var busy = false
    private var startedAt: Instant?
    private var backoff = RetryBackoff(first: .zero, base: .seconds(1), maximum: .seconds(60))
    private var restartTimer: EventLoop.TimerHandle?
    private(set) var problem: String?
    var onEvent: ((HAProxyRunnerEvent) -> Void)?
    /// The last `show proc` seen (tests and logs).
    private(set) var lastProcesses: HAProxyCLI.ProcessList?

    init(binary: String, socket: String, pidFile: String?, configPath: String, runner: CommandRunner, logger: Logger) {
        self.binary = binary
        self.socket = socket
        self.pidFile = pidFile
        self.configPath = configPath
        self.runner = runner
        self.logger = logger
    }

    // MARK: master CLI

    private enum Probe {
        case answered(HAProxyCLI.ProcessList)
        case absent(String)
        case error(String)
    }

    private func probe(_ completion: @escaping (Probe) -> Void) {
        CLIExchange.run(loop: loop, path: socket, request: "show proc; quit", timeout: .seconds(2)) { result in
            switch result {
            case .success(let text):
                if let list = HAProxyCLI.parseShowProc(text) {
                    completion(.answered(list))
                } else {
                    completion(.error("unexpected answer to show proc: \(LogText.lines(Array(text.utf8), limit: 3))"))
                }
            case .failure(let failure):
                completion(failure.notListening ? .absent(failure.description) : .error(failure.description))
            }
        }
    }

    /// Probes every 50 ms until `done` returns true for an answer, or `timeout` passes.
    private func poll(
        until deadline: Instant, _ done: @escaping (HAProxyCLI.ProcessList) -> Bool,
        onTimeout: @escaping (String) -> Void
    ) {
        probe { [weak self] result in
            guard let self else { return }
            var last = "no answer"
            switch result {
            case .answered(let list):
                self.lastProcesses = list
                if done(list) { return }
                last = "still waiting"
            case .absent(let reason), .error(let reason):
                last = reason
            }
            if self.loop.now >= deadline {
                onTimeout(last)
                return
            }
            self.loop.schedule(after: .milliseconds(50)) { self.poll(until: deadline, done, onTimeout: onTimeout) }
        }
    }

    // MARK: HAProxyRunner

    func ensureRunning(completion: @escaping (ApplyOutcome) -> Void) {
        probe { [weak self] result in
            guard let self else { return }
            switch result {
            case .answered(let list):
                self.adoptExternal(list)
                completion(.unchanged("config on disk is current"))
            case .absent, .error:
                if self.ownership == .external {
                    completion(.failed("the haproxy master at \(self.socket) does not answer", retry: true))
                } else {
                    self.startOwn(completion: completion)
                }
            }
        }
    }

    func reload(exposedSocket: String?, completion: @escaping (ApplyOutcome) -> Void) {
        if let child, child.isRunning {
            reloadAnswering(signalChild: child, completion: completion)
            return
        }
        probe { [weak self] result in
            guard let self else { return }
            switch result {
            case .answered(let list):
                self.adoptExternal(list)
                self.reloadAnswering(signalChild: nil, baseline: list, completion: completion)
            case .absent(let reason), .error(let reason):
                if self.ownership == .external {
                    self.logger.error("the haproxy master does not answer; it is not proxym's to start", metadata: ["reason": "\(reason)"])
                    completion(.failed("the haproxy master at \(self.socket) does not answer (\(reason))", retry: true))
                } else if self.restartTimer != nil {
                    completion(.failed("haproxy is down, restart pending (\(self.problem ?? ""))", retry: true))
                } else {
                    self.startOwn(completion: completion)
                }
            }
        }
    }

    private func adoptExternal(_ list: HAProxyCLI.ProcessList) {
        lastProcesses = list
        guard ownership != .own || child?.isRunning != true else { return }
        if ownership == .undecided {
            logger.notice(
                "a haproxy master already answers on its socket; proxym drives it and will not start its own",
                metadata: ["socket": "\(socket)", "master_pid": "\(list.masterPID)"])
        }
        ownership = .external
        if externalWatch?.pids != [list.masterPID] {
            externalWatch?.cancel()
            externalWatch = ProcessWatch(loop: loop, pids: [list.masterPID]) { [weak self] in
                self?.externalMasterGone(list.masterPID)
            }
        }
        setProblem(nil)
    }

    private func externalMasterGone(_ pid: Int32) {
        externalWatch = nil
        logger.error(
            "the haproxy master is gone; it is not proxym's child, so its supervisor must restart it",
            metadata: ["master_pid": "\(pid)", "socket": "\(socket)"])
        setProblem("haproxy master (pid \(pid)) is gone; waiting for its supervisor to restart it")
        waitForExternal()
    }

    private func waitForExternal() {
        loop.schedule(after: .seconds(2)) { [weak self] in
            guard let self, self.externalWatch == nil else { return }
            self.probe { result in
                if case .answered(let list) = result {
                    self.logger.notice("the haproxy master answers again", metadata: ["master_pid": "\(list.masterPID)"])
                    self.adoptExternal(list)
                    self.onEvent?(.restartedFromFile)
                } else {
                    self.waitForExternal()
                }
            }
        }
    }

    /// Asks for a reload (SIGUSR2 to our child, or the master CLI's `reload`) and follows it in
    /// `show proc` until the master's reload counter moves.
    private func reloadAnswering(
        signalChild: ChildProcess?, baseline: HAProxyCLI.ProcessList? = nil, completion: @escaping (ApplyOutcome) -> Void
    ) {
        busy = true
        let finish: (ApplyOutcome) -> Void = { [weak self] outcome in
            self?.busy = false
            completion(outcome)
        }
        let go: (HAProxyCLI.ProcessList) -> Void = { [weak self] before in
            guard let self else { return }
            if let signalChild {
                do {
                    try signalChild.sendSignal(.usr2)
                } catch {
                    finish(.failed("cannot signal the haproxy master: \(error)", retry: true))
                    return
                }
            } else {
                // 2.6 answers nothing and closes the connection; the outcome is read in show proc.
                CLIExchange.run(loop: self.loop, path: self.socket, request: "reload", timeout: .seconds(2)) { _ in }
            }
            self.follow(before: before, completion: finish)
        }
        if let baseline {
            go(baseline)
            return
        }
        probe { result in
            switch result {
            case .answered(let list):
                self.lastProcesses = list
                go(list)
            case .absent(let reason), .error(let reason):
                finish(.failed("the haproxy master does not answer before the reload (\(reason))", retry: true))
            }
        }
    }

    private func follow(before: HAProxyCLI.ProcessList, completion: @escaping (ApplyOutcome) -> Void) {
        var answered = false
        poll(
            until: loop.now + timeout,
            { [weak self] now in
                guard let self else { return true }
                let progress = HAProxyCLI.reloadProgress(before: before, now: now)
                switch progress {
                case .pending:
                    return false
                case .succeeded(let workers):
                    answered = true
                    self.logger.info(
                        "haproxy reloaded",
                        metadata: [
                            "master_pid": "\(now.masterPID)", "reloads": "\(now.reloads)",
                            "workers": "\(workers.map(String.init).joined(separator: ","))",
                            "old_workers": "\(now.oldWorkers.map { String($0.pid) }.joined(separator: ","))",
                        ])
                    completion(.applied("applied, haproxy reloaded (master-worker)"))
                case .failed(let count):
                    answered = true
                    self.logger.error(
                        "haproxy rejected the reload; its old workers keep serving the previous config",
                        metadata: [
                            "master_pid": "\(now.masterPID)", "failed_reloads": "\(count)",
                            "workers": "\(now.workerPIDs.map(String.init).joined(separator: ","))",
                            "see": self.child != nil ? "haproxy's ALERT lines above" : "haproxy's log",
                        ])
                    completion(.failed("haproxy rejected the reload (show proc: [failed: \(count)]); the old workers keep serving", retry: true))
                case .masterReplaced(let pid):
                    answered = true
                    self.logger.notice("another haproxy master answers now; it loaded the file on disk", metadata: ["master_pid": "\(pid)"])
                    completion(.applied("applied, haproxy master restarted"))
                }
                return true
            },
            onTimeout: { reason in
                guard !answered else { return }
                completion(.failed("haproxy did not finish the reload within \(self.timeout) (\(reason))", retry: true))
            })
    }

    // MARK: own master

    private func startOwn(completion: @escaping (ApplyOutcome) -> Void) {
        ownership = .own
        busy = true
        var arguments = ["-W", "-db", "-S", "\(socket),mode,600", "-f", configPath]
        if let pidFile { arguments += ["-p", pidFile] }
        logger.info("starting haproxy (master-worker)", metadata: ["command": "\(([binary] + arguments).joined(separator: " "))"])
        let started: ChildProcess
        do {
            started = try ChildProcess(
                loop: loop, executable: binary, arguments: arguments, environment: runner.environment,
                stdout: .inherit, stderr: .inherit, timeout: nil
            ) { [weak self] outcome in self?.ownExited(outcome) }
        } catch {
            busy = false
            logger.error("cannot start haproxy", metadata: ["error": "\(error)"])
            completion(.failed("cannot start haproxy: \(error)", retry: true))
            return
        }
        child = started
        var done = false
        poll(
            until: loop.now + timeout,
            { [weak self] list in
                guard let self, !done else { return true }
                guard !list.workers.isEmpty else { return false }
                done = true
                self.startWaitCompletion = nil
                self.busy = false
                self.startedAt = self.loop.now
                self.setProblem(nil)
                self.logger.info(
                    "haproxy started (master-worker)",
                    metadata: ["master_pid": "\(list.masterPID)", "workers": "\(list.workerPIDs.map(String.init).joined(separator: ","))"])
                completion(.applied("applied, haproxy started (master-worker)"))
                return true
            },
            onTimeout: { [weak self] reason in
                guard let self, !done else { return }
                done = true
                self.busy = false
                if started.isRunning { started.terminate(grace: .seconds(2)) }
                completion(.failed("haproxy did not come up within \(self.timeout) (\(reason))", retry: true))
            })
        // A master that exits at once (bad config, port in use) ends the wait early.
        startWaitCompletion = { [weak self] outcome in
            guard let self, !done else { return }
            done = true
            self.busy = false
            completion(.failed("haproxy exited while starting (\(outcome.status))", retry: true))
        }
    }

    /// Set while an own master is starting: its early exit fails the start.
    private var startWaitCompletion: ((ChildProcess.Outcome) -> Void)?

    private func ownExited(_ outcome: ChildProcess.Outcome) {
        child = nil
        if let waiting = startWaitCompletion {
            startWaitCompletion = nil
            logger.error("haproxy exited while starting", metadata: ["status": "\(outcome.status)"])
            waiting(outcome)
        }
        guard restartTimer == nil else { return }
        if let startedAt, loop.now - startedAt >= .seconds(30) { backoff.reset() }
        let delay = backoff.next()
        logger.error("haproxy master exited; restarting it", metadata: ["status": "\(outcome.status)", "in": "\(delay)"])
        setProblem("haproxy master exited (\(outcome.status)); restarting it in \(delay)")
        restartTimer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.restartTimer = nil
            guard self.child == nil, !self.busy else { return }
            self.startOwn { outcome in
                if case .applied = outcome {
                    self.logger.notice("haproxy restarted from the config file")
                    self.onEvent?(.restartedFromFile)
                }
                // A failed start ends in ownExited (or a timeout), which schedules the next try.
            }
        }
    }

    private func setProblem(_ text: String?) {
        guard problem != text else { return }
        problem = text
        onEvent?(.problemChanged)
    }
}
