import Logging
import ProxymCore
import ProxymHTTP
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// A non-blocking client socket for stepping a server on the same loop (a blocking client on the
/// test's thread would wait for a loop nobody runs).
final class RawClient {
    let socket: OwnedFD
    private(set) var received: [UInt8] = []
    private(set) var closed = false

    init(port: UInt16) throws {
        socket = try Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .seconds(2), nonBlocking: true)
    }

    func send(_ bytes: [UInt8]) throws { try Socket.sendAll(socket.rawValue, bytes) }
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads what has arrived (without waiting).
    func poll() {
        while !closed {
            switch try? socket.read(maxBytes: 64 * 1024) {
            case .ready(let chunk)? where chunk.isEmpty: closed = true
            case .ready(let chunk)?: received += chunk
            case .wouldBlock?: return
            case nil: closed = true  // reset
            }
        }
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Status codes of the complete responses received so far, in order.
    var statuses: [Int] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }
}

extension String {
    fileprivate func components(separatedBy separator: String) -> [String] {
        split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HTTPServerTests {
    let loop: EventLoop
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init() throws { loop = try EventLoop() }

    /// Echoes the method and path; counts requests.
    func server(_ options: HTTPServer.Options = HTTPServer.Options(), seen: (() -> Void)? = nil) throws -> HTTPServer {
        try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, options: options, logger: logger) { request in
            seen?()
            return HTTPResponse(status: .ok, text: "\(request.method) \(request.path) \(request.body.count)\n")
        }
    }

    func pumpUntil(_ client: RawClient, timeout: Duration = .seconds(5), _ condition: () -> Bool) throws -> Bool {
        try pump(loop, timeout: timeout) {
            client.poll()
            return condition()
        }
    }

    @Test(arguments: [
        // (request, status): the request line, the header section, the body over their limits.
        ("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 200))\r\n\r\n", 431),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431),
        ("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n", 413),
        ("POST /callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n", 413),
        ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\r\n\r\n", 400),
    ])
    func limitsAndMalformedRequestsGetTheirStatusAndClose(request: String, status: Int) throws {
        var options = HTTPServer.Options()
        options.limits = HTTPLimits(
            maxRequestLineLength: 64, maxHeaderSectionLength: 128, maxHeaderCount: 4, maxBodyLength: 16)
        var handled = 0
        let server = try server(options) { handled += 1 }
        let client = try RawClient(port: server.port)
        try client.send(request)
        #expect(try pumpUntil(client) { client.closed }, "not closed; got \(client.text)")
        #expect(client.statuses == [status], "\(client.text)")
        #expect(client.text.contains("Connection: close"))
        #expect(handled == 0)
        try pump(loop, timeout: .seconds(2)) { server.connectionCount == 0 }
        #expect(server.connectionCount == 0)
    }

    /// A client that starts a request and trickles the rest gets 408 once the request timeout has
    /// passed since its first byte, whatever it sends meanwhile.
    @Test func aSlowClientGets408WithinTheRequestTimeout() throws {
        var options = HTTPServer.Options()
        options.requestTimeout = .milliseconds(400)
        let server = try server(options)
        let client = try RawClient(port: server.port)
        let started = loop.now
        try client.send("POST /callback HTTP/1.1\r\n")
        for piece in ["Host: x\r\n", "Content-Length: 5\r\n", "X-A: 1\r\n"] {
            _ = try pumpUntil(client, timeout: .milliseconds(100)) { false }
            if !client.closed { try client.send(piece) }
        }
        #expect(try pumpUntil(client) { client.closed })
        let elapsed = loop.now - started
        #expect(client.statuses == [408], "\(client.text)")
        #expect(elapsed >= .milliseconds(390) && elapsed < .milliseconds(1500), "408 after \(elapsed)")
    }

    /// Keep-alive: a second request is timed from its own first byte, not from the first request's.
    @Test func eachPipelinedRequestIsTimedFromItsOwnFirstByte() throws {
        var options = HTTPServer.Options()
        options.requestTimeout = .milliseconds(600)
        let server = try server(options)
        let client = try RawClient(port: server.port)
        try client.send("GET /a HTTP/1.1\r\nHost: x\r\n")
        _ = try pumpUntil(client, timeout: .milliseconds(400)) { false }
        // The rest of the first request, and the start of a second one.
        try client.send("\r\nGET /b HTTP/1.1\r\n")
        let secondStarted = loop.now
        #expect(try pumpUntil(client) { client.statuses.count == 1 })
        // 400 ms later the first request's deadline has passed, the second's has not.
        _ = try pumpUntil(client, timeout: .milliseconds(400)) { client.closed }
        #expect(!client.closed, "closed \(loop.now - secondStarted) after the second request began: \(client.text)")
        #expect(client.statuses == [200], "\(client.text)")
        #expect(try pumpUntil(client) { client.closed })
        #expect(client.statuses == [200, 408], "\(client.text)")
        let elapsed = loop.now - secondStarted
        #expect(elapsed >= .milliseconds(590) && elapsed < .milliseconds(1500), "408 after \(elapsed)")
    }

    @Test func anIdleKeepAliveConnectionIsClosedQuietly() throws {
        var options = HTTPServer.Options()
        options.idleTimeout = .milliseconds(300)
        let server = try server(options)
        let client = try RawClient(port: server.port)
        try client.send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try pumpUntil(client) { client.statuses == [200] })
        #expect(client.text.contains("Connection: keep-alive"))
        let answered = loop.now
        #expect(try pumpUntil(client) { client.closed })
        let idle = loop.now - answered
        #expect(idle >= .milliseconds(290) && idle < .milliseconds(1500), "closed after \(idle)")
        #expect(client.statuses == [200], "nothing is sent to an idle connection: \(client.text)")
        #expect(server.connectionCount == 0)
    }

    @Test func connectionsOverTheCapGet503() throws {
        var options = HTTPServer.Options()
        options.maxConnections = 2
        let server = try server(options)
        let first = try RawClient(port: server.port)
        let second = try RawClient(port: server.port)
        try pump(loop, timeout: .seconds(2)) { server.connectionCount == 2 }
        #expect(server.connectionCount == 2)
        let third = try RawClient(port: server.port)
        #expect(try pumpUntil(third) { third.closed })
        #expect(third.statuses == [503], "\(third.text)")
        #expect(server.connectionCount == 2)
        // The accepted ones still work.
        try first.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        try second.send("GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(
            try pumpUntil(second) {
                first.poll()
                return second.closed && first.statuses == [200]
            })
        #expect(second.statuses == [200])
        // A slot is free again.
        let fourth = try RawClient(port: server.port)
        try fourth.send("GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try pumpUntil(fourth) { fourth.closed })
        #expect(fourth.statuses == [200], "\(fourth.text)")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        try client.send(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                + "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
                + "HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try pumpUntil(client) { client.closed })
        #expect(client.statuses == [200, 200, 200, 200, 200], "\(client.text)")
        let bodies = ["GET /a 0\n", "POST /b 3\n", "POST /c 2\n", "GET /e 0\n"]
        var position = client.text.startIndex
        for body in bodies {
            let found = try #require(client.text[position...].firstRange(of: body), "\(body) missing or out of order: \(client.text)")
            position = found.upperBound
        }
        #expect(!client.text.contains("HEAD /d 0\n"), "a HEAD answer has no body")
    }

    @Test func aRequestSplitIntoSingleBytesIsParsedWhole() throws {
        var count = 0
        let server = try server { count += 1 }
        let client = try RawClient(port: server.port)
        let request = Array(
            "POST /callback?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"eventType\":\"api_post_ev\"}"
                .utf8)
        for byte in request {
            try client.send([byte])
            try loop.runOnce(timeout: .milliseconds(1))
            client.poll()
        }
        #expect(try pumpUntil(client) { client.statuses == [200] })
        #expect(client.text.hasSuffix("POST /callback 27\n"), "\(client.text)")
        #expect(count == 1)
    }

    /// A connection closed after its answer leaves nothing behind in the loop.
    @Test func aClosedConnectionLeavesNoTimerBehind() throws {
        let server = try server()
        let registrations = loop.registrationCount
        let client = try RawClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try pumpUntil(client) { client.closed })
        try pump(loop, timeout: .seconds(1)) { server.connectionCount == 0 }
        #expect(server.connectionCount == 0)
        #expect(loop.registrationCount == registrations)
        #expect(loop.pendingTimerCount == 0, "a timer of the closed connection is still scheduled")
    }
}
