import ProxymModel

/// What haproxy 2.6's CLIs answer, parsed: the master CLI's `show proc` and the stats socket's
/// `show servers state`. Pure; the runtime does the socket I/O.
public enum HAProxyCLI {
    /// The master CLI's `show proc`:
    ///
    /// ```
    /// #<PID>          <type>          <reloads>       <uptime>        <version>
    /// 21709           master          2 [failed: 1]   0d00h00m17s     2.6.12-1+deb12u4
    /// # workers
    /// 21886           worker          1               0d00h00m01s     2.6.12-1+deb12u4
    /// # old workers
    /// 21712           worker          3               0d00h01m02s     2.6.12-1+deb12u4
    /// # programs
    /// ```
    ///
    /// The master's reload counter grows with every reload it attempts; `[failed: N]` counts the
    /// failed loads since the last good one (a good load resets it).
    public struct ProcessList: Sendable, Hashable {
        public struct Process: Sendable, Hashable {
            public var pid: Int32
            public var reloads: Int
        }

        public var masterPID: Int32
        public var reloads: Int
        public var failedReloads: Int
        /// Current workers (normally one).
        public var workers: [Process]
        /// Workers of earlier generations still finishing their connections.
        public var oldWorkers: [Process]

        public var workerPIDs: [Int32] { workers.map(\.pid) }
    }

    /// Nil when `text` is not a `show proc` answer with a master line.
    public static func parseShowProc(_ text: String) -> ProcessList? {
        var master: ProcessList?
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingBlanks(alsoCR: true)
            if line.hasPrefix("#") {
                section = line == "# workers" ? "workers" : line == "# old workers" ? "old" : "other"
                continue
            }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 3, let pid = Int32(words[0]), let reloads = Int(words[2]) else { continue }
            if words[1] == "master" {
                var failed = 0
                if let index = words.firstIndex(of: "[failed:"), index + 1 < words.count {
                    failed = Int(words[index + 1].filter { $0 != "]" }) ?? 0
                }
                master = ProcessList(masterPID: pid, reloads: reloads, failedReloads: failed, workers: [], oldWorkers: [])
            } else if words[1] == "worker" {
                let process = ProcessList.Process(pid: pid, reloads: reloads)
                if section == "workers" { master?.workers.append(process) }
                if section == "old" { master?.oldWorkers.append(process) }
            }
        }
        return master
    }

    /// Where a reload stands, comparing `show proc` before the reload was asked for with now.
    public enum ReloadProgress: Sendable, Hashable {
        /// The master has not finished the reload yet (its counter did not move).
        case pending
        /// Loaded; these workers are new.
        case succeeded(newWorkers: [Int32])
        /// haproxy rejected the new configuration and kept the old workers (`[failed: N]`).
        case failed(failedReloads: Int)
        /// Another master answers now: the one we asked is gone.
        case masterReplaced(Int32)
    }

    public static func reloadProgress(before: ProcessList, now: ProcessList) -> ReloadProgress {
        if now.masterPID != before.masterPID { return .masterReplaced(now.masterPID) }
        guard now.reloads > before.reloads else { return .pending }
        if now.failedReloads > 0 { return .failed(failedReloads: now.failedReloads) }
        let old = Set(before.workerPIDs)
        return .succeeded(newWorkers: now.workerPIDs.filter { !old.contains($0) })
    }

    /// One server in `show servers state`.
    public struct ServerState: Sendable, Hashable {
        public var backend: String
        public var server: String
        public var address: String
        public var port: UInt16
        /// `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
        public var operationalState: Int
        /// `srv_admin_state` bits: 0x01 forced maintenance, 0x04 `disabled` in the configuration,
        /// 0x08 forced drain (and more for inherited states).
        public var adminState: Int

        public var inMaintenance: Bool { adminState & 0x01 != 0 }
        public var draining: Bool { adminState & 0x08 != 0 }
    }

    /// Rows of `show servers state [<backend>]` (format version 1; columns found by the header).
    /// Several answers may be concatenated (one per backend).
    public static func parseServersState(_ text: String) -> [ServerState] {
        var columns: [Substring: Int] = [:]
        var rows: [ServerState] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingBlanks(alsoCR: true)
            if line.hasPrefix("# be_id") {
                columns = [:]
                for (index, name) in line.dropFirst(2).split(separator: " ").enumerated() { columns[name] = index }
                continue
            }
            if line.hasPrefix("#") || columns.isEmpty { continue }
            let fields = line.split(separator: " ")
            func field(_ name: Substring) -> Substring? {
                guard let index = columns[name], index < fields.count else { return nil }
                return fields[index]
            }
            guard let backend = field("be_name"), let server = field("srv_name"), let address = field("srv_addr"),
                let port = field("srv_port").flatMap({ UInt16($0) }),
                let op = field("srv_op_state").flatMap({ Int($0) }),
                let admin = field("srv_admin_state").flatMap({ Int($0) })
            else { continue }
            rows.append(
                ServerState(
                    backend: String(backend), server: String(server), address: String(address), port: port,
                    operationalState: op, adminState: admin))
        }
        return rows
    }

    /// How the live servers of `sections` differ from `table` (empty: haproxy runs exactly what the
    /// table says). Active and draining slots must hold their host; free slots must be in maintenance.
    public static func mismatches(table: SlotTable, sections: Set<String>, states: [ServerState]) -> [String] {
        var byName: [String: ServerState] = [:]
        for state in states { byName[state.backend + "/" + state.server] = state }
        var problems: [String] = []
        for name in sections.sorted() {
            guard let slots = table.sections[name] else { continue }
            for (index, slot) in slots.enumerated() {
                let key = name + "/" + Slot.serverName(index)
                guard let state = byName[key] else {
                    problems.append("\(key): not in haproxy")
                    continue
                }
                switch slot {
                case .free:
                    if !state.inMaintenance { problems.append("\(key): expected maint, admin state \(state.adminState)") }
                case .active(let host), .draining(let host, _):
                    let address = (try? HostAddress(state.address))
                    if address != host.address || state.port != host.port {
                        problems.append("\(key): expected \(host), haproxy has \(state.address):\(state.port)")
                    }
                    let wantDrain: Bool
                    if case .draining = slot { wantDrain = true } else { wantDrain = false }
                    if state.inMaintenance || state.draining != wantDrain {
                        problems.append(
                            "\(key): expected \(wantDrain ? "drain" : "ready"), admin state \(state.adminState)")
                    }
                }
            }
        }
        return problems
    }
}
