/// A point on the monotonic clock (CLOCK_MONOTONIC), in nanoseconds since an arbitrary origin.
///
/// Pure code never reads a clock: the runtime passes `now` in, so state machines are tested by
/// stepping them with explicit instants.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    /// Microseconds, as sd_notify's `MONOTONIC_USEC=` wants them.
    public var microseconds: UInt64 { nanoseconds / 1_000 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let delta = rhs.nanosecondsClamped
        if delta >= 0 {
            let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(UInt64(delta))
            return Instant(nanoseconds: overflow ? .max : sum)
        }
        let magnitude = UInt64(-delta)
        return Instant(nanoseconds: lhs.nanoseconds > magnitude ? lhs.nanoseconds - magnitude : 0)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs + (.zero - rhs) }

    /// `lhs - rhs` as a duration (negative when `lhs` is earlier).
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        if lhs >= rhs { return .nanoseconds(Int64(clamping: lhs.nanoseconds - rhs.nanoseconds)) }
        return .zero - .nanoseconds(Int64(clamping: rhs.nanoseconds - lhs.nanoseconds))
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to Int64.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// Whole milliseconds, rounded up (so a wait never ends before its deadline).
    public var millisecondsRoundedUp: Int64 {
        let ns = nanosecondsClamped
        if ns <= 0 { return 0 }
        return (ns + 999_999) / 1_000_000
    }
}
