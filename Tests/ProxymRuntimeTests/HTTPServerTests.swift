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
    func server(_ limits: HTTPServer.Limits = .default, seen: (() -> Void)? = nil) throws -> HTTPServer {
        try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, limits: limits, logger: logger) { request in
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
        var limits = HTTPServer.Limits()
        limits.request = HTTPLimits(
            maxRequestLineLength: 64, maxHeaderSectionLength: 128, maxHeaderCount: 4, maxBodyLength: 16)
        var handled = 0
        let server = try server(limits) { handled += 1 }
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
        var limits = HTTPServer.Limits()
        limits.requestTimeout = .milliseconds(400)
        let server = try server(limits)
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
        var limits = HTTPServer.Limits()
        limits.requestTimeout = .milliseconds(600)
        let server = try server(limits)
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
        var limits = HTTPServer.Limits()
        limits.idleTimeout = .milliseconds(300)
        let server = try server(limits)
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

    /// At the cap the newcomer is served and the connection that has gone longest without a
    /// complete request is closed: silent connections cannot lock a real client out.
    @Test func atTheCapTheOldestIdleOrIncompleteConnectionMakesRoom() throws {
        var limits = HTTPServer.Limits()
        limits.maxConnections = 3
        let server = try server(limits)
        // `busy` completes a request after the silent ones connected: it is not the oldest.
        let silent1 = try RawClient(port: server.port)
        try pump(loop, timeout: .seconds(2)) { server.connectionCount == 1 }
        let silent2 = try RawClient(port: server.port)
        let busy = try RawClient(port: server.port)
        try pump(loop, timeout: .seconds(2)) { server.connectionCount == 3 }
        try busy.send("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try pumpUntil(busy) { busy.statuses == [200] })
        try silent2.send("POST /slow HTTP/1.1\r\n")  // incomplete
        _ = try pumpUntil(silent2, timeout: .milliseconds(50)) { false }

        let newcomer = try RawClient(port: server.port)
        try newcomer.send("GET /new HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try pumpUntil(newcomer) { newcomer.statuses == [200] }, "\(newcomer.text)")
        #expect(try pumpUntil(silent1) { silent1.closed }, "the oldest silent connection was closed")
        #expect(silent1.received.isEmpty, "closed without an answer: \(silent1.text)")
        silent2.poll()
        #expect(!silent2.closed)
        #expect(server.counters.evicted == 1)
        // A second newcomer evicts the incomplete one, not the connection that made progress.
        let second = try RawClient(port: server.port)
        try second.send("GET /new2 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try pumpUntil(second) { second.statuses == [200] })
        #expect(try pumpUntil(silent2) { silent2.closed })
        busy.poll()
        #expect(!busy.closed)
        try busy.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try pumpUntil(busy) { busy.statuses == [200, 200] })
        #expect(server.counters.evicted == 2)
    }

    /// A connection that sends nothing gets the request timeout from its start, not the idle
    /// timeout of a keep-alive connection.
    @Test func aSilentConnectionIsClosedAfterTheRequestTimeout() throws {
        var limits = HTTPServer.Limits()
        limits.requestTimeout = .milliseconds(300)
        limits.idleTimeout = .seconds(30)
        let server = try server(limits)
        let started = loop.now
        let client = try RawClient(port: server.port)
        #expect(try pumpUntil(client) { client.closed })
        let elapsed = loop.now - started
        #expect(elapsed >= .milliseconds(290) && elapsed < .milliseconds(1500), "closed after \(elapsed)")
        #expect(client.received.isEmpty)
        #expect(server.counters.timedOut == 1)
    }

    /// Pipelining without reading the answers: once the unsent answers pass the limit the
    /// connection is not read any more, so what it holds stays bounded, others are served, and a
    /// client that never reads is closed after the request timeout.
    @Test func aClientThatDoesNotReadIsNotReadEither() throws {
        var limits = HTTPServer.Limits()
        limits.maxOutputBytes = 4 << 10
        limits.readChunkBytes = 2 << 10
        limits.requestTimeout = .milliseconds(800)
        var handled = 0
        let server = try server(limits) { handled += 1 }
        let hog = try RawClient(port: server.port)
        let request = Array("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}".utf8)
        let batch = Array([[UInt8]](repeating: request, count: 256).joined())
        var sentBytes = 0
        var peakBuffered = 0
        let started = loop.now
        // Send as fast as the kernel takes it, never reading, until the server gives up on it
        // (at most 10 s); meanwhile another client is served.
        var other: RawClient?
        var closedByServer = false
        while loop.now - started < .seconds(10), !closedByServer {
            do {
                if case .ready(let count) = try Socket.send(hog.socket.rawValue, batch) { sentBytes += count }
            } catch {
                closedByServer = true  // reset: the server closed it
            }
            try loop.runOnce(timeout: .milliseconds(1))
            peakBuffered = max(peakBuffered, server.bufferedByteCount)
            if other == nil, loop.now - started > .milliseconds(200) {
                other = try RawClient(port: server.port)
                try other?.send("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            }
            other?.poll()
            if server.connectionCount == 0 { closedByServer = true }
        }
        #expect(closedByServer, "a client that never reads is closed (sent \(sentBytes) bytes)")
        #expect(server.counters.timedOut >= 1)
        #expect(handled < sentBytes / request.count, "it stopped answering a client that does not read")
        let perConnection = limits.request.maxRequestLineLength + limits.request.maxHeaderSectionLength
            + limits.request.maxBodyLength + limits.readChunkBytes + 2 * limits.maxOutputBytes
        #expect(peakBuffered <= perConnection + 1024, "held \(peakBuffered) bytes")
        let served = try #require(other)
        #expect(try pumpUntil(served) { served.closed })
        #expect(served.statuses == [200], "another client is served meanwhile")
    }

    /// A client that reads slowly gets every answer, in order, and is read again as it catches up.
    @Test func aSlowReaderGetsEveryAnswerInOrder() throws {
        var limits = HTTPServer.Limits()
        limits.maxOutputBytes = 1 << 10
        limits.readChunkBytes = 1 << 10
        let server = try server(limits)
        let client = try RawClient(port: server.port)
        let count = 400
        var text = ""
        for index in 0..<count { text += "GET /\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }
        text += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        try client.send(text)
        #expect(try pumpUntil(client, timeout: .seconds(10)) { client.closed })
        #expect(client.statuses.count == count + 1, "\(client.statuses.count) answers")
        #expect(client.text.hasSuffix("GET /last 0\n"))
        var position = client.text.startIndex
        for index in [0, 1, 199, 399] {
            let found = try #require(client.text[position...].firstRange(of: "GET /\(index) 0\n"), "answer \(index) missing or out of order")
            position = found.upperBound
        }
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
