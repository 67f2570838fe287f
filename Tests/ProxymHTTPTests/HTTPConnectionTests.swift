import ProxymHTTP
import Testing

/// What a server on the event loop relies on besides the requests themselves.
@Suite("HTTP request parser: connection behaviour")
struct HTTPConnectionTests {
    struct KeepAliveCase: Sendable, CustomTestStringConvertible {
        let version: String
        let connection: String?
        let keepAlive: Bool
        var testDescription: String { "\(version) Connection: \(connection ?? "(none)") -> \(keepAlive)" }
    }

    static let keepAliveCases: [KeepAliveCase] = [
        KeepAliveCase(version: "HTTP/1.1", connection: nil, keepAlive: true),
        KeepAliveCase(version: "HTTP/1.1", connection: "close", keepAlive: false),
        KeepAliveCase(version: "HTTP/1.1", connection: "Close", keepAlive: false),
        KeepAliveCase(version: "HTTP/1.1", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.1", connection: "TE, close", keepAlive: false),
        KeepAliveCase(version: "HTTP/1.1", connection: "closed", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: nil, keepAlive: false),
        KeepAliveCase(version: "HTTP/1.0", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: "Keep-Alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: "keep-alive, close", keepAlive: false),
    ]

    @Test("keep-alive follows the version and Connection", arguments: keepAliveCases)
    func keepAlive(_ testCase: KeepAliveCase) throws {
        var text = "GET / \(testCase.version)\r\nHost: h\r\n"
        if let connection = testCase.connection { text += "Connection: \(connection)\r\n" }
        text += "\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        let outcome = parseRequests(Array(text.utf8))
        let first = try #require(outcome.requests.first)
        #expect(first.keepAlive == testCase.keepAlive)
        // A request that closes the connection ends the stream: what follows is dropped.
        #expect(outcome.requests.count == (testCase.keepAlive ? 2 : 1))
        #expect(outcome.isClosed == !testCase.keepAlive)
    }

    @Test("Connection: keep-alive in a second field still counts")
    func connectionInSecondField() {
        let outcome = parseRequests(
            Array("GET / HTTP/1.0\r\nConnection: Upgrade\r\nConnection: keep-alive\r\n\r\n".utf8)
        )
        #expect(outcome.requests.first?.keepAlive == true)
    }

    /// Feeds `text` and drains every complete request, as a connection does after each read.
    static func read(_ text: String, into parser: inout HTTPRequestParser) throws -> [HTTPRequest] {
        parser.feed(Array(text.utf8))
        var requests: [HTTPRequest] = []
        while let request = try parser.next() { requests.append(request) }
        return requests
    }

    @Test("pipelined requests in one read come out one by one, in order")
    func pipelining() throws {
        var parser = HTTPRequestParser()
        let first = try Self.read(
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HT",
            into: &parser
        )
        #expect(first.map(\.target) == ["/1", "/2"])
        #expect(parser.hasPartialRequest)
        let second = try Self.read("TP/1.1\r\nHost: h\r\n\r\n", into: &parser)
        #expect(second.map(\.target) == ["/3"])
        #expect(!parser.hasPartialRequest)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("hasPartialRequest tells an idle connection from a slow client")
    func partialRequest() throws {
        var parser = HTTPRequestParser()
        #expect(!parser.hasPartialRequest)
        _ = try Self.read("\r\n", into: &parser)  // an empty line before a request is not a request yet
        #expect(!parser.hasPartialRequest)
        _ = try Self.read("P", into: &parser)
        #expect(parser.hasPartialRequest)
        let none = try Self.read("OST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab", into: &parser)
        #expect(none.isEmpty)
        #expect(parser.hasPartialRequest)
        #expect(parser.bufferedByteCount == 0)  // body bytes move into the request as they arrive
        let done = try Self.read("cd", into: &parser)
        #expect(done.map(\.body) == [Array("abcd".utf8)])
        #expect(!parser.hasPartialRequest)
    }

    @Test("feeding an UnsafeRawBufferPointer reads the same bytes")
    func rawBuffer() throws {
        var parser = HTTPRequestParser()
        let bytes = Array("GET /raw HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        bytes.withUnsafeBytes { parser.feed($0) }
        let request = try parser.next()
        #expect(request?.target == "/raw")
    }

    @Test("Expect: 100-continue asks for an interim answer once, only while the body is missing")
    func expectContinue() throws {
        var parser = HTTPRequestParser()
        let head = "POST /cb HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        #expect(try Self.read(head, into: &parser).isEmpty)
        var wanted = parser.takeContinueRequest()
        #expect(wanted)
        wanted = parser.takeContinueRequest()
        #expect(!wanted, "only once")
        #expect(try Self.read("{}", into: &parser).map(\.body) == [Array("{}".utf8)])
        wanted = parser.takeContinueRequest()
        #expect(!wanted)

        // The body came with the head: no interim answer needed.
        #expect(try Self.read(head.replacing("100-continue", with: "100-Continue") + "{}", into: &parser).count == 1)
        wanted = parser.takeContinueRequest()
        #expect(!wanted)

        // HTTP/1.0 clients do not wait for one.
        let old = "POST /cb HTTP/1.0\r\nExpect: 100-continue\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"
        #expect(try Self.read(old, into: &parser).isEmpty)
        wanted = parser.takeContinueRequest()
        #expect(!wanted)
    }

    @Test("path and query of each target form")
    func pathAndQuery() {
        let cases: [(target: String, path: String, query: String?)] = [
            ("/", "/", nil),
            ("/marathon/callback?token=a%20b&x", "/marathon/callback", "token=a%20b&x"),
            ("/a?", "/a", ""),
            ("/a?b?c", "/a", "b?c"),
            ("http://h:8000/cb?x=1", "/cb", "x=1"),
            ("HTTPS://h", "/", nil),
            ("http://h?q", "/", "q"),
            ("*", "*", nil),
            ("h:443", "h:443", nil),
        ]
        for (target, path, query) in cases {
            let request = HTTPRequest(method: .get, target: target)
            #expect(request.path == path[...], "\(target)")
            #expect(request.query.map(String.init) == query, "\(target)")
        }
    }

    @Test("header lookup ignores case and keeps every value")
    func headerLookup() {
        var headers: HTTPHeaders = ["Content-Type": "a", "X-Tag": "1", "x-tag": "2"]
        #expect(headers["content-type"] == "a")
        #expect(headers["CONTENT-TYPE"] == "a")
        #expect(headers["X-TAG"] == "1")
        #expect(headers.values(for: "x-Tag") == ["1", "2"])
        #expect(headers["Missing"] == nil)
        #expect(headers.contains("x-tag"))
        headers.replaceOrAdd(name: "X-Tag", value: "3")
        #expect(headers.fields.map(\.description) == ["Content-Type: a", "X-Tag: 3"])
        headers.remove(name: "CONTENT-type")
        #expect(headers.count == 1)
        headers.add(name: "Connection", value: "keep-alive, Upgrade")
        #expect(headers.containsToken("upgrade", in: "connection"))
        #expect(!headers.containsToken("close", in: "connection"))
    }

    @Test("a request serialises to bytes that parse back to it", arguments: validCases)
    func requestRoundTrip(_ testCase: ValidCase) {
        for request in testCase.expected {
            var expected = request
            expected.headers.remove(name: "Content-Length")
            expected.headers.remove(name: "Transfer-Encoding")
            if !request.body.isEmpty { expected.headers.add(name: "Content-Length", value: "\(request.body.count)") }
            expected.trailers = [:]
            let outcome = parseRequests(request.serialized())
            #expect(outcome.error == nil)
            #expect(outcome.requests == [expected])
        }
    }
}
