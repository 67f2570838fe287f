import CSystemd
import Glibc

/// timerfd(2) on CLOCK_MONOTONIC with absolute deadlines in nanoseconds
/// (the same clock and unit as `MonotonicClock.nanoseconds()`).
public enum TimerFD {
    /// timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), disarmed.
    public static func create() throws(SysError) -> OwnedFD {
        let fd = try sysValue("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
        }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Arms a one-shot timer for the absolute monotonic `deadline`. A deadline in the past fires
    /// at once. (0 would mean "disarm" to the kernel, so it is raised to 1.)
    public static func setDeadline(_ fd: CInt, nanoseconds deadline: UInt64) throws(SysError) {
        let value = max(deadline, 1)
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(value / 1_000_000_000)
        spec.it_value.tv_nsec = Int(value % 1_000_000_000)
        _ = try sysValue("timerfd_settime") { timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &spec, nil) }
    }

    public static func disarm(_ fd: CInt) throws(SysError) {
        var spec = itimerspec()
        _ = try sysValue("timerfd_settime(disarm)") { timerfd_settime(fd, 0, &spec, nil) }
    }

    /// Time left until expiry, or nil when disarmed (timerfd_gettime).
    public static func remaining(_ fd: CInt) throws(SysError) -> Duration? {
        var spec = itimerspec()
        _ = try sysValue("timerfd_gettime") { timerfd_gettime(fd, &spec) }
        if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { return nil }
        return .seconds(spec.it_value.tv_sec) + .nanoseconds(spec.it_value.tv_nsec)
    }

    /// The number of expirations since the last read; `.wouldBlock` when none.
    public static func readExpirations(_ fd: CInt) throws(SysError) -> IOResult<UInt64> {
        var count: UInt64 = 0
        let result = try withUnsafeMutableBytes(of: &count) { buffer throws(SysError) in
            try Descriptor.read(fd, into: buffer)
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .ready(let n):
            precondition(n == 8, "timerfd read returned \(n) bytes")
            return .ready(count)
        }
    }
}
