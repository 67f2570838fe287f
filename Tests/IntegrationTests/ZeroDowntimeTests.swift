import ProxymPosix
import ProxymTestSupport
import Testing

/// Reload methods and the Runtime API against the built binary, a real haproxy and real backends.
@Suite(.serialized, .enabled(if: haveHAProxy, "needs haproxy (CI installs it)"), .timeLimit(.minutes(2)))
struct ReloadMethodTests {
    func web(_ sandbox: Sandbox, _ backends: [Backend]) -> String {
        sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: backends)
    }

    /// Runtime API: scaling changes servers without a reload (same master, same worker, same reload
    /// counter), the file follows, and a later structural reload keeps what the Runtime API did.
    @Test func scaleOnlyChangeLeavesTheWorkerAlone() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let backends = try ["a", "b", "c", "d"].map { try Backend(name: $0, directory: dir) }
            try sandbox.writeService("web.json", web(sandbox, Array(backends.prefix(2))))
            let proxym = try sandbox.start(sandbox.masterWorker(runtimeAPI: true))
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 6) == ["a", "b"] })
            let before = try #require(sandbox.showProc(), "no master CLI: \(proxym.log)")
            #expect(before.workers.count == 1)

            // Scale 2 -> 3, then replace b by d: Runtime API only.
            try sandbox.writeService("web.json", web(sandbox, Array(backends.prefix(3))))
            #expect(
                waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 9) == ["a", "b", "c"] },
                "\(proxym.log)")
            try sandbox.writeService("web.json", web(sandbox, [backends[0], backends[2], backends[3]]))
            #expect(
                waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 9) == ["a", "c", "d"] },
                "\(proxym.log)")
            let after = try #require(sandbox.showProc())
            #expect(after == before, "the worker (and the reload counter) must not change: \(before) -> \(after)")
            #expect(proxym.log.ranges(of: "servers changed through the Runtime API, no reload").count == 2)
            #expect(sandbox.notify.lines.last { $0.hasPrefix("STATUS=") }?.contains("applied through the Runtime API") == true)

            // The file says what is live (b drains in haproxy, and is a free slot in the file).
            let config = try readTextFile(sandbox.config)
            for backend in [backends[0], backends[2], backends[3]] {
                #expect(config.contains("127.0.0.1:\(backend.port) check"), "\(config)")
            }
            #expect(!config.contains("127.0.0.1:\(backends[1].port) check"))
            let state = try #require(cliRequest(path: sandbox.statsSocket, "show servers state web_cluster"))
            #expect(state.contains(" \(backends[1].port) "), "b still drains in haproxy: \(state)")

            // A structural change (a new backend) reloads; what the Runtime API did survives.
            try sandbox.writeService(
                "api.json", sandbox.service(id: "/api", domain: "api.example.com", port: sandbox.httpPort, backends: [backends[1]]))
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "api.example.com") == "b" }, "\(proxym.log)")
            let reloaded = try #require(sandbox.showProc())
            #expect(reloaded.master == before.master && reloaded.reloads == before.reloads + 1)
            #expect(reloaded.workers != before.workers)
            #expect(sandbox.answers(host: "web.example.com", count: 9) == ["a", "c", "d"])
            #expect(proxym.log.contains("reload needed module=haproxy reasons=\"new backend api_cluster\""), "\(proxym.log)")
            sandbox.tearDown()
        }
    }

    /// A stats socket global.cfg declares without `level admin`: `set server` is refused ("Permission
    /// denied"), the check in `show servers state` sees it, and proxym reloads instead: still applied.
    @Test func aRuntimeAPIThatRefusesFallsBackToAReload() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let global = try readTextFile(sandbox.options + "/global.cfg")
            try writeFile(
                sandbox.options + "/global.cfg",
                global.replacing("global\n", with: "global\n  stats socket \(sandbox.statsSocket) mode 600\n"))
            let backends = try ["a", "b"].map { try Backend(name: $0, directory: dir) }
            try sandbox.writeService("web.json", web(sandbox, [backends[0]]))
            let proxym = try sandbox.start(sandbox.masterWorker(runtimeAPI: true))
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            #expect(proxym.log.contains("is not `level admin`"), "\(proxym.log)")
            try sandbox.writeService("web.json", web(sandbox, backends))
            #expect(proxym.waitForLog("the Runtime API change did not take; reloading haproxy instead"), "\(proxym.log)")
            #expect(
                sandbox.notify.waitFor {
                    $0.last { $0.hasPrefix("STATUS=") }?.contains("haproxy reloaded (master-worker) (the Runtime API failed)") == true
                }, "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 6) == ["a", "b"] })
            sandbox.tearDown()
        }
    }

    /// sf with the Runtime API: scaling needs no new process, and a structural reload takes the
    /// listeners over from the old process (`-x`, the socket proxym adds exposes them).
    @Test func sfWithTheRuntimeAPI() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let backends = try ["a", "b", "c"].map { try Backend(name: $0, directory: dir) }
            try sandbox.writeService("web.json", web(sandbox, [backends[0]]))
            let proxym = try sandbox.start([
                "PROXYM_HAPROXY_RUNTIME_API": "1", "PROXYM_HAPROXY_STATS_SOCKET": sandbox.statsSocket,
                "PROXYM_LOG_APPLOG_LEVEL": "debug",
            ])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            let pids = sandbox.haproxyPIDs
            try sandbox.writeService("web.json", web(sandbox, Array(backends.prefix(2))))
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 6) == ["a", "b"] })
            #expect(sandbox.haproxyPIDs == pids, "no new haproxy for a scale-only change")
            try sandbox.writeService(
                "api.json", sandbox.service(id: "/api", domain: "api.example.com", port: sandbox.httpPort, backends: [backends[2]]))
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "api.example.com") == "c" }, "\(proxym.log)")
            #expect(sandbox.haproxyPIDs != pids)
            #expect(proxym.log.contains("-x \(sandbox.statsSocket) -sf"), "\(proxym.log)")
            #expect(!proxym.log.contains("reloading without -x"))
            sandbox.tearDown()
        }
    }

    /// haproxy 2.6 reports a configuration its master could not load only in `show proc`: a port
    /// another process holds passes `haproxy -c` and fails the reload. proxym reports a failed apply,
    /// retries, and the old worker keeps serving.
    @Test func aReloadHAProxyRejectsIsAFailedApply() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            try sandbox.writeService("web.json", web(sandbox, [blue]))
            let proxym = try sandbox.start(sandbox.masterWorker(runtimeAPI: false))
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "blue" })
            let before = try #require(sandbox.showProc())

            // A TCP listener on a port we hold without SO_REUSEPORT.
            let holder = try Socket.listenTCP(host: "127.0.0.1", port: 0)
            try sandbox.writeService(
                "db.json",
                #"{"id": "/db", "protocol": "tcp", "servicePort": \#(holder.port), "hosts": [{"ip": "127.0.0.1", "port": \#(blue.port)}]}"#)
            #expect(proxym.waitForLog("haproxy rejected the reload"), "\(proxym.log)")
            #expect(
                sandbox.notify.waitFor {
                    $0.last { $0.hasPrefix("STATUS=") }?.contains("FAILED: haproxy rejected the reload") == true
                })
            #expect(proxym.waitForLog("will retry"))
            let after = try #require(sandbox.showProc())
            #expect(after.failed >= 1 && after.workers == before.workers)
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")

            // The port is freed: the retry goes through.
            _ = consume holder
            #expect(
                sandbox.notify.waitFor(timeout: .seconds(8)) {
                    $0.last { $0.hasPrefix("STATUS=") }?.contains("applied, haproxy reloaded (master-worker)") == true
                }, "\(proxym.log)")
            #expect(sandbox.showProc()?.failed == 0)
            sandbox.tearDown()
        }
    }
}

/// The zero-downtime measurement: two `wrk` load generators (keep-alive, and a new connection per
/// request) against haproxy for 20 s while proxym applies 57 changes (two thirds server-only, one
/// third structural), per reload method. Prints the table the README shows.
extension LongRuns {
    @Suite(.serialized, .timeLimit(.minutes(4)))
    struct ZeroDowntimeLoadTests {
        struct Method {
            var name: String
            var env: (Sandbox) -> [String: String]
            var mustBeClean: Bool
        }

        struct Row {
            var method: String
            var changes: Int
            var reloads: Int
            var runtimeChanges: Int
            var keepAlive: LoadGenerator.Result
            var close: LoadGenerator.Result
        }

        static let duration: Duration = .seconds(20)
        static let changeCount = 57

        @Test func zeroFailedRequestsWithMasterWorkerAndTheRuntimeAPI() throws {
            try Binaries.require()
            _ = try #require(wrkPath, "wrk is missing: `make test` installs it (apt-get install wrk)")
            let methods = [
                Method(name: "sf (original)", env: { _ in [:] }, mustBeClean: false),
                Method(name: "master-worker", env: { $0.masterWorker(runtimeAPI: false) }, mustBeClean: true),
                Method(name: "master-worker + Runtime API", env: { $0.masterWorker(runtimeAPI: true) }, mustBeClean: true),
            ]
            var rows: [Row] = []
            for method in methods { rows.append(try run(method)) }

            let table = markdownTable(
                [
                    "reload method", "refreshes applied", "haproxy reloads", "Runtime API changes", "requests",
                    "non-2xx", "socket errors (keep-alive)", "socket errors (close)", "failed",
                ],
                rows.map { row in
                    let total = row.keepAlive + row.close
                    return [
                        row.method, "\(row.changes)", "\(row.reloads)", "\(row.runtimeChanges)", "\(total.requests)",
                        "\(total.non2xx)", Self.errors(row.keepAlive), Self.errors(row.close), "\(total.failed)",
                    ]
                })
            print("zero-downtime, \(Self.duration) of load per method, \(Self.changeCount) changes each:\n\(table)")
            for (row, method) in zip(rows, methods) where method.mustBeClean {
                let total = row.keepAlive + row.close
                #expect(total.failed == 0, "\(row.method): \(total)")
            }
        }

        static func errors(_ r: LoadGenerator.Result) -> String {
            r.socketErrors == 0
                ? "0" : "\(r.socketErrors) (connect \(r.connectErrors), read \(r.readErrors), write \(r.writeErrors), timeout \(r.timeouts))"
        }

        func run(_ method: Method) throws -> Row {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let pool = try (0..<6).map { try Backend(name: "b\($0)", directory: dir) }
                let web = { (window: Int) in
                    sandbox.service(
                        id: "/zdt/web", domain: "web.example.com", port: sandbox.httpPort,
                        backends: (0..<3).map { pool[(window + $0) % pool.count] })
                }
                try sandbox.writeService("web.json", web(0))
                let proxym = try sandbox.start(method.env(sandbox))
                #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") != nil })
                let logBefore = proxym.log

                let keepAlive = try LoadGenerator(
                    port: sandbox.httpPort, host: "web.example.com", connections: 8, duration: Self.duration + .seconds(1),
                    keepAlive: true, logPath: dir + "/wrk-keepalive.log")
                let close = try LoadGenerator(
                    port: sandbox.httpPort, host: "web.example.com", connections: 8, duration: Self.duration + .seconds(1),
                    keepAlive: false, logPath: dir + "/wrk-close.log")
                MonotonicClock.sleep(.milliseconds(500))

                // Every third change is structural (a backend added or removed), the others move web's
                // window of 3 hosts over the pool of 6 (one host replaced).
                let interval = Duration.nanoseconds(Int64(Self.duration.components.seconds) * 1_000_000_000 / Int64(Self.changeCount + 1))
                var extras = 0
                var lastWindow = 0
                for change in 0..<Self.changeCount {
                    if change % 3 == 2 {
                        if extras > 0 && change % 2 == 0 {
                            try FileSystem.unlink(sandbox.services + "/extra\(extras).json")
                            extras -= 1
                        } else {
                            extras += 1
                            try sandbox.writeService(
                                "extra\(extras).json",
                                sandbox.service(
                                    id: "/zdt/extra\(extras)", domain: "extra\(extras).example.com", port: sandbox.httpPort,
                                    backends: [pool[extras % pool.count]]))
                        }
                    } else {
                        lastWindow = change + 1
                        try sandbox.writeService("web.json", web(lastWindow))
                    }
                    MonotonicClock.sleep(interval)
                }
                let keepAliveResult = try keepAlive.result(timeout: .seconds(30))
                let closeResult = try close.result(timeout: .seconds(30))

                // Everything was applied: the last window is what haproxy serves.
                let expected = Set((0..<3).map { pool[(lastWindow + $0) % pool.count].name })
                #expect(
                    waitUntil(timeout: .seconds(5)) {
                        sandbox.answers(host: "web.example.com", count: 12) == expected
                    }, "\(method.name): \(proxym.log.suffix(3000))")
                let log = String(proxym.log.dropFirst(logBefore.count))
                let refreshes = log.ranges(of: "refresh done").count
                let failedRefreshes = log.ranges(of: "refresh failed").count
                #expect(failedRefreshes == 0, "\(method.name): \(log.suffix(3000))")
                let reloads = log.ranges(of: "outcome=\"applied, haproxy reloaded").count
                let runtime = log.ranges(of: "outcome=\"applied through the Runtime API").count
                sandbox.tearDown()
                return Row(
                    method: method.name, changes: refreshes, reloads: reloads, runtimeChanges: runtime,
                    keepAlive: keepAliveResult, close: closeResult)
            }
        }
    }
}
