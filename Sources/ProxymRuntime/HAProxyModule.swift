import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// The HAProxy module: renders the config (pure), and when it changed: writes it to a temp file next
/// to the target, `haproxy -c -f tmp` (a child watched by pidfd, never blocking the loop), `rename()`
/// over the target, then reloads haproxy the configured way. A config haproxy rejects is never
/// installed; it is kept as `<target>.rejected` for inspection and haproxy's own words are logged.
public final class HAProxyModule: ConfigGenerator {
    public let name = "haproxy"

    private let settings: Settings.HAProxy
    private let loop: EventLoop
    private let logger: Logger
    private let childEnvironment: [String]
    /// The haproxy used for `-c` (BINARY_PATH, else found in PATH); nil when validation is off.
    private let checkBinary: String?

    /// The text currently live (written and successfully reloaded), nil before the first apply.
    private var liveText: String?
    /// The last text haproxy rejected: not re-checked until the input changes (or SIGHUP).
    private var rejectedText: String?
    private var busy = false
    private var reloadCount = 0
    /// Set once an apply went through write/check/install: from then on a nil `liveText` means that
    /// apply failed, not that proxym just started, so the file on disk proves nothing.
    private var wroteOnce = false

    var rejectedPath: String { settings.configFilePath + ".rejected" }

    public init(settings: Settings.HAProxy, loop: EventLoop, logger: Logger, environment: [String: String]) throws {
        self.settings = settings
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "haproxy"
        self.logger = logger
        self.childEnvironment = ChildEnvironment.make(from: environment)
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
    }

    /// Reads global.cfg and the per-service options directory, then renders. Pure apart from reading
    /// the options (they are inputs like the service files).
    public func render(_ services: [Service]) throws(GeneratorFailure) -> String {
        let inputs = try HAProxyOptionsLoader.load(
            optionsPath: settings.optionsPath, services: services, httpPort: settings.httpPort, logger: logger)
        let options = RenderOptions(
            globalConfig: inputs.globalConfig, httpPort: settings.httpPort, bindAddress: settings.bindAddress,
            serviceOptions: inputs.serviceOptions)
        return HAProxyRenderer.render(services, options: options)
    }

    public func apply(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        precondition(!busy, "apply() while an apply is running")
        let text: String
        do {
            text = try render(services)
        } catch {
            completion(.failed("cannot render: \(error)", retry: false))
            return
        }
        if !force {
            if text == liveText {
                completion(.unchanged("unchanged"))
                return
            }
            if text == rejectedText {
                completion(.failed("haproxy rejected this config before; fix the input (see earlier errors)", retry: false))
                return
            }
            if liveText == nil, !wroteOnce, let onDisk = try? FileSystem.readFile(settings.configFilePath, limit: 64 << 20),
                onDisk == Array(text.utf8)
            {
                // First refresh and the file is already current: do not disturb a running haproxy.
                ensureRunning(text: text, completion: completion)
                return
            }
        }
        busy = true
        wroteOnce = true
        let finish: (ApplyOutcome) -> Void = { [weak self] outcome in
            self?.busy = false
            completion(outcome)
        }
        let tempPath: String
        do {
            // Keep the mode of the file we replace (0644 for a new one).
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            tempPath = try AtomicFileWriter.writeTemporary(
                nextTo: settings.configFilePath, contents: Array(text.utf8), mode: mode)
        } catch {
            finish(.failed("cannot write next to \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return
        }
        guard let checkBinary else {
            install(text: text, from: tempPath, completion: finish)
            return
        }
        run(checkBinary, ["-c", "-f", tempPath], what: "haproxy -c") { [weak self] result in
            guard let self else { return }
            switch result {
            case .success:
                self.install(text: text, from: tempPath, completion: finish)
            case .failure(let failure):
                self.rejectedText = text
                do {
                    try FileSystem.rename(from: tempPath, to: self.rejectedPath)
                } catch {
                    try? FileSystem.unlink(tempPath)
                }
                self.logger.error(
                    "haproxy rejected the new config; the old one stays live",
                    metadata: ["candidate": "\(self.rejectedPath)", "check": "\(failure.status)"])
                for line in failure.outputLines { self.logger.error("haproxy: \(line)") }
                finish(.failed("haproxy -c rejected the config (kept as \(self.rejectedPath))", retry: false))
            }
        }
    }

    /// rename(tmp, target), then reload.
    private func install(text: String, from tempPath: String, completion: @escaping (ApplyOutcome) -> Void) {
        do {
            try AtomicFileWriter.commit(temporary: tempPath, to: settings.configFilePath)
        } catch {
            try? FileSystem.unlink(tempPath)
            completion(.failed("cannot install \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return
        }
        rejectedText = nil
        // The file no longer holds what was live; until the reload succeeds nothing is known to be.
        liveText = nil
        logger.info("config written", metadata: ["path": "\(settings.configFilePath)", "bytes": "\(text.utf8.count)"])
        reload { [weak self] outcome in
            if case .applied = outcome { self?.liveText = text }
            completion(outcome)
        }
    }

    /// Startup with the config already on disk: in start/stop mode start haproxy if none of the pids in
    /// the pid file is alive; otherwise leave things alone.
    private func ensureRunning(text: String, completion: @escaping (ApplyOutcome) -> Void) {
        if case .startStop(_, let pidFile) = settings.reloadMethod, HAProxyPidFile.alivePIDs(pidFile).isEmpty {
            busy = true
            reload { [weak self] outcome in
                self?.busy = false
                if case .applied = outcome { self?.liveText = text }
                completion(outcome)
            }
            return
        }
        liveText = text
        completion(.unchanged("config on disk is current"))
    }

    private func reload(completion: @escaping (ApplyOutcome) -> Void) {
        switch settings.reloadMethod {
        case .none:
            completion(.applied("config written (no reload configured)"))
        case .command(let command):
            run("/bin/sh", ["-c", command], what: "reload command") { [weak self] result in
                guard let self else { return }
                switch result {
                case .success:
                    self.reloadCount += 1
                    self.logger.info("haproxy reloaded", metadata: ["command": "\(command)"])
                    completion(.applied("applied, reload command succeeded"))
                case .failure(let failure):
                    self.logger.error(
                        "reload command failed; the new config is in place but may not be live",
                        metadata: ["command": "\(command)", "status": "\(failure.status)"])
                    for line in failure.outputLines { self.logger.error("reload: \(line)") }
                    completion(.failed("reload command \(failure.status)", retry: true))
                }
            }
        case .startStop(let binary, let pidFile):
            let old = HAProxyPidFile.alivePIDs(pidFile)
            var arguments = ["-f", settings.configFilePath, "-p", pidFile, "-D"]
            if !old.isEmpty { arguments += ["-sf"] + old.map { String($0) } }
            run(binary, arguments, what: "haproxy") { [weak self] result in
                guard let self else { return }
                switch result {
                case .success:
                    self.reloadCount += 1
                    let new = HAProxyPidFile.alivePIDs(pidFile)
                    let verb = old.isEmpty ? "started" : "reloaded"
                    self.logger.info(
                        "haproxy \(verb)",
                        metadata: ["old_pids": "\(old.map(String.init).joined(separator: ","))",
                            "pids": "\(new.map(String.init).joined(separator: ","))"])
                    completion(.applied("applied, haproxy \(verb)"))
                case .failure(let failure):
                    self.logger.error(
                        old.isEmpty ? "haproxy failed to start" : "haproxy failed to reload; the old process keeps serving",
                        metadata: ["status": "\(failure.status)"])
                    for line in failure.outputLines { self.logger.error("haproxy: \(line)") }
                    completion(.failed("haproxy \(old.isEmpty ? "start" : "reload") \(failure.status)", retry: true))
                }
            }
        }
    }

    struct CommandFailure: Error {
        var status: String
        var outputLines: [String]
    }

    /// Runs a child on the loop; success = exit status 0 within the timeout.
    private func run(
        _ executable: String, _ arguments: [String], what: String,
        completion: @escaping (Result<Void, CommandFailure>) -> Void
    ) {
        logger.debug("running", metadata: ["command": "\(([executable] + arguments).joined(separator: " "))"])
        let timeout = settings.commandTimeout
        do {
            _ = try ChildProcess(
                loop: loop, executable: executable, arguments: arguments, environment: childEnvironment,
                timeout: timeout
            ) { outcome in
                if outcome.status.isSuccess && !outcome.timedOut {
                    completion(.success(()))
                } else {
                    completion(
                        .failure(
                            CommandFailure(
                                status: outcome.summary(timeout: timeout),
                                outputLines: LogText.lines(outcome.stderr + outcome.stdout))))
                }
            }
        } catch {
            completion(.failure(CommandFailure(status: "could not be started: \(error)", outputLines: [])))
        }
    }
}

/// The pid file haproxy writes with `-p`: whitespace-separated pids.
enum HAProxyPidFile {
    static func alivePIDs(_ path: String) -> [Int32] {
        guard let bytes = try? FileSystem.readFile(path, limit: 64 << 10) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            .compactMap { Int32($0) }
            .filter { $0 > 1 && ProcessState.isAlive($0) }
    }
}

/// The environment handed to children: ours without systemd's per-process variables, so haproxy or a
/// reload command never talks to our notify socket or believes it was socket-activated.
enum ChildEnvironment {
    static let stripped: Set<String> = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
    ]
    static func make(from environment: [String: String]) -> [String] {
        environment.filter { !stripped.contains($0.key) }.map { "\($0.key)=\($0.value)" }.sorted()
    }
}

enum Paths {
    static func which(_ name: String, environment: [String: String]) -> String? {
        let path = environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileSystem.isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}

/// Child output as log lines: split on newlines, control characters escaped, at most 40 lines.
enum LogText {
    static func lines(_ bytes: [UInt8], limit: Int = 40) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [String] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let trimmed = line.trimmingBlanks
            if trimmed.isEmpty { continue }
            if out.count == limit {
                out.append("... (output cut)")
                break
            }
            out.append(ValidationError.escaped(trimmed, limit: 400))
        }
        return out
    }
}

extension Substring {
    var trimmingBlanks: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

extension ChildProcess.Outcome {
    /// `exited with status 1`, `timed out after 30 seconds (killed by SIGTERM)`.
    func summary(timeout: Duration) -> String {
        timedOut ? "timed out after \(timeout) (\(status))" : "\(status)"
    }
}

enum ProcessState {
    /// kill(pid, 0): the process exists (EPERM means it exists but belongs to someone else), and it
    /// is not a zombie: a daemonized haproxy that died stays one when init does not reap (a container
    /// without an init process), and would otherwise count as running forever.
    static func isAlive(_ pid: Int32) -> Bool {
        do {
            try kill(pid: pid, signal: Signal(rawValue: 0))
        } catch {
            if !error.isPermissionDenied { return false }
        }
        return !isZombie(pid)
    }

    /// The state in /proc/<pid>/stat is `Z`. The command name before it is in parentheses and may
    /// hold anything, so the state is read after the last `)`.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count
        else { return false }
        return stat[close + 2] == UInt8(ascii: "Z")
    }
}
