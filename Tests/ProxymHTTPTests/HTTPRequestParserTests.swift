import ProxymHTTP
import Testing

/// A request stream and the requests it must give, written with `\n` line ends; each case runs with
/// bare LF and with CRLF line ends.
struct ValidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: [UInt8]
    let expected: [HTTPRequest]

    init(_ name: String, _ text: String, _ expected: HTTPRequest...) {
        self.init(name, Array(text.utf8), expected)
    }

    init(_ name: String, _ text: [UInt8], _ expected: [HTTPRequest]) {
        self.name = name
        self.text = text
        self.expected = expected
    }

    var testDescription: String { name }

    /// `\n` as written, and every `\n` turned into `\r\n` (request bodies in the table hold no `\n`).
    var inputs: [(lineEnds: String, bytes: [UInt8])] {
        [("LF", text), ("CRLF", text.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] })]
    }
}

/// A request stream that must be refused with `status`.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: HTTPStatus
    let limits: HTTPLimits

    init(_ name: String, _ text: String, _ status: HTTPStatus, limits: HTTPLimits = .default) {
        self.init(name, Array(text.utf8), status, limits: limits)
    }

    init(_ name: String, _ bytes: [UInt8], _ status: HTTPStatus, limits: HTTPLimits = .default) {
        self.name = name
        self.bytes = bytes
        self.status = status
        self.limits = limits
    }

    var testDescription: String { name }
}

let callbackJSON =
    #"{"remoteAddress":"10.0.0.7","eventType":"api_post_event","timestamp":"2017-02-18T19:12:00.102Z"}"#

let validCases: [ValidCase] = [
    ValidCase(
        "GET with two fields",
        "GET /v2/info HTTP/1.1\nHost: marathon.mesos:8080\nAccept: application/json\n\n",
        HTTPRequest(
            method: .get,
            target: "/v2/info",
            headers: ["Host": "marathon.mesos:8080", "Accept": "application/json"]
        )
    ),
    ValidCase(
        "Marathon callback POST with Content-Length",
        "POST /marathon-events HTTP/1.1\nHost: 10.0.0.5:8000\nContent-Type: application/json; charset=UTF-8\n"
            + "Content-Length: \(callbackJSON.utf8.count)\n\n\(callbackJSON)",
        HTTPRequest(
            method: .post,
            target: "/marathon-events",
            headers: [
                "Host": "10.0.0.5:8000", "Content-Type": "application/json; charset=UTF-8",
                "Content-Length": "\(callbackJSON.utf8.count)",
            ],
            body: Array(callbackJSON.utf8)
        )
    ),
    ValidCase(
        "chunked body with extensions and trailers",
        "POST /cb HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n5;name=value\nhello\n6 ; a=\"quoted;x\" ; b\n world\n"
            + "0;last\nX-Checksum: abc\nX-Other:  1 \n\n",
        HTTPRequest(
            method: .post,
            target: "/cb",
            headers: ["Host": "h", "Transfer-Encoding": "chunked"],
            body: Array("hello world".utf8),
            trailers: ["X-Checksum": "abc", "X-Other": "1"]
        )
    ),
    ValidCase(
        "chunk sizes in either case, with leading zeros",
        "POST /cb HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n000A\n0123456789\na\nabcdefghij\nF\nABCDEFGHIJKLMNO\n0\n\n",
        HTTPRequest(
            method: .post,
            target: "/cb",
            headers: ["Host": "h", "Transfer-Encoding": "chunked"],
            body: Array("0123456789abcdefghijABCDEFGHIJKLMNO".utf8)
        )
    ),
    ValidCase(
        "chunked empty body",
        "POST /cb HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n0\n\n",
        HTTPRequest(method: .post, target: "/cb", headers: ["Host": "h", "Transfer-Encoding": "chunked"])
    ),
    ValidCase(
        "transfer coding in any case, empty list elements ignored",
        "POST /cb HTTP/1.1\nHost: h\nTransfer-Encoding: , Chunked ,\n\n1\nx\n0\n\n",
        HTTPRequest(
            method: .post,
            target: "/cb",
            headers: ["Host": "h", "Transfer-Encoding": ", Chunked ,"],
            body: [UInt8(ascii: "x")]
        )
    ),
    ValidCase(
        "HTTP/1.0 needs no Host",
        "GET / HTTP/1.0\n\n",
        HTTPRequest(method: .get, target: "/", version: .http1_0)
    ),
    ValidCase(
        "empty lines before the request line are skipped",
        "\n\nGET / HTTP/1.1\nHost: h\n\n",
        HTTPRequest(method: .get, target: "/", headers: ["Host": "h"])
    ),
    ValidCase(
        "repeated fields kept apart and in order",
        "GET / HTTP/1.1\nHost: h\nX-A: 1\nx-a: 2\nAccept: */*\nX-A: 3\n\n",
        HTTPRequest(
            method: .get,
            target: "/",
            headers: ["Host": "h", "X-A": "1", "x-a": "2", "Accept": "*/*", "X-A": "3"]
        )
    ),
    ValidCase(
        "optional whitespace trimmed, empty values kept",
        "GET / HTTP/1.1\nHost:h\nX-Padded: \t value with  inner\tspace \t\nX-Empty:\nX-Blank:   \n\n",
        HTTPRequest(
            method: .get,
            target: "/",
            headers: ["Host": "h", "X-Padded": "value with  inner\tspace", "X-Empty": "", "X-Blank": ""]
        )
    ),
    ValidCase(
        "obs-text values decoded as UTF-8, invalid bytes replaced",
        Array("GET / HTTP/1.1\nHost: h\nX-Name: caf\u{e9}\nX-Raw: a".utf8) + [0xFF, 0x80] + Array("b\n\n".utf8),
        [
            HTTPRequest(
                method: .get,
                target: "/",
                headers: ["Host": "h", "X-Name": "caf\u{e9}", "X-Raw": "a\u{FFFD}\u{FFFD}b"]
            )
        ]
    ),
    ValidCase(
        "absolute-form target",
        "POST http://proxym.example:8000/cb?x=1 HTTP/1.1\nHost: proxym.example:8000\nContent-Length: 0\n\n",
        HTTPRequest(
            method: .post,
            target: "http://proxym.example:8000/cb?x=1",
            headers: ["Host": "proxym.example:8000", "Content-Length": "0"]
        )
    ),
    ValidCase(
        "asterisk-form and authority-form targets",
        "OPTIONS * HTTP/1.1\nHost: h\n\nCONNECT h:443 HTTP/1.1\nHost: h:443\n\n",
        HTTPRequest(method: .options, target: "*", headers: ["Host": "h"]),
        HTTPRequest(method: .connect, target: "h:443", headers: ["Host": "h:443"])
    ),
    ValidCase(
        "equal Content-Length values are one length",
        "POST / HTTP/1.1\nHost: h\nContent-Length: 5, 5\nContent-Length: 005\n\nhello",
        HTTPRequest(
            method: .post,
            target: "/",
            headers: ["Host": "h", "Content-Length": "5, 5", "Content-Length": "005"],
            body: Array("hello".utf8)
        )
    ),
    ValidCase(
        "a later HTTP/1 minor version is served as HTTP/1.1",
        "GET / HTTP/1.7\nHost: h\n\n",
        HTTPRequest(method: .get, target: "/", version: HTTPVersion(major: 1, minor: 7), headers: ["Host": "h"])
    ),
    ValidCase(
        "SSE subscription request with a query",
        "GET /v2/events?event_type=status_update_event&event_type=api_post_event HTTP/1.1\nHost: m\n"
            + "Accept: text/event-stream\n\n",
        HTTPRequest(
            method: .get,
            target: "/v2/events?event_type=status_update_event&event_type=api_post_event",
            headers: ["Host": "m", "Accept": "text/event-stream"]
        )
    ),
    ValidCase(
        "methods are case-sensitive tokens, any token parses",
        "delete / HTTP/1.1\nHost: h\n\nM-SEARCH * HTTP/1.1\nHost: h\n\n",
        HTTPRequest(method: "delete", target: "/", headers: ["Host": "h"]),
        HTTPRequest(method: "M-SEARCH", target: "*", headers: ["Host": "h"])
    ),
    ValidCase(
        "a body may hold any bytes",
        Array("PUT /x HTTP/1.1\nHost: h\nContent-Length: 6\n\n".utf8) + [0x0D, 0x00, 0xFF, 0x3A, 0x20, 0x7F],
        [
            HTTPRequest(
                method: .put,
                target: "/x",
                headers: ["Host": "h", "Content-Length": "6"],
                body: [0x0D, 0x00, 0xFF, 0x3A, 0x20, 0x7F]
            )
        ]
    ),
    ValidCase(
        "Expect: 100-continue does not change the request",
        "POST /cb HTTP/1.1\nHost: h\nExpect: 100-continue\nContent-Length: 2\n\n{}",
        HTTPRequest(
            method: .post,
            target: "/cb",
            headers: ["Host": "h", "Expect": "100-continue", "Content-Length": "2"],
            body: Array("{}".utf8)
        )
    ),
    ValidCase(
        "pipelined: three requests, then one without its end",
        "GET /a HTTP/1.1\nHost: h\n\nPOST /b HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc"
            + "POST /c HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n2\nde\n0\n\nGET /d HTTP/1.1\nHo",
        HTTPRequest(method: .get, target: "/a", headers: ["Host": "h"]),
        HTTPRequest(
            method: .post,
            target: "/b",
            headers: ["Host": "h", "Content-Length": "3"],
            body: Array("abc".utf8)
        ),
        HTTPRequest(
            method: .post,
            target: "/c",
            headers: ["Host": "h", "Transfer-Encoding": "chunked"],
            body: Array("de".utf8)
        )
    ),
]

private let small = HTTPLimits(
    maxRequestLineLength: 32,
    maxHeaderSectionLength: 48,
    maxHeaderCount: 3,
    maxBodyLength: 10
)

let invalidCases: [InvalidCase] = [
    // Request line
    InvalidCase("request line without spaces", "GET\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("request line without version", "GET /\r\n\r\n", .badRequest),
    InvalidCase("two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("leading space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("method with a separator", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("fragment in the target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("control character in the target", "GET /a\u{1}b HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("non-ASCII target", "GET /caf\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("bare CR is not a line end", "GET / HTTP/1.1\rHost: h\r\r\n", .badRequest),
    InvalidCase("lowercase protocol name", "GET / http/1.1\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("two-digit minor version", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("version without a dot", "GET / HTTP/11\r\nHost: h\r\n\r\n", .badRequest),
    InvalidCase("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", .httpVersionNotSupported),
    InvalidCase("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", .httpVersionNotSupported),
    InvalidCase("HTTP/3.0", "GET / HTTP/3.0\r\n\r\n", .httpVersionNotSupported),
    InvalidCase("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .httpVersionNotSupported),
    // Header fields
    InvalidCase("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", .badRequest),
    InvalidCase("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", .badRequest),
    InvalidCase("two Host fields on HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", .badRequest),
    InvalidCase("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", .badRequest),
    InvalidCase("obs-fold with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n", .badRequest),
    InvalidCase("whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", .badRequest),
    InvalidCase("space before the colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", .badRequest),
    InvalidCase("field without a colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", .badRequest),
    InvalidCase("empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", .badRequest),
    InvalidCase("NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{0}b\r\n\r\n", .badRequest),
    InvalidCase("bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", .badRequest),
    InvalidCase("DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{7F}\r\n\r\n", .badRequest),
    InvalidCase("non-ASCII field name", "GET / HTTP/1.1\r\nHost: h\r\nX-\u{e9}: a\r\n\r\n", .badRequest),
    // Framing
    InvalidCase(
        "Content-Length and Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        .badRequest
    ),
    InvalidCase(
        "conflicting Content-Length fields",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        .badRequest
    ),
    InvalidCase(
        "conflicting Content-Length list",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello!",
        .badRequest
    ),
    InvalidCase("empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", .badRequest),
    InvalidCase("negative Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .badRequest),
    InvalidCase("signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", .badRequest),
    InvalidCase("hex Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\nhello", .badRequest),
    InvalidCase(
        "Content-Length with a space",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
        .badRequest
    ),
    InvalidCase(
        "Content-Length over the limit",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n",
        .contentTooLarge
    ),
    InvalidCase(
        "Content-Length beyond any integer",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
        .contentTooLarge
    ),
    InvalidCase(
        "unsupported transfer coding",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        .notImplemented
    ),
    InvalidCase(
        "gzip then chunked",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        .notImplemented
    ),
    InvalidCase(
        "coding in a second field",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
        .notImplemented
    ),
    InvalidCase(
        "chunked twice",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        .badRequest
    ),
    InvalidCase("empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", .badRequest),
    InvalidCase(
        "Transfer-Encoding on HTTP/1.0",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        .badRequest
    ),
    // Chunks
    InvalidCase(
        "chunk size not hexadecimal",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        .badRequest
    ),
    InvalidCase(
        "empty chunk size",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk size with a sign",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk size with 0x",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n",
        .badRequest
    ),
    InvalidCase(
        "space before the chunk size",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk size followed by junk",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n",
        .badRequest
    ),
    InvalidCase(
        "control character in a chunk extension",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a\u{0}\r\nhello\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk longer than its size",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk data without its line end",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n",
        .badRequest
    ),
    InvalidCase(
        "chunk size line too long",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "x", count: 1100),
        .badRequest
    ),
    InvalidCase(
        "chunked body over the limit",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n",
        .contentTooLarge
    ),
    InvalidCase(
        "chunk size beyond any integer",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n",
        .contentTooLarge
    ),
    InvalidCase(
        "obs-fold in trailers",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n 2\r\n\r\n",
        .badRequest
    ),
    // Limits (small ones, so every boundary is cheap to split at every offset)
    InvalidCase("request line over the limit", "GET /0123456789012345678 HTTP/1.1\r\n", .uriTooLong, limits: small),
    InvalidCase(
        "request line over the limit, never ended",
        "GET /" + String(repeating: "a", count: 40),
        .uriTooLong,
        limits: small
    ),
    InvalidCase(
        "header section over the limit",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: 0123456789012345678901234567890123456789\r\n\r\n",
        .requestHeaderFieldsTooLarge,
        limits: small
    ),
    InvalidCase(
        "header section over the limit, never ended",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + String(repeating: "a", count: 60),
        .requestHeaderFieldsTooLarge,
        limits: small
    ),
    InvalidCase(
        "too many header fields",
        "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        .requestHeaderFieldsTooLarge,
        limits: small
    ),
    InvalidCase(
        "too many trailer fields",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
        .requestHeaderFieldsTooLarge,
        limits: small
    ),
    InvalidCase(
        "Content-Length over a small limit",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
        .contentTooLarge,
        limits: small
    ),
    InvalidCase(
        "chunks adding up over a small limit",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n",
        .contentTooLarge,
        limits: small
    ),
    // After good requests
    InvalidCase(
        "an error after a pipelined request",
        "GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
        .badRequest
    ),
]

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    @Test("valid requests", arguments: validCases)
    func valid(_ testCase: ValidCase) {
        for input in testCase.inputs {
            let outcome = parseRequests(input.bytes)
            #expect(outcome.error == nil, "\(input.lineEnds)")
            #expect(outcome.requests == testCase.expected, "\(input.lineEnds)")
        }
    }

    @Test("valid requests parse the same cut anywhere and byte by byte", arguments: validCases)
    func validSplits(_ testCase: ValidCase) {
        for input in testCase.inputs {
            expectSameAtEverySplit(input.bytes, label: input.lineEnds) { parseRequests($0) }
        }
    }

    @Test("invalid requests are refused with their status", arguments: invalidCases)
    func invalid(_ testCase: InvalidCase) {
        let outcome = parseRequests(testCase.bytes, limits: testCase.limits)
        #expect(outcome.error?.status == testCase.status, "\(outcome)")
        #expect(!outcome.hasPartialRequest && outcome.bufferedByteCount == 0)
    }

    @Test("invalid requests fail the same way cut anywhere and byte by byte", arguments: invalidCases)
    func invalidSplits(_ testCase: InvalidCase) {
        expectSameAtEverySplit(testCase.bytes) { parseRequests($0, limits: testCase.limits) }
    }

    @Test("an error is final: it is thrown again and later input is dropped")
    func errorsAreSticky() throws {
        var parser = HTTPRequestParser()
        parser.feed(Array("GET / HTTP/2.0\r\n".utf8))
        let first = #expect(throws: HTTPParseError.self) { try parser.next() }
        parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        let second = #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(first == second)
        #expect(parser.error == first)
        #expect(parser.bufferedByteCount == 0)
        #expect(first?.code == .unsupportedVersion)
        #expect(first?.description == "505 HTTP Version Not Supported: only HTTP/1.x is served")
    }
}
