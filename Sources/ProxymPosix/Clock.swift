import Glibc
import ProxymModel

/// CLOCK_MONOTONIC: never jumps, stops during suspend. Deadlines, timeouts, MONOTONIC_USEC.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        // clock_gettime on CLOCK_MONOTONIC cannot fail with a valid pointer.
        let rc = clock_gettime(CLOCK_MONOTONIC, &spec)
        precondition(rc == 0, "clock_gettime(CLOCK_MONOTONIC) failed")
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Sleeps the calling thread (nanosleep, resumed after EINTR). For tests and tools only:
    /// the daemon never sleeps, it waits in epoll.
    public static func sleep(_ duration: Duration) {
        let total = duration.components
        guard total.seconds > 0 || (total.seconds == 0 && total.attoseconds > 0) else { return }
        var request = timespec(tv_sec: Int(total.seconds), tv_nsec: Int(total.attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && Glibc.errno == EINTR {
            request = remaining
        }
    }
}

/// CLOCK_REALTIME, for log timestamps and file times only (it can jump).
public enum WallClock {
    public struct Time: Sendable, Hashable, Comparable {
        public var seconds: Int64
        public var nanoseconds: Int32

        public init(seconds: Int64, nanoseconds: Int32) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        public static func < (lhs: Time, rhs: Time) -> Bool {
            (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
        }
    }

    public static func now() -> Time {
        var spec = timespec()
        let rc = clock_gettime(CLOCK_REALTIME, &spec)
        precondition(rc == 0, "clock_gettime(CLOCK_REALTIME) failed")
        return Time(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    /// Broken-down local time (localtime_r, which reads TZ / /etc/localtime).
    public static func localTime(seconds: Int64) -> BrokenDownTime {
        var time = time_t(seconds)
        var parts = tm()
        if localtime_r(&time, &parts) == nil {
            // Out of range for the C library: report the epoch rather than trap in a log line.
            return BrokenDownTime(unixSeconds: 0)
        }
        return BrokenDownTime(
            year: Int(parts.tm_year) + 1900,
            month: Int(parts.tm_mon) + 1,
            day: Int(parts.tm_mday),
            hour: Int(parts.tm_hour),
            minute: Int(parts.tm_min),
            second: Int(parts.tm_sec),
            weekday: Int(parts.tm_wday),
            yearDay: Int(parts.tm_yday) + 1,
            utcOffsetSeconds: Int(parts.tm_gmtoff),
            zoneAbbreviation: parts.tm_zone.map { String(cString: $0) } ?? ""
        )
    }
}

/// The identity of a thread, to assert that a loop is used only on the thread that created it.
public struct ThreadIdentity: Sendable {
    private let thread: pthread_t

    public static var current: ThreadIdentity { ThreadIdentity(thread: pthread_self()) }

    public var isCurrent: Bool { pthread_equal(thread, pthread_self()) != 0 }
}
