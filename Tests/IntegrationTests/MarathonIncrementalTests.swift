import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Events that name an app re-read that app only (`GET /v2/apps/<id>?embed=app.tasks`); whole reads
    /// at start, on events that name no app and on SIGHUP, where a difference from the state kept from
    /// events is a WARNING and the whole read wins.
    @Suite struct Incremental {
        static let webHost = "web.example.com"
        static let apiHost = "api.example.com"

        static func web(_ tasks: [MarathonJSON.Task]) -> String {
            MarathonJSON.app("/shop/web", servicePort: 10001, tasks: tasks, labels: ["HAPROXY_0_VHOST": webHost])
        }

        static func api(_ tasks: [MarathonJSON.Task]) -> String {
            MarathonJSON.app("/shop/api", servicePort: 10002, tasks: tasks, labels: ["HAPROXY_0_VHOST": apiHost])
        }

        /// A `deployment_step_success` body: a plan of one step per app in `apps`, `step` the current one.
        static func deploymentStep(plan: String, apps: [String], step: [String]) -> String {
            func actions(_ ids: [String]) -> String {
                "[" + ids.map { #"{"action":"RestartApplication","app":"\#($0)"}"# }.joined(separator: ",") + "]"
            }
            let steps = apps.map { #"{"actions":\#(actions([$0]))}"# }.joined(separator: ",")
            return #"{"eventType":"deployment_step_success","timestamp":"2024-01-01T00:00:00.000Z","plan":{"id":"\#(plan)","original":{"apps":[]},"target":{"apps":[]},"steps":[\#(steps)],"version":"2024-01-01T00:00:00.000Z"},"currentStep":{"actions":\#(actions(step))}}"#
        }

        static func served(_ marathon: FakeMarathon) throws -> Int {
            let text = try marathon.control("GET", "/_fake/served")
            let field = try #require(text.split(separator: " ").first { $0.hasPrefix("body_bytes=") })
            return try #require(Int(field.dropFirst("body_bytes=".count).prefix { $0.isNumber }))
        }

        @Test func anEventNamingAnAppReadsThatAppOnly() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                // Enough other apps that a whole read is clearly bigger than one app.
                let others = (0..<40).map { i in
                    MarathonJSON.app(
                        "/other/app\(i)", servicePort: 11000 + i, tasks: [.init(blue)],
                        labels: ["HAPROXY_0_VHOST": "other\(i).example.com"])
                }
                try marathon.setApps([Self.web([.init(blue)]), Self.api([.init(blue)])] + others)
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(marathon.waitForOneStream(), "\(proxym.log)")
                #expect(sandbox.waitForBackend("blue", host: Self.webHost) != nil, "\(proxym.log)")
                #expect(sandbox.bodyFor(host: Self.apiHost) == "blue")
                MonotonicClock.sleep(.milliseconds(300))  // the startup reads are over
                try marathon.clearRequests()
                try marathon.control("DELETE", "/_fake/served")

                // A task event: one app read, the change served.
                try marathon.setApps([Self.web([.init(green)]), Self.api([.init(blue)])] + others)
                let latency = try sandbox.waitForBackend("green", host: Self.webHost) {
                    try marathon.statusUpdate(appID: "/shop/web", taskID: "green-1")
                }
                #expect(latency != nil, "not served; log:\n\(proxym.log)")
                MonotonicClock.sleep(.milliseconds(200))
                var targets = marathon.requests.map(\.target)
                #expect(targets == ["/v2/apps/shop/web?embed=app.tasks&embed=app.readiness"], "\(targets)")
                let bytes = try Self.served(marathon)
                #expect(bytes > 0 && bytes < 2048, "one app read, \(bytes) bytes")
                #expect(sandbox.bodyFor(host: Self.apiHost) == "blue")

                // The app goes: a 404 removes its routes, the others stay.
                try marathon.clearRequests()
                try marathon.control("DELETE", "/_fake/apps/shop/api")
                try marathon.push(
                    "app_terminated_event",
                    #"{"eventType":"app_terminated_event","timestamp":"2024-01-01T00:00:00.000Z","appId":"/shop/api"}"#)
                #expect(
                    waitUntil(timeout: .seconds(3), poll: .milliseconds(10)) { sandbox.bodyFor(host: Self.apiHost) == nil },
                    "the removed app is still served; log:\n\(proxym.log)")
                #expect(sandbox.bodyFor(host: Self.webHost) == "green")
                #expect(sandbox.bodyFor(host: "other7.example.com") == "blue")
                targets = marathon.requests.map(\.target)
                #expect(targets == ["/v2/apps/shop/api?embed=app.tasks&embed=app.readiness"], "\(targets)")

                // A change whose event is lost: SIGHUP's whole read finds it, says so, and wins.
                try marathon.clearRequests()
                try marathon.setApps([Self.web([.init(blue)])] + others)
                #expect(sandbox.bodyFor(host: Self.webHost) == "green")
                try proxym.signal(.hup)
                #expect(sandbox.waitForBackend("blue", host: Self.webHost, timeout: .seconds(5)) != nil, "\(proxym.log)")
                #expect(marathon.requests.contains { $0.target == "/v2/apps?embed=apps.tasks&embed=apps.readiness" })
                // No event follows within the grace: it was lost, and a WARNING says so.
                #expect(proxym.waitForLog("differed from the state kept from events"), "\(proxym.log)")
                #expect(proxym.log.split(separator: "\n").contains { $0.contains("an event was lost") && $0.contains("/shop/web") })

                // A change whose event is only late: the whole read wins at once, the event comes
                // within the grace, and nobody is warned.
                let othersGreen = others.enumerated().map { i, app in
                    i == 3
                        ? MarathonJSON.app(
                            "/other/app3", servicePort: 11003, tasks: [.init(green)], labels: ["HAPROXY_0_VHOST": "other3.example.com"])
                        : app
                }
                try marathon.setApps([Self.web([.init(blue)])] + othersGreen)
                try proxym.signal(.hup)
                #expect(sandbox.waitForBackend("green", host: "other3.example.com", timeout: .seconds(5)) != nil, "\(proxym.log)")
                try marathon.statusUpdate(appID: "/other/app3", taskID: "green-1")
                MonotonicClock.sleep(.milliseconds(2600))
                #expect(
                    !proxym.log.split(separator: "\n").contains { $0.contains("kept from events") && $0.contains("/other/app3") },
                    "a late event counted as lost:\n\(proxym.log)")

                // Deployments: a step that succeeded reads its apps; the end of a plan seen before reads
                // the plan's apps; the end of a plan never seen reads everything.
                try marathon.clearRequests()
                try marathon.setApps([Self.web([.init(green)])] + othersGreen)
                try marathon.push("deployment_step_success", Self.deploymentStep(plan: "plan-1", apps: ["/shop/web", "/other/app3"], step: ["/shop/web"]))
                #expect(sandbox.waitForBackend("green", host: Self.webHost, timeout: .seconds(5)) != nil, "\(proxym.log)")
                MonotonicClock.sleep(.milliseconds(200))
                #expect(marathon.requests.map(\.target) == ["/v2/apps/shop/web?embed=app.tasks&embed=app.readiness"])
                try marathon.clearRequests()
                try marathon.push("deployment_success", #"{"eventType":"deployment_success","timestamp":"2024-01-01T00:00:00.000Z","id":"plan-1"}"#)
                #expect(waitUntil(timeout: .seconds(3)) { marathon.requests.count >= 2 })
                MonotonicClock.sleep(.milliseconds(200))
                #expect(
                    Set(marathon.requests.map(\.target))
                        == ["/v2/apps/shop/web?embed=app.tasks&embed=app.readiness", "/v2/apps/other/app3?embed=app.tasks&embed=app.readiness"],
                    "\(marathon.requests.map(\.target))")

                // An event that names no app reads everything.
                try marathon.clearRequests()
                try marathon.setApps([Self.web([.init(green)])] + others)
                try marathon.push("deployment_success")
                #expect(sandbox.waitForBackend("green", host: Self.webHost, timeout: .seconds(5)) != nil, "\(proxym.log)")
                // /shop/web was green already: the wait above proves nothing about the read, so wait for it.
                #expect(
                    waitUntil(timeout: .seconds(3)) {
                        marathon.requests.contains { $0.target == "/v2/apps?embed=apps.tasks&embed=apps.readiness" }
                    }, "\(marathon.requests.map(\.target))")
                print("Marathon incremental: task event -> haproxy serving \(latency.map(ms) ?? "-"), \(bytes) bytes read")

                try proxym.signal(.term)
                #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
            }
        }

        /// The baseline setting: every event reads everything.
        @Test func incrementalOffReadsEverythingOnEveryEvent() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.web([.init(blue)])])
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_INCREMENTAL": "0"])
                #expect(sandbox.waitForBackend("blue", host: Self.webHost) != nil, "\(proxym.log)")
                MonotonicClock.sleep(.milliseconds(300))
                try marathon.clearRequests()
                try marathon.setApps([Self.web([.init(green)])])
                try marathon.statusUpdate(appID: "/shop/web", taskID: "green-1")
                #expect(sandbox.waitForBackend("green", host: Self.webHost) != nil, "\(proxym.log)")
                let targets = marathon.requests.map(\.target)
                #expect(targets == ["/v2/apps?embed=apps.tasks&embed=apps.readiness"], "\(targets)")
            }
        }
    }
}
