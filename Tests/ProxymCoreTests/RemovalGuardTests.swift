import ProxymCore
import ProxymModel
import ProxymTestSupport
import Testing
import ProxymTestBuilders

private func service(_ id: String, _ ports: [Int]) throws -> Service {
    try makeService(
        id, domains: ["\(id.dropFirst()).example.com"], port: 80, hosts: ports.map { ("10.0.0.1", $0) },
        source: "file:\(id.dropFirst()).json")
}

private func at(_ seconds: Int) -> Instant { Instant(nanoseconds: UInt64(seconds) * 1_000_000_000) }

/// The safety guard, stepped with explicit instants.
@Suite struct RemovalGuardTests {
    func applied() throws -> [String: [Service]] {
        ["file": [try service("/a", [1, 2]), try service("/b", [1, 2]), try service("/c", [1])], "marathon": [try service("/m", [1])]]
    }

    @Test func smallChangesAndReplacementsGoThrough() throws {
        var guard_ = RemovalGuard(maxRemovalShare: 0.5, hold: .seconds(30))
        var candidate = try applied()
        // /a loses a host, /b's hosts are replaced (a redeploy): net loss 1 of 6.
        candidate["file"] = [try service("/a", [1]), try service("/b", [7, 8]), try service("/c", [1])]
        #expect(guard_.check(applied: try applied(), candidate: candidate, now: at(0), force: false) == .proceed(note: nil))
        // Exactly the limit is not more than the limit: 3 of 6.
        candidate["file"] = [try service("/a", [1]), try service("/c", [1])]
        candidate["marathon"] = [try service("/m", [1])]
        #expect(guard_.trip(applied: try applied(), candidate: candidate) == nil)
        // Before the first refresh there is nothing to compare with.
        #expect(guard_.check(applied: nil, candidate: [:], now: at(0), force: false) == .proceed(note: nil))
    }

    @Test func aBigRemovalIsHeldUntilItPersistsForTheHoldTime() throws {
        var guard_ = RemovalGuard(maxRemovalShare: 0.5, hold: .seconds(30))
        var candidate = try applied()
        candidate["file"] = [try service("/c", [1])]  // loses /a and /b: 4 of 6
        let first = guard_.check(applied: try applied(), candidate: candidate, now: at(100), force: false)
        #expect(first == .hold(reason: "it would take away 4 of 6 servers (67% > 50%)", since: at(100), until: at(130)))
        // Still there 10 s later: still held, same deadline.
        #expect(
            guard_.check(applied: try applied(), candidate: candidate, now: at(110), force: false)
                == .hold(reason: "it would take away 4 of 6 servers (67% > 50%)", since: at(100), until: at(130)))
        // At the deadline it goes through.
        #expect(
            guard_.check(applied: try applied(), candidate: candidate, now: at(130), force: false)
                == .proceed(note: "held for 30.0 seconds, applying: it would take away 4 of 6 servers (67% > 50%)"))
        #expect(guard_.heldSince == nil)
    }

    @Test func recoveryReleasesAndSighupForces() throws {
        var guard_ = RemovalGuard(maxRemovalShare: 0.5, hold: .seconds(30))
        var bad = try applied()
        bad["file"] = []
        if case .hold(let reason, _, _) = guard_.check(applied: try applied(), candidate: bad, now: at(0), force: false) {
            #expect(reason == "source file would go from 3 services to none; it would take away 5 of 6 servers (83% > 50%)")
        } else {
            Issue.record("emptying a source must be held")
        }
        // The services come back: released, and a later trip starts a new hold.
        #expect(
            guard_.check(applied: try applied(), candidate: try applied(), now: at(5), force: false)
                == .proceed(note: "the held change no longer trips the guard"))
        if case .hold(_, let since, _) = guard_.check(applied: try applied(), candidate: bad, now: at(40), force: false) {
            #expect(since == at(40))
        } else {
            Issue.record("expected a new hold")
        }
        // SIGHUP applies it at once.
        guard case .proceed(let note) = guard_.check(applied: try applied(), candidate: bad, now: at(41), force: true) else {
            Issue.record("SIGHUP must force")
            return
        }
        #expect(note?.hasPrefix("forced by SIGHUP: ") == true)
    }

    @Test func emptyingASmallSourceIsHeldEvenUnderTheShare() throws {
        var guard_ = RemovalGuard(maxRemovalShare: 1.0, hold: .seconds(30))
        var candidate = try applied()
        candidate["marathon"] = []
        guard case .hold(let reason, _, _) = guard_.check(applied: try applied(), candidate: candidate, now: at(0), force: false)
        else {
            Issue.record("expected a hold")
            return
        }
        #expect(reason == "source marathon would go from 1 service to none")
        // A source that had nothing may stay empty.
        var empty = try applied()
        empty["marathon"] = []
        #expect(guard_.trip(applied: empty, candidate: empty) == nil)
    }

    @Test func zeroHoldTurnsTheGuardOff() throws {
        var guard_ = RemovalGuard(maxRemovalShare: 0.5, hold: .zero)
        #expect(guard_.check(applied: try applied(), candidate: [:], now: at(0), force: false) == .proceed(note: nil))
    }
}

@Suite struct ZeroDowntimeSettingsTests {
    let base: [String: String] = [
        "PROXYM_HAPROXY_ENABLED": "1", "PROXYM_HAPROXY_CONFIG_FILE_PATH": "/var/lib/proxym/haproxy.cfg",
    ]

    func parse(_ extra: [String: String]) -> SettingsReport {
        Settings.parse(environment: base.merging(extra) { _, new in new })
    }

    @Test func defaultsKeepTodaysBehaviour() {
        let s = parse([:]).settings
        #expect(s.haproxy.reloadMethod == .none)
        #expect(!s.haproxy.runtimeAPI && s.haproxy.serverSlots == 8 && s.haproxy.drainTime == .seconds(10))
        #expect(s.safetyGuard.maxRemovalShare == 0.5 && s.safetyGuard.hold == .seconds(30))
        #expect(s.haproxy.effectiveMasterSocket == "/var/lib/proxym/haproxy-master.sock")
        #expect(s.haproxy.defaultStatsSocket == "/var/lib/proxym/haproxy-admin.sock")
        #expect(parse(["PROXYM_HAPROXY_RELOAD_COMMAND": "x"]).settings.haproxy.reloadMethod == .command("x"))
    }

    @Test func explicitMethods() {
        let sf = parse(["PROXYM_HAPROXY_RELOAD_METHOD": "sf", "PROXYM_HAPROXY_PID_PATH": "/run/h.pid"])
        #expect(sf.errors.isEmpty)
        #expect(sf.settings.haproxy.reloadMethod == .startStop(binary: "haproxy", pidFile: "/run/h.pid"))
        #expect(parse(["PROXYM_HAPROXY_RELOAD_METHOD": "sf"]).errors.first?.hasPrefix("PROXYM_HAPROXY_PID_PATH: required") == true)
        let mw = parse([
            "PROXYM_HAPROXY_RELOAD_METHOD": "Master-Worker", "PROXYM_HAPROXY_MASTER_SOCKET": "/run/haproxy-master.sock",
            "PROXYM_HAPROXY_BINARY_PATH": "/usr/sbin/haproxy",
        ])
        #expect(mw.errors.isEmpty && mw.warnings.isEmpty, "\(mw.errors) \(mw.warnings)")
        #expect(
            mw.settings.haproxy.reloadMethod
                == .masterWorker(binary: "/usr/sbin/haproxy", masterSocket: "/run/haproxy-master.sock", pidFile: nil))
        #expect(parse(["PROXYM_HAPROXY_RELOAD_METHOD": "command"]).errors.first?.contains("RELOAD_COMMAND: required") == true)
        #expect(parse(["PROXYM_HAPROXY_RELOAD_METHOD": "usr2"]).errors == [
            "PROXYM_HAPROXY_RELOAD_METHOD: \"usr2\" is not sf, master-worker or command"
        ])
        let long = "/" + String(repeating: "x", count: 120)
        #expect(parse(["PROXYM_HAPROXY_RELOAD_METHOD": "master-worker", "PROXYM_HAPROXY_MASTER_SOCKET": long]).errors.count == 1)
    }

    @Test func runtimeAndGuardValues() {
        let r = parse([
            "PROXYM_HAPROXY_RUNTIME_API": "1", "PROXYM_HAPROXY_STATS_SOCKET": "/run/haproxy/admin.sock",
            "PROXYM_HAPROXY_SERVER_SLOTS": "16", "PROXYM_HAPROXY_DRAIN_TIME": "2s",
            "PROXYM_GUARD_MAX_REMOVAL": "25%", "PROXYM_GUARD_HOLD": "1m", "PROXYM_HAPROXY_RELOAD_COMMAND": "x",
        ])
        #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(r.errors) \(r.warnings)")
        #expect(r.settings.haproxy.runtimeAPI && r.settings.haproxy.statsSocket == "/run/haproxy/admin.sock")
        #expect(r.settings.haproxy.serverSlots == 16 && r.settings.haproxy.drainTime == .seconds(2))
        #expect(r.settings.safetyGuard.maxRemovalShare == 0.25 && r.settings.safetyGuard.hold == .seconds(60))
        #expect(parse(["PROXYM_GUARD_MAX_REMOVAL": "0.75"]).settings.safetyGuard.maxRemovalShare == 0.75)
        for bad in ["150%", "-1", "half", "2", ""] where !bad.isEmpty {
            #expect(parse(["PROXYM_GUARD_MAX_REMOVAL": bad]).errors.count == 1, "\(bad)")
        }
        #expect(parse(["PROXYM_HAPROXY_SERVER_SLOTS": "0"]).errors.count == 1)
        #expect(parse(["PROXYM_HAPROXY_RUNTIME_API": "1"]).warnings.first?.contains("no reload method") == true)
    }
}

/// The guard's count of lost servers: the same whether the ids line up (the fast path) or not.
@Suite struct RemovalGuardLossTests {
    /// The plain definition: per id, old hosts minus the new hosts of that id, never below zero.
    func reference(_ old: [Service], _ new: [Service]) -> (Int, Int) {
        var now: [String: Int] = [:]
        for service in new { now[service.id.rawValue, default: 0] += service.hosts.count }
        let before = old.reduce(0) { $0 + $1.hosts.count }
        let removed = old.reduce(0) { $0 + max(0, $1.hosts.count - (now[$1.id.rawValue] ?? 0)) }
        return (before, removed)
    }

    @Test(arguments: 0..<40)
    func randomChanges(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let count = Int(rng.next() % 30)
        let old = try (0..<count).map { i in try service("/s\(i)", (0..<Int(rng.next() % 4)).map { 1000 + $0 }) }
        var new = old
        // Scale some, drop some, add some, and sometimes reorder: both paths are taken.
        for i in new.indices where rng.next() % 3 == 0 {
            new[i] = try service("/s\(i)", (0..<Int(rng.next() % 4)).map { 2000 + $0 })
        }
        if rng.next() % 2 == 0, !new.isEmpty { new.remove(at: Int(rng.next() % UInt64(new.count))) }
        if rng.next() % 2 == 0 { new.append(try service("/new\(seed)", [1])) }
        if rng.next() % 2 == 0 { new.reverse() }
        let guard_ = RemovalGuard(maxRemovalShare: 0, hold: .seconds(1))
        let (before, removed) = reference(old, new)
        let reason = guard_.trip(applied: ["file": old], candidate: ["file": new])
        if removed == 0 || before == 0 {
            #expect(reason == nil || reason?.contains("to none") == true)
        } else {
            #expect(reason?.contains("take away \(removed) of \(before) servers") == true, "\(reason ?? "nil")")
        }
    }
}
