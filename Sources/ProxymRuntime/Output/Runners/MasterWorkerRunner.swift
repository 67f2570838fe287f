import Logging
import ProxymCore
import ProxymHAProxy
import ProxymPosix

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
final class MasterWorkerRunner: SupervisedRunner {
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
    let supervisor: RestartSupervisor
    /// The last `show proc` seen (tests and logs).
    private(set) var lastProcesses: HAProxyCLI.ProcessList?

    init(binary: String, socket: String, pidFile: String?, configPath: String, runner: CommandRunner, logger: Logger) {
        self.binary = binary
        self.socket = socket
        self.pidFile = pidFile
        self.configPath = configPath
        self.runner = runner
        self.logger = logger
        self.supervisor = RestartSupervisor(loop: runner.loop, logger: logger)
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
                } else if self.supervisor.restartPending {
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
        supervisor.setProblem(nil)
    }

    private func externalMasterGone(_ pid: Int32) {
        externalWatch = nil
        logger.error(
            "the haproxy master is gone; it is not proxym's child, so its supervisor must restart it",
            metadata: ["master_pid": "\(pid)", "socket": "\(socket)"])
        supervisor.setProblem("haproxy master (pid \(pid)) is gone; waiting for its supervisor to restart it")
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
                self.supervisor.started()
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
        supervisor.restartAfterDeath(
            "haproxy master exited", detail: "\(outcome.status)", metadata: ["status": "\(outcome.status)"]
        ) { [weak self] done in
            // A failed start ends in ownExited (or a timeout), which schedules the next try.
            guard let self, self.child == nil, !self.busy else { return }
            self.startOwn(completion: done)
        }
    }
}
