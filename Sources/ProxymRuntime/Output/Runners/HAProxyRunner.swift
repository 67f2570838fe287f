import Logging
import ProxymCore

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
        _ executable: String, _ arguments: [String], completion: @escaping (Result<Void, Failure>) -> Void
    ) -> ChildProcess? {
        logger.debug("running", metadata: ["command": "\(([executable] + arguments).joined(separator: " "))"])
        let timeout = self.timeout
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
