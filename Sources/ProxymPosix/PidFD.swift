import CSystemd
import Glibc

/// How a child ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Signal)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by \(signal)"
        }
    }
}

/// pidfd(2) family: a descriptor for one child that never refers to a reused pid. It becomes
/// readable (EPOLLIN) when the child exits; `waitExit` then reaps it.
public enum PidFD {
    /// pidfd_open(pid, 0). The fd is always close-on-exec.
    public static func open(pid: Int32) throws(SysError) -> OwnedFD {
        let fd = try sysValue("pidfd_open(\(pid))") { proxym_pidfd_open(pid, 0) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// waitid(P_PIDFD, WEXITED | WNOHANG): reaps the child if it has exited, `.wouldBlock` if it
    /// is still running. Reaping twice throws ECHILD.
    public static func waitExit(_ pidfd: CInt) throws(SysError) -> IOResult<ExitStatus> {
        var info = siginfo_t()
        _ = try sysValue("waitid(P_PIDFD, fd \(pidfd))") { proxym_waitid_pidfd(pidfd, &info, WEXITED | WNOHANG) }
        if proxym_siginfo_pid(&info) == 0 { return .wouldBlock }
        return .ready(ExitStatus(code: proxym_siginfo_code(&info), status: proxym_siginfo_status(&info)))
    }

    /// pidfd_send_signal. ESRCH (already reaped) throws; check `isNoSuchProcess`.
    public static func sendSignal(_ pidfd: CInt, _ signal: Signal) throws(SysError) {
        _ = try sysValue("pidfd_send_signal(fd \(pidfd), \(signal))") {
            proxym_pidfd_send_signal(pidfd, signal.rawValue)
        }
    }
}

extension ExitStatus {
    init(code: Int32, status: Int32) {
        switch Int(code) {
        case Int(CLD_KILLED), Int(CLD_DUMPED): self = .signaled(Signal(rawValue: status))
        default: self = .exited(status)
        }
    }
}

/// Reaping by pid, for callers that hold only a pid (a `ProcessGuard` cleaning up in a test).
public enum ChildReaper {
    /// True when `pid` is our child and has not been reaped yet (it may have exited: a zombie).
    /// An unreaped child's pid can not be reused, so signalling it is then safe.
    public static func isUnreapedChild(_ pid: Int32) -> Bool {
        var info = siginfo_t()
        let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        return rc == 0
    }

    /// Blocking waitpid; returns the status, or nil if `pid` is not (or no longer) our child.
    public static func waitBlocking(_ pid: Int32) -> ExitStatus? {
        var info = siginfo_t()
        while true {
            if waitid(P_PID, id_t(pid), &info, WEXITED) == 0 {
                return ExitStatus(code: proxym_siginfo_code(&info), status: proxym_siginfo_status(&info))
            }
            if Glibc.errno != EINTR { return nil }
        }
    }
}
