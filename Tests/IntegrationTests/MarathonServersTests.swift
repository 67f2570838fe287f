import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Several Marathon servers, a standby that redirects to the leader, authentication.
    @Suite struct Servers {
        static let host = "web.example.com"

        static func web(_ backend: Backend) -> String {
            MarathonJSON.app("/web", servicePort: 10001, tasks: [.init(backend)], labels: ["HAPROXY_0_VHOST": host])
        }

        /// The first server refuses connections: proxym moves to the second and stays there.
        @Test(arguments: ["sse", "callback"])
        func aServerThatIsDownIsSkippedAndTheWorkingOneKept(events: String) throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                let marathon = try FakeMarathon(
                    directory: dir, arguments: ["--version", events == "sse" ? "1.10.0" : "1.4.13"])
                try marathon.setApps([Self.web(blue)])
                let refused = "http://127.0.0.1:\(try freeTCPPort())"
                let proxym = try sandbox.startWithMarathon(
                    servers: [refused, marathon.url], events: events, callbackPort: try freeTCPPort())
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")
                #expect(proxym.waitForLog("using Marathon server"), "\(proxym.log)")
                let failover = "Marathon server failed; trying the next one"
                // Requests already under way when the first failover happened fail over too.
                let startupFailovers = proxym.log.split(separator: "\n").filter { $0.contains(failover) }.count
                #expect((1...3).contains(startupFailovers), "\(proxym.log)")

                for (round, backend) in [green, blue, green].enumerated() {
                    try marathon.setApps([Self.web(backend)])
                    let latency = try sandbox.waitForBackend(backend.name, host: Self.host) {
                        try marathon.statusUpdate(appID: "/web", taskID: "t\(round)")
                    }
                    #expect(latency != nil && latency! < .seconds(1), "round \(round): \(latency.map(ms) ?? "never"); log:\n\(proxym.log)")
                }
                // Every later request went straight to the second.
                let failovers = proxym.log.split(separator: "\n").filter { $0.contains(failover) }.count
                #expect(failovers == startupFailovers, "\(proxym.log)")
                // The startup's whole reads, then a read per event: the app alone, unless the event
                // came while a whole read was under way (then that read answers it).
                let whole = marathon.requests.filter { $0.target == "/v2/apps?embed=apps.tasks&embed=apps.readiness" }.count
                let app = marathon.requests.filter { $0.target == "/v2/apps/web?embed=app.tasks&embed=app.readiness" }.count
                #expect(whole >= 1 && app >= 2 && whole + app >= 4, "whole reads \(whole), app reads \(app)")
                sandbox.tearDown()
            }
        }

        /// A standby redirects every call to the leader, which wants credentials: they are sent again
        /// after the redirect (REST calls and the event stream alike).
        @Test(arguments: ["variables", "url"])
        func aRedirectToTheLeaderKeepsBasicAuthCredentials(credentials: String) throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                let leader = try FakeMarathon(name: "leader", directory: dir, arguments: ["--version", "1.10.0"])
                let standby = try FakeMarathon(name: "standby", directory: dir, arguments: ["--version", "1.10.0"])
                try leader.setApps([Self.web(blue)])
                try leader.requireBasicAuth("proxym:s3cret")
                try standby.redirect(to: leader)
                let proxym: LoggedChild
                if credentials == "variables" {
                    proxym = try sandbox.startWithMarathon(
                        servers: [standby.url], events: "sse",
                        ["PROXYM_MARATHON_USERNAME": "proxym", "PROXYM_MARATHON_PASSWORD": "s3cret"])
                } else {
                    proxym = try sandbox.startWithMarathon(
                        servers: ["http://proxym:s3cret@127.0.0.1:\(standby.port)"], events: "sse")
                }
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")
                #expect(leader.waitForOneStream(), "\(proxym.log)")

                let expected = "Basic cHJveHltOnMzY3JldA=="  // proxym:s3cret
                let atLeader = leader.requests
                #expect(!atLeader.isEmpty)
                #expect(atLeader.allSatisfy { $0.authorization == expected }, "\(atLeader)")
                #expect(atLeader.contains { $0.target.hasPrefix("/v2/events") })
                #expect(standby.requests.contains { $0.target == "/v2/apps?embed=apps.tasks&embed=apps.readiness" }, "asked the standby first")
                #expect(!proxym.log.contains("s3cret"), "the password is never logged")

                try leader.setApps([Self.web(green)])
                let latency = try sandbox.waitForBackend("green", host: Self.host) {
                    try leader.statusUpdate(appID: "/web")
                }
                #expect(latency != nil && latency! < .seconds(1), "\(latency.map(ms) ?? "never"); log:\n\(proxym.log)")
                sandbox.tearDown()
            }
        }

        /// DC/OS: `Authorization: token=...`.
        @Test func aDCOSTokenIsSent() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, _ in
                try marathon.setApps([Self.web(blue)])
                try marathon.requireToken("eyJhbGciOi.fake.token")
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_AUTH_TOKEN": "eyJhbGciOi.fake.token"])
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")
                #expect(marathon.waitForOneStream(), "\(proxym.log)")
                #expect(marathon.requests.allSatisfy { $0.authorization == "token=eyJhbGciOi.fake.token" }, "\(marathon.requests)")
            }
        }
    }
}
