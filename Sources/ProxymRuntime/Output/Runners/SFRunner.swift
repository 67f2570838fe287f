import Logging
import ProxymCore
import ProxymPosix

/// `sf`, the original way: `haproxy -f CFG -p PIDFILE -D`, and for a reload the same plus
/// `-sf <old pids>` (and `-x <stats socket>` when one exposes the listeners, so the new process takes
/// them over instead of binding: no connection in the accept queue is lost). proxym watches the pids
/// in the pid file: when they all die, it starts haproxy again (at once, then backing off 1 s, 2 s,
/// ... 60 s while it keeps dying within 30 s).
final class SFRunner: SupervisedRunner {
    let methodName = "sf"
    private let binary: String
    private let pidFile: String
    private let configPath: String
    private let runner: CommandRunner
    private let logger: Logger
    private var loop: EventLoop { runner.loop }
    private var watch: ProcessWatch?
    private var busy = false
    let supervisor: RestartSupervisor

    init(binary: String, pidFile: String, configPath: String, runner: CommandRunner, logger: Logger) {
        self.binary = binary
        self.pidFile = pidFile
        self.configPath = configPath
        self.runner = runner
        self.logger = logger
        self.supervisor = RestartSupervisor(loop: runner.loop, logger: logger)
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
        supervisor.cancelRestart()
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
                self.supervisor.started()
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
        guard !busy else { return }
        let list = pids.map(String.init).joined(separator: ",")
        supervisor.restartAfterDeath("haproxy exited", detail: "pids \(list)", metadata: ["pids": "\(list)"]) {
            [weak self] done in
            guard let self else { return }
            self.reload(exposedSocket: nil) { outcome in
                done(outcome)
                if case .applied = outcome { return }
                self.allExited([])
            }
        }
    }
}
