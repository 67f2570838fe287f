import ProxymModel

/// The safety guard: a refresh that would remove more than `maxRemovalShare` of all servers at once,
/// or empty a source that had services, is held back until it has persisted for `hold` (it is then
/// applied), unless an operator forces it (SIGHUP). A refresh that no longer trips the guard releases
/// it. Pure: the caller passes `now` and re-checks at `Decision.hold`'s `until` with a timer.
///
/// Servers are the hosts of the services as the sources produced them, and what counts is the net
/// loss per service: a service that disappears loses all its hosts, one that goes from 5 hosts to 2
/// loses 3, and one whose host is replaced by another (a task redeployed on a new port) loses none, so
/// ordinary deployments never trip the guard.
public struct RemovalGuard: Sendable {
    public let maxRemovalShare: Double
    public let hold: Duration
    /// When the current hold started (nil: nothing held).
    public private(set) var heldSince: Instant?

    public init(maxRemovalShare: Double, hold: Duration) {
        self.maxRemovalShare = maxRemovalShare
        self.hold = hold
    }

    public enum Decision: Sendable, Equatable {
        /// Apply. `note` says why a held refresh goes through now (for the log), if one was held.
        case proceed(note: String?)
        /// Keep what is live; re-check at `until` (the refresh is applied then if it still trips).
        case hold(reason: String, since: Instant, until: Instant)
    }

    /// What trips the guard, if anything: the reason, for logs and STATUS.
    public func trip(applied: [String: [Service]], candidate: [String: [Service]]) -> String? {
        var reasons: [String] = []
        for (source, services) in applied.sorted(by: { $0.key < $1.key })
        where !services.isEmpty && (candidate[source]?.isEmpty ?? true) {
            reasons.append("source \(source) would go from \(services.count) service\(services.count == 1 ? "" : "s") to none")
        }
        // Servers lost first: usually none (a task more, a file edited), and then the servers
        // before need no count at all.
        var removed = 0
        for (source, services) in applied { removed += RemovalGuard.removed(from: services, to: candidate[source] ?? []) }
        let before = removed == 0 ? 0 : applied.values.reduce(0) { $0 + RemovalGuard.servers(in: $1) }
        if before > 0 && Double(removed) > maxRemovalShare * Double(before) {
            let percent = Int((Double(removed) * 100 / Double(before)).rounded())
            let limit = Int((maxRemovalShare * 100).rounded())
            reasons.append("it would take away \(removed) of \(before) servers (\(percent)% > \(limit)%)")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// Servers in `services` (their hosts).
    static func servers(in services: [Service]) -> Int {
        services.withUnsafeBufferPointer { buffer in buffer.reduce(0) { $0 + $1.hosts.count } }
    }

    /// Servers lost (net, per service id) going from `old` to `new`. A source usually lists the same
    /// services in the same places from one refresh to the next, most of them the very same values
    /// (one shared box, ``Service/isSameStorage(as:)``, which lost nothing): then only the ones that
    /// changed are looked into, and nothing is hashed (a service listed twice then counts position by
    /// position: its duplicate is dropped by the merger anyway); otherwise a dictionary sums the new
    /// hosts per id.
    static func removed(from old: [Service], to new: [Service]) -> Int {
        old.withUnsafeBufferPointer { old in
            new.withUnsafeBufferPointer { new in
                if old.count == new.count {
                    if old.baseAddress == new.baseAddress { return 0 }
                    var removed = 0
                    var aligned = true
                    for i in old.indices where !old[i].isSameStorage(as: new[i]) {
                        guard old[i].id == new[i].id else {
                            aligned = false
                            break
                        }
                        removed += max(0, old[i].hosts.count - new[i].hosts.count)
                    }
                    if aligned { return removed }
                }
                var now: [ServiceID: Int] = [:]
                now.reserveCapacity(new.count)
                for i in new.indices { now[new[i].id, default: 0] += new[i].hosts.count }
                var removed = 0
                for i in old.indices { removed += max(0, old[i].hosts.count - (now[old[i].id] ?? 0)) }
                return removed
            }
        }
    }

    /// Decides about one refresh. `applied` = per source, the services of the last refresh that went
    /// through (nil before the first one: nothing to compare with). `force` = SIGHUP.
    public mutating func check(
        applied: [String: [Service]]?, candidate: [String: [Service]], now: Instant, force: Bool
    ) -> Decision {
        guard hold > .zero, let applied, let reason = trip(applied: applied, candidate: candidate) else {
            let note = heldSince.map { _ in "the held change no longer trips the guard" }
            heldSince = nil
            return .proceed(note: note)
        }
        if force {
            heldSince = nil
            return .proceed(note: "forced by SIGHUP: \(reason)")
        }
        let since = heldSince ?? now
        heldSince = since
        if now >= since + hold {
            heldSince = nil
            return .proceed(note: "held for \(hold), applying: \(reason)")
        }
        return .hold(reason: reason, since: since, until: since + hold)
    }
}
