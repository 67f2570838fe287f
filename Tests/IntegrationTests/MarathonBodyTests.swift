import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Issue 11, class 5: a Marathon whose answers never end (`/_fake/fail?mode=endless`: a 200 whose
    /// JSON goes on forever, as fast as proxym reads). Every answer is streamed or bounded by what the
    /// last good snapshot weighed: the daemon stays small and alive, the Marathon services it had stay
    /// routed, a file edit is applied within 1 s, and the log says which limit cut what. Prints one row
    /// of the README's fault table.
    @Suite(.serialized, .timeLimit(.minutes(3)))
    struct EndlessBodies {
        @Test(arguments: [
            // Which answers never end.
            ["apps.tasks", "apps", "tasks"],
            ["apps.tasks", "tasks"],
        ])
        func anEndlessAnswerCostsABoundedAmount(endless: [String]) throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let blue = try Backend(name: "blue", directory: dir)
                let green = try Backend(name: "green", directory: dir)
                let red = try Backend(name: "red", directory: dir)
                try sandbox.writeService(
                    "web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [blue]))
                let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.10.0"])
                try marathon.setApps([
                    MarathonJSON.app("/api", servicePort: 10001, tasks: [.init(green)], labels: ["HAPROXY_0_VHOST": "api.example.com"], shape: .v1_4)
                ])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(sandbox.waitForBackend("green", host: "api.example.com") != nil, "\(proxym.log)")
                let before = procStatusKilobytes(proxym.pid, "VmHWM") ?? 0

                for endpoint in endless { try marathon.fail(endpoint, "endless") }
                try marathon.push("deployment_success")
                let started = MonotonicClock.nanoseconds()
                // The reads fail (retried with backoff) while proxym goes on: an edit meanwhile.
                MonotonicClock.sleep(.seconds(2))
                let editStarted = MonotonicClock.nanoseconds()
                try sandbox.writeService(
                    "web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [red]))
                let edited = waitUntil(timeout: .seconds(3), poll: .milliseconds(5)) {
                    (try? readTextFile(sandbox.config))?.contains(":\(red.port)") == true
                }
                let editLatency = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - editStarted))
                // Let the retries run into the limits a few times.
                _ = waitUntil(timeout: .seconds(8)) {
                    proxym.log.contains("source failed; keeping its last good services") && MonotonicClock.nanoseconds() - started > 6_000_000_000
                }
                let peak = procStatusKilobytes(proxym.pid, "VmHWM") ?? 0
                let fds = openFDCount(proxym.pid) ?? 0
                let log = proxym.log
                let cut = log.split(separator: "\n").filter { $0.contains("bytes and still arriving") || $0.contains("larger than the limit") || $0.contains("the limit") }
                let row =
                    "endless \(endless.joined(separator: " + ")): VmHWM \(before / 1024) -> \(peak / 1024) MiB, edit written in \(ms(editLatency)), "
                    + "\(fds) fds; \(cut.first.map { String($0.suffix(220)) } ?? "no line names the limit")"
                print("endless body: \(row)")

                #expect(!proxym.hasExited, "\(log.suffix(3000))")
                #expect(peak < 100 * 1024, "peak RSS: \(row)")
                #expect(edited && editLatency < .seconds(1), "the file edit: \(row)")
                #expect(sandbox.bodyFor(host: "api.example.com") == "green", "Marathon's last good services stay routed")
                #expect(sandbox.waitForBackend("red", host: "web.example.com") != nil)
                #expect(!cut.isEmpty, "a line says which limit cut the answer: \(log.suffix(3000))")
                #expect(fds < 60, "\(row)")

                // Marathon heals: its answers are read again.
                try marathon.clearFailures()
                try marathon.setApps([
                    MarathonJSON.app("/api", servicePort: 10001, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "api.example.com"], shape: .v1_4)
                ])
                try marathon.push("deployment_success")
                #expect(sandbox.waitForBackend("blue", host: "api.example.com", timeout: .seconds(70)) != nil, "\(proxym.log.suffix(3000))")
                sandbox.tearDown()
            }
        }
    }
}
