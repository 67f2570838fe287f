import ProxymPosix
import ProxymTestSupport
import Testing

/// The vhost map (`PROXYM_HAPROXY_VHOST_MAP_THRESHOLD`) through the built daemon, service files and a
/// real haproxy master-worker on 127.0.0.1 with the Runtime API: a host added to an existing backend,
/// removed from it, then given to another existing backend, each routed without a reload (same worker,
/// the master's reload counter unchanged), the map file saying what `show map` says; a path rule still
/// beats the mapped host; a hostile domain costs only its own file.
@Suite(.serialized, .enabled(if: haveHAProxy, "needs haproxy (CI installs it)"), .timeLimit(.minutes(2)))
struct VHostMapEndToEndTests {
    func name(_ sandbox: Sandbox, host: String, path: String = "/") -> String? {
        guard let response = httpRequest(port: sandbox.httpPort, path: path, headers: [("Host", host)], timeout: .seconds(2)),
            response.status == 200
        else { return nil }
        return response.header("X-Backend")
    }

    @Test func hostsOfExistingBackendsChangeWithoutAReload() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let a = try Backend(name: "a", directory: dir)
            let b = try Backend(name: "b", directory: dir)
            let c = try Backend(name: "c", directory: dir)
            let port = sandbox.httpPort
            func write(_ file: String, _ id: String, _ domains: [String], _ backend: Backend, extra: String = "") throws {
                let list = domains.map { "\"\($0)\"" }.joined(separator: ", ")
                try sandbox.writeService(
                    file,
                    "{\"id\": \"\(id)\", \"servicePort\": \(port), \"domains\": [\(list)], \(extra)"
                        + "\"hosts\": [{\"ip\": \"127.0.0.1\", \"port\": \(backend.port)}]}")
            }
            try write("web.json", "/web", ["web.example.com"], a)
            try write("shop.json", "/shop", ["shop.example.com"], b)
            try write("api.json", "/api", ["web.example.com"], c, extra: "\"paths\": [\"/api\"], ")
            let proxym = try sandbox.start(sandbox.masterWorker(runtimeAPI: true, ["PROXYM_HAPROXY_VHOST_MAP_THRESHOLD": "1"]))
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { name(sandbox, host: "web.example.com") == "a" }, "\(proxym.log)")
            let mapPath = sandbox.config + ".vhosts.map"
            let config = try readTextFile(sandbox.config)
            #expect(config.contains("map_str(\(mapPath))"))
            #expect(!config.contains("acl host_web "), "web is mapped")
            // The path rule is an acl rule before the map: it still wins.
            #expect(name(sandbox, host: "web.example.com", path: "/api/x") == "c")
            #expect(name(sandbox, host: "shop.example.com:\(port)") == "b")
            #expect(name(sandbox, host: "www.example.com") == nil)
            let before = try #require(sandbox.showProc())

            func changedWithoutReload(_ count: Int) -> Bool {
                waitUntil(timeout: .seconds(5)) {
                    proxym.log.ranges(of: "virtual hosts changed through the Runtime API, no reload").count == count
                }
            }
            func mapIsLive() -> Bool {
                guard let shown = cliRequest(path: sandbox.statsSocket, "show map \(mapPath)"),
                    let file = try? readTextFile(mapPath)
                else { return false }
                let live = shown.split(separator: "\n").map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
                return live.sorted() == file.split(separator: "\n").map(String.init).sorted()
            }

            // A host added to an existing backend: routed, no reload.
            try write("web.json", "/web", ["web.example.com", "www.example.com"], a)
            #expect(changedWithoutReload(1), "\(proxym.log)")
            #expect(name(sandbox, host: "www.example.com") == "a")
            #expect(name(sandbox, host: "WWW.example.com:\(port)") == "a")
            #expect(try readTextFile(mapPath).contains("www.example.com web_cluster\n"))
            #expect(mapIsLive())

            // Removed from it, then given to another existing backend: no reload either.
            try write("web.json", "/web", ["web.example.com"], a)
            #expect(changedWithoutReload(2), "\(proxym.log)")
            #expect(name(sandbox, host: "www.example.com") == nil)
            try write("shop.json", "/shop", ["shop.example.com", "www.example.com"], b)
            #expect(changedWithoutReload(3), "\(proxym.log)")
            #expect(name(sandbox, host: "www.example.com") == "b")
            #expect(mapIsLive())

            // Servers and hosts in one refresh: set server, then the map, still no reload.
            let serversBefore = proxym.log.ranges(of: "servers changed through the Runtime API, no reload").count
            try write("web.json", "/web", ["web.example.com", "both.example.com"], b)
            #expect(changedWithoutReload(4), "\(proxym.log)")
            #expect(proxym.log.ranges(of: "servers changed through the Runtime API, no reload").count == serversBefore + 1)
            #expect(waitUntil(timeout: .seconds(3)) { name(sandbox, host: "both.example.com") == "b" })
            #expect(name(sandbox, host: "web.example.com") == "b")
            #expect(mapIsLive())
            try write("web.json", "/web", ["web.example.com"], a)
            #expect(changedWithoutReload(5), "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(3)) { name(sandbox, host: "web.example.com") == "a" })

            // A hostile domain never reaches the map: its file is refused by name, the rest routes.
            try write("evil.json", "/evil", ["evil.example.com shop_cluster\\nx.example.com"], c)
            #expect(waitUntil(timeout: .seconds(5)) { proxym.log.contains("evil.json") }, "\(proxym.log)")
            #expect(!(try readTextFile(mapPath)).contains("evil"))
            #expect(name(sandbox, host: "web.example.com") == "a")
            #expect(name(sandbox, host: "www.example.com") == "b")

            let after = try #require(sandbox.showProc())
            #expect(after.reloads == before.reloads, "no reload: \(proxym.log)")
            #expect(after.workers == before.workers)
            #expect(!proxym.log.contains("reload needed"), "\(proxym.log)")

            // A new backend with a host still needs a reload, and gets it.
            let d = try Backend(name: "d", directory: dir)
            try write("new.json", "/new", ["new.example.com"], d)
            #expect(waitUntil(timeout: .seconds(8)) { name(sandbox, host: "new.example.com") == "d" }, "\(proxym.log)")
            #expect(proxym.log.contains("reload needed"))
            #expect(mapIsLive())
            sandbox.tearDown()
        }
    }
}
