import ProxymPosix
import ProxymTestSupport
import Testing

/// The test helpers against a real HTTP server: haproxy answering from a `return` rule.
@Suite(.timeLimit(.minutes(1)), .enabled(if: which("haproxy") != nil))
struct TestSupportTests {
    @Test func haproxyCheckAndHTTPGet() throws {
        let haproxy = try #require(which("haproxy"))
        try withTemporaryDirectory { directory in
            let port = try freeTCPPort()
            let config = directory + "/haproxy.cfg"
            try writeFile(
                config,
                """
                global
                    log stderr format raw local0 emerg
                defaults
                    mode http
                    timeout client 5s
                    timeout server 5s
                    timeout connect 5s
                frontend test
                    bind 127.0.0.1:\(port)
                    http-request return status 200 content-type text/plain string "hello from haproxy" if { path /hello }
                    http-request return status 404 content-type text/plain string "nope"

                """
            )
            let check = try runToCompletion(haproxy, ["-c", "-f", config], environment: [])
            #expect(check.status == .exited(0), "haproxy -c: \(check.stderr)")

            let broken = directory + "/broken.cfg"
            try writeFile(broken, "frontend x\n    bind 127.0.0.1:1\n    this-is-not-a-keyword\n")
            let failed = try runToCompletion(haproxy, ["-c", "-f", broken], environment: [])
            #expect(failed.status != .exited(0))
            #expect(failed.stderr.contains("this-is-not-a-keyword") || failed.stdout.contains("this-is-not-a-keyword"))

            let guardian = ProcessGuard()
            let server = try Spawn.start(
                executable: haproxy,
                arguments: ["-db", "-f", config],
                environment: [],
                stdout: .null,
                stderr: .null
            )
            guardian.track(server.pid)
            var response: (status: Int, body: String)?
            let answered = waitUntil(timeout: .seconds(20), poll: .milliseconds(20)) {
                response = httpGet(port: port, path: "/hello", headers: [("X-Test", "1")], timeout: .seconds(2))
                return response != nil
            }
            #expect(answered)
            #expect(response?.status == 200)
            #expect(response?.body == "hello from haproxy")
            #expect(httpGet(port: port, path: "/other")?.status == 404)
            guardian.killAll()
            #expect(!ChildReaper.isUnreapedChild(server.pid))
        }
    }

    @Test func waitUntilIsBounded() {
        let start = MonotonicClock.nanoseconds()
        #expect(!waitUntil(timeout: .milliseconds(50), poll: .milliseconds(5)) { false })
        #expect(MonotonicClock.nanoseconds() - start >= 50_000_000)
        var count = 0
        #expect(
            waitUntil(timeout: .seconds(5), poll: .milliseconds(1)) {
                count += 1
                return count == 3
            }
        )
    }
}
