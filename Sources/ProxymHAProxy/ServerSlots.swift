import ProxymModel

/// The servers of every backend laid out in fixed, numbered slots, as proxym renders them when it
/// changes servers through haproxy's Runtime API (`PROXYM_HAPROXY_RUNTIME_API=1`).
///
/// A backend with slots gets `server node1 ...` to `server nodeN ...` lines: a slot holding a host
/// is rendered like the original layout's server line; a free (or draining) slot is rendered
/// `server nodeK 127.0.0.1:1 check disabled`, a placeholder haproxy keeps in maintenance. A host keeps
/// its slot across refreshes, so a server that did not change is never touched at runtime, and the
/// written file always says what is live: a reload (or a restart) loses nothing.
public struct SlotTable: Sendable, Hashable {
    /// haproxy proxy name (`<name>_cluster` for an HTTP backend, `<name>` for a TCP listen section)
    /// -> its slots; index 0 is `node1`.
    public var sections: [String: [Slot]]

    public init(sections: [String: [Slot]] = [:]) {
        self.sections = sections
    }

    /// Every slot free, counts kept: the part of the layout a Runtime API change cannot alter. Two
    /// renderings with equal skeletons differ only in what the Runtime API can set.
    public var skeleton: SlotTable {
        SlotTable(sections: sections.mapValues { Array(repeating: .free, count: $0.count) })
    }

    /// What haproxy runs right after loading a file rendered from this table: draining slots are
    /// rendered disabled, so they come back free.
    public var afterReload: SlotTable {
        SlotTable(
            sections: sections.mapValues { slots in
                slots.map { if case .draining = $0 { return .free } else { return $0 } }
            })
    }

    /// The earliest instant a draining slot's drain time is over (`drainTime` after it started).
    public func nextDrainDeadline(drainTime: Duration) -> UInt64? {
        var earliest: UInt64?
        for slots in sections.values {
            for case .draining(_, let since) in slots {
                let deadline = since &+ UInt64(max(drainTime.nanosecondsForSlots, 0))
                earliest = min(earliest ?? deadline, deadline)
            }
        }
        return earliest
    }

    /// Hosts in active slots, per section (for tests and logs).
    public func activeHosts(_ section: String) -> [Host] {
        (sections[section] ?? []).compactMap { if case .active(let host) = $0 { return host } else { return nil } }
    }
}

/// One server slot.
public enum Slot: Sendable, Hashable {
    /// In maintenance, no host: available.
    case free
    /// Serving `host`.
    case active(Host)
    /// `host` is leaving: `state drain` since `since` (monotonic nanoseconds); after the drain time the
    /// slot goes to `maint` and is free again. A host that comes back meanwhile gets its slot back.
    case draining(Host, since: UInt64)

    public var host: Host? {
        switch self {
        case .free: return nil
        case .active(let host), .draining(let host, _): return host
        }
    }

    /// `node1`, `node2`, ...: the server name of the slot at `index` (0-based).
    public static func serverName(_ index: Int) -> String { "node\(index + 1)" }
}

/// One Runtime API command (haproxy management guide, "set server").
public enum RuntimeCommand: Sendable, Hashable, CustomStringConvertible {
    public enum AdminState: String, Sendable, Hashable {
        case ready, drain, maint
    }

    /// `set server <backend>/<server> addr <ip> port <port>`; only for IP addresses.
    case setAddress(backend: String, server: String, host: Host)
    /// `set server <backend>/<server> state ready|drain|maint`.
    case setState(backend: String, server: String, AdminState)

    public var backend: String {
        switch self {
        case .setAddress(let backend, _, _), .setState(let backend, _, _): return backend
        }
    }

    /// The command line (without the terminating `;` or newline).
    public var description: String {
        switch self {
        case .setAddress(let backend, let server, let host):
            // The address without brackets (the CLI takes a bare IPv6 literal).
            return "set server \(backend)/\(server) addr \(host.address) port \(host.port)"
        case .setState(let backend, let server, let state):
            return "set server \(backend)/\(server) state \(state.rawValue)"
        }
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to Int64 (pure targets have no Instant helpers).
    var nanosecondsForSlots: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : sum
    }
}
