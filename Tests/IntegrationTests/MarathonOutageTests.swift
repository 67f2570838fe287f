import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// A Marathon that is down, or lies, costs nothing: routing stays as it was.
    @Suite struct Outages {
        static func app(_ id: String, _ host: String, _ tasks: [MarathonJSON.Task]) -> String {
            MarathonJSON.app(id, servicePort: 10001, tasks: tasks, labels: ["HAPROXY_0_VHOST": host], shape: .v1_4)
        }

        /// Down (503), then gone (connection refused), then back with a change: the change applies.
        @Test(arguments: [("sse", "1.10.0"), ("callback", "1.4.13")])
        func routingSurvivesAnOutageAndFollowsAgainAfterIt(events: String, version: String) throws {
            try withFakeMarathon(version: version) { sandbox, marathon, blue, green in
                try marathon.setApps([
                    Self.app("/web", "web.example.com", [.init(blue)]), Self.app("/api", "api.example.com", [.init(green)]),
                ])
                let callbackPort = try freeTCPPort()
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: events, callbackPort: callbackPort)
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.bodyFor(host: "api.example.com") == "green")
                let configBefore = try readTextFile(sandbox.config)
                #expect(sandbox.lastStatus.contains("2 services (file 0, marathon 2)"), "\(sandbox.lastStatus)")

                // 503 on everything.
                try marathon.down()
                try proxym.signal(.usr1)
                #expect(
                    sandbox.notify.waitFor { _ in
                        sandbox.lastStatus.contains("FAILING: marathon (") && sandbox.lastStatus.contains("HTTP 503")
                    }, "\(sandbox.lastStatus)\n\(proxym.log)")
                #expect(sandbox.lastStatus.contains("keeping 2 last good services"), "\(sandbox.lastStatus)")
                #expect(sandbox.lastStatus.hasPrefix("STATUS=2 services (file 0, marathon 2)"), "\(sandbox.lastStatus)")
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
                #expect(sandbox.bodyFor(host: "api.example.com") == "green")
                #expect(try readTextFile(sandbox.config) == configBefore)

                // Gone: connection refused.
                marathon.kill()
                try proxym.signal(.usr1)
                #expect(
                    sandbox.notify.waitFor { _ in sandbox.lastStatus.contains("Couldn't connect") },
                    "\(sandbox.lastStatus)\n\(proxym.log)")
                #expect(sandbox.lastStatus.contains("FAILING: marathon ("), "\(sandbox.lastStatus)")
                #expect(sandbox.lastStatus.contains("keeping 2 last good services"), "\(sandbox.lastStatus)")
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
                #expect(sandbox.bodyFor(host: "api.example.com") == "green")
                #expect(try readTextFile(sandbox.config) == configBefore)
                #expect(proxym.log.contains("source failed; keeping its last good services"))

                // Back, on the same address, with its state (and, for 1.4, its callback subscriptions:
                // Marathon keeps both in ZooKeeper) and a change made meanwhile.
                try writeFile(
                    sandbox.root + "/apps.json",
                    MarathonJSON.apps([
                        Self.app("/web", "web.example.com", [.init(green)]),
                        Self.app("/api", "api.example.com", [.init(green)]),
                    ]))
                try marathon.restart(
                    ["--apps-file", sandbox.root + "/apps.json", "--http-endpoints", "http://127.0.0.1:\(callbackPort)/callback"])
                try marathon.statusUpdate(appID: "/web")
                #expect(
                    sandbox.waitForBackend("green", host: "web.example.com", timeout: .seconds(20)) != nil,
                    "\(proxym.log)")
                #expect(sandbox.notify.waitFor { _ in !sandbox.lastStatus.contains("FAILING") }, "\(sandbox.lastStatus)")
                #expect(proxym.log.contains("source recovered"))
            }
        }

        /// A Marathon that has just won an election may list no apps before it has loaded its state.
        @Test func anEmptyAppListIsHeldBackUntilConfirmed() throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, blue, _ in
                try marathon.setApps([Self.app("/web", "web.example.com", [.init(blue)])])
                // Two guards in a row: Marathon's own (three reads must agree) and the daemon's safety
                // guard for a source that empties (held for PROXYM_GUARD_HOLD, shortened here).
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "callback", callbackPort: try freeTCPPort(),
                    ["PROXYM_GUARD_HOLD": "1s"])
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                let configBefore = try readTextFile(sandbox.config)

                try marathon.setApps([])
                let started = MonotonicClock.nanoseconds()
                try marathon.push("deployment_success")
                #expect(proxym.waitForLog("Marathon lists no apps (it had 1)"), "\(proxym.log)")
                MonotonicClock.sleep(.milliseconds(300))
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
                #expect(try readTextFile(sandbox.config) == configBefore)

                // Confirmed by later reads (the module asks again with backoff): then it applies.
                let gone = waitUntil(timeout: .seconds(15), poll: .milliseconds(20)) {
                    sandbox.get(host: "web.example.com")?.status == 503
                }
                #expect(gone, "\(proxym.log)")
                let took = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                #expect(took > .seconds(1), "held back over several reads, not taken at once (\(took))")
                print("an empty app list was applied after \(ms(took)) (3 reads)")
            }
        }

        /// After a leader change Marathon reports no health results until its first probes: the tasks
        /// that were healthy stay routed; a new task without results stays out until it passes.
        @Test func aNewLeaderWithoutHealthResultsKeepsHealthyTasksRouted() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                let web = { (tasks: [MarathonJSON.Task]) in
                    MarathonJSON.app(
                        "/web", servicePort: 10001, tasks: tasks, labels: ["HAPROXY_0_VHOST": "web.example.com"],
                        healthChecks: 1)
                }
                try marathon.setApps([web([.init(blue)])])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                let configBefore = try readTextFile(sandbox.config)

                // The new leader: no results for blue, and a new green task without any either.
                try marathon.setApps([web([.init(blue, alive: nil), .init(green, alive: nil)])])
                try marathon.control("POST", "/_fake/drop-streams")
                let reconnected = waitUntil(timeout: .seconds(5)) {
                    proxym.log.split(separator: "\n").filter { $0.contains("connectStream: Marathon event stream connected") }
                        .count == 2
                }
                #expect(reconnected, "\(proxym.log)")
                MonotonicClock.sleep(.milliseconds(500))  // the refresh that follows the reconnect
                #expect(sandbox.backendsServing("web.example.com", requests: 6) == ["blue"], "\(proxym.log)")
                #expect(try readTextFile(sandbox.config) == configBefore)

                // Its probes come back.
                try marathon.setApps([web([.init(blue), .init(green)])])
                try marathon.push("health_status_changed_event")
                #expect(
                    waitUntil(timeout: .seconds(3)) { sandbox.backendsServing("web.example.com", requests: 4) == ["blue", "green"] },
                    "\(proxym.log)")
            }
        }

        /// `/v2/apps?embed=apps.tasks` failing in any way: `/v2/apps` + `/v2/tasks` instead.
        @Test(arguments: ["500", "truncated", "invalid", "cut"])
        func aFailingEmbedCallFallsBackToAppsAndTasks(mode: String) throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.app("/web", "web.example.com", [.init(blue)])])
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "callback", callbackPort: try freeTCPPort())
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")

                try marathon.fail("apps.tasks", mode)
                try marathon.clearRequests()
                try marathon.setApps([Self.app("/web", "web.example.com", [.init(green)])])
                // An event that names no app: a whole read (one that names an app reads that app only).
                let latency = try sandbox.waitForBackend("green", host: "web.example.com", timeout: .seconds(5)) {
                    try marathon.push("deployment_success")
                }
                #expect(latency != nil, "\(proxym.log)")
                if let latency { print("embed=apps.tasks \(mode) -> /v2/apps + /v2/tasks: served after \(ms(latency))") }
                let targets = marathon.requests.map(\.target)
                #expect(targets.contains("/v2/apps?embed=apps.tasks&embed=apps.readiness"), "\(targets)")
                #expect(targets.contains("/v2/apps") && targets.contains("/v2/tasks"), "\(targets)")
                #expect(proxym.log.contains("trying /v2/apps + /v2/tasks"), "\(proxym.log)")
                #expect(!sandbox.lastStatus.contains("FAILING"), "\(sandbox.lastStatus)")
            }
        }

        /// Nothing usable anywhere (not JSON; or no answer at all): the last good services stay.
        @Test(arguments: ["invalid", "hang"])
        func unusableAnswersKeepTheLastGoodServices(mode: String) throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.app("/web", "web.example.com", [.init(blue)])])
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "callback", callbackPort: try freeTCPPort(),
                    ["PROXYM_MARATHON_TIMEOUT": "1s", "PROXYM_MARATHON_CONNECT_TIMEOUT": "1s"])
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                let configBefore = try readTextFile(sandbox.config)

                try marathon.fail("*", mode)
                try marathon.setApps([Self.app("/web", "web.example.com", [.init(green)])])
                try marathon.statusUpdate(appID: "/web")
                #expect(
                    sandbox.notify.waitFor { _ in sandbox.lastStatus.contains("FAILING: marathon") },
                    "\(sandbox.lastStatus)\n\(proxym.log)")
                #expect(sandbox.lastStatus.contains("keeping 1 last good service"), "\(sandbox.lastStatus)")
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
                #expect(try readTextFile(sandbox.config) == configBefore)

                try marathon.clearFailures()
                try marathon.statusUpdate(appID: "/web")
                #expect(sandbox.waitForBackend("green", host: "web.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.notify.waitFor { _ in !sandbox.lastStatus.contains("FAILING") }, "\(sandbox.lastStatus)")
            }
        }
    }
}
