/// When to order which certificate from the ACME server: the pure half of automatic certificates.
///
/// - A domain that an HTTPS virtual host uses and no valid certificate of the operator's covers
///   wants one; once proxym's own (ACME) certificate has it, it is renewed `renewBefore` its expiry, or
///   at half its lifetime when that comes later (a CA issuing short certificates must not be asked
///   again at every turn).
/// - One order at a time (the caller runs it); after a failure the domain waits (1 minute doubling to
///   1 hour), and no domain gets more than `maxAttemptsPerHour` orders in any hour: public CAs
///   rate-limit failed validations per name and hour, and a name that keeps failing must not lock
///   the account out for every other name.
///
/// Pure: the caller passes `now` (seconds since the Unix epoch) and what covers each domain.
public struct ACMEPolicy: Sendable {
    public struct Options: Sendable, Hashable {
        public var renewBefore: Int64
        public var maxAttemptsPerHour: Int
        public var firstRetry: Int64
        public var maxRetry: Int64

        public init(renewBefore: Int64 = 30 * 86_400, maxAttemptsPerHour: Int = 5, firstRetry: Int64 = 60, maxRetry: Int64 = 3600) {
            self.renewBefore = renewBefore
            self.maxAttemptsPerHour = max(1, maxAttemptsPerHour)
            self.firstRetry = max(1, firstRetry)
            self.maxRetry = max(self.firstRetry, maxRetry)
        }
    }

    /// What covers a wanted domain now.
    public enum Coverage: Sendable, Hashable {
        /// Nothing (or only expired certificates): order one.
        case none
        /// A certificate proxym ordered, valid from `notBefore` to `notAfter`.
        case acme(notBefore: Int64, notAfter: Int64)
        /// A certificate of the operator's: ACME leaves the domain alone.
        case operatorCertificate
    }

    /// One domain's state, for STATUS, logs and metrics.
    public struct DomainStatus: Sendable, Hashable {
        public enum State: Sendable, Hashable {
            /// An operator's certificate covers it; ACME does nothing.
            case operatorCertificate
            /// Will be ordered at the next chance (`nextAttempt`: not before then).
            case waiting
            /// The client is running for it.
            case ordering
            /// Has a certificate until `notAfter`; renewal is due at `renewAt`.
            case issued
            /// The last order failed (`reason`); the next is not before `nextAttempt`.
            case failing
        }

        public var domain: String
        public var state: State
        public var notAfter: Int64?
        public var renewAt: Int64?
        public var nextAttempt: Int64?
        public var reason: String?
        /// Orders in the last hour.
        public var recentAttempts: Int
        public var consecutiveFailures: Int
    }

    public struct Order: Sendable, Hashable {
        public var domain: String
        /// A renewal (the domain has a certificate) rather than a first order.
        public var renewal: Bool

        public init(domain: String, renewal: Bool) {
            self.domain = domain
            self.renewal = renewal
        }
    }

    struct Record: Sendable, Equatable {
        var attempts: [Int64] = []
        var failures = 0
        var lastFailure: String?
        /// After a failure: not before then.
        var retryAt: Int64?
        var backoff: Backoff
    }

    private func newRecord() -> Record {
        Record(backoff: Backoff(initial: .seconds(options.firstRetry), cap: .seconds(options.maxRetry)))
    }

    public let options: Options
    private var records: [String: Record] = [:]
    /// The domain whose order is running.
    public private(set) var ordering: String?

    public init(options: Options = Options()) { self.options = options }

    /// When a certificate valid from `notBefore` to `notAfter` is due for renewal.
    public func renewAt(notBefore: Int64, notAfter: Int64) -> Int64 {
        let lifetime = max(0, notAfter - notBefore)
        return notAfter - min(options.renewBefore, lifetime / 2)
    }

    /// Whether `domain` needs an order at `now`, ignoring retry waits and the hourly cap.
    func isDue(_ coverage: Coverage, now: Int64) -> Bool {
        switch coverage {
        case .none: return true
        case .operatorCertificate: return false
        case .acme(let notBefore, let notAfter): return now >= renewAt(notBefore: notBefore, notAfter: notAfter)
        }
    }

    /// Not before this instant may `domain` be ordered again (nil: now).
    func earliest(_ domain: String, now: Int64) -> Int64? {
        guard let record = records[domain] else { return nil }
        var times: [Int64] = []
        if let retryAt = record.retryAt { times.append(retryAt) }
        let recent = record.attempts.filter { $0 > now - 3600 }
        if recent.count >= options.maxAttemptsPerHour { times.append(recent[recent.count - options.maxAttemptsPerHour] + 3600) }
        let latest = times.max()
        return latest.flatMap { $0 > now ? $0 : nil }
    }

    /// The order to start now, if any (nothing while one runs): first orders before renewals, then by name.
    public func next(_ wanted: [String: Coverage], now: Int64) -> Order? {
        guard ordering == nil else { return nil }
        let due = wanted.filter { isDue($0.value, now: now) && earliest($0.key, now: now) == nil }
        let firsts = due.filter { $0.value == .none }.keys.sorted()
        if let domain = firsts.first { return Order(domain: domain, renewal: false) }
        return due.keys.sorted().first.map { Order(domain: $0, renewal: true) }
    }

    /// When to look again (the earliest renewal or end of a wait), nil when nothing is pending.
    public func nextWakeUp(_ wanted: [String: Coverage], now: Int64) -> Int64? {
        var times: [Int64] = []
        for (domain, coverage) in wanted {
            switch coverage {
            case .operatorCertificate:
                continue
            case .none:
                if let earliest = earliest(domain, now: now) { times.append(earliest) }
            case .acme(let notBefore, let notAfter):
                let due = renewAt(notBefore: notBefore, notAfter: notAfter)
                times.append(max(due, earliest(domain, now: now) ?? due))
            }
        }
        return times.min().map { max($0, now) }
    }

    public mutating func started(_ domain: String, now: Int64) {
        ordering = domain
        var record = records[domain] ?? newRecord()
        record.attempts = record.attempts.filter { $0 > now - 3600 } + [now]
        records[domain] = record
    }

    public mutating func succeeded(_ domain: String, now: Int64) {
        if ordering == domain { ordering = nil }
        var record = records[domain] ?? newRecord()
        record.failures = 0
        record.lastFailure = nil
        record.retryAt = nil
        record.backoff.reset()
        records[domain] = record
    }

    /// The next order waits 1 minute after the first failure, doubling to 1 hour (``Backoff``).
    public mutating func failed(_ domain: String, reason: String, now: Int64) {
        if ordering == domain { ordering = nil }
        var record = records[domain] ?? newRecord()
        record.failures += 1
        record.lastFailure = reason
        record.retryAt = now + record.backoff.take().components.seconds
        records[domain] = record
    }

    /// Forgets domains no longer wanted (their records would otherwise grow forever).
    public mutating func retain(_ wanted: Set<String>) {
        records = records.filter { wanted.contains($0.key) || $0.key == ordering }
    }

    /// Every wanted domain's state, sorted by name.
    public func status(_ wanted: [String: Coverage], now: Int64) -> [DomainStatus] {
        wanted.keys.sorted().map { domain in
            let coverage = wanted[domain]!
            let record = records[domain] ?? newRecord()
            var status = DomainStatus(
                domain: domain, state: .waiting, notAfter: nil, renewAt: nil, nextAttempt: earliest(domain, now: now),
                reason: record.lastFailure, recentAttempts: record.attempts.filter { $0 > now - 3600 }.count,
                consecutiveFailures: record.failures)
            if case .acme(let notBefore, let notAfter) = coverage {
                status.notAfter = notAfter
                status.renewAt = renewAt(notBefore: notBefore, notAfter: notAfter)
            }
            if ordering == domain {
                status.state = .ordering
            } else if coverage == .operatorCertificate {
                status.state = .operatorCertificate
            } else if record.failures > 0 {
                status.state = .failing
            } else if case .acme = coverage {
                status.state = .issued
            }
            return status
        }
    }
}
