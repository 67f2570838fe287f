import ProxymPosix
import ProxymTestSupport
import Testing

/// Issue 14's routing through the built daemon, service files and a real haproxy on 127.0.0.1:
/// path routing (longest prefix first, vhost+path before the vhost alone) with a prefix rewrite,
/// sticky sessions holding across a scale applied through the Runtime API, a failing health-check path
/// taking its server out (haproxy's own check, seen in `show servers state`), a redirect to HTTPS and
/// basic auth.
@Suite(.serialized, .enabled(if: haveHAProxy, "needs haproxy (CI installs it)"), .timeLimit(.minutes(2)))
struct RoutingEndToEndTests {
    /// `openssl passwd -6 -salt proxymsalt s3cret`
    static let hash = "$6$proxymsalt$vZra7LmY77nYmH9ih79.JK/W7hRH6FEU.e6U4NiaPOA8KQz7aB4/9jXCg7x6nqbhTf6YRSu.iNLe7jK1cG1K20"

    func hosts(_ backends: [Backend]) -> String {
        backends.map { "{\"ip\": \"127.0.0.1\", \"port\": \($0.port)}" }.joined(separator: ", ")
    }

    func request(_ sandbox: Sandbox, host: String, path: String = "/", headers: [(String, String)] = []) -> HTTPTestResponse? {
        httpRequest(port: sandbox.httpPort, path: path, headers: [("Host", host)] + headers, timeout: .seconds(2))
    }

    func name(_ response: HTTPTestResponse?) -> String? {
        guard let response, response.status == 200 else { return nil }
        return response.header("X-Backend")
    }

    /// A first request sets haproxy's cookie; six more with it reach the same server.
    func pin(_ sandbox: Sandbox, host: String) throws -> (cookie: String, server: String) {
        let first = try #require(request(sandbox, host: host))
        let setCookie = try #require(first.header("Set-Cookie"), "no cookie: \(first.headers)")
        #expect(setCookie.hasPrefix("proxym_server_id="))
        let cookie = String(setCookie.split(separator: ";")[0])
        let pinned = try #require(name(first))
        for _ in 0..<6 { #expect(name(request(sandbox, host: host, headers: [("Cookie", cookie)])) == pinned) }
        return (cookie, pinned)
    }

    /// After a scale that added `added`: the cookie still pins, and new clients reach the new server.
    func expectStillPinned(_ sandbox: Sandbox, host: String, _ pinned: (cookie: String, server: String), added: String) {
        var seen = Set<String>()
        for _ in 0..<12 {
            if let plain = name(request(sandbox, host: host)) { seen.insert(plain) }
            #expect(name(request(sandbox, host: host, headers: [("Cookie", pinned.cookie)])) == pinned.server)
        }
        #expect(seen.contains(added), "the new server takes new clients: \(seen)")
    }

    /// haproxy's own view (`show servers state`): in the backend that has a server on `down`, that
    /// server is stopped (srv_op_state 0) and the one on `up` running (2).
    func expectCheckedOut(_ sandbox: Sandbox, down: Backend, up: Backend) {
        #expect(
            waitUntil(timeout: .seconds(8)) {
                guard let state = cliRequest(path: sandbox.statsSocket, "show servers state") else { return false }
                // be_name is the 2nd field, srv_op_state the 6th, srv_port the 19th.
                let rows = state.split(separator: "\n").map { $0.split(separator: " ") }.filter { $0.count > 18 }
                guard let backend = rows.first(where: { $0[18] == "\(down.port)" })?[1] else { return false }
                let inBackend = rows.filter { $0[1] == backend }
                return inBackend.contains { $0[18] == "\(down.port)" && $0[5] == "0" }
                    && inBackend.contains { $0[18] == "\(up.port)" && $0[5] == "2" }
            }, "\(cliRequest(path: sandbox.statsSocket, "show servers state") ?? "no socket")")
    }

    /// Backends a, b, c (its /health answers 503) and d.
    func backends(in dir: String) throws -> (Backend, Backend, Backend, Backend) {
        (
            try Backend(name: "a", directory: dir), try Backend(name: "b", directory: dir),
            try Backend(name: "c", directory: dir, arguments: ["--fail-path", "/health"]), try Backend(name: "d", directory: dir)
        )
    }

    var runtimeChange: String { "servers changed through the Runtime API, no reload" }

    @Test func routingFeaturesThroughARealHAProxy() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let (a, b, c, d) = try backends(in: dir)
            let e = try Backend(name: "e", directory: dir)
            let port = sandbox.httpPort
            func write(_ file: String, _ members: String) throws {
                try sandbox.writeService(file, "{\"servicePort\": \(port), " + members + "}")
            }
            try write("web.json", #""id": "/web", "domain": "web.example.com", "hosts": [\#(hosts([a]))]"#)
            try write(
                "api.json",
                #""id": "/api", "domain": "web.example.com", "paths": ["/api"], "proxyPassPath": "/api", "hosts": [\#(hosts([b]))]"#)
            try write("apiv2.json", #""id": "/apiv2", "domain": "web.example.com", "paths": ["/api/v2"], "hosts": [\#(hosts([d]))]"#)
            try write("sticky.json", #""id": "/sticky", "domain": "sticky.example.com", "sticky": true, "hosts": [\#(hosts([a, b]))]"#)
            try write(
                "checked.json",
                #""id": "/checked", "domain": "checked.example.com", "hosts": [\#(hosts([a, c]))], "#
                    + #""healthCheck": {"protocol": "http", "path": "/health", "intervalSeconds": 1, "timeoutSeconds": 1, "fall": 1, "rise": 1}"#)
            try write("redirect.json", #""id": "/redirect", "domain": "redirect.example.com", "redirectToHttps": true, "hosts": [\#(hosts([e]))]"#)
            try write(
                "auth.json",
                #""id": "/auth", "domain": "auth.example.com", "hosts": [\#(hosts([e]))], "#
                    + #""auth": {"realm": "staff", "users": [{"name": "ann", "passwordHash": "\#(Self.hash)"}]}"#)
            let proxym = try sandbox.start(sandbox.masterWorker(runtimeAPI: true))
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { name(request(sandbox, host: "web.example.com")) == "a" }, "\(proxym.log)")

            // Path routing: longest prefix first, the vhost alone last; /api is stripped for b.
            #expect(name(request(sandbox, host: "web.example.com", path: "/other")) == "a")
            let api = request(sandbox, host: "web.example.com", path: "/api/users")
            #expect(name(api) == "b")
            #expect(api?.header("X-Seen-Path") == "/users")
            #expect(request(sandbox, host: "web.example.com", path: "/api")?.header("X-Seen-Path") == "/")
            #expect(name(request(sandbox, host: "web.example.com", path: "/api/v2/x")) == "d")
            #expect(request(sandbox, host: "web.example.com", path: "/api/v2/x")?.header("X-Seen-Path") == "/api/v2/x")

            // Sticky: the cookie haproxy sets keeps the client on its server, across a scale 2 -> 3
            // applied through the Runtime API (no reload).
            let pinned = try pin(sandbox, host: "sticky.example.com")
            let runtimeBefore = proxym.log.ranges(of: runtimeChange).count
            try write("sticky.json", #""id": "/sticky", "domain": "sticky.example.com", "sticky": true, "hosts": [\#(hosts([a, b, d]))]"#)
            #expect(waitUntil(timeout: .seconds(5)) { proxym.log.ranges(of: runtimeChange).count == runtimeBefore + 1 }, "\(proxym.log)")
            expectStillPinned(sandbox, host: "sticky.example.com", pinned, added: "d")

            // A failing check path takes c out: haproxy's own check, in `show servers state`.
            expectCheckedOut(sandbox, down: c, up: a)
            for _ in 0..<6 { #expect(name(request(sandbox, host: "checked.example.com")) == "a") }

            // Redirect to HTTPS: 301 to the same host and path.
            let redirect = request(sandbox, host: "redirect.example.com", path: "/x?y=1")
            #expect(redirect?.status == 301)
            #expect(redirect?.header("Location") == "https://redirect.example.com/x?y=1")

            // Basic auth: 401 without or with a wrong password, 200 with the right one.
            let denied = request(sandbox, host: "auth.example.com")
            #expect(denied?.status == 401)
            #expect(denied?.header("WWW-Authenticate")?.contains("staff") == true)
            #expect(request(sandbox, host: "auth.example.com", headers: [("Authorization", "Basic YW5uOndyb25n")])?.status == 401)
            // ann:s3cret
            #expect(name(request(sandbox, host: "auth.example.com", headers: [("Authorization", "Basic YW5uOnMzY3JldA==")])) == "e")
            sandbox.tearDown()
        }
    }

    /// The same through Marathon, labelled the marathon-lb way (the fake Marathon over real HTTP):
    /// `HAPROXY_0_VHOST` + `HAPROXY_0_PATH` + `HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH` route by path
    /// prefix and strip it; `HAPROXY_0_STICKY` pins clients across a scale that reaches haproxy through
    /// the Runtime API (a task event, one app read, no reload); a Marathon HTTP health check whose path
    /// fails on one task becomes haproxy's own check and takes that server out, while Marathon still
    /// calls the task alive.
    @Test func marathonLabelledAppsRouteTheWayMarathonLBRoutedThem() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let (a, b, c, d) = try backends(in: dir)
            let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
            let check =
                #"{"protocol":"MESOS_HTTP","path":"/health","portIndex":0,"gracePeriodSeconds":5,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":0}"#
            func apps(sticky: [Backend]) -> [String] {
                [
                    MarathonJSON.app("/web", servicePort: 10001, tasks: [.init(a)], labels: ["HAPROXY_0_VHOST": "web.example.com"]),
                    MarathonJSON.app(
                        "/api", servicePort: 10002, tasks: [.init(b)],
                        labels: [
                            "HAPROXY_0_VHOST": "web.example.com", "HAPROXY_0_PATH": "/api",
                            "HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH": "/api",
                        ]),
                    MarathonJSON.app(
                        "/sticky", servicePort: 10003, tasks: sticky.map { .init($0) },
                        labels: ["HAPROXY_0_VHOST": "sticky.example.com", "HAPROXY_0_STICKY": "true"]),
                    MarathonJSON.app(
                        "/checked", servicePort: 10004, tasks: [.init(a), .init(c)], labels: ["HAPROXY_0_VHOST": "checked.example.com"],
                        checks: [check]),
                ]
            }
            try marathon.setApps(apps(sticky: [a, b]))
            let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse", sandbox.masterWorker(runtimeAPI: true))
            #expect(marathon.waitForOneStream(), "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { name(request(sandbox, host: "web.example.com")) == "a" }, "\(proxym.log)")

            // Path routing with the prefix stripped for /api; the vhost alone for the rest.
            #expect(name(request(sandbox, host: "web.example.com", path: "/other")) == "a")
            let api = request(sandbox, host: "web.example.com", path: "/api/users")
            #expect(name(api) == "b")
            #expect(api?.header("X-Seen-Path") == "/users")

            // Sticky across a scale 2 -> 3 announced by a task event: one app read, the Runtime API.
            let pinned = try pin(sandbox, host: "sticky.example.com")
            let runtimeBefore = proxym.log.ranges(of: runtimeChange).count
            try marathon.clearRequests()
            try marathon.setApps(apps(sticky: [a, b, d]))
            try marathon.statusUpdate(appID: "/sticky", taskID: "sticky.\(d.port)-2")
            #expect(waitUntil(timeout: .seconds(5)) { proxym.log.ranges(of: runtimeChange).count == runtimeBefore + 1 }, "\(proxym.log)")
            // The event reads its app; or, when the stream's attach event arrives late, in the same
            // batch as the task event, the whole read that attach asks for reads it.
            #expect(
                waitUntil(timeout: .seconds(3)) {
                    marathon.requests.contains {
                        $0.target == "/v2/apps/sticky?embed=app.tasks&embed=app.readiness"
                            || $0.target.hasPrefix("/v2/apps?embed=apps.tasks")
                    }
                }, "\(marathon.requests.map(\.target))\n\(proxym.log)")
            expectStillPinned(sandbox, host: "sticky.example.com", pinned, added: "d")

            // Marathon's health check, as haproxy's own: /health fails on c, which goes down.
            let config = try readTextFile(sandbox.config)
            #expect(config.contains("uri /health"), "no http-check for the Marathon check:\n\(config)")
            expectCheckedOut(sandbox, down: c, up: a)
            for _ in 0..<6 { #expect(name(request(sandbox, host: "checked.example.com")) == "a") }
            try proxym.signal(.term)
            #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
            sandbox.tearDown()
        }
    }
}
