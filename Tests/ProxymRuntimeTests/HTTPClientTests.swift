import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

typealias Request = HTTPClient.Request

/// Sends `request` and steps the loop until it completes (bounded by `timeout`).
func fetch(
    _ client: HTTPClient,
    _ loop: EventLoop,
    _ request: Request,
    timeout: Duration = .seconds(10)
) throws -> Result<HTTPClient.Response, HTTPClient.Failure> {
    var result: Result<HTTPClient.Response, HTTPClient.Failure>?
    client.send(request) { result = $0 }
    try pump(loop, timeout: timeout) { result != nil }
    return try #require(result)
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HTTPClientTests {
    @Test func getReturnsStatusHeadersAndBody() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { request in
            .respond(
                status: 200,
                headers: [("X-Test", "yes"), ("Content-Type", "text/plain")],
                body: Array("hello".utf8)
            )
        }
        let client = try HTTPClient(loop: loop)
        let response = try fetch(client, loop, Request(.get, server.url + "/v2/apps?embed=apps.tasks")).get()
        #expect(response.status == 200)
        #expect(response.bodyText == "hello")
        #expect(response.headers["x-test"] == "yes")
        #expect(response.headers["Content-Type"] == "text/plain")
        #expect(response.effectiveURL == server.url + "/v2/apps?embed=apps.tasks")
        let received = try #require(server.requests.first)
        #expect(received.method == "GET")
        #expect(received.target == "/v2/apps?embed=apps.tasks")
        #expect(received.header("user-agent")?.hasPrefix("proxym/") == true)
        #expect(received.header("accept-encoding")?.contains("gzip") == true)
        #expect(received.header("expect") == nil)
    }

    @Test func postSendsBodyAndHeaders() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { request in
            .respond(status: 200, body: request.body.reversed())
        }
        let client = try HTTPClient(loop: loop)
        // Large enough that curl would otherwise ask "Expect: 100-continue" first.
        let body = Array(repeating: UInt8(ascii: "a"), count: 2 << 20) + Array("end".utf8)
        var request = Request(.post, server.url + "/v2/eventSubscriptions?callbackUrl=x", body: body)
        request.headers = ["Content-Type": "application/json"]
        let response = try fetch(client, loop, request).get()
        #expect(response.status == 200)
        #expect(response.body == body.reversed())
        let received = try #require(server.requests.first)
        #expect(received.method == "POST")
        #expect(received.body == body)
        #expect(received.header("content-type") == "application/json")
        #expect(received.header("expect") == nil)
    }

    @Test func emptyPostSendsZeroContentLength() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200) }
        let client = try HTTPClient(loop: loop)
        _ = try fetch(client, loop, Request(.post, server.url + "/")).get()
        #expect(server.requests.first?.method == "POST")
        #expect(server.requests.first?.header("content-length") == "0")
    }

    @Test func deleteSendsTheMethod() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200, body: Array("{}".utf8)) }
        let client = try HTTPClient(loop: loop)
        let response = try fetch(client, loop, Request(.delete, server.url + "/v2/eventSubscriptions?callbackUrl=x"))
            .get()
        #expect(response.status == 200)
        #expect(response.bodyText == "{}")
        #expect(server.requests.first?.method == "DELETE")
        #expect(server.requests.first?.target == "/v2/eventSubscriptions?callbackUrl=x")
    }

    @Test(arguments: [404, 500, 502])
    func errorStatusesAreResponses(status: Int) throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: status, body: Array("{\"message\":\"nope\"}".utf8))
        }
        let client = try HTTPClient(loop: loop)
        let response = try fetch(client, loop, Request(.get, server.url + "/")).get()
        #expect(response.status == status)
        #expect(response.bodyText == "{\"message\":\"nope\"}")
        #expect(response.isServerError == (status >= 500))
    }

    @Test func connectionRefusedFailsQuicklyAsConnect() throws {
        let loop = try EventLoop()
        let port = try freeTCPPort()
        let client = try HTTPClient(loop: loop)
        let started = loop.now
        let failure = try #require(try fetch(client, loop, Request(.get, "http://127.0.0.1:\(port)/v2/apps")).failure)
        #expect(loop.now - started < .seconds(2))
        #expect(failure.kind == .connect)
        #expect(!failure.connected)
        #expect(failure.isServerUnreachable)
        #expect(failure.message.contains("127.0.0.1"))
        #expect(failure.curlCode == Curl.Code.couldNotConnect.rawValue)
        #expect(client.watchedSocketCount == 0)
        #expect(client.openConnectionCount == 0)
    }

    @Test func silentServerTimesOutAtTheLimit() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .silence }
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, server.url + "/v2/apps")
        request.timeout = .milliseconds(400)
        let started = loop.now
        let failure = try #require(try fetch(client, loop, request).failure)
        let elapsed = loop.now - started
        #expect(failure.kind == .timeout)
        #expect(failure.connected)
        #expect(!failure.isServerUnreachable)
        #expect(elapsed >= .milliseconds(390) && elapsed < .seconds(2), "took \(elapsed)")
        #expect(server.requests.count == 1)
        // The timed-out connection is closed, not cached.
        #expect(client.openConnectionCount == 0)
        try pump(loop, timeout: .seconds(5)) { server.closedByPeerCount == 1 }
        #expect(server.closedByPeerCount == 1)
    }

    /// On a connection reused from the cache libcurl reports no connect time; the request still
    /// reached the server, so a failure must say `connected` (a timeout there is not "unreachable":
    /// a POST must not be resent elsewhere, and a body cut short is the server's doing).
    @Test func failuresOnAReusedConnectionCountAsConnected() throws {
        let loop = try EventLoop()
        var replies = 0
        let server = try FakeHTTPServer(loop: loop) { _ in
            replies += 1
            switch replies {
            case 1: return .respond(status: 200, body: Array("ok".utf8))
            case 2:  // Content-Length promises 10 bytes, 2 arrive, then the connection closes.
                return .script([.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok".utf8)), .close])
            case 3: return .respond(status: 200, body: Array("ok".utf8))
            default: return .silence
            }
        }
        let client = try HTTPClient(loop: loop)
        _ = try fetch(client, loop, Request(.get, server.url + "/1")).get()
        let cut = try #require(try fetch(client, loop, Request(.get, server.url + "/2")).failure)
        #expect(server.acceptedCount == 1, "the second request reused the first connection")
        #expect(cut.kind == .protocolError)
        #expect(cut.connected)
        _ = try fetch(client, loop, Request(.get, server.url + "/3")).get()
        var request = Request(.get, server.url + "/4")
        request.timeout = .milliseconds(300)
        let timedOut = try #require(try fetch(client, loop, request).failure)
        #expect(server.acceptedCount == 2, "the fourth request reused the third's connection")
        #expect(timedOut.kind == .timeout)
        #expect(timedOut.connected)
        #expect(!timedOut.isServerUnreachable)
    }

    /// A listener whose accept queue is full drops further SYNs, so the connect itself hangs.
    @Test func connectTimeoutWhenTheServerNeverAccepts() throws {
        let loop = try EventLoop()
        let listener = try FullBacklogListener()
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, "http://127.0.0.1:\(listener.port)/")
        request.connectTimeout = .milliseconds(300)
        let started = loop.now
        let failure = try #require(try fetch(client, loop, request).failure)
        let elapsed = loop.now - started
        #expect(failure.kind == .timeout)
        #expect(!failure.connected)
        #expect(failure.isServerUnreachable)
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(2), "took \(elapsed)")
    }

    @Test func redirectToAnotherPortKeepsBasicAuth() throws {
        let loop = try EventLoop()
        let leader = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200, body: Array("leader".utf8)) }
        let standby = try FakeHTTPServer(loop: loop) { request in
            .respond(status: 302, headers: [("Location", leader.url + request.target)], body: Array("moved".utf8))
        }
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, standby.url + "/v2/events?event_type=a")
        request.basicAuth = .init(username: "user", password: "pass")
        let response = try fetch(client, loop, request).get()
        #expect(response.status == 200)
        #expect(response.bodyText == "leader")
        #expect(response.headers["location"] == nil)
        #expect(response.effectiveURL == leader.url + "/v2/events?event_type=a")
        #expect(standby.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
        #expect(leader.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
    }

    @Test func redirectKeepsURLCredentials() throws {
        let loop = try EventLoop()
        let leader = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200) }
        let standby = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 307, headers: [("Location", leader.url + "/x")])
        }
        let client = try HTTPClient(loop: loop)
        let request = Request(.get, "http://user:pass@127.0.0.1:\(standby.port)/x")
        let response = try fetch(client, loop, request).get()
        #expect(response.status == 200)
        #expect(!response.effectiveURL.contains("pass"))
        #expect(standby.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
        #expect(leader.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
    }

    @Test func redirectKeepsARawAuthorizationToken() throws {
        let loop = try EventLoop()
        let leader = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200) }
        let standby = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 302, headers: [("Location", leader.url + "/")])
        }
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, standby.url + "/", headers: ["Authorization": "Basic old"])
        request.authorization = "token=eyJhbGciOi"
        request.basicAuth = .init(username: "ignored", password: "ignored")
        _ = try fetch(client, loop, request).get()
        #expect(standby.requests.first?.header("authorization") == "token=eyJhbGciOi")
        #expect(leader.requests.first?.header("authorization") == "token=eyJhbGciOi")
        #expect(leader.requests.first?.headers.filter { $0.0 == "authorization" }.count == 1)
    }

    @Test func redirectsAreNotFollowedWhenAskedNotTo() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 302, headers: [("Location", "http://127.0.0.1:1/")])
        }
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, server.url + "/")
        request.followRedirects = false
        let response = try fetch(client, loop, request).get()
        #expect(response.status == 302)
        #expect(response.headers["location"] == "http://127.0.0.1:1/")
    }

    @Test func redirectLoopFailsAsProtocolError() throws {
        let loop = try EventLoop()
        var selfURL = ""
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 302, headers: [("Location", selfURL + "/again")])
        }
        selfURL = server.url
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, server.url + "/")
        request.maxRedirects = 3
        let failure = try #require(try fetch(client, loop, request).failure)
        #expect(failure.kind == .protocolError)
        #expect(failure.connected)
        #expect(server.requests.count == 4)
    }

    @Test func gzipBodyIsDecoded() throws {
        let loop = try EventLoop()
        let json = Array("{\"apps\":[\(String(repeating: "{\"id\":\"/a\"},", count: 500)){}]}".utf8)
        let server = try FakeHTTPServer(loop: loop) { request in
            guard request.header("accept-encoding")?.contains("gzip") == true else { return .respond(status: 406) }
            return .respond(status: 200, headers: [("Content-Encoding", "gzip")], body: gzipStored(json))
        }
        let client = try HTTPClient(loop: loop)
        let response = try fetch(client, loop, Request(.get, server.url + "/v2/apps")).get()
        #expect(response.status == 200)
        #expect(response.body == json)
    }

    @Test func corruptGzipFailsAsProtocolError() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 200, headers: [("Content-Encoding", "gzip")], body: Array("not gzip at all".utf8))
        }
        let client = try HTTPClient(loop: loop)
        let failure = try #require(try fetch(client, loop, Request(.get, server.url + "/")).failure)
        #expect(failure.kind == .protocolError)
    }

    @Test func bodyLargerThanTheLimitFails() throws {
        let loop = try EventLoop()
        let big = Array(repeating: UInt8(ascii: "x"), count: 300_000)
        let server = try FakeHTTPServer(loop: loop) { request in
            if request.target == "/length" { return .respond(status: 200, body: big) }
            // No length announced: the limit is enforced while the body arrives.
            return .script([
                .send(FakeHTTPServer.chunkedHead()),
                .send(FakeHTTPServer.chunk(big)),
                .send(FakeHTTPServer.lastChunk),
            ])
        }
        let client = try HTTPClient(loop: loop)
        for path in ["/length", "/chunked"] {
            var request = Request(.get, server.url + path)
            request.maxBodySize = 100_000
            let failure = try #require(try fetch(client, loop, request).failure)
            #expect(failure.kind == .bodyTooLarge, "\(path): \(failure)")
            #expect(failure.message.contains("100000"))
            request.maxBodySize = 300_000
            #expect(try fetch(client, loop, request).get().body == big)
        }
    }

    @Test func gzipBombIsLimitedByDecodedSize() throws {
        let loop = try EventLoop()
        let decoded = Array(repeating: UInt8(ascii: "x"), count: 200_000)
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 200, headers: [("Content-Encoding", "gzip")], body: gzipStored(decoded))
        }
        let client = try HTTPClient(loop: loop)
        var request = Request(.get, server.url + "/")
        request.maxBodySize = 250_000  // above the encoded length (~200 kB + framing)...
        #expect(try fetch(client, loop, request).get().body == decoded)
        request.maxBodySize = 150_000  // ...and below the decoded one
        #expect(try fetch(client, loop, request).failure?.kind == .bodyTooLarge)
    }

    @Test func manyConcurrentRequestsComplete() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { request in
            .respond(status: 200, body: Array(request.target.utf8))
        }
        let client = try HTTPClient(loop: loop)
        var results: [Int: Result<HTTPClient.Response, HTTPClient.Failure>] = [:]
        for index in 0..<50 {
            client.send(Request(.get, server.url + "/r/\(index)")) { results[index] = $0 }
        }
        #expect(client.activeTransferCount == 50)
        try pump(loop, timeout: .seconds(20)) { results.count == 50 }
        #expect(results.count == 50)
        for index in 0..<50 {
            #expect(try results[index]?.get().bodyText == "/r/\(index)")
        }
        #expect(client.activeTransferCount == 0)
        #expect(client.watchedSocketCount == 0)
        // Only the server's own fds remain in the loop: its listener and open connections.
        #expect(loop.registrationCount == 1 + server.openConnectionCount)
        // Cached connections are open but unwatched; close() closes them.
        client.close()
        #expect(client.openConnectionCount == 0)
        try pump(loop, timeout: .seconds(5)) { server.openConnectionCount == 0 }
        #expect(loop.registrationCount == 1)
    }

    @Test func connectionsAreReusedBetweenRequests() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200, body: [1]) }
        let client = try HTTPClient(loop: loop)
        for _ in 0..<3 { _ = try fetch(client, loop, Request(.get, server.url + "/")).get() }
        #expect(server.acceptedCount == 1)
        #expect(server.requests.count == 3)
        #expect(client.openConnectionCount == 1)
        #expect(client.watchedSocketCount == 0)  // idle: no wake-ups
    }

    @Test func theLoopDoesNotSpinWhileWaitingForASlowResponse() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .script([.wait(.milliseconds(600)), .send(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))])
        }
        let client = try HTTPClient(loop: loop)
        var result: Result<HTTPClient.Response, HTTPClient.Failure>?
        client.send(Request(.get, server.url + "/")) { result = $0 }
        var iterations = 0
        let deadline = loop.now + .seconds(10)
        while result == nil && loop.now < deadline {
            try loop.runOnce(timeout: nil)
            iterations += 1
        }
        #expect(try result?.get().bodyText == "ok")
        // Connect, send, accept, read request, the server's timer, the response: a handful.
        #expect(iterations < 20, "\(iterations) iterations for one slow request")
    }

    @Test func completionNeverRunsInsideSend() throws {
        let loop = try EventLoop()
        let client = try HTTPClient(loop: loop)
        var inside = true
        var calledInside = false
        var failure: HTTPClient.Failure?
        var request = Request(.get, "http://127.0.0.1:1/")
        request.headers = ["X-Bad": "a\r\nInjected: yes"]
        client.send(request) {
            calledInside = inside
            failure = $0.failure
        }
        inside = false
        try pump(loop, timeout: .seconds(5)) { failure != nil }
        #expect(!calledInside)
        #expect(failure?.kind == .invalidRequest)
    }

    @Test(arguments: ["ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", "http://"])
    func unusableURLsFailAsInvalidRequest(url: String) throws {
        let loop = try EventLoop()
        let client = try HTTPClient(loop: loop)
        let failure = try #require(try fetch(client, loop, Request(.get, url)).failure)
        #expect(failure.kind == .invalidRequest, "\(failure)")
    }

    @Test func redirectToAnotherSchemeIsRefused() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 302, headers: [("Location", "file:///etc/passwd")])
        }
        let client = try HTTPClient(loop: loop)
        let failure = try #require(try fetch(client, loop, Request(.get, server.url + "/")).failure)
        #expect(failure.kind == .invalidRequest, "\(failure)")
    }

    @Test func cancelledRequestRunsNoCallbackAndFreesItsSocket() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .silence }
        let client = try HTTPClient(loop: loop)
        var called = false
        let transfer = client.send(Request(.get, server.url + "/")) { _ in called = true }
        try pump(loop, timeout: .seconds(5)) { server.requests.count == 1 }
        transfer.cancel()
        transfer.cancel()
        #expect(!transfer.isActive)
        #expect(client.activeTransferCount == 0)
        #expect(client.watchedSocketCount == 0)
        #expect(client.openConnectionCount == 0)
        try pump(loop, timeout: .seconds(5)) { server.closedByPeerCount == 1 }
        try loop.runOnce(timeout: .milliseconds(50))
        #expect(!called)
    }

    @Test func callbacksMayStartAndCancelRequests() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { request in
            request.target == "/slow" ? .silence : .respond(status: 200, body: Array(request.target.utf8))
        }
        let client = try HTTPClient(loop: loop)
        var slowCalled = false
        let slow = client.send(Request(.get, server.url + "/slow")) { _ in slowCalled = true }
        var second: String?
        client.send(Request(.get, server.url + "/first")) { first in
            slow.cancel()
            client.send(Request(.get, server.url + "/second")) { second = try? $0.get().bodyText }
            _ = first
        }
        try pump(loop, timeout: .seconds(5)) { second != nil }
        #expect(second == "/second")
        #expect(!slowCalled)
    }

    @Test func closeStopsEverythingAndLaterRequestsFail() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .silence }
        let client = try HTTPClient(loop: loop)
        var called = false
        client.send(Request(.get, server.url + "/")) { _ in called = true }
        try pump(loop, timeout: .seconds(5)) { server.requests.count == 1 }
        #expect(client.watchedSocketCount == 1)
        client.close()
        #expect(client.watchedSocketCount == 0)
        #expect(client.openConnectionCount == 0)
        #expect(loop.registrationCount == 1 + server.openConnectionCount)
        let failure = try #require(try fetch(client, loop, Request(.get, server.url + "/")).failure)
        #expect(failure.kind == .closed)
        #expect(!called)
    }

    @Test func droppingTheClientMidTransferLeavesTheLoopClean() throws {
        let loop = try EventLoop()
        let server = try FakeHTTPServer(loop: loop) { _ in .silence }
        var client: HTTPClient? = try HTTPClient(loop: loop)
        client?.send(Request(.get, server.url + "/")) { _ in Issue.record("no callback after the client is gone") }
        try pump(loop, timeout: .seconds(5)) { server.requests.count == 1 }
        client = nil
        try pump(loop, timeout: .seconds(5)) { server.closedByPeerCount == 1 }
        #expect(loop.registrationCount == 1 + server.openConnectionCount)
        #expect(loop.pendingTimerCount == 0)
    }

    @Test func failureDescriptionHidesCredentials() throws {
        let loop = try EventLoop()
        let port = try freeTCPPort()
        let client = try HTTPClient(loop: loop)
        let failure = try #require(
            try fetch(client, loop, Request(.get, "http://user:secret@127.0.0.1:\(port)/v2")).failure
        )
        #expect(failure.url == "http://127.0.0.1:\(port)/v2")
        #expect(!failure.description.contains("secret"))
        #expect(HTTPClient.redact("https://a:b@host:8080/p?q=x@y") == "https://host:8080/p?q=x@y")
        #expect(HTTPClient.redact("http://host/p@x") == "http://host/p@x")
    }
}
