import ProxymModel

/// One refresh, as a value both `proxym run` and `proxym render`/`check` go through: the sources'
/// latest lists (as they are at that moment) -> merge -> safety guard -> the services to render.
/// What the daemon applies and what `proxym render` prints come from the same `plan`, so they are the
/// same text for the same inputs.
///
/// It remembers what a refresh needs from the ones before: per source the services of the last
/// refresh the guard let through, the guard's hold, and the merge problems already reported (a
/// conflict is logged when it appears, not at every refresh).
public struct RefreshPipeline: Sendable {
    /// One source's latest good list, in priority order (earlier wins a merge conflict).
    public struct SourceList: Sendable {
        public var name: String
        public var services: [Service]

        public init(name: String, services: [Service]) {
            self.name = name
            self.services = services
        }
    }

    public struct Problem: Sendable, Equatable {
        public var problem: ServiceMerger.Problem
        /// Reported by an earlier refresh already (log it quietly).
        public var repeated: Bool
    }

    public enum Verdict: Sendable, Equatable {
        /// Apply `services`. `note`: why a held change goes through now, if one was held.
        case apply(note: String?)
        /// The safety guard holds this refresh: the live config stays; plan again at `until`.
        case hold(reason: String, since: Instant, until: Instant)
    }

    public struct Plan: Sendable {
        /// Merged, sorted by id: what the renderer turns into the config.
        public var services: [Service]
        public var problems: [Problem]
        public var verdict: Verdict
        /// Services dropped by the merge (its errors).
        public var skipped: Int { problems.filter { $0.problem.severity == .error }.count }
    }

    public let httpPort: UInt16
    public private(set) var safetyGuard: RemovalGuard
    /// Per source, the services of the last refresh the guard let through (nil before the first).
    public private(set) var applied: [String: [Service]]?
    /// What the guard compares with: the services of the refreshes applied within `removalWindow`
    /// (oldest first, at most `maxRecent`). A candidate that trips the guard against any of them is
    /// held, so a mass removal seen in pieces (files deleted one by one, each read at once and
    /// refreshed on the leading edge) trips it as one refresh would have.
    private var recent: [(at: Instant, sources: [String: [Service]])] = []
    /// Removals applied within this long of each other count together.
    public static let removalWindow: Duration = .seconds(5)
    static let maxRecent = 8
    private var reported: Set<ServiceMerger.Problem> = []
    /// The merged services of the last refresh let through: they keep what they hold in a conflict
    /// with a newcomer (empty before the first, where the order decides).
    public private(set) var incumbents: [Service] = []
    /// The merge, redone only where a refresh changed something (``ServiceMerger/Incremental``).
    public private(set) var merger: ServiceMerger.Incremental

    /// `guardHold` zero: no guard (what `proxym render` uses: there is nothing live to compare with).
    public init(httpPort: UInt16, maxRemovalShare: Double = 0.5, guardHold: Duration = .zero) {
        self.httpPort = httpPort
        self.merger = ServiceMerger.Incremental(httpPort: httpPort)
        self.safetyGuard = RemovalGuard(maxRemovalShare: maxRemovalShare, hold: guardHold)
    }

    /// Plans one refresh from the lists as they are now. `force` (SIGHUP) lets a held change through;
    /// `reportAgain` reports every merge problem as new (SIGHUP, a one-shot render).
    public mutating func plan(_ sources: [SourceList], now: Instant, force: Bool, reportAgain: Bool) -> Plan {
        let merged = merger.merge(sources.map(\.services), incumbents: incumbents)
        let problems = merged.problems.map { Problem(problem: $0, repeated: !reportAgain && reported.contains($0)) }
        reported = Set(merged.problems)
        var candidate: [String: [Service]] = [:]
        for source in sources { candidate[source.name] = source.services }
        let verdict: Verdict
        let newest = recent.last?.at
        recent.removeAll { now >= $0.at + Self.removalWindow && $0.at != newest }
        // The oldest applied state the candidate trips the guard against, else the newest.
        let guarded = safetyGuard.hold > .zero
        let compared =
            recent.first { guarded && safetyGuard.trip(applied: $0.sources, candidate: candidate) != nil } ?? recent.last
        switch safetyGuard.check(applied: compared?.sources, candidate: candidate, now: now, force: force) {
        case .proceed(let note):
            applied = candidate
            incumbents = merged.services
            // A change the guard let through after all (held long enough, forced) starts afresh.
            if note != nil { recent.removeAll() }
            recent.append((now, candidate))
            if recent.count > Self.maxRecent { recent.remove(at: 1) }
            verdict = .apply(note: note)
        case .hold(let reason, let since, let until):
            verdict = .hold(reason: reason, since: since, until: until)
        }
        return Plan(services: merged.services, problems: problems, verdict: verdict)
    }
}
