import Logging
import ProxymCore
import ProxymPosix

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
