import ProxymCore
import ProxymPosix

/// A child process supervised on the loop: spawned with `Spawn` (clean signal state, explicit
/// environment), its pidfd and output pipes registered in the loop, reaped with waitid when the
/// pidfd becomes readable. Nothing blocks the loop.
///
/// Output: stdout and stderr (when `.pipe`) are collected up to `outputLimit` bytes each; the
/// first part is kept and `stdoutTruncated`/`stderrTruncated` say whether more was discarded.
/// The pipes are read continuously, so a chatty child never blocks on a full pipe. After the
/// child is reaped, whatever is already in the pipes is drained without waiting for EOF (a
/// daemonizing grandchild may hold the write end open for a long time).
///
/// Lifetime: while the child runs, its loop registrations keep this object alive, so callers
/// need not retain it. `onExit` runs exactly once, on the loop, after everything is closed.
///
/// Timeout: when `timeout` passes, the child gets SIGTERM, then SIGKILL after `killGrace`;
/// `Outcome.timedOut` reports it.
public final class ChildProcess {
    public struct Outcome: Sendable, Hashable {
        public var status: ExitStatus
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var stdoutTruncated: Bool
        public var stderrTruncated: Bool
        /// The timeout passed and we signalled the child.
        public var timedOut: Bool
        public var pid: Int32
        public var duration: Duration

        /// stdout decoded as UTF-8 (invalid bytes replaced).
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// One output pipe being collected.
    final class Capture {
        var fd: OwnedFD?
        var registration: EventLoop.Registration?
        var bytes: [UInt8] = []
        var truncated = false
        let limit: Int

        init(fd: consuming OwnedFD?, limit: Int) {
            self.fd = fd
            self.limit = limit
        }

        /// Reads until the pipe is empty. Returns true at EOF or on a read error.
        func drain() -> Bool {
            while let raw = fd?.rawValue {
                let chunk: [UInt8]
                do {
                    switch try Descriptor.read(raw, maxBytes: 16 * 1024) {
                    case .wouldBlock: return false
                    case .ready(let data): chunk = data
                    }
                } catch {
                    return true
                }
                if chunk.isEmpty { return true }
                let room = limit - bytes.count
                if chunk.count <= room {
                    bytes.append(contentsOf: chunk)
                } else {
                    bytes.append(contentsOf: chunk.prefix(max(room, 0)))
                    truncated = true
                }
            }
            return true
        }

        func close(loop: EventLoop) {
            if let registration { loop.deregister(registration) }
            registration = nil
            fd = nil
        }
    }

    public let pid: Int32
    public let executable: String
    private let loop: EventLoop
    private var pidfd: OwnedFD?
    private var pidRegistration: EventLoop.Registration?
    private let stdoutCapture: Capture
    private let stderrCapture: Capture
    private var timeoutTimer: EventLoop.TimerHandle?
    private var killTimer: EventLoop.TimerHandle?
    private var timedOut = false
    private let startedAt: Instant
    private let killGrace: Duration
    private var onExit: ((Outcome) -> Void)?

    /// Spawns the child. Throws if it can not be started (e.g. the executable is missing); no fd
    /// leaks then.
    public init(
        loop: EventLoop,
        executable: String,
        arguments: [String] = [],
        environment: [String],
        stdout: Spawn.Output = .pipe,
        stderr: Spawn.Output = .pipe,
        outputLimit: Int = 64 * 1024,
        timeout: Duration? = nil,
        killGrace: Duration = .seconds(5),
        onExit: @escaping (Outcome) -> Void
    ) throws(SysError) {
        self.loop = loop
        self.executable = executable
        self.killGrace = killGrace
        self.onExit = onExit
        var spawned = try Spawn.start(
            executable: executable,
            arguments: arguments,
            environment: environment,
            stdout: stdout,
            stderr: stderr
        )
        pid = spawned.pid
        startedAt = loop.now
        stdoutCapture = Capture(fd: spawned.stdout.take(), limit: outputLimit)
        stderrCapture = Capture(fd: spawned.stderr.take(), limit: outputLimit)
        let pidfdRaw = spawned.pidfd.rawValue
        pidfd = consume spawned.pidfd

        // From here on a failure must not leave the child running unsupervised.
        do throws(SysError) {
            // Strong captures: a running child keeps its supervisor alive. Deregistering on exit
            // releases the closures and with them the cycle.
            pidRegistration = try loop.register(fd: pidfdRaw, events: .in) { _ in self.reap() }
            for capture in [stdoutCapture, stderrCapture] {
                guard let raw = capture.fd?.rawValue else { continue }
                capture.registration = try loop.register(fd: raw, events: .in) { _ in
                    if capture.drain() { capture.close(loop: self.loop) }
                }
            }
        } catch {
            abandon()
            throw error
        }
        if let timeout {
            timeoutTimer = loop.schedule(after: timeout) { [weak self] in self?.timeoutFired() }
        }
    }

    /// False once the child has been reaped.
    public var isRunning: Bool { pidfd != nil }

    /// Sends `signal` through the pidfd (never to a reused pid). Does nothing after exit.
    public func sendSignal(_ signal: Signal) throws(SysError) {
        guard let raw = pidfd?.rawValue else { return }
        do {
            try PidFD.sendSignal(raw, signal)
        } catch let error where error.isNoSuchProcess {
            return  // exited; the pidfd will report it
        }
    }

    /// SIGTERM now, SIGKILL after `grace` if it is still running.
    public func terminate(grace: Duration) {
        try? sendSignal(.term)
        scheduleKill(after: grace)
    }

    private func timeoutFired() {
        timeoutTimer = nil
        guard isRunning else { return }
        timedOut = true
        terminate(grace: killGrace)
    }

    private func scheduleKill(after grace: Duration) {
        guard isRunning, killTimer == nil else { return }
        killTimer = loop.schedule(after: grace) { [weak self] in
            guard let self else { return }
            self.killTimer = nil
            try? self.sendSignal(.kill)
        }
    }

    private func reap() {
        guard let raw = pidfd?.rawValue else { return }
        let status: ExitStatus
        do {
            switch try PidFD.waitExit(raw) {
            case .wouldBlock: return  // spurious readiness
            case .ready(let value): status = value
            }
        } catch {
            // ECHILD: someone else reaped it (a waitpid(-1) elsewhere; proxym never does that).
            // The real status is lost: report -1, which no exit(3) can produce.
            status = .exited(-1)
        }
        finish(status)
    }

    private func finish(_ status: ExitStatus) {
        if let pidRegistration { loop.deregister(pidRegistration) }
        pidRegistration = nil
        pidfd = nil
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        if let killTimer { loop.cancel(killTimer) }
        timeoutTimer = nil
        killTimer = nil
        // Take what the child left in the pipes, without waiting for EOF.
        for capture in [stdoutCapture, stderrCapture] {
            _ = capture.drain()
            capture.close(loop: loop)
        }
        let outcome = Outcome(
            status: status,
            stdout: stdoutCapture.bytes,
            stderr: stderrCapture.bytes,
            stdoutTruncated: stdoutCapture.truncated,
            stderrTruncated: stderrCapture.truncated,
            timedOut: timedOut,
            pid: pid,
            duration: loop.now - startedAt
        )
        let callback = onExit
        onExit = nil
        callback?(outcome)
    }

    /// Registration failed after the spawn: kill and reap synchronously (SIGKILL is immediate),
    /// close everything, and never call onExit.
    private func abandon() {
        if let raw = pidfd?.rawValue {
            try? PidFD.sendSignal(raw, .kill)
            _ = ChildReaper.waitBlocking(pid)
        }
        onExit = nil
        if let pidRegistration { loop.deregister(pidRegistration) }
        pidRegistration = nil
        pidfd = nil
        stdoutCapture.close(loop: loop)
        stderrCapture.close(loop: loop)
    }
}
