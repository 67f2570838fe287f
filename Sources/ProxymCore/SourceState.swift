/// A point in time as both clocks saw it: the monotonic instant for durations and decisions, the wall
/// clock (seconds since the Unix epoch) for people and for the status endpoint.
public struct Moment: Sendable, Equatable, Hashable {
    public var instant: Instant
    public var unixSeconds: Int64

    public init(instant: Instant, unixSeconds: Int64) {
        self.instant = instant
        self.unixSeconds = unixSeconds
    }
}

/// What one service source (the File module, Marathon, later others) is doing, as a value: what the
/// STATUS line and the logs say about it, and what a status endpoint can expose as it is. Each source
/// keeps its own and changes it on its own reads; the daemon only reads it.
///
/// A source is *stale* while it fails (it keeps its last good services) or while a read has been
/// running for longer than the daemon's patience (`staleSince`).
public struct SourceState: Sendable, Equatable {
    public enum Health: Sendable, Equatable {
        /// No read has finished yet.
        case starting
        case ok
        /// The last read failed; the source keeps the services of its last good one.
        case failing(error: String, since: Moment)
    }

    public let name: String
    public private(set) var health: Health = .starting
    /// A read (a Marathon fetch, ...) under way, and when it began.
    public private(set) var fetchingSince: Moment?
    /// When the last read succeeded.
    public private(set) var lastSuccess: Moment?
    /// Services in the latest good list.
    public private(set) var serviceCount = 0
    /// Inputs the source refused while still working (e.g. `2 invalid files: a.json, b.json`).
    public var note: String?

    public init(name: String) { self.name = name }

    /// What a finished read changed, for the one log line it deserves.
    public enum Transition: Sendable, Equatable {
        /// Nothing worth a line (another success, or the same failure again).
        case none
        /// It failed, for the first time or with a new error; `keeping` last good services.
        case failed(keeping: Int)
        /// It works again after failing since then.
        case recovered(failingSince: Moment)
    }

    public var isFailing: Bool {
        if case .failing = health { return true }
        return false
    }

    public var hasAnswered: Bool { health != .starting }

    public var failure: (error: String, since: Moment)? {
        if case .failing(let error, let since) = health { return (error, since) }
        return nil
    }

    public mutating func readStarted(at now: Moment) {
        if fetchingSince == nil { fetchingSince = now }
    }

    public mutating func succeeded(serviceCount: Int, at now: Moment) -> Transition {
        let before = health
        health = .ok
        fetchingSince = nil
        lastSuccess = now
        self.serviceCount = serviceCount
        if case .failing(_, let since) = before { return .recovered(failingSince: since) }
        return .none
    }

    public mutating func failed(_ error: String, at now: Moment) -> Transition {
        let before = health
        fetchingSince = nil
        switch before {
        case .failing(let old, let since):
            health = .failing(error: error, since: since)
            return old == error ? .none : .failed(keeping: serviceCount)
        case .starting, .ok:
            health = .failing(error: error, since: now)
            return .failed(keeping: serviceCount)
        }
    }

    /// Since when the source has been stale at `now`: failing since, or reading for at least
    /// `patience`. Nil while it is current.
    public func staleSince(at now: Instant, patience: Duration) -> Moment? {
        if let failure { return failure.since }
        if let fetchingSince, now - fetchingSince.instant >= patience { return fetchingSince }
        return nil
    }
}
