/// Collapses repeated log lines, so a flood (a client hammering the callback port, a failing call
/// retried in a tight loop) costs a few lines, not the disk.
///
/// Lines are grouped by kind (`Key`: the caller decides, e.g. level, call site and message). Within
/// `interval` of a kind's first line, `burst` lines of that kind pass; the rest are counted, and when
/// the interval ends one line says how many were left out ("… (8,812 more in the last 10 s)"). A kind
/// still flooding then stays collapsed: from then on it costs one line per interval, with its count,
/// until an interval passes with nothing left out.
///
/// Pure and not thread-safe: the caller owns the clock and the lock. At most `maxKinds` kinds are
/// tracked; past that, new kinds share one overflow entry (`overflowKey`), so memory is bounded
/// whatever is logged.
public struct LogRateLimiter<Key: Hashable, Payload> {
    /// What was left out of one kind in one interval.
    public struct Summary {
        public var key: Key
        /// Lines not written.
        public var suppressed: Int
        /// The last of them (for its message and metadata).
        public var last: Payload
        public var interval: Duration
    }

    private struct Window {
        var ends: Instant
        var passed: Int
        var suppressed = 0
        var last: Payload?
    }

    public let interval: Duration
    public let burst: Int
    public let maxKinds: Int
    public let overflowKey: Key
    private var windows: [Key: Window] = [:]
    /// The earliest end of any window (nil = none): `expire` does nothing before it.
    private var nextEnd: Instant?

    /// - Precondition: `interval` is positive, `burst` and `maxKinds` are at least 1.
    public init(interval: Duration = .seconds(10), burst: Int = 5, maxKinds: Int = 1024, overflowKey: Key) {
        precondition(interval > .zero && burst >= 1 && maxKinds >= 1)
        self.interval = interval
        self.burst = burst
        self.maxKinds = maxKinds
        self.overflowKey = overflowKey
    }

    /// Kinds currently tracked.
    public var trackedKinds: Int { windows.count }

    /// Whether some kind is collapsed (its next line would be left out, or lines were left out whose
    /// count is not said yet): only then is a timer calling `expire` needed.
    public var isCollapsing: Bool { windows.values.contains { $0.passed >= burst } }

    /// When `expire` next has something to do (the earliest end of a window), or nil.
    public var nextExpiry: Instant? { nextEnd }

    /// One line of kind `key` at `now`: whether to write it, and the summaries of intervals that have
    /// ended (any kind's; write them first).
    public mutating func admit(_ key: Key, _ payload: Payload, at now: Instant) -> (write: Bool, summaries: [Summary]) {
        let summaries = expire(at: now)
        var key = key
        if windows[key] == nil && windows.count >= maxKinds { key = overflowKey }
        guard var window = windows[key] else {
            windows[key] = Window(ends: now + interval, passed: 1)
            nextEnd = min(nextEnd ?? now + interval, now + interval)
            return (true, summaries)
        }
        if window.passed < burst {
            window.passed += 1
            windows[key] = window
            return (true, summaries)
        }
        window.suppressed += 1
        window.last = payload
        windows[key] = window
        return (false, summaries)
    }

    /// Ends the intervals that are over at `now`: one summary per kind that left lines out. Call it
    /// now and then (a timer) so the count of a flood that stopped is still said.
    public mutating func expire(at now: Instant) -> [Summary] {
        guard let nextEnd, nextEnd <= now else { return [] }
        var summaries: [Summary] = []
        var earliest: Instant?
        for (key, window) in windows {
            guard window.ends <= now else {
                earliest = min(earliest ?? window.ends, window.ends)
                continue
            }
            if window.suppressed > 0, let last = window.last {
                summaries.append(Summary(key: key, suppressed: window.suppressed, last: last, interval: interval))
                // Still flooding: the next interval starts collapsed (one line, its count).
                let ends = now + interval
                windows[key] = Window(ends: ends, passed: burst)
                earliest = min(earliest ?? ends, ends)
            } else {
                windows[key] = nil
            }
        }
        self.nextEnd = earliest
        return summaries
    }

    /// "(8,812 more in the last 10 s)": what a summary line adds to the message it repeats.
    public static func note(_ summary: Summary) -> String {
        "(\(grouped(summary.suppressed)) more in the last \(seconds(summary.interval)))"
    }

    /// 8812 → "8,812".
    static func grouped(_ count: Int) -> String {
        let digits = String(count.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return (count < 0 ? "-" : "") + out
    }

    /// 10 s, 1.5 s, 500 ms.
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s"
    }
}
