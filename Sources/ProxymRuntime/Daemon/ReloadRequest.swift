import ProxymCore
import ProxymPosix

/// `proxym reload --pid N`: what the unit's ExecReload runs. Sends the daemon SIGHUP with
/// sigqueue(3) and `ReloadAnswers.marker`, then waits until the daemon answers (SIGWINCH with the
/// same marker, from that pid) that the resync is applied, the daemon is gone, or time runs out.
/// While this process runs, systemd keeps the reload job open, so `systemctl reload proxym`
/// returns after the re-apply (see `ReloadAnswers`).
public enum ReloadRequest {
    public enum Outcome: Sendable, Equatable {
        /// The daemon applied the resync.
        case applied(took: Duration)
        /// The daemon exited before it answered.
        case daemonGone
        /// No answer within the time given.
        case timedOut
    }

    /// Must run while this process has one thread (main, first thing): it blocks SIGWINCH.
    public static func send(to pid: Int32, timeout: Duration) throws(SysError) -> Outcome {
        let answer = SignalSet([.winch])
        let previous = try answer.blockOnCurrentThread()
        defer { try? previous.setAsCurrentThreadMask() }
        let loop = try EventLoop()
        let fd = try SignalFD.create(answer)
        let began = loop.now
        var outcome: Outcome?
        let registration = try loop.register(fd: fd.rawValue, events: .in) { _ in
            while outcome == nil, case .ready(let infos)? = try? SignalFD.read(fd.rawValue) {
                if infos.contains(where: { $0.senderPID == pid && $0.isQueued && $0.value == ReloadAnswers.marker }) {
                    outcome = .applied(took: loop.now - began)
                }
            }
            if outcome != nil { loop.stop() }
        }
        defer { loop.deregister(registration) }
        // The daemon may exit instead of answering (stopped meanwhile): its pidfd becomes readable.
        let daemon = try PidFD.open(pid: pid)
        let exitWatch = try loop.register(fd: daemon.rawValue, events: .in) { _ in
            if outcome == nil { outcome = .daemonGone }
            loop.stop()
        }
        defer { loop.deregister(exitWatch) }
        try queueSignal(pid: pid, signal: .hup, value: ReloadAnswers.marker)
        _ = loop.schedule(after: timeout) {
            if outcome == nil { outcome = .timedOut }
            loop.stop()
        }
        try loop.run()
        return outcome ?? .timedOut
    }
}
