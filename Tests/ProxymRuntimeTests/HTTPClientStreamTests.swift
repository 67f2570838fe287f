import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// What a stream delivered, in order.
final class StreamRecorder {
    enum Event: Equatable {
        case headers(Int)
        case data(String)
        case success
        case failure(HTTPClient.Failure.Kind)
    }

    var events: [Event] = []
    var headers = HTTPClient.Headers()
    var failure: HTTPClient.Failure?
    var ended = false
    var dataTimes: [Instant] = []
    var endTime: Instant?

    var text: String {
        events.compactMap {
            if case .data(let text) = $0 { return text }
            return nil
        }.joined()
    }

    var dataCount: Int { dataTimes.count }

    func start(_ client: HTTPClient, _ loop: EventLoop, _ request: HTTPClient.Request) -> HTTPClient.Transfer {
        client.stream(
            request,
            onHeaders: { status, headers in
                self.events.append(.headers(status))
                self.headers = headers
            },
            onData: { bytes in
                self.events.append(.data(String(decoding: bytes, as: UTF8.self)))
                self.dataTimes.append(loop.now)
            },
            completion: { result in
                switch result {
                case .success: self.events.append(.success)
                case .failure(let failure):
                    self.events.append(.failure(failure.kind))
                    self.failure = failure
                }
                self.ended = true
                self.endTime = loop.now
            }
        )
    }
}

func sseRequest(_ url: String) -> HTTPClient.Request {
    var request = HTTPClient.Request(.get, url, headers: ["Accept": "text/event-stream"])
    request.timeout = nil
    request.idleTimeout = .seconds(30)
    request.acceptEncoding = false
    return request
}

@Suite(.timeLimit(.minutes(1)))
struct HTTPClientStreamTests {
    @Test func chunksArriveIncrementally() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .script([
                .send(FakeHTTPServer.chunkedHead(headers: [("Content-Type", "text/event-stream")])),
                .send(FakeHTTPServer.chunk("event: a\r\n")),
                .wait(.milliseconds(200)),
                .send(FakeHTTPServer.chunk("data: {}\r\n")),
                .wait(.milliseconds(200)),
                .send(FakeHTTPServer.chunk("\r\n")),
                .send(FakeHTTPServer.lastChunk),
            ])
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        _ = recorder.start(client, loop, sseRequest(server.url + "/v2/events"))
        // The first piece is delivered while the server is still pausing.
        try pump(loop, timeout: .seconds(5)) { recorder.dataCount >= 1 }
        #expect(recorder.text == "event: a\r\n")
        #expect(!recorder.ended)
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.events.first == .headers(200))
        #expect(recorder.events.last == .success)
        #expect(recorder.text == "event: a\r\ndata: {}\r\n\r\n")
        #expect(recorder.dataCount >= 2)
        #expect(recorder.headers["content-type"] == "text/event-stream")
        let firstData = try #require(recorder.dataTimes.first)
        let end = try #require(recorder.endTime)
        #expect(end - firstData >= .milliseconds(350))
        #expect(server.requests.first?.header("accept") == "text/event-stream")
        #expect(client.watchedSocketCount == 0)
    }

    @Test func aBodyUntilCloseIsStreamed() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .script([
                .send(Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".utf8)),
                .send(Array("data: 1\n\n".utf8)),
                .wait(.milliseconds(100)),
                .send(Array("data: 2\n\n".utf8)),
                .close,
            ])
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        _ = recorder.start(client, loop, sseRequest(server.url + "/v2/events"))
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.events.first == .headers(200))
        #expect(recorder.text == "data: 1\n\ndata: 2\n\n")
        #expect(recorder.events.last == .success)
    }

    @Test func cancelStopsTheStream() throws {
        let loop = try EventLoop()
        var steps: [FakeHTTPServer.Step] = [.send(FakeHTTPServer.chunkedHead())]
        for index in 0..<400 {
            steps += [.send(FakeHTTPServer.chunk("tick \(index)\n")), .wait(.milliseconds(20))]
        }
        let server = try FakeHTTPServer(loop: loop) { _ in .script(steps) }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        var transfer: HTTPClient.Transfer?
        transfer = client.stream(
            sseRequest(server.url + "/v2/events"),
            onHeaders: { status, _ in recorder.events.append(.headers(status)) },
            onData: { bytes in
                recorder.events.append(.data(String(decoding: bytes, as: UTF8.self)))
                recorder.dataTimes.append(loop.now)
                if recorder.dataCount == 2 { transfer?.cancel() }  // from inside its own callback
            },
            completion: { _ in recorder.ended = true }
        )
        try pump(loop, timeout: .seconds(5)) { server.closedByPeerCount == 1 }
        #expect(recorder.dataCount == 2)
        #expect(transfer?.isActive == false)
        try pump(loop, timeout: .milliseconds(200)) { false }
        #expect(recorder.dataCount == 2)
        #expect(!recorder.ended)
        #expect(client.watchedSocketCount == 0)
        #expect(client.openConnectionCount == 0)
        #expect(client.activeTransferCount == 0)
    }

    @Test func idleWatchdogFailsASilentStream() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .script([
                .send(FakeHTTPServer.chunkedHead()),
                .send(FakeHTTPServer.chunk("\r\n")),  // one heartbeat
                .wait(.milliseconds(200)),
                .send(FakeHTTPServer.chunk("\r\n")),  // another, then silence
                .wait(.seconds(30)),
            ])
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        var request = sseRequest(server.url + "/v2/events")
        request.idleTimeout = .milliseconds(400)
        let started = loop.now
        _ = recorder.start(client, loop, request)
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        let failure = try #require(recorder.failure)
        #expect(failure.kind == .timeout)
        #expect(failure.connected)
        #expect(failure.message.contains("no data"))
        #expect(recorder.dataCount == 2)
        // Heartbeats kept it alive past one idle period; it ended one idle period after the last.
        let elapsed = try #require(recorder.endTime) - started
        #expect(elapsed >= .milliseconds(590) && elapsed < .seconds(3), "took \(elapsed)")
        #expect(client.watchedSocketCount == 0)
        #expect(client.openConnectionCount == 0)
    }

    @Test func errorStatusIsStreamedWithItsBody() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(
                status: 404,
                headers: [("Content-Type", "application/json")],
                body: Array("{\"message\":\"x\"}".utf8)
            )
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        _ = recorder.start(client, loop, sseRequest(server.url + "/v2/events"))
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.events == [.headers(404), .data("{\"message\":\"x\"}"), .success])
    }

    @Test func emptyBodyStillDeliversHeaders() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .respond(status: 204) }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        _ = recorder.start(client, loop, sseRequest(server.url + "/"))
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.events == [.headers(204), .success])
    }

    @Test func streamFollowsARedirectToTheLeader() throws {
        let loop = try EventLoop()
        let leader = try FakeHTTPServer(loop: loop) { _ in
            .script([
                .send(FakeHTTPServer.chunkedHead()), .send(FakeHTTPServer.chunk("data: x\n\n")),
                .send(FakeHTTPServer.lastChunk),
            ])
        }
        let standby = try FakeHTTPServer(loop: loop) { request in
            .respond(
                status: 302,
                headers: [("Location", leader.url + request.target)],
                body: Array("redirect body".utf8)
            )
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        var request = sseRequest(standby.url + "/v2/events")
        request.basicAuth = .init(username: "user", password: "pass")
        _ = recorder.start(client, loop, request)
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.events == [.headers(200), .data("data: x\n\n"), .success])
        #expect(leader.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
        #expect(leader.requests.first?.header("accept") == "text/event-stream")
    }

    @Test func connectionCutMidStreamFails() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .script([.send(FakeHTTPServer.chunkedHead()), .send(FakeHTTPServer.chunk("data: 1\n\n")), .close])
        }
        let client = try HTTPClient(loop: loop)
        let recorder = StreamRecorder()
        _ = recorder.start(client, loop, sseRequest(server.url + "/v2/events"))
        try pump(loop, timeout: .seconds(5)) { recorder.ended }
        #expect(recorder.text == "data: 1\n\n")
        #expect(recorder.failure?.kind == .protocolError)
        #expect(recorder.failure?.connected == true)
    }
}
