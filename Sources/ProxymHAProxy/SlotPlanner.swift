import ProxymModel

/// A backend (or TCP listen section) as haproxy names it, with the hosts it should serve.
public struct ServerSection: Sendable, Hashable {
    /// The proxy name: `<name>_cluster` (HTTP backend) or `<name>` (TCP listen section).
    public var name: String
    /// Sorted, without duplicates.
    public var hosts: [Host]

    public init(name: String, hosts: [Host]) {
        self.name = name
        self.hosts = hosts
    }
}

/// Decides how a refresh reaches haproxy when servers live in slots: which slot each host takes
/// (stable: a host keeps its slot), which Runtime API commands turn the live table into the new one,
/// and when only a reload will do. Pure: the caller passes the live table, the rendered skeletons and
/// `now` (monotonic nanoseconds).
public enum SlotPlanner {
    public struct Options: Sendable, Hashable {
        /// At least this many slots per section (`PROXYM_HAPROXY_SERVER_SLOTS`).
        public var minimumSlots: Int
        /// How long a leaving host stays in `drain` before `maint` (`PROXYM_HAPROXY_DRAIN_TIME`).
        public var drainTime: Duration

        public init(minimumSlots: Int, drainTime: Duration) {
            self.minimumSlots = max(1, minimumSlots)
            self.drainTime = drainTime
        }

        /// Slots a section with `hosts` hosts gets when it is created or grown.
        public func slotCount(hosts: Int) -> Int { max(minimumSlots, 2 * hosts) }
    }

    public struct Growth: Sendable, Hashable, CustomStringConvertible {
        public var section: String
        public var from: Int
        public var to: Int

        public init(section: String, from: Int, to: Int) {
            self.section = section
            self.from = from
            self.to = to
        }

        public var description: String { "\(section) needs more than its \(from) slots (grown to \(to))" }
    }

    public struct Assignment: Sendable, Hashable {
        public var table: SlotTable
        /// Sections that had too few free slots and were grown (which needs a reload).
        public var grown: [Growth]
    }

    /// The new table: hosts that stay keep their slot; hosts that left start draining (or go free at
    /// once with a zero drain time); new hosts take free slots, lowest first, then slots whose drain is
    /// over; when those run out, the section grows to `slotCount(hosts:)` (or what it needs).
    /// Sections that are gone are dropped; new sections get `slotCount(hosts:)` slots.
    public static func assign(live: SlotTable, sections: [ServerSection], now: UInt64, options: Options) -> Assignment {
        var table = SlotTable()
        var grown: [Growth] = []
        let drain = UInt64(max(options.drainTime.nanosecondsForSlots, 0))
        for section in sections {
            let wanted = Set(section.hosts)
            guard var slots = live.sections[section.name] else {
                var slots = Array(repeating: Slot.free, count: options.slotCount(hosts: section.hosts.count))
                for (index, host) in section.hosts.enumerated() { slots[index] = .active(host) }
                table.sections[section.name] = slots
                continue
            }
            var placed = Set<Host>()
            for index in slots.indices {
                switch slots[index] {
                case .active(let host):
                    if wanted.contains(host) && placed.insert(host).inserted { continue }
                    slots[index] = .draining(host, since: now)
                case .draining(let host, _):
                    if wanted.contains(host) && placed.insert(host).inserted { slots[index] = .active(host) }
                case .free:
                    break
                }
            }
            // Drains that are over free their slot (reused below, or set to maint).
            var expired: [(since: UInt64, index: Int)] = []
            for index in slots.indices {
                if case .draining(_, let since) = slots[index], since &+ drain <= now {
                    expired.append((since, index))
                }
            }
            var candidates = slots.indices.filter { slots[$0] == .free }
            candidates += expired.sorted { ($0.since, $0.index) < ($1.since, $1.index) }.map(\.index)
            for (_, index) in expired { slots[index] = .free }

            let pending = section.hosts.filter { !placed.contains($0) }
            if pending.count > candidates.count {
                let occupied = slots.count - candidates.count
                let count = max(options.slotCount(hosts: section.hosts.count), occupied + pending.count)
                grown.append(Growth(section: section.name, from: slots.count, to: count))
                candidates += Array(slots.count..<count)
                slots += Array(repeating: .free, count: count - slots.count)
            }
            for (host, index) in zip(pending, candidates) { slots[index] = .active(host) }
            table.sections[section.name] = slots
        }
        return Assignment(table: table, grown: grown)
    }

    /// For a reload: drains end (the new process never sees them) and sections keep only the slots
    /// they need: `slotCount(hosts:)` or up to their last used slot, whichever is more. Hosts never move.
    public static func compacted(_ table: SlotTable, options: Options) -> SlotTable {
        var result = table.afterReload
        for (name, slots) in result.sections {
            let used = slots.lastIndex { $0 != .free }.map { $0 + 1 } ?? 0
            let active = slots.count { $0 != .free }
            let keep = max(options.slotCount(hosts: active), used)
            if keep < slots.count { result.sections[name] = Array(slots.prefix(keep)) }
        }
        return result
    }

    /// The Runtime API commands that turn `live` into `new`, for sections present in both with the
    /// same slot count (anything else needs a reload). New servers first, then the ones that leave,
    /// so a backend never has fewer servers than it needs while the batch runs.
    public static func commands(from live: SlotTable, to new: SlotTable) -> [RuntimeCommand] {
        var enable: [RuntimeCommand] = []
        var drain: [RuntimeCommand] = []
        var maint: [RuntimeCommand] = []
        for name in new.sections.keys.sorted() {
            guard let old = live.sections[name], let slots = new.sections[name], old.count == slots.count else { continue }
            for index in slots.indices {
                let server = Slot.serverName(index)
                switch (old[index], slots[index]) {
                case (.active(let a), .active(let b)) where a == b:
                    break
                case (.draining(let a, _), .active(let b)) where a == b:
                    enable.append(.setState(backend: name, server: server, .ready))
                case (_, .active(let b)):
                    enable.append(.setAddress(backend: name, server: server, host: b))
                    enable.append(.setState(backend: name, server: server, .ready))
                case (.active, .draining):
                    drain.append(.setState(backend: name, server: server, .drain))
                case (.draining(let a, _), .draining(let b, _)) where a == b:
                    break
                case (_, .draining(let b, _)):
                    // Not produced by `assign`; keep haproxy in step anyway.
                    drain.append(.setAddress(backend: name, server: server, host: b))
                    drain.append(.setState(backend: name, server: server, .drain))
                case (.free, .free):
                    break
                case (_, .free):
                    maint.append(.setState(backend: name, server: server, .maint))
                }
            }
        }
        return enable + drain + maint
    }

    /// How one refresh reaches haproxy.
    public enum Decision: Sendable, Hashable {
        /// The live table already is the new one.
        case unchanged
        /// Apply `commands` through the Runtime API; `table` is live afterwards.
        case runtime(commands: [RuntimeCommand])
        /// A reload is needed, for these reasons.
        case reload(reasons: [String])
    }

    /// Runtime API or reload? `liveSkeleton`/`newSkeleton` are the configurations rendered from the
    /// skeletons (every slot free) of the live and the new table: equal skeletons mean the two files
    /// differ only in what `set server` can change.
    public static func decide(
        live: SlotTable?, liveSkeleton: String?, new assignment: Assignment, newSkeleton: String
    ) -> Decision {
        guard let live, let liveSkeleton else {
            return .reload(reasons: ["the live server slots are not known (first apply, or after a failure)"])
        }
        var reasons: [String] = assignment.grown.map(\.description)
        let added = assignment.table.sections.keys.filter { live.sections[$0] == nil }.sorted()
        let removed = live.sections.keys.filter { assignment.table.sections[$0] == nil }.sorted()
        if !added.isEmpty { reasons.append("new backend\(added.count == 1 ? "" : "s") \(added.joined(separator: ", "))") }
        if !removed.isEmpty {
            reasons.append("backend\(removed.count == 1 ? "" : "s") removed: \(removed.joined(separator: ", "))")
        }
        if reasons.isEmpty && newSkeleton != liveSkeleton {
            reasons.append("the configuration changed beyond servers (frontend rules, options, global)")
        }
        if !reasons.isEmpty { return .reload(reasons: reasons) }
        let commands = self.commands(from: live, to: assignment.table)
        let named = commands.compactMap { command -> String? in
            if case .setAddress(let backend, let server, let host) = command, host.address.isHostname {
                return "\(backend)/\(server) \(host)"
            }
            return nil
        }
        if !named.isEmpty {
            return .reload(reasons: ["servers given by host name need a reload to resolve: \(named.joined(separator: ", "))"])
        }
        return commands.isEmpty ? .unchanged : .runtime(commands: commands)
    }
}
