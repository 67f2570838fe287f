import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// 1000 apps x 3 tasks (half HTTP virtual hosts, half TCP listeners): how long from a
    /// `status_update_event` to the new config on disk, and to haproxy serving the change. Figures are
    /// printed; the only timing assertion is the issue's "within a second".
    @Suite struct Scale {
        static let apps = 1000
        static let tasks = 3

        @Test(arguments: ["sse", "callback"])
        func thousandAppsOfThreeTasks(events: String) throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                // 3000 servers: check them rarely, so that health checks do not load the backends.
                try writeFile(
                    sandbox.options + "/global.cfg",
                    """
                    global
                      maxconn 4096

                    defaults
                      mode http
                      timeout connect 1s
                      timeout client 10s
                      timeout server 10s
                      default-server inter 30s

                    """)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                let red = try Backend(name: "red", directory: dir)
                let yellow = try Backend(name: "yellow", directory: dir)
                let base = try #require(freePortRange(count: Self.apps), "no 1000 free ports in a row")
                let marathon = try FakeMarathon(
                    directory: dir,
                    arguments: [
                        "--version", events == "sse" ? "1.10.0" : "1.4.13", "--quiet", "--generate", "\(Self.apps)",
                        "--tasks", "\(Self.tasks)", "--task-ports", "\(blue.port),\(green.port)",
                        "--service-port-base", "\(base)",
                    ])
                let startedAt = MonotonicClock.nanoseconds()
                let proxym = try sandbox.start(
                    sandbox.marathonEnvironment(
                        servers: [marathon.url], events: events, callbackPort: try freeTCPPort(),
                        ["PROXYM_LOG_APPLOG_LEVEL": "debug"]))
                #expect(sandbox.notify.waitFor(timeout: .seconds(60)) { $0.contains("READY=1") }, "\(proxym.log.suffix(3000))")
                let ready = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - startedAt))
                let vhost = "app-0.gen.example.com"
                #expect(waitUntil(timeout: .seconds(10)) { ["blue", "green"].contains(sandbox.bodyFor(host: vhost)) })
                #expect(sandbox.lastStatus.contains("\(Self.apps) services (file 0, marathon \(Self.apps))"), "\(sandbox.lastStatus)")
                #expect(sandbox.get(host: "app-998.gen.example.com")?.status == 200)
                let tcp = httpGet(port: UInt16(base + 999), timeout: .seconds(2))
                #expect(tcp?.status == 200, "the TCP listener of app 999 on port \(base + 999)")

                var written: [Duration] = []
                var serving: [Duration] = []
                for (round, backend) in [red, yellow, red].enumerated() {
                    // Redeploy app 0 onto a backend no other app uses.
                    try marathon.putApp(
                        MarathonJSON.app(
                            "/gen/app-0", servicePort: base, tasks: Array(repeating: .init(backend), count: Self.tasks),
                            labels: ["HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": vhost], healthChecks: 1))
                    let needle = "127.0.0.1:\(backend.port) "
                    let started = MonotonicClock.nanoseconds()
                    try marathon.statusUpdate(appID: "/gen/app-0", taskID: "round-\(round)")
                    var configAt: Duration?
                    var servedAt: Duration?
                    _ = waitUntil(timeout: .seconds(10), poll: .milliseconds(2)) {
                        let now = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                        if configAt == nil, (try? readTextFile(sandbox.config))?.contains(needle) == true { configAt = now }
                        if servedAt == nil, sandbox.bodyFor(host: vhost) == backend.name {
                            servedAt = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                        }
                        return configAt != nil && servedAt != nil
                    }
                    guard let configAt, let servedAt else {
                        Issue.record("round \(round): config \(configAt.map(ms) ?? "never"), served \(servedAt.map(ms) ?? "never")\n\(proxym.log.suffix(4000))")
                        break
                    }
                    written.append(configAt)
                    serving.append(servedAt)
                }
                let snapshots = proxym.log.split(separator: "\n").filter { $0.contains("Marathon snapshot") }
                    .compactMap { line in line.split(separator: " ").first { $0.hasPrefix("took=") } }
                    .map { $0.dropFirst(5).filter { $0 != "\"" } + " s" }
                print(
                    """
                    \(Self.apps) apps x \(Self.tasks) tasks (\(events)): start -> READY \(ms(ready)); \
                    event -> config written: \(written.map(ms).joined(separator: ", ")); \
                    event -> haproxy serving: \(serving.map(ms).joined(separator: ", ")); \
                    Marathon fetch+decode+map: \(snapshots.suffix(4).joined(separator: " "))
                    """)
                for latency in serving { #expect(latency < .seconds(1), "event to new route took \(latency)") }
                sandbox.tearDown()
            }
        }
    }
}

/// `count` consecutive TCP ports on 127.0.0.1 that were all free a moment ago (below the ephemeral
/// range, so that no test's port-0 socket takes one meanwhile).
func freePortRange(count: Int) -> Int? {
    var base = 20000 + Int(MonotonicClock.nanoseconds() % 50) * 100
    for _ in 0..<20 {
        if base + count > 32767 { base = 20000 }
        var free = true
        for port in base..<(base + count) {
            do {
                _ = try Socket.listenTCP(host: "127.0.0.1", port: UInt16(port))
            } catch {
                free = false
                break
            }
        }
        if free { return base }
        base += count
    }
    return nil
}
