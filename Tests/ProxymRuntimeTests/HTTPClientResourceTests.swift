import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// Counted in fresh processes (exit tests): the runner's other tests open fds and threads
/// concurrently.
@Suite(.timeLimit(.minutes(1)))
struct HTTPClientResourceTests {
    /// Every way a transfer can end, then close(): the process holds exactly the sockets and
    /// pipes it held before, and the loop has no registration left.
    @Test func noDescriptorIsLeaked() async {
        await #expect(processExitsWith: .success) {
            let before = try spawnRelatedDescriptors()
            do {
                let loop = try EventLoop()
                let server = try FakeHTTPServer(loop: loop) { request in
                    switch request.target {
                    case "/silent": return .silence
                    case "/stream":
                        return .script([
                            .send(FakeHTTPServer.chunkedHead()), .send(FakeHTTPServer.chunk("x")), .wait(.seconds(30)),
                        ])
                    default: return .respond(status: 200, body: Array(request.target.utf8))
                    }
                }
                let client = try HTTPClient(loop: loop)
                for index in 0..<5 { _ = try fetch(client, loop, Request(.get, server.url + "/\(index)")).get() }
                var done = 0
                for index in 0..<20 { client.send(Request(.get, server.url + "/c\(index)")) { _ in done += 1 } }
                try pump(loop) { done == 20 }
                let refusedPort = try freeTCPPort()
                _ = try fetch(client, loop, Request(.get, "http://127.0.0.1:\(refusedPort)/"))
                var timed = Request(.get, server.url + "/silent")
                timed.timeout = .milliseconds(100)
                _ = try fetch(client, loop, timed)
                var chunks = 0
                let stream = client.stream(
                    sseRequest(server.url + "/stream"),
                    onHeaders: { _, _ in },
                    onData: { _ in chunks += 1 },
                    completion: { _ in }
                )
                try pump(loop) { chunks == 1 }
                stream.cancel()
                client.send(Request(.get, server.url + "/silent")) { _ in }  // still running at close()
                try pump(loop) { server.requests.count == 28 }
                client.close()
                server.close()
                if loop.registrationCount != 0 { CurrentProcess.exit(3) }
            }
            if try spawnRelatedDescriptors() != before { CurrentProcess.exit(2) }
        }
    }

    /// With IP literals libcurl resolves nothing, so no thread ever starts. (A host name other
    /// than "localhost" starts one short-lived getaddrinfo thread per uncached lookup.)
    @Test func ipLiteralTransfersStartNoThread() async {
        await #expect(processExitsWith: .success) {
            func threads() throws -> Set<String> {
                Set(try FileSystem.listDirectory("/proc/self/task").map(\.name))
            }
            let loop = try EventLoop()
            let server = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200, body: [1]) }
            let client = try HTTPClient(loop: loop)
            let before = try threads()
            var seen = before
            var done = 0
            for _ in 0..<10 { client.send(Request(.get, server.url + "/")) { _ in done += 1 } }
            client.send(Request(.get, "http://localhost:\(server.port)/")) { _ in done += 1 }
            client.send(Request(.get, "http://[::1]:\(server.port)/")) { _ in done += 1 }  // refused or not: no thread
            let deadline = loop.now + .seconds(10)
            while done < 12 && loop.now < deadline {
                try loop.runOnce(timeout: .milliseconds(100))
                seen.formUnion(try threads())
            }
            if done < 12 { CurrentProcess.exit(2) }
            if seen != before { CurrentProcess.exit(3) }
        }
    }
}
