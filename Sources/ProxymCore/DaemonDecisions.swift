/// The daemon's sequencing decisions as pure values beside `RefreshScheduler` and `RemovalGuard`:
/// each takes an event and the current instant and says what to do; the runtime carries it out
/// (timers, sd_notify, stopping the loop). Tests step them with explicit instants.

/// Waits for every source to answer a whole read before one refresh: the first apply at start (a
/// proxym restarted while haproxy runs from the config on disk must not drop a source's routes only
/// because that source has not answered yet) and the re-apply after SIGHUP. Bounded: at the deadline
/// the refresh goes ahead with what there is (a late source keeps its last good services, none at
/// start). Answers to reads begun before the gate opened do not count.
public struct SourceGate: Sendable, Equatable {
    public enum Purpose: Sendable, Equatable {
        case startup
        case reload
    }

    public enum Decision: Sendable, Equatable {
        /// Not every source has answered: wait (arm a timer for the deadline).
        case wait(until: Instant)
        /// Go ahead; `missing` did not answer in time (log them).
        case open(missing: [String])
    }

    public let purpose: Purpose
    public let openedAt: Instant
    public let deadline: Instant
    /// Sources that have not answered yet, in their order.
    public private(set) var waiting: [String]

    public init(purpose: Purpose, sources: [String], now: Instant, patience: Duration) {
        self.purpose = purpose
        self.openedAt = now
        self.deadline = now + patience
        self.waiting = sources
    }

    /// `name` answered (success or failure) a read that began at `readBegan`.
    public mutating func answered(_ name: String, readBegan: Instant, now: Instant) -> Decision {
        if readBegan >= openedAt { waiting.removeAll { $0 == name } }
        return check(now: now)
    }

    public func check(now: Instant) -> Decision {
        if waiting.isEmpty { return .open(missing: []) }
        if now >= deadline { return .open(missing: waiting) }
        return .wait(until: deadline)
    }
}

/// What systemd hears about readiness: READY=1 once the first refresh is over, RELOADING=1 on SIGHUP
/// and READY=1 again when the refresh that carries it is over (that refresh waits for the sources'
/// whole re-reads through a `SourceGate`, so it is bounded: READY=1 never waits on a hanging source
/// for longer than the gate's patience), STOPPING=1 on stop.
public struct ReadinessSequence: Sendable, Equatable {
    public private(set) var isReady = false
    /// RELOADING=1 was sent; READY=1 is owed when the refresh carrying SIGHUP is over.
    public private(set) var isReloading = false
    public private(set) var isStopping = false

    public init() {}

    public enum Event: Sendable, Equatable {
        /// A refresh is over; `carriedReload`: its triggers include SIGHUP.
        case refreshFinished(carriedReload: Bool)
        /// SIGHUP.
        case reloadRequested(now: Instant)
        /// SIGTERM/SIGINT.
        case stopRequested
    }

    /// The sd_notify lines to send before the STATUS line (maybe none).
    public mutating func handle(_ event: Event) -> [String] {
        switch event {
        case .refreshFinished(let carriedReload):
            if !isReady {
                isReady = true
                isReloading = false
                return ["READY=1"]
            }
            if isReloading && carriedReload {
                isReloading = false
                return ["READY=1"]
            }
            return []
        case .reloadRequested(let now):
            // Before the first READY=1 the startup refresh re-reads everything anyway.
            guard isReady, !isStopping else { return [] }
            isReloading = true
            return ["RELOADING=1", "MONOTONIC_USEC=\(now.microseconds)"]
        case .stopRequested:
            guard !isStopping else { return [] }
            isStopping = true
            return ["STOPPING=1"]
        }
    }
}

/// A failed apply worth trying again with the same input (a reload command that failed, a check
/// that timed out or could not run, a full disk) is retried with backoff: 1 s, doubling to 60 s; a
/// success ends it; haproxy's verdict on the config (a rejection) waits for a change of input.
public struct ApplyRetry: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case succeeded
        /// Failed in a way the same input may get through later.
        case failedTransiently
        /// haproxy rejected this config: only a change of input helps.
        case rejected
    }

    private var backoff = Backoff()

    public init() {}

    /// After a refresh: the delay to retry after, or nil for no retry.
    public mutating func refreshFinished(_ outcome: Outcome) -> Duration? {
        switch outcome {
        case .failedTransiently:
            return backoff.take()
        case .succeeded, .rejected:
            backoff.reset()
            return nil
        }
    }
}

/// The steps of a graceful stop: STOPPING=1, every source stopped (Marathon unsubscribes its
/// callback), a running refresh allowed to finish, all bounded by a deadline; a second stop signal
/// exits at once. (Temp files are removed on every way out: that is the caller's last step.)
public struct ShutdownSequence: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Nothing to do yet.
        case wait
        /// First stop signal: cancel the timers, stop every source, arm a timer for `deadline`.
        case begin(deadline: Instant, waitingForRefresh: Bool)
        /// Stop the loop now.
        case exit(Reason)
    }

    public enum Reason: Sendable, Equatable {
        case finished
        case secondSignal
        case deadlinePassed
    }

    public private(set) var isStopping = false
    private var sourcesLeft = 0
    private var refreshRunning = false

    public init() {}

    /// SIGTERM/SIGINT. `refreshLimit`: how long a running refresh may still take (its children have
    /// their own timeouts); without one, sources get `sourceLimit` to clean up.
    public mutating func stopRequested(
        now: Instant, sources: Int, refreshRunning: Bool, refreshLimit: Duration, sourceLimit: Duration = .seconds(5)
    ) -> Step {
        guard !isStopping else { return .exit(.secondSignal) }
        isStopping = true
        sourcesLeft = sources
        self.refreshRunning = refreshRunning
        return .begin(deadline: now + (refreshRunning ? refreshLimit : sourceLimit), waitingForRefresh: refreshRunning)
    }

    public mutating func sourceStopped() -> Step {
        sourcesLeft = max(0, sourcesLeft - 1)
        return next()
    }

    public mutating func refreshFinished() -> Step {
        refreshRunning = false
        return next()
    }

    public func deadlinePassed() -> Step { isStopping ? .exit(.deadlinePassed) : .wait }

    /// After `begin`: whether everything is already done (no refresh running, no source left).
    public func next() -> Step {
        guard isStopping else { return .wait }
        return sourcesLeft == 0 && !refreshRunning ? .exit(.finished) : .wait
    }
}

/// One refresh as it went: what `recentRefreshes` keeps for a status endpoint.
public struct RefreshRecord: Sendable, Equatable {
    /// The INFO line's trigger: `file web.json changed (+2 more)`.
    public var trigger: String
    public var startedAt: Moment
    public var duration: Duration
    /// `applied, haproxy reloaded`, `unchanged`, `FAILED: ...`, `HELD by the safety guard`.
    public var outcome: String
    public var serviceCount: Int
    /// The outcome in one word, for metrics and the status page.
    public var result: RefreshResult

    public init(
        trigger: String, startedAt: Moment, duration: Duration, outcome: String, serviceCount: Int,
        result: RefreshResult = .applied
    ) {
        self.trigger = trigger
        self.startedAt = startedAt
        self.duration = duration
        self.outcome = outcome
        self.serviceCount = serviceCount
        self.result = result
    }
}

/// How a refresh ended, in one word: something was applied, nothing had changed, an apply failed, or
/// the safety guard held it back.
public enum RefreshResult: String, Sendable, Equatable, CaseIterable {
    case applied, unchanged, failed, held
}

/// The last `capacity` refreshes, oldest first (a ring: memory stays bounded however long it runs).
public struct RefreshHistory: Sendable, Equatable {
    public let capacity: Int
    private var storage: [RefreshRecord] = []
    private var next = 0

    public init(capacity: Int = 32) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    public mutating func append(_ record: RefreshRecord) {
        if storage.count < capacity {
            storage.append(record)
        } else {
            storage[next] = record
        }
        next = (next + 1) % capacity
    }

    public var records: [RefreshRecord] {
        storage.count < capacity ? storage : Array(storage[next...] + storage[..<next])
    }
}

/// Stray signals (ones proxym has no use for but that would kill or stop it by default) are logged
/// and ignored; a flood of them gives one line per signal per `interval`, with a count.
public struct StraySignalLog: Sendable, Equatable {
    public let interval: Duration
    private var lastLogged: [String: Instant] = [:]
    private var suppressed: [String: Int] = [:]

    public init(interval: Duration = .seconds(10)) { self.interval = interval }

    /// The line to log for `signal` received at `now`, or nil to stay quiet (counted).
    public mutating func received(_ signal: String, at now: Instant) -> String? {
        if let last = lastLogged[signal], now < last + interval {
            suppressed[signal, default: 0] += 1
            return nil
        }
        lastLogged[signal] = now
        let more = suppressed.removeValue(forKey: signal) ?? 0
        return more == 0
            ? "stray \(signal) received"
            : "stray \(signal) received (and \(more) more in the last \(interval) before)"
    }
}

/// Who is waiting for a SIGHUP resync to be applied. `proxym reload` (the unit's ExecReload) sends
/// SIGHUP with sigqueue(3) and `marker`, then waits for an answer; the daemon answers each such
/// sender once a refresh that began after its signal and carries the resync is over. So
/// `systemctl reload` returns only after the re-apply, whatever order systemd reads RELOADING=1
/// and the exit of its control process in (systemd 252 has no Type=notify-reload). A plain SIGHUP
/// (`kill -HUP`) resyncs the same way and waits for no answer.
public struct ReloadAnswers: Sendable, Equatable {
    /// The sigqueue value that asks for an answer ("prxm").
    public static let marker: Int32 = 0x7072_786D

    /// Asked; the refresh that carries their resync has not begun.
    public private(set) var waiting: [Int32] = []
    /// Their resync's refresh is running.
    public private(set) var inFlight: [Int32] = []

    public init() {}

    public mutating func asked(by pid: Int32) {
        guard pid > 0, !waiting.contains(pid), !inFlight.contains(pid) else { return }
        waiting.append(pid)
    }

    /// A refresh begins; `carriesResync`: it applies whole re-reads (SIGHUP's, or the start-up one).
    public mutating func refreshStarted(carriesResync: Bool) {
        guard carriesResync else { return }
        inFlight += waiting
        waiting = []
    }

    /// A refresh is over: the senders to answer now.
    public mutating func refreshFinished() -> [Int32] {
        defer { inFlight = [] }
        return inFlight
    }
}
