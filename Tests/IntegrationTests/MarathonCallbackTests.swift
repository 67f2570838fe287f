import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Marathon 0.x-1.4: proxym registers an HTTP callback and Marathon POSTs every event to it.
    @Suite struct Callbacks {
        static let host = "web.example.com"

        static func web(_ tasks: [MarathonJSON.Task], healthChecks: Int = 1) -> String {
            MarathonJSON.app(
                "/shop/web", servicePort: 10001, tasks: tasks, labels: ["HAPROXY_0_VHOST": host],
                healthChecks: healthChecks, shape: .v1_4)
        }

        @Test(arguments: ["callback", "auto"])
        func scaleRedeployAndHealthFollowEventsWithinASecond(events: String) throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.web([.init(blue)])])
                let callbackPort = try freeTCPPort()
                let callbackURL = "http://127.0.0.1:\(callbackPort)/callback"
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: events, callbackPort: callbackPort)

                // Registered with the URL built from HTTP_HOST, HTTP_PORT and ENDPOINT.
                #expect(waitUntil(timeout: .seconds(5)) { marathon.callbacks == [callbackURL] }, "\(proxym.log)")
                let subscription = marathon.requests.first { $0.method == "POST" && $0.target.hasPrefix("/v2/eventSubscriptions") }
                #expect(subscription?.target == "/v2/eventSubscriptions?callbackUrl=http%3A%2F%2F127.0.0.1%3A\(callbackPort)%2Fcallback")
                #expect(proxym.log.contains("receiving Marathon callbacks"))
                #expect(!marathon.requests.contains { $0.target.hasPrefix("/v2/events") }, "no event stream in callback mode")
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")

                var latencies: [Duration] = []
                // Redeploy: the blue task replaced by a green one.
                try marathon.setApps([Self.web([.init(green)])])
                let redeployed = try sandbox.waitForBackend("green", host: Self.host) {
                    try marathon.statusUpdate(appID: "/shop/web", taskID: "green-1")
                }
                if let latency = redeployed {
                    latencies.append(latency)
                } else {
                    Issue.record("the redeploy was not served; log:\n\(proxym.log)")
                }

                // Scale to two tasks: both serve.
                try marathon.setApps([Self.web([.init(green), .init(blue)])])
                let scaled = try sandbox.served(by: ["blue", "green"], host: Self.host, requests: 4) {
                    try marathon.push("deployment_success")
                }
                latencies.append(scaled.latency)
                #expect(scaled.done, "not scaled to blue+green; log:\n\(proxym.log)")

                // A failing health check takes blue out; a staging task never comes in.
                try marathon.setApps([
                    Self.web([.init(green), .init(blue, alive: false), .init(port: blue.port, state: "TASK_STAGING")])
                ])
                let healthy = try sandbox.served(by: ["green"], host: Self.host, requests: 6) {
                    try marathon.push("health_status_changed_event")
                }
                latencies.append(healthy.latency)
                #expect(healthy.done, "the unhealthy task is still routed; log:\n\(proxym.log)")
                #expect(try !readTextFile(sandbox.config).contains(":\(blue.port)"))

                print("Marathon 1.4 callbacks (\(events)): event -> haproxy serving: \(latencies.map(ms).joined(separator: ", "))")
                for latency in latencies { #expect(latency < .seconds(1), "event to new route took \(latency)") }
                #expect(marathon.callbackDeliveries.contains("failed=0"), "\(marathon.callbackDeliveries)")

                // SIGTERM: unregister, exit 0.
                try marathon.clearRequests()
                try proxym.signal(.term)
                #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
                let delete = marathon.requests.first { $0.method == "DELETE" }
                #expect(delete?.target == subscription?.target, "\(marathon.requests)")
                #expect(marathon.callbacks.isEmpty)
                #expect(proxym.log.contains("callback unregistered from Marathon"))
            }
        }

        /// Marathon unreachable at start: the registration is retried with backoff until it works;
        /// unreachable at stop: the unregistration gives up quickly and proxym still exits 0.
        @Test func registrationIsRetriedAndStopDoesNotWaitForAMarathonThatIsGone() throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, blue, _ in
                try marathon.setApps([Self.web([.init(blue)])])
                try marathon.down()
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: "callback", callbackPort: try freeTCPPort())
                #expect(proxym.waitForLog("cannot register the callback with Marathon"), "\(proxym.log)")
                #expect(sandbox.lastStatus.contains("FAILING: marathon"), "\(sandbox.lastStatus)")
                try marathon.up()
                #expect(waitUntil(timeout: .seconds(10)) { marathon.callbacks.count == 1 }, "\(proxym.log)")
                // Registering resyncs (events before it were missed).
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")
                // A read of Marathon starts once the callback is registered: the registration's own
                // resync, or the fetch retry (both are 1 s timers; whichever fires first reads for both).
                let lines = proxym.log.split(separator: "\n")
                let registered = try #require(lines.firstIndex { $0.contains("callback registered with Marathon") }, "\(proxym.log)")
                let triggers = lines[registered...].filter { $0.contains("Daemon.startRefresh") }
                #expect(
                    triggers.contains { $0.contains("Marathon callback registered") || $0.contains("retry Marathon") },
                    "\(proxym.log)")

                marathon.kill()
                let stopping = MonotonicClock.nanoseconds()
                try proxym.signal(.term)
                #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
                let took = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - stopping))
                #expect(took < .seconds(4), "stop took \(took)")
                #expect(proxym.log.contains("could not unregister the callback"), "\(proxym.log)")
                #expect(sandbox.bodyFor(host: Self.host) == "blue", "haproxy keeps serving after proxym stops")
            }
        }

        /// The receiver's port taken: `callback` refuses to run (silently receiving nothing would be
        /// worse); `auto` follows the event stream instead.
        @Test func aCallbackPortInUseStopsCallbackModeAndAutoStreams() throws {
            try Binaries.require()
            try withTemporaryDirectory { dir in
                let marathon = try FakeMarathon(directory: dir, arguments: ["--version", "1.4.13"])
                try marathon.setApps([])
                let taken = try Socket.listenTCP(host: "127.0.0.1", port: 0)
                try FileSystem.mkdir(dir + "/callback")
                let strict = try Sandbox(root: dir + "/callback")
                let proxym = try strict.start(
                    strict.marathonEnvironment(servers: [marathon.url], events: "callback", callbackPort: taken.port))
                #expect(proxym.waitForExit() == .exited(1), "\(proxym.log)")
                #expect(proxym.log.contains("cannot run:") && proxym.log.contains("127.0.0.1:\(taken.port)"), "\(proxym.log)")
                strict.tearDown()

                try FileSystem.mkdir(dir + "/auto")
                let auto = try Sandbox(root: dir + "/auto")
                let proxym2 = try auto.startWithMarathon(servers: [marathon.url], events: "auto", callbackPort: taken.port)
                #expect(proxym2.waitForLog("using the event stream instead"), "\(proxym2.log)")
                #expect(marathon.waitForOneStream(), "\(proxym2.log)")
                auto.tearDown()
                _ = consume taken
            }
        }

        @Test func theReceiverAnswersLikeAnHTTPServer() throws {
            try withFakeMarathon(version: "1.4.13") { sandbox, marathon, _, _ in
                try marathon.setApps([])
                let port = try freeTCPPort()
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "callback", callbackPort: port)
                #expect(proxym.waitForLog("receiving Marathon callbacks"))

                let event = Array(#"{"eventType":"deployment_success","timestamp":"2024-01-01T00:00:00.000Z"}"#.utf8)
                let posted = httpRequest(port: port, method: "POST", path: "/callback", body: event)
                #expect(posted?.status == 200)
                #expect(proxym.waitForLog("Marathon deployment_success\""), "the event triggers a refresh; log:\n\(proxym.log)")
                #expect(httpRequest(port: port, method: "POST", path: "/other", body: event)?.status == 404)
                let get = httpRequest(port: port, method: "GET", path: "/callback")
                #expect(get?.status == 405)
                #expect(get?.header("allow") == "POST")
                #expect(statusCode(rawExchange(port: port, Array("NOT HTTP AT ALL\r\n\r\n".utf8))) == 400)
                #expect(statusCode(rawExchange(port: port, [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x0d, 0x0a])) == 400)
                // An ignored event type is still answered 200 (Marathon backs off from failing receivers).
                let ignored = Array(#"{"eventType":"framework_message_event"}"#.utf8)
                #expect(httpRequest(port: port, method: "POST", path: "/callback", body: ignored)?.status == 200)
                // Keep-alive: two requests on one connection, answered in order.
                let two =
                    "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: \(event.count)\r\n\r\n"
                    + String(decoding: event, as: UTF8.self)
                    + "GET /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                let answers = String(decoding: rawExchange(port: port, Array(two.utf8)) ?? [], as: UTF8.self)
                #expect(answers.hasPrefix("HTTP/1.1 200 "), "\(answers)")
                #expect(answers.contains("\r\n\r\nok\nHTTP/1.1 405 "), "\(answers)")
            }
        }
    }
}
