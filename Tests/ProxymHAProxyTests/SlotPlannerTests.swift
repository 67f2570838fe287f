import FoundationEssentials
import ProxymHAProxy
import ProxymModel
import Testing
import ProxymTestBuilders

private func host(_ ip: String, _ port: Int) throws -> Host { try Host(ip: ip, port: port) }
private func hosts(_ ports: [Int]) throws -> [Host] { try ports.map { try host("10.0.0.1", $0) } }
private func section(_ name: String, _ ports: [Int]) throws -> ServerSection {
    ServerSection(name: name, hosts: try hosts(ports).sorted())
}

private let second: UInt64 = 1_000_000_000

/// The slot planner: stable assignment, drains, growth, and the Runtime API / reload decision, stepped
/// with explicit instants.
@Suite struct SlotPlannerTests {
    let options = SlotPlanner.Options(minimumSlots: 4, drainTime: .seconds(10))

    @Test func newSectionsGetFreshSlotsInHostOrder() throws {
        let assignment = SlotPlanner.assign(
            live: SlotTable(), sections: [try section("web_cluster", [3, 1, 2]), try section("big", Array(1...3))],
            now: 0, options: SlotPlanner.Options(minimumSlots: 4, drainTime: .seconds(10)))
        #expect(assignment.grown.isEmpty)
        let web = try #require(assignment.table.sections["web_cluster"])
        #expect(web == [.active(try host("10.0.0.1", 1)), .active(try host("10.0.0.1", 2)), .active(try host("10.0.0.1", 3)), .free, .free, .free])
        // max(minimum, 2 x hosts)
        #expect(assignment.table.sections["big"]?.count == 6)
        let small = SlotPlanner.assign(live: SlotTable(), sections: [try section("s", [1])], now: 0, options: options)
        #expect(small.table.sections["s"]?.count == 4)
    }

    @Test func aHostKeepsItsSlotAndOnlyChangedSlotsGetCommands() throws {
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1, 2, 3])], now: 0, options: options)
        // 2 leaves, 4 and 5 arrive: 1 and 3 stay where they were.
        let next = SlotPlanner.assign(
            live: start.table, sections: [try section("b", [1, 3, 4, 5])], now: 5 * second, options: options)
        let slots = try #require(next.table.sections["b"])
        #expect(slots[0] == .active(try host("10.0.0.1", 1)))
        #expect(slots[1] == .draining(try host("10.0.0.1", 2), since: 5 * second))
        #expect(slots[2] == .active(try host("10.0.0.1", 3)))
        #expect(slots[3] == .active(try host("10.0.0.1", 4)))
        #expect(slots[4] == .active(try host("10.0.0.1", 5)))
        #expect(next.grown.isEmpty)
        let commands = SlotPlanner.commands(from: start.table, to: next.table).map(\.description)
        #expect(
            commands == [
                "set server b/node4 addr 10.0.0.1 port 4", "set server b/node4 state ready",
                "set server b/node5 addr 10.0.0.1 port 5", "set server b/node5 state ready",
                "set server b/node2 state drain",
            ])
        // The same hosts again: nothing to do.
        let same = SlotPlanner.assign(
            live: next.table, sections: [try section("b", [1, 3, 4, 5])], now: 6 * second, options: options)
        #expect(SlotPlanner.commands(from: next.table, to: same.table).isEmpty)
    }

    @Test func drainingEndsInMaintAfterTheDrainTimeAndAReturningHostGetsItsSlotBack() throws {
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1, 2])], now: 0, options: options)
        let leaving = SlotPlanner.assign(live: start.table, sections: [try section("b", [1])], now: second, options: options)
        #expect(leaving.table.nextDrainDeadline(drainTime: .seconds(10)) == 11 * second)
        // Back within the drain time: the same slot, just `ready`.
        let back = SlotPlanner.assign(live: leaving.table, sections: [try section("b", [1, 2])], now: 3 * second, options: options)
        #expect(back.table.sections["b"]?[1] == .active(try host("10.0.0.1", 2)))
        #expect(SlotPlanner.commands(from: leaving.table, to: back.table).map(\.description) == ["set server b/node2 state ready"])
        // Not back: before the deadline nothing happens, at the deadline maint.
        let early = SlotPlanner.assign(live: leaving.table, sections: [try section("b", [1])], now: 10 * second, options: options)
        #expect(SlotPlanner.commands(from: leaving.table, to: early.table).isEmpty)
        let due = SlotPlanner.assign(live: leaving.table, sections: [try section("b", [1])], now: 11 * second, options: options)
        #expect(due.table.sections["b"]?[1] == .free)
        #expect(SlotPlanner.commands(from: leaving.table, to: due.table).map(\.description) == ["set server b/node2 state maint"])
        #expect(due.table.nextDrainDeadline(drainTime: .seconds(10)) == nil)
    }

    @Test func newHostsTakeFreeSlotsFirstThenExpiredDrainsThenGrow() throws {
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1, 2])], now: 0, options: options)
        // 4 slots: 1, 2, free, free. 1 and 2 leave at t=1; 3 and 4 take the free slots.
        let swap = SlotPlanner.assign(live: start.table, sections: [try section("b", [3, 4])], now: second, options: options)
        #expect(swap.table.sections["b"]?.map(\.host?.port) == [1, 2, 3, 4])
        #expect(swap.grown.isEmpty)
        // Before the drains are over, two more hosts do not fit: the section grows (a reload).
        let grow = SlotPlanner.assign(
            live: swap.table, sections: [try section("b", [3, 4, 5, 6])], now: 2 * second, options: options)
        #expect(grow.grown == [SlotPlanner.Growth(section: "b", from: 4, to: 8)])
        // After them, the drained slots are reused, oldest drain first.
        let reuse = SlotPlanner.assign(
            live: swap.table, sections: [try section("b", [3, 4, 5, 6])], now: 11 * second, options: options)
        #expect(reuse.grown.isEmpty)
        #expect(reuse.table.sections["b"]?.map(\.host?.port) == [5, 6, 3, 4])
        #expect(
            SlotPlanner.commands(from: swap.table, to: reuse.table).map(\.description) == [
                "set server b/node1 addr 10.0.0.1 port 5", "set server b/node1 state ready",
                "set server b/node2 addr 10.0.0.1 port 6", "set server b/node2 state ready",
            ])
    }

    @Test func zeroDrainTimeFreesAtOnce() throws {
        let quick = SlotPlanner.Options(minimumSlots: 4, drainTime: .zero)
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1, 2])], now: 0, options: quick)
        let next = SlotPlanner.assign(live: start.table, sections: [try section("b", [1, 3])], now: second, options: quick)
        #expect(next.grown.isEmpty)
        // Free slots first: 3 takes node3, node2 (whose host left) goes to maint at once.
        #expect(next.table.sections["b"]?.map(\.host?.port) == [1, nil, 3, nil])
        #expect(
            SlotPlanner.commands(from: start.table, to: next.table).map(\.description) == [
                "set server b/node3 addr 10.0.0.1 port 3", "set server b/node3 state ready", "set server b/node2 state maint",
            ])
    }

    @Test func compactedDropsDrainsAndUnneededTrailingSlotsButNeverMovesAHost() throws {
        var table = SlotTable()
        table.sections["b"] = [.free, .draining(try host("10.0.0.1", 1), since: 0)] + Array(repeating: .free, count: 10)
            + [.active(try host("10.0.0.1", 2))] + Array(repeating: .free, count: 5)
        let compact = SlotPlanner.compacted(table, options: options)
        let slots = try #require(compact.sections["b"])
        #expect(slots.count == 13)
        #expect(slots[12] == .active(try host("10.0.0.1", 2)))
        #expect(slots[1] == .free)
        table.sections["c"] = Array(repeating: .free, count: 20)
        #expect(SlotPlanner.compacted(table, options: options).sections["c"]?.count == 4)
    }

    @Test func decideRuntimeOnlyWhenTheSkeletonIsTheSame() throws {
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1, 2])], now: 0, options: options)
        let scaled = SlotPlanner.assign(live: start.table, sections: [try section("b", [1, 2, 3])], now: 0, options: options)
        #expect(
            SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: scaled, newSkeleton: "S")
                == .runtime(commands: SlotPlanner.commands(from: start.table, to: scaled.table)))
        if case .reload(let reasons) = SlotPlanner.decide(live: nil, liveSkeleton: nil, new: scaled, newSkeleton: "S") {
            #expect(reasons.first?.contains("not known") == true)
        } else {
            Issue.record("unknown live state must reload")
        }
        if case .reload(let reasons) = SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: scaled, newSkeleton: "T") {
            #expect(reasons == ["the configuration changed beyond servers (frontend rules, options, global)"])
        } else {
            Issue.record("a different skeleton must reload")
        }
        let added = SlotPlanner.assign(
            live: start.table, sections: [try section("b", [1, 2]), try section("c", [1])], now: 0, options: options)
        #expect(SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: added, newSkeleton: "T") == .reload(reasons: ["new backend c"]))
        let removed = SlotPlanner.assign(live: added.table, sections: [try section("c", [1])], now: 0, options: options)
        #expect(
            SlotPlanner.decide(live: added.table, liveSkeleton: "S", new: removed, newSkeleton: "T")
                == .reload(reasons: ["backend removed: b"]))
        let many = SlotPlanner.assign(live: start.table, sections: [try section("b", Array(1...9))], now: 0, options: options)
        #expect(
            SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: many, newSkeleton: "T")
                == .reload(reasons: ["b needs more than its 4 slots (grown to 18)"]))
        #expect(SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: start, newSkeleton: "S") == .unchanged)
    }

    @Test func hostNamesNeedAReload() throws {
        let start = SlotPlanner.assign(live: SlotTable(), sections: [try section("b", [1])], now: 0, options: options)
        let named = ServerSection(name: "b", hosts: [try host("10.0.0.1", 1), try host("agent-7.example.com", 31000)])
        let next = SlotPlanner.assign(live: start.table, sections: [named], now: 0, options: options)
        guard case .reload(let reasons) = SlotPlanner.decide(live: start.table, liveSkeleton: "S", new: next, newSkeleton: "S")
        else {
            Issue.record("expected a reload")
            return
        }
        #expect(reasons.first?.contains("agent-7.example.com:31000") == true)
    }

    @Test func ipv6AddressesGoWithoutBrackets() throws {
        let command = RuntimeCommand.setAddress(backend: "b", server: "node1", host: try host("::1", 8080))
        #expect(command.description == "set server b/node1 addr ::1 port 8080")
    }
}

/// The slot layout the renderer writes, and that haproxy accepts it.
@Suite struct SlotLayoutTests {
    func services() throws -> [Service] {
        [
            try makeService("/web", domains: ["web.example.com"], port: 80, hosts: [("10.0.0.2", 8080), ("10.0.0.1", 8080)]),
            try makeService("/db", port: 5432, hosts: [("10.0.0.3", 5432)]),
            try makeService("/named", port: 6000, hosts: [("db.example.com", 6000)]),
        ]
    }

    func layout() throws -> (text: String, options: RenderOptions) {
        let base = RenderOptions(
            globalConfig: "global\n  maxconn 100\n\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n",
            httpPort: 80, bindAddress: "127.0.0.1", statsSocket: "/run/proxym-test-admin.sock", idleCloseOnResponse: true)
        let sections = HAProxyRenderer.sections(try services(), options: base)
        #expect(sections.map(\.name) == ["web_cluster", "db", "named"])
        var options = base
        options.slots =
            SlotPlanner.assign(live: SlotTable(), sections: sections, now: 0, options: .init(minimumSlots: 3, drainTime: .zero))
            .table
        return (HAProxyRenderer.render(try services(), options: options), options)
    }

    @Test func slotsAreRenderedAsServersOrDisabledPlaceholders() throws {
        let text = try layout().text
        let expected = """
            global
              stats socket /run/proxym-test-admin.sock mode 600 level admin expose-fd listeners
              maxconn 100

            defaults
              mode http
              timeout connect 1s
              timeout client 1s
              timeout server 1s

            frontend http-in
              bind 127.0.0.1:80
              option idle-close-on-response

              acl host_web hdr(host) -i web.example.com

              use_backend web_cluster if host_web

            backend web_cluster

              server node1 10.0.0.1:8080 check
              server node2 10.0.0.2:8080 check
              server node3 127.0.0.1:1 check disabled
              server node4 127.0.0.1:1 check disabled

            listen db
              bind 127.0.0.1:5432
              mode tcp

              server node1 10.0.0.3:5432 check
              server node2 127.0.0.1:1 check disabled
              server node3 127.0.0.1:1 check disabled

            listen named
              bind 127.0.0.1:6000
              mode tcp

              server node1 db.example.com:6000 check init-addr last,libc,none
              server node2 127.0.0.1:1 check disabled
              server node3 127.0.0.1:1 check disabled

            """
        if text != expected { Issue.record("slot layout differs:\n\(TextDiff.diff(expected: expected, actual: text))") }
    }

    @Test(.enabled(if: HAProxyCheck.isAvailable, "haproxy is not in PATH"), .timeLimit(.minutes(1)))
    func haproxyAcceptsTheSlotLayout() throws {
        var text = try layout().text
        // A socket path this test may bind nowhere: -c does not bind, but keep it private anyway.
        text = text.replacing("/run/proxym-test-admin.sock", with: "/tmp/proxym-slot-layout-check.sock")
        let path = "/tmp/proxym-slot-layout-\(UInt64.random(in: 0 ... .max)).cfg"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = HAProxyCheck.check(configPath: path)
        #expect(result.exitStatus == 0, "\(result)")
    }

    @Test func theOriginalLayoutIsUntouchedWithoutSlots() throws {
        let options = RenderOptions(globalConfig: "")
        let text = HAProxyRenderer.render(try services(), options: options)
        #expect(!text.contains("disabled") && !text.contains("stats socket") && !text.contains("idle-close"))
        #expect(text.contains("  server node1 10.0.0.1:8080 check\n  server node2 10.0.0.2:8080 check\n"))
    }
}

@Suite struct StatsSocketConfigTests {
    @Test func findsDeclaredSocketsInGlobalOnly() {
        let config = """
            global
              stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
              stats socket unix@/run/haproxy/user.sock\r
              stats socket ipv4@127.0.0.1:9999 level admin
              # stats socket /commented level admin

            defaults
              stats socket /not/global level admin
            """
        #expect(
            StatsSocketConfig.declared(in: config) == [
                .init(path: "/run/haproxy/admin.sock", isAdmin: true, exposesListeners: true),
                .init(path: "/run/haproxy/user.sock", isAdmin: false, exposesListeners: false),
            ])
    }

    @Test func addsTheSocketAfterTheGlobalLineUnlessDeclared() {
        let config = "global\n  maxconn 10\n\ndefaults\n  mode http\n"
        #expect(
            StatsSocketConfig.ensuring("/a.sock", in: config)
                == "global\n  stats socket /a.sock mode 600 level admin expose-fd listeners\n  maxconn 10\n\ndefaults\n  mode http\n")
        let declared = "global\n  stats socket /a.sock level admin\n"
        #expect(StatsSocketConfig.ensuring("/a.sock", in: declared) == declared)
        #expect(StatsSocketConfig.ensuring("/a.sock", in: "defaults\n  mode http\n").hasPrefix("global\n  stats socket /a.sock "))
        // Nothing in a path can open a new line.
        #expect(StatsSocketConfig.line(for: "/a b\n  acl x") == "  stats socket /abaclx mode 600 level admin expose-fd listeners")
    }
}

@Suite struct HAProxyCLITests {
    // Captured from haproxy 2.6.12 (Debian 12): a good reload, then one haproxy rejected.
    static let before = """
        #<PID>          <type>          <reloads>       <uptime>        <version>
        21709           master          1 [failed: 0]   0d00h00m16s     2.6.12-1+deb12u4
        # workers
        21886           worker          0               0d00h00m00s     2.6.12-1+deb12u4
        # programs

        """
    static let failed = """
        #<PID>          <type>          <reloads>       <uptime>        <version>
        21709           master          2 [failed: 1]   0d00h00m17s     2.6.12-1+deb12u4
        # workers
        21886           worker          1               0d00h00m01s     2.6.12-1+deb12u4
        # programs

        """
    static let succeeded = """
        #<PID>          <type>          <reloads>       <uptime>        <version>
        21709           master          3 [failed: 0]   0d00h00m20s     2.6.12-1+deb12u4
        # workers
        22022           worker          0               0d00h00m00s     2.6.12-1+deb12u4
        # old workers
        21886           worker          2               0d00h00m04s     2.6.12-1+deb12u4
        # programs

        """

    @Test func parsesShowProc() throws {
        let list = try #require(HAProxyCLI.parseShowProc(Self.succeeded))
        #expect(list.masterPID == 21709 && list.reloads == 3 && list.failedReloads == 0)
        #expect(list.workerPIDs == [22022])
        #expect(list.oldWorkers.map(\.pid) == [21886])
        #expect(HAProxyCLI.parseShowProc("Unknown command.\n") == nil)
        #expect(HAProxyCLI.parseShowProc("") == nil)
    }

    @Test func followsAReload() throws {
        let before = try #require(HAProxyCLI.parseShowProc(Self.before))
        let failed = try #require(HAProxyCLI.parseShowProc(Self.failed))
        let succeeded = try #require(HAProxyCLI.parseShowProc(Self.succeeded))
        #expect(HAProxyCLI.reloadProgress(before: before, now: before) == .pending)
        #expect(HAProxyCLI.reloadProgress(before: before, now: failed) == .failed(failedReloads: 1))
        #expect(HAProxyCLI.reloadProgress(before: failed, now: succeeded) == .succeeded(newWorkers: [22022]))
        var other = succeeded
        other.masterPID = 1234
        #expect(HAProxyCLI.reloadProgress(before: before, now: other) == .masterReplaced(1234))
    }

    static let state = """
        1
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
        3 b 1 node1 127.0.0.1 2 0 1 1 8 8 2 0 6 0 0 0 - 18081 - 0 0 - - 0
        3 b 2 node2 ::1 2 12 1 1 0 1 0 2 6 0 0 0 - 18082 - 0 0 - - 0
        3 b 3 node3 127.0.0.1 0 5 1 1 8 1 0 0 14 0 0 0 - 1 - 0 0 - - 0

        """

    @Test func parsesServersStateAndComparesWithTheTable() throws {
        let states = HAProxyCLI.parseServersState(Self.state)
        #expect(states.map(\.server) == ["node1", "node2", "node3"])
        #expect(states[1].address == "::1" && states[1].port == 18082 && states[1].draining && !states[1].inMaintenance)
        #expect(states[2].inMaintenance)
        var table = SlotTable()
        table.sections["b"] = [.active(try host("127.0.0.1", 18081)), .draining(try host("::1", 18082), since: 0), .free]
        #expect(HAProxyCLI.mismatches(table: table, sections: ["b"], states: states).isEmpty)
        table.sections["b"] = [.active(try host("127.0.0.1", 18081)), .active(try host("::1", 18083)), .active(try host("10.0.0.1", 1))]
        #expect(
            HAProxyCLI.mismatches(table: table, sections: ["b"], states: states) == [
                "b/node2: expected [::1]:18083, haproxy has ::1:18082",
                "b/node2: expected ready, admin state 12",
                "b/node3: expected 10.0.0.1:1, haproxy has 127.0.0.1:1",
                "b/node3: expected ready, admin state 5",
            ])
        table.sections["b"]?.append(.free)
        #expect(HAProxyCLI.mismatches(table: table, sections: ["b"], states: states).last == "b/node4: not in haproxy")
    }
}
