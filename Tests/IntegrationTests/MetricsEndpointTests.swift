import ProxymJSON
import ProxymPosix
import ProxymTestSupport
import Testing

/// /metrics on the running daemon: promtool accepts a live scrape, and a real Prometheus server
/// scrapes proxym and answers a query for proxym_refreshes_total.
@Suite struct MetricsEndpointTests {
    /// A daemon with a file service and Marathon (fake, SSE) serving one app: every family has samples.
    static func start(_ dir: String) throws -> (Sandbox, FakeMarathon, LoggedChild) {
        let (sandbox, blue) = try Sandbox.withBlue(in: dir)
        try sandbox.writeService("web.json", sandbox.service(id: "web", domain: "web.example.com", port: 10001, backends: [blue]))
        let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
        try marathon.setApps([
            MarathonJSON.app("/api", servicePort: 10002, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "api.example.com"])
        ])
        let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
        #expect(sandbox.waitForBackend("blue", host: "api.example.com") != nil, "\(proxym.log)")
        return (sandbox, marathon, proxym)
    }

    @Test func promtoolAcceptsALiveScrape() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        let promtool = try #require(which("promtool"), "promtool is needed (Debian package prometheus; make deps)")
        try withTemporaryDirectory { dir in
            let (sandbox, marathon, proxym) = try Self.start(dir)
            defer { marathon.kill() }
            // An event, so that the Marathon families have a sample.
            // (It re-reads /api only, which has not changed: no refresh follows, so wait for the counter.)
            // Sent again each second until one is read (an event sent while the stream is still being
            // set up on the fake's side may be missed; the test is about the families, not delivery).
            var sent = MonotonicClock.nanoseconds() - 2_000_000_000
            #expect(
                waitUntil(timeout: .seconds(15)) {
                    if MonotonicClock.nanoseconds() - sent > 1_000_000_000 {
                        try? marathon.statusUpdate(appID: "/api")
                        sent = MonotonicClock.nanoseconds()
                    }
                    let body = httpGet(port: sandbox.statusPort, path: "/metrics", timeout: .seconds(3))?.body ?? ""
                    return body.contains("proxym_marathon_reads_total{kind=\"app\"} ") && !body.contains("proxym_marathon_reads_total{kind=\"app\"} 0")
                }, "\(proxym.log)")
            let scrape = try #require(httpGet(port: sandbox.statusPort, path: "/metrics", timeout: .seconds(3)))
            #expect(scrape.status == 200)
            let body = scrape.body
            for expected in [
                "proxym_refreshes_total{trigger=\"startup\",result=\"applied\"} 1",
                "proxym_source_up{source=\"file\"} 1", "proxym_source_up{source=\"marathon\"} 1",
                "proxym_services 2", "proxym_servers 2", "proxym_haproxy_up 1",
                "proxym_haproxy_reloads_total{result=\"success\"}", "proxym_marathon_event_stream_connected 1",
                "proxym_marathon_events_total{type=\"status_update_event\"}",
                "proxym_refresh_stage_duration_seconds_count{stage=\"check\"}", "proxym_build_info{version=",
            ] {
                #expect(body.contains(expected), "\(expected) missing:\n\(body)")
            }
            let file = dir + "/scrape.txt"
            try writeFile(file, body)
            let check = try runToCompletion("/bin/sh", ["-c", "exec \"$0\" check metrics < \"$1\"", promtool, file], timeout: .seconds(30))
            #expect(check.status == .exited(0), "promtool: \(check.stdout)\(check.stderr)")
            #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool found lint problems: \(check.stdout)\(check.stderr)")
        }
    }

    @Test func aRealPrometheusScrapesIt() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        let prometheus = try #require(which("prometheus"), "prometheus is needed (Debian package prometheus; make deps)")
        try withTemporaryDirectory { dir in
            let (sandbox, marathon, proxym) = try Self.start(dir)
            defer { marathon.kill() }
            let port = try freeTCPPort()
            try writeFile(
                dir + "/prometheus.yml",
                """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: proxym
                    static_configs:
                      - targets: ["127.0.0.1:\(sandbox.statusPort)"]

                """)
            try FileSystem.mkdir(dir + "/prometheus-data")
            let server = try LoggedChild(
                executable: prometheus,
                arguments: [
                    "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus-data",
                    "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
                ],
                environment: ["PATH": "/usr/bin:/bin"], logPath: dir + "/prometheus.log")
            defer { server.kill() }
            var answer = ""
            let found = waitUntil(timeout: .seconds(60), poll: .milliseconds(500)) {
                guard !server.hasExited,
                    let response = httpGet(
                        port: port, path: "/api/v1/query?query=proxym_refreshes_total", timeout: .seconds(2)),
                    response.status == 200
                else { return server.hasExited }
                answer = response.body
                guard let data = try? JSONReader.parse(answer).objectValue?["data"]?.objectValue,
                    let results = data["result"]?.arrayValue
                else { return false }
                return results.contains { result in
                    result.objectValue?["metric"]?.objectValue?["trigger"]?.stringValue == "startup"
                        && result.objectValue?["metric"]?.objectValue?["job"]?.stringValue == "proxym"
                }
            }
            #expect(found, "no proxym_refreshes_total from Prometheus: \(answer)\n\(server.log)\n\(proxym.log)")
            #expect(!server.hasExited, "prometheus exited: \(server.log)")
            // Its own view of the target: up.
            let up = httpGet(port: port, path: "/api/v1/query?query=up%7Bjob%3D%22proxym%22%7D", timeout: .seconds(2))
            #expect(up?.body.contains("\"value\":[") == true && up?.body.contains("\"1\"]") == true, "\(String(describing: up))")
        }
    }

    /// PROXYM_HAPROXY_PROMETHEUS_ADDRESS: the rendered config gets haproxy's own exporter; the running
    /// haproxy answers /metrics there with its metrics of proxym's frontend and backends.
    @Test func haproxysOwnExporterIsAddedOnRequest() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let (sandbox, blue) = try Sandbox.withBlue(in: dir)
            try sandbox.writeService(
                "web.json",
                """
                {"id": "web", "domain": "web.example.com", "protocol": "tcp", "servicePort": \(sandbox.httpPort), "hosts": [{"ip": "127.0.0.1", "port": \(blue.port)}]}
                """)
            let port = try freeTCPPort()
            let proxym = try sandbox.startReady(["PROXYM_HAPROXY_PROMETHEUS_ADDRESS": "127.0.0.1:\(port)"])
            #expect(try readTextFile(sandbox.config).contains("frontend proxym-prometheus\n  bind 127.0.0.1:\(port)\n"))
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue", "\(proxym.log)")
            var scrape: (status: Int, body: String)?
            #expect(
                waitUntil(timeout: .seconds(5)) {
                    scrape = httpGet(port: port, path: "/metrics", timeout: .seconds(2))
                    return scrape?.status == 200
                }, "\(String(describing: scrape))")
            let body = scrape?.body ?? ""
            #expect(body.contains("haproxy_process_"), "\(body.prefix(500))")
            #expect(body.contains("proxy=\"http-in\""), "\(body.prefix(500))")
            #expect(httpGet(port: port, path: "/", timeout: .seconds(2))?.status == 404)
        }
    }
}
