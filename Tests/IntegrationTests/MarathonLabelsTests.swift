import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// App labels and groups, and Marathon next to service files.
    @Suite struct Labels {
        @Test func labelsAndGroupsSteerRouting() throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                let red = try Backend(name: "red", directory: dir)
                let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
                try marathon.setApps([
                    // proxym.domains: the domains to route (instead of the domain strategy's).
                    MarathonJSON.app(
                        "/shop/web", servicePort: 10001, tasks: [.init(blue)],
                        labels: [
                            "proxym.domains": "shop.example.com, www.shop.example.com", "HAPROXY_GROUP": "external",
                            "proxym.port.0.config": "http-response set-header X-From-Label yes",
                        ]),
                    // The domain strategy (IdToDomainReverse): /com/example/api -> api.example.com,
                    // served over HTTP because its service port is the HTTP port.
                    MarathonJSON.app(
                        "/com/example/api", servicePort: Int(sandbox.httpPort), tasks: [.init(green)],
                        labels: ["HAPROXY_GROUP": "external,internal"]),
                    // Another group.
                    MarathonJSON.app(
                        "/admin", servicePort: 10003, tasks: [.init(red)],
                        labels: ["HAPROXY_GROUP": "internal", "HAPROXY_0_VHOST": "admin.example.com"]),
                    // Hostile: a newline smuggling HAProxy lines into a domain. Costs this app only.
                    MarathonJSON.app(
                        "/evil", servicePort: 10004, tasks: [.init(red)],
                        labels: [
                            "HAPROXY_GROUP": "external",
                            "proxym.domains": "evil.example.com\n  acl pwn always_true\n  use_backend shop_web_cluster if pwn",
                        ]),
                ])
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_GROUP": "external"])
                #expect(sandbox.waitForBackend("blue", host: "shop.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.bodyFor(host: "www.shop.example.com") == "blue")
                #expect(sandbox.bodyFor(host: "api.example.com") == "green")
                #expect(sandbox.get(host: "admin.example.com")?.status == 503, "not in the group")
                #expect(sandbox.get(host: "evil.example.com")?.status == 503)
                #expect(proxym.log.contains("app \"/evil\": skipped: label proxym.domains"), "\(proxym.log)")
                #expect(proxym.log.contains("proxym.port.0.config ignored"), "\(proxym.log)")
                let config = try readTextFile(sandbox.config)
                #expect(!config.contains("pwn") && !config.contains("evil"), "\(config)")
                #expect(!config.contains("X-From-Label"), "raw lines from labels need PROXYM_MARATHON_LABEL_CONFIG=1")
                let plain = httpRequest(port: sandbox.httpPort, headers: [("Host", "shop.example.com")])
                #expect(plain?.status == 200 && plain?.header("x-from-label") == nil)
                #expect(sandbox.lastStatus.contains("2 services (file 0, marathon 2)"), "\(sandbox.lastStatus)")
                sandbox.tearDown()

                // The same apps with label config allowed.
                try FileSystem.mkdir(dir + "/allowed")
                let allowed = try Sandbox(root: dir + "/allowed")
                let proxym2 = try allowed.startWithMarathon(
                    servers: [marathon.url], events: "sse",
                    ["PROXYM_MARATHON_GROUP": "external", "PROXYM_MARATHON_LABEL_CONFIG": "1"])
                #expect(allowed.waitForBackend("blue", host: "shop.example.com") != nil, "\(proxym2.log)")
                let labelled = httpRequest(port: allowed.httpPort, headers: [("Host", "shop.example.com")])
                #expect(labelled?.header("x-from-label") == "yes", "\(proxym2.log)")
                #expect(try readTextFile(allowed.config).contains("  http-response set-header X-From-Label yes\n"))
                allowed.tearDown()
            }
        }

        /// A task Marathon reports not ready during a deployment (`readinessCheckResults`, asked for with
        /// `embed=apps.readiness`) gets no request; once ready it does. marathon-lb's per-port labels on the
        /// way: `HAPROXY_0_MODE=http` + vhost, `HAPROXY_1_ENABLED=false` hides port 1.
        @Test func unreadyTaskIsNotRouted() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                let labels = ["HAPROXY_0_VHOST": "deploy.example.com", "HAPROXY_0_MODE": "http"]
                let greenID = "deploy.\(green.port)-1"
                try marathon.setApps([
                    MarathonJSON.app("/deploy", servicePort: 10001, tasks: [.init(blue), .init(green)], labels: labels, notReady: [greenID])
                ])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(sandbox.waitForBackend("blue", host: "deploy.example.com") != nil, "\(proxym.log)")
                let bodies = (0..<8).map { _ in sandbox.bodyFor(host: "deploy.example.com") }
                #expect(bodies.allSatisfy { $0 == "blue" }, "\(bodies)")
                #expect(!(try readTextFile(sandbox.config)).contains(":\(green.port)"), "the unready task is not a server")
                #expect(marathon.requests.contains { $0.target.contains("embed=apps.readiness") })

                // Ready now: both serve.
                try marathon.setApps([
                    MarathonJSON.app("/deploy", servicePort: 10001, tasks: [.init(blue), .init(green)], labels: labels)
                ])
                try marathon.statusUpdate(appID: "/deploy")
                #expect(sandbox.waitForBackend("green", host: "deploy.example.com") != nil, "\(proxym.log)")
            }
        }

        @Test func fileAndMarathonServicesAtOnce() throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                try sandbox.writeService(
                    "files.json",
                    sandbox.service(id: "/files/web", domain: "files.example.com", port: sandbox.httpPort, backends: [blue]))
                let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
                try marathon.setApps([
                    MarathonJSON.app(
                        "/web", servicePort: 10001, tasks: [.init(green)], labels: ["HAPROXY_0_VHOST": "web.example.com"])
                ])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(sandbox.waitForBackend("blue", host: "files.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.waitForBackend("green", host: "web.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.lastStatus.contains("2 services (file 1, marathon 1)"), "\(sandbox.lastStatus)")

                // Either source changing leaves the other alone.
                try marathon.setApps([
                    MarathonJSON.app(
                        "/web", servicePort: 10001, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "web.example.com"])
                ])
                try marathon.statusUpdate(appID: "/web")
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
                try sandbox.writeService(
                    "files.json",
                    sandbox.service(id: "/files/web", domain: "files.example.com", port: sandbox.httpPort, backends: [green]))
                #expect(sandbox.waitForBackend("green", host: "files.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")

                // A Marathon outage keeps the Marathon services; the files still follow.
                try marathon.down()
                try sandbox.writeService(
                    "files.json",
                    sandbox.service(id: "/files/web", domain: "files.example.com", port: sandbox.httpPort, backends: [blue]))
                #expect(sandbox.waitForBackend("blue", host: "files.example.com") != nil, "\(proxym.log)")
                #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
                // The file edit did not wait for Marathon, nor ask it anything: SIGUSR1 makes every
                // source look again, and Marathon's failure shows.
                try proxym.signal(.usr1)
                #expect(
                    sandbox.notify.waitFor { _ in sandbox.lastStatus.contains("FAILING: marathon") }, "\(sandbox.lastStatus)")
                sandbox.tearDown()
            }
        }
    }
}
