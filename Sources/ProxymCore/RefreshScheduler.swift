/// Why a refresh was asked for. Notifiers only ever say "something changed"; the reason is for the
/// INFO line that names what triggered a refresh.
public struct RefreshReason: Hashable, Sendable, CustomStringConvertible {
    public var description: String
    /// SIGHUP-style: re-read every input and re-apply even when the rendered text is unchanged.
    public var forcesFullResync: Bool

    public init(_ description: String, forcesFullResync: Bool = false) {
        self.description = description
        self.forcesFullResync = forcesFullResync
    }

    public static let startup = RefreshReason("startup", forcesFullResync: true)
    public static let sighup = RefreshReason("SIGHUP", forcesFullResync: true)
    public static let sigusr1 = RefreshReason("SIGUSR1")
}

/// Coalesces refresh requests, leading edge first: the first request after a quiet spell (no request
/// pending, no refresh running, none started within the quiet period) starts a refresh at once; the
/// requests that follow within the quiet period give one refresh when they stop for a quiet period,
/// a continuous stream still gets one at least every `maxDelay`, and a request that arrives while a
/// refresh runs gives exactly one more after it. Two refreshes never start less than a quiet period
/// apart unless one of them was asked for `immediate`ly (startup, SIGHUP, a retry).
/// Pure: the caller passes `now` and arms one timer at `Decision.timer`.
public struct RefreshScheduler: Sendable {
    public struct Decision: Equatable, Sendable {
        /// Start a refresh now for these reasons (in arrival order, without repeats).
        public var start: Batch?
        /// Arm the (single) refresh timer for this instant; `nil` = disarm.
        public var timer: Instant?

        public init(start: Batch? = nil, timer: Instant? = nil) {
            self.start = start
            self.timer = timer
        }
    }

    public struct Batch: Equatable, Sendable {
        public var reasons: [RefreshReason]
        /// How many requests this batch coalesced (>= reasons.count).
        public var requestCount: Int
        public var forcesFullResync: Bool { reasons.contains { $0.forcesFullResync } }

        public init(reasons: [RefreshReason], requestCount: Int) {
            self.reasons = reasons
            self.requestCount = requestCount
        }

        /// `SIGUSR1, file web.json changed (+3 more)`: at most `limit` reasons spelled out.
        public func summary(limit: Int = 3) -> String {
            var text = reasons.prefix(limit).map(\.description).joined(separator: ", ")
            let hidden = requestCount - min(limit, reasons.count)
            if hidden > 0 { text += " (+\(hidden) more)" }
            return text
        }
    }

    public let quietPeriod: Duration
    public let maxDelay: Duration
    /// False: every request waits for the quiet period, a lone one too (trailing edge only).
    public let leadingEdge: Bool
    public private(set) var isRunning = false

    private var pending: [RefreshReason] = []
    private var pendingCount = 0
    private var firstPendingAt: Instant?
    private var lastPendingAt: Instant?
    private var immediate = false
    /// When the last refresh started: a request within a quiet period of it is not "after a quiet
    /// spell", so it waits like the rest of a burst.
    private var lastStartAt: Instant?

    public init(quietPeriod: Duration, maxDelay: Duration, leadingEdge: Bool = true) {
        self.quietPeriod = quietPeriod
        self.maxDelay = max(maxDelay, quietPeriod)
        self.leadingEdge = leadingEdge
    }

    public var hasPending: Bool { pendingCount > 0 }

    /// A batch remembers at most this many distinct reasons (the log shows three); more requests are
    /// only counted. Without the bound, a burst of events for thousands of distinct files made every
    /// request search an ever longer list: quadratic time on the loop, and memory with it.
    public static let maxDistinctReasons = 32

    /// The instant the pending batch becomes due, if any.
    public var dueAt: Instant? {
        guard let first = firstPendingAt, let last = lastPendingAt else { return nil }
        if immediate { return first }
        return min(last + quietPeriod, first + maxDelay)
    }

    /// Something changed. `immediate` skips the quiet period (SIGHUP, startup).
    public mutating func request(_ reason: RefreshReason, at now: Instant, immediate: Bool = false) -> Decision {
        request([reason], count: 1, at: now, immediate: immediate)
    }

    /// Several changes noticed at once (one batch of inotify events, the events a Marathon fetch
    /// answered): one request, `count` changes, these reasons.
    public mutating func request(
        _ reasons: [RefreshReason], count: Int, at now: Instant, immediate: Bool = false
    ) -> Decision {
        for reason in reasons
        where (pending.count < Self.maxDistinctReasons || reason.forcesFullResync) && !pending.contains(reason) {
            pending.append(reason)
        }
        pendingCount += max(count, 1)
        if firstPendingAt == nil {
            firstPendingAt = now
            // Leading edge: alone after a quiet spell, it goes at once.
            if leadingEdge, !isRunning, lastStartAt.map({ now >= $0 + quietPeriod }) ?? true { self.immediate = true }
        }
        lastPendingAt = now
        if immediate { self.immediate = true }
        return decide(at: now)
    }

    /// The refresh timer went off.
    public mutating func timerExpired(at now: Instant) -> Decision { decide(at: now) }

    /// The running refresh is over (applied or failed).
    public mutating func finished(at now: Instant) -> Decision {
        precondition(isRunning, "finished() without a running refresh")
        isRunning = false
        return decide(at: now)
    }

    private mutating func decide(at now: Instant) -> Decision {
        // While a refresh runs, requests only accumulate; finished() decides what follows.
        guard !isRunning, let due = dueAt else { return Decision() }
        if due > now { return Decision(timer: due) }
        let batch = Batch(reasons: pending, requestCount: pendingCount)
        pending = []
        pendingCount = 0
        firstPendingAt = nil
        lastPendingAt = nil
        immediate = false
        isRunning = true
        lastStartAt = now
        return Decision(start: batch)
    }
}
