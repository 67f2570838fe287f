import ProxymJSON
import ProxymPosix
import ProxymTestSupport
import Testing

/// The status listener against the running daemon: file and Marathon sources, a broken file, a
/// Marathon that goes down; and `proxym status` reading it.
@Suite struct StatusEndpointTests {
    /// GET on the sandbox's status listener.
    static func get(_ sandbox: Sandbox, _ path: String) -> (status: Int, body: String)? {
        httpGet(port: sandbox.statusPort, path: path, timeout: .seconds(3))
    }

    static func status(_ sandbox: Sandbox) throws -> JSONObject {
        let answer = try #require(get(sandbox, "/api/v1/status"))
        #expect(answer.status == 200)
        return try #require(try JSONReader.parse(answer.body).objectValue, "\(answer.body)")
    }

    static func source(_ document: JSONObject, _ name: String) -> JSONObject? {
        document["sources"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"]?.stringValue == name }
    }

    static func proxymStatus(_ sandbox: Sandbox, _ arguments: [String] = []) throws -> CompletedProcess {
        try runToCompletion(
            Binaries.proxym, ["status", "--address", "127.0.0.1:\(sandbox.statusPort)"] + arguments,
            environment: ["PATH=/usr/bin:/bin"], timeout: .seconds(20))
    }

    @Test func fileSourceABrokenFileAndHaproxyAsTheEndpointsSayThem() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let (sandbox, blue) = try Sandbox.withBlue(in: dir)
            try sandbox.writeService("web.json", sandbox.service(id: "web", domain: "web.example.com", port: 10001, backends: [blue]))
            // A secret in global.cfg that /api/v1/config must not show.
            let global = try readTextFile(sandbox.options + "/global.cfg")
            try writeFile(sandbox.options + "/global.cfg", global + "\nuserlist admins\n  user ops password $5$proxymtest$abcdefgh\n")
            let proxym = try sandbox.startReady()

            let health = try #require(Self.get(sandbox, "/healthz"), "\(proxym.log)")
            #expect(health.status == 200)
            #expect(health.body == "ok\n")

            var document = try Self.status(sandbox)
            #expect(document["healthy"]?.boolValue == true)
            #expect(document["ready"]?.boolValue == true)
            #expect(document["services"]?.numberValue?.int == 1)
            let file = try #require(Self.source(document, "file"))
            #expect(file["state"]?.stringValue == "ok")
            #expect(file["lastSuccess"]?.numberValue?.int != nil)
            let output = try #require(document["outputs"]?.arrayValue?.first?.objectValue)
            #expect(output["name"]?.stringValue == "haproxy")
            #expect(output["method"]?.stringValue == "sf")
            let pids = (output["pids"]?.arrayValue ?? []).compactMap { $0.numberValue?.int }.map(Int32.init)
            #expect(!pids.isEmpty && Set(pids) == Set(sandbox.haproxyPIDs), "\(pids) vs \(sandbox.haproxyPIDs)")
            #expect(output["reloads"]?.numberValue?.int == 1)
            #expect(output["lastReload"]?.numberValue?.int != nil)
            #expect(output["configBytes"]?.numberValue?.int ?? 0 > 100)
            let refresh = try #require(document["refreshes"]?.arrayValue?.first?.objectValue)
            #expect(refresh["trigger"]?.stringValue == "startup")
            #expect(refresh["result"]?.stringValue == "applied")

            // A broken file: the source says which; the daemon stays healthy (the good one is routed).
            try writeFile(sandbox.services + "/broken.json", "{\"id\": \"broken\", ")
            #expect(
                waitUntil(timeout: .seconds(5)) {
                    (try? Self.status(sandbox)).flatMap { Self.source($0, "file")?["note"]?.stringValue }?
                        .contains("broken.json") == true
                }, "\(proxym.log)")
            // Why is it not routed: /api/v1/services names the file and the parser's reason.
            let services = try #require(Self.get(sandbox, "/api/v1/services"))
            #expect(services.status == 200)
            let servicesDoc = try #require(try JSONReader.parse(services.body).objectValue, "\(services.body)")
            let web = try #require(servicesDoc["services"]?.arrayValue?.first?.objectValue, "\(services.body)")
            #expect(web["id"]?.stringValue == "web")
            #expect(web["source"]?.stringValue == "file:web.json")
            #expect(web["servers"]?.arrayValue == [.string("127.0.0.1:\(blue.port)")])
            #expect(web["domains"]?.arrayValue == [.string("web.example.com")])
            let skipped = try #require(servicesDoc["skipped"]?.arrayValue?.compactMap { $0.objectValue })
            #expect(skipped.contains { $0["item"]?.stringValue == "broken.json" && $0["reason"]?.stringValue?.isEmpty == false }, "\(services.body)")

            // The live config, with the userlist password of global.cfg masked.
            let config = try #require(Self.get(sandbox, "/api/v1/config"))
            #expect(config.status == 200)
            #expect(config.body.contains("frontend http-in"))
            #expect(config.body.contains("backend web_cluster") || config.body.contains("listen web"), "\(config.body)")
            #expect(config.body.contains("user ops password <redacted>"), "\(config.body)")
            #expect(!config.body.contains("$5$proxymtest$"))
            #expect(try readTextFile(sandbox.config).contains("$5$proxymtest$"))

            document = try Self.status(sandbox)
            #expect(document["healthy"]?.boolValue == true)
            #expect((document["warnings"]?.arrayValue ?? []).contains { $0.stringValue?.contains("broken.json") == true })
            #expect(Self.get(sandbox, "/healthz")?.status == 200)

            let human = try Self.proxymStatus(sandbox)
            #expect(human.status == .exited(0), "\(human.stdout)\(human.stderr)")
            #expect(human.stdout.hasPrefix("proxym "))
            #expect(human.stdout.contains("HEALTHY, up "))
            #expect(human.stdout.contains("source file"))
            #expect(human.stdout.contains("broken.json"))
            #expect(human.stdout.contains("haproxy (sf)  pid"))
            let json = try Self.proxymStatus(sandbox, ["--json"])
            #expect(json.status == .exited(0))
            #expect((try? JSONReader.parse(json.stdout).objectValue?["healthy"]?.boolValue) == true)

            // The listener is read-only and knows its paths.
            #expect(Self.get(sandbox, "/nope")?.status == 404)
            let post = rawExchange(port: sandbox.statusPort, Array("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            #expect(statusCode(post) == 405)

            // Stopped: `proxym status` cannot ask and says so (exit 2).
            try proxym.signal(.term)
            #expect(proxym.waitForExit() == .exited(0))
            let gone = try Self.proxymStatus(sandbox)
            #expect(gone.status == .exited(2), "\(gone.stdout)\(gone.stderr)")
            #expect(gone.stderr.contains("is proxym running?"))
        }
    }

    /// Marathon serves two apps, then goes down: the source turns failing, /healthz turns 503 once the
    /// staleness passes PROXYM_STATUS_STALE_AFTER, `proxym status` exits 1 with the reason; back up, healthy again.
    @Test func marathonDownMakesItUnhealthyAfterTheThreshold() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let (sandbox, blue) = try Sandbox.withBlue(in: dir)
            let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
            defer { marathon.kill() }
            try marathon.setApps([
                MarathonJSON.app(
                    "/web", servicePort: 10001, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "web.example.com"]),
                // Not routable: a virtual host that is no domain name.
                MarathonJSON.app(
                    "/broken", servicePort: 10003, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "not a domain!"]),
            ])
            let proxym = try sandbox.startWithMarathon(
                servers: [marathon.url], events: "sse", ["PROXYM_STATUS_STALE_AFTER": "1s"])
            #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
            let services = try #require(Self.get(sandbox, "/api/v1/services"))
            let servicesDoc = try #require(try JSONReader.parse(services.body).objectValue, "\(services.body)")
            #expect(
                servicesDoc["services"]?.arrayValue?.contains { $0.objectValue?["source"]?.stringValue == "marathon" } == true,
                "\(services.body)")
            let skipped = servicesDoc["skipped"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(
                skipped.contains {
                    $0["source"]?.stringValue == "marathon" && $0["reason"]?.stringValue?.contains("/broken") == true
                }, "\(services.body)")
            var document = try Self.status(sandbox)
            #expect(Self.source(document, "marathon")?["state"]?.stringValue == "ok")
            #expect(Self.source(document, "marathon")?["services"]?.numberValue?.int == 1)
            #expect(Self.get(sandbox, "/healthz")?.status == 200)

            try marathon.down()
            try proxym.signal(.usr1)
            #expect(
                waitUntil(timeout: .seconds(10)) { Self.get(sandbox, "/healthz")?.status == 503 },
                "\(String(describing: Self.get(sandbox, "/healthz")))\n\(proxym.log)")
            let health = try #require(Self.get(sandbox, "/healthz"))
            #expect(health.body.hasPrefix("unhealthy\nmarathon: stale for"), "\(health.body)")
            document = try Self.status(sandbox)
            let source = try #require(Self.source(document, "marathon"))
            #expect(source["state"]?.stringValue == "failing")
            #expect(source["lastError"]?.stringValue?.contains("503") == true, "\(source)")
            #expect(source["services"]?.numberValue?.int == 1)  // last good services kept
            #expect(document["healthy"]?.boolValue == false)
            // Routing is untouched meanwhile.
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")

            let human = try Self.proxymStatus(sandbox)
            #expect(human.status == .exited(1), "\(human.stdout)\(human.stderr)")
            #expect(human.stdout.contains("UNHEALTHY"))
            #expect(human.stdout.contains("PROBLEM: marathon: stale for"))

            try marathon.up()
            try proxym.signal(.usr1)
            #expect(
                waitUntil(timeout: .seconds(10)) { Self.get(sandbox, "/healthz")?.status == 200 }, "\(proxym.log)")
        }
    }

    /// Empty turns the listener off; a port that is taken is logged and the daemon runs without it.
    @Test func offWhenEmptyAndATakenPortDoesNotStopTheDaemon() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let taken = try Socket.listenTCP(host: "127.0.0.1", port: 0)
            let proxym = try sandbox.startReady(["PROXYM_STATUS_ADDRESS": "127.0.0.1:\(taken.port)"])
            #expect(proxym.waitForLog("cannot start the status listener; running without it"), "\(proxym.log)")
            #expect(sandbox.notify.waitFor { _ in sandbox.lastStatus.contains("status listener off") }, "\(sandbox.lastStatus)")
            #expect(!proxym.hasExited)
            #expect(taken.port > 0)  // held open until here
        }
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            // The Sandbox drops empty values; `--set` passes the empty one through.
            let proxym = try sandbox.startReady(arguments: ["run", "--set", "PROXYM_STATUS_ADDRESS="])
            #expect(!canConnect(port: sandbox.statusPort))
            #expect(!proxym.log.contains("status listener"))
        }
    }
}
