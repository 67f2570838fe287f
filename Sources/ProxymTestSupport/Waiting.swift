import ProxymPosix

/// Polls `condition` every `poll` until it is true (returns true) or `timeout` passes (returns
/// false). Bounded, so a test never hangs on it.
public func waitUntil(
    timeout: Duration = .seconds(10),
    poll: Duration = .milliseconds(10),
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = MonotonicClock.nanoseconds() + nanoseconds(timeout)
    while true {
        if try condition() { return true }
        if MonotonicClock.nanoseconds() >= deadline { return false }
        MonotonicClock.sleep(poll)
    }
}

/// A non-negative duration in nanoseconds (negative counts as zero; huge values saturate).
func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
    let (scaled, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return .max / 2 }
    return scaled + UInt64(attoseconds / 1_000_000_000)
}
