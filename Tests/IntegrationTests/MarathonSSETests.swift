import ProxymPosix
import ProxymTestSupport
import Testing

extension MarathonEndToEndTests {
    /// Marathon 1.5+: no callbacks; events only over Server-Sent Events (`GET /v2/events`).
    @Suite struct ServerSentEvents {
        static let host = "web.example.com"

        static func web(_ tasks: [MarathonJSON.Task]) -> String {
            MarathonJSON.app(
                "/shop/web", servicePort: 10001, tasks: tasks, labels: ["HAPROXY_0_VHOST": host], healthChecks: 1)
        }

        @Test(arguments: ["sse", "auto"])
        func redeployAndScaleFollowStreamedEventsWithinASecond(events: String) throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.web([.init(blue)])])
                // A callback address is given, but 1.10 has no callbacks: auto must stream.
                let proxym = try sandbox.startWithMarathon(
                    servers: [marathon.url], events: events, callbackPort: try freeTCPPort())
                #expect(marathon.waitForOneStream(), "\(proxym.log)")
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil, "\(proxym.log)")
                let requests = marathon.requests
                #expect(!requests.contains { $0.target.hasPrefix("/v2/eventSubscriptions") }, "\(requests)")
                let stream = try #require(requests.first { $0.target.hasPrefix("/v2/events") })
                #expect(stream.accept == "text/event-stream")
                // 1.4+ takes event_type filters: only the events that matter are sent.
                #expect(stream.target.contains("event_type=status_update_event"), "\(stream)")
                #expect(!stream.target.contains("framework_message_event"), "\(stream)")

                var latencies: [Duration] = []
                try marathon.setApps([Self.web([.init(green)])])
                let redeployed = try sandbox.waitForBackend("green", host: Self.host) {
                    try marathon.statusUpdate(appID: "/shop/web", taskID: "green-1")
                }
                if let latency = redeployed {
                    latencies.append(latency)
                } else {
                    Issue.record("the redeploy was not served; log:\n\(proxym.log)")
                }

                try marathon.setApps([Self.web([.init(green), .init(blue)])])
                let scaled = try sandbox.served(by: ["blue", "green"], host: Self.host, requests: 4) {
                    try marathon.push("instance_changed_event")
                }
                latencies.append(scaled.latency)
                #expect(scaled.done, "not scaled to blue+green; log:\n\(proxym.log)")

                try marathon.setApps([Self.web([.init(green, alive: false), .init(blue)])])
                let healthy = try sandbox.served(by: ["blue"], host: Self.host, requests: 6) {
                    try marathon.push("instance_health_changed_event")
                }
                latencies.append(healthy.latency)
                #expect(healthy.done, "the unhealthy task is still routed; log:\n\(proxym.log)")

                print("Marathon 1.10 SSE (\(events)): event -> haproxy serving: \(latencies.map(ms).joined(separator: ", "))")
                for latency in latencies { #expect(latency < .seconds(1), "event to new route took \(latency)") }

                try proxym.signal(.term)
                #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
            }
        }

        @Test func aDroppedStreamIsReconnectedWithAFullRefresh() throws {
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                try marathon.setApps([Self.web([.init(blue)])])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(marathon.waitForOneStream(), "\(proxym.log)")
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil)

                // The leader steps down: the stream ends, and what changes meanwhile sends no event.
                try marathon.down()
                #expect(proxym.waitForLog("Marathon event stream lost"), "\(proxym.log)")
                try marathon.setApps([Self.web([.init(green)])])
                MonotonicClock.sleep(.milliseconds(1500))  // a reconnect or two meets the 503s
                #expect(sandbox.bodyFor(host: Self.host) == "blue", "routing is kept while Marathon is down")
                try marathon.up()

                // Reconnected (with backoff), and the reconnect alone brings the change in.
                #expect(marathon.waitForOneStream(timeout: .seconds(15)), "\(proxym.log)")
                #expect(sandbox.waitForBackend("green", host: Self.host, timeout: .seconds(5)) != nil, "\(proxym.log)")
                let reconnects = proxym.log.split(separator: "\n").filter { $0.contains("connectStream: Marathon event stream connected") }
                #expect(reconnects.count == 2, "\(proxym.log)")
                let lost = proxym.log.split(separator: "\n").filter { $0.contains("streamFailed: Marathon event stream lost") }
                #expect(lost.count >= 2, "the first reconnects met 503s: \(lost)")

                // The same without going down: the stream is simply cut (leader abdication).
                try marathon.setApps([Self.web([.init(blue)])])
                try marathon.control("POST", "/_fake/drop-streams")
                #expect(sandbox.waitForBackend("blue", host: Self.host, timeout: .seconds(10)) != nil, "\(proxym.log)")
            }
        }

        /// Marathon before 0.11 sent `data:` lines only (the type is in the JSON).
        @Test func dataOnlyFramingWorks() throws {
            try withFakeMarathon(version: "0.10.0", arguments: ["--sse-data-only", "--heartbeat", "200ms"]) {
                sandbox, marathon, blue, green in
                let web = { (b: Backend) in
                    MarathonJSON.app("/shop/web", servicePort: 10001, tasks: [.init(b)], labels: ["HAPROXY_0_VHOST": Self.host], shape: .v1_4)
                }
                try marathon.setApps([web(blue)])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse")
                #expect(marathon.waitForOneStream(), "\(proxym.log)")
                #expect(sandbox.waitForBackend("blue", host: Self.host) != nil)
                // 0.10 knows no event_type filters: none are sent.
                #expect(marathon.requests.contains { $0.target == "/v2/events" }, "\(marathon.requests)")

                try marathon.setApps([web(green)])
                let latency = try sandbox.waitForBackend("green", host: Self.host) {
                    try marathon.statusUpdate(appID: "/shop/web")
                }
                #expect(latency != nil, "\(proxym.log)")
                if let latency {
                    print("Marathon 0.10 SSE, data-only framing: event -> haproxy serving: \(ms(latency))")
                    #expect(latency < .seconds(1))
                }
                // Heartbeats (every 200 ms here) keep the stream alive without refreshing anything.
                MonotonicClock.sleep(.milliseconds(700))
                #expect(marathon.openStreams == 1)
                #expect(!proxym.log.contains("Marathon event stream lost"), "\(proxym.log)")
            }
        }
    }
}
