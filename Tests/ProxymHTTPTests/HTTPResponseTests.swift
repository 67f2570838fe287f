import ProxymHTTP
import Testing

@Suite("HTTP response writer")
struct HTTPResponseTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a 200 with a body, kept alive")
    func ok() {
        let response = HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: Array("{}".utf8))
        #expect(
            Self.text(response.serialized(keepAlive: true))
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
        )
    }

    @Test("an empty body still has Content-Length: 0, and close says so")
    func emptyClose() {
        #expect(
            Self.text(HTTPResponse(status: .notFound).serialized(keepAlive: false))
                == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    @Test(
        "reason phrases of the statuses proxym uses",
        arguments: [
            (HTTPStatus.ok, "200 OK"), (.badRequest, "400 Bad Request"), (.notFound, "404 Not Found"),
            (.methodNotAllowed, "405 Method Not Allowed"), (.requestTimeout, "408 Request Timeout"),
            (.contentTooLarge, "413 Payload Too Large"), (.uriTooLong, "414 URI Too Long"),
            (.requestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"),
            (.internalServerError, "500 Internal Server Error"), (.notImplemented, "501 Not Implemented"),
            (.serviceUnavailable, "503 Service Unavailable"),
            (.httpVersionNotSupported, "505 HTTP Version Not Supported"),
        ]
    )
    func reasonPhrases(status: HTTPStatus, line: String) {
        #expect(Self.text(HTTPResponse(status: status).serialized(keepAlive: false)).hasPrefix("HTTP/1.1 \(line)\r\n"))
        #expect(HTTPStatus(code: status.code) == status)
        #expect(HTTPStatus(code: status.code).reasonPhrase == status.reasonPhrase)
    }

    @Test("a custom status and phrase")
    func customStatus() {
        #expect(HTTPStatus(code: 299).reasonPhrase == "")
        #expect(
            Self.text(HTTPResponse(status: HTTPStatus(code: 299, reasonPhrase: "Odd")).serialized(keepAlive: true))
                .hasPrefix("HTTP/1.1 299 Odd\r\n")
        )
    }

    @Test("405 carries Allow")
    func methodNotAllowed() {
        let response = HTTPResponse.methodNotAllowed(allowing: [.post])
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "POST")
        #expect(
            Self.text(response.serialized(keepAlive: true))
                == "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 19\r\nConnection: keep-alive\r\n\r\nMethod Not Allowed\n"
        )
        #expect(HTTPResponse.methodNotAllowed(allowing: [.get, .head]).headers["allow"] == "GET, HEAD")
    }

    @Test("the writer owns the framing fields")
    func framingFieldsReplaced() {
        let response = HTTPResponse(
            status: .ok,
            headers: ["content-length": "999", "X-A": "1", "Connection": "keep-alive", "Transfer-Encoding": "chunked"],
            body: Array("abc".utf8)
        )
        #expect(
            Self.text(response.serialized(keepAlive: false))
                == "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        )
    }

    @Test("control characters in a value cannot inject a header line")
    func noInjection() {
        let response = HTTPResponse(status: .ok, headers: ["X-Echo": "a\r\nSet-Cookie: x\u{0}\u{7F}\tz"])
        #expect(
            Self.text(response.serialized(keepAlive: true))
                == "HTTP/1.1 200 OK\r\nX-Echo: a  Set-Cookie: x  \tz\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        )
    }

    @Test("an answer to HEAD has the length but not the body")
    func head() {
        let response = HTTPResponse(status: .ok, body: Array("hello".utf8))
        #expect(
            Self.text(response.serialized(keepAlive: true, omitBody: true))
                == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n"
        )
    }

    @Test("204 has neither body nor length; 100 Continue is a bare status line")
    func bodyless() {
        #expect(
            Self.text(HTTPResponse(status: .noContent, body: [1, 2]).serialized(keepAlive: true))
                == "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"
        )
        #expect(Self.text(HTTPResponse.continueInterim) == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test("a parse error becomes its status with a constant text body", arguments: invalidCases)
    func fromError(_ testCase: InvalidCase) throws {
        let error = try #require(parseRequests(testCase.bytes, limits: testCase.limits).error)
        let response = HTTPResponse(error: error)
        #expect(response.status == testCase.status)
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(Self.text(response.body) == "\(error.status.reasonPhrase): \(error.message)\n")
        // The message is ours, never the client's bytes.
        #expect(error.message.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    }

    @Test("every serialised response re-parses with the announced length and fields")
    func reparse() {
        let bodies: [[UInt8]] = [[], Array("x".utf8), Array("HTTP/1.1 200 OK\r\n\r\n".utf8), [0, 13, 10, 255]]
        for status in [HTTPStatus.ok, .badRequest, .methodNotAllowed, .serviceUnavailable] {
            for body in bodies {
                for keepAlive in [true, false] {
                    let response = HTTPResponse(
                        status: status,
                        headers: ["Server": "proxym", "X-Empty": ""],
                        body: body
                    )
                    let bytes = response.serialized(keepAlive: keepAlive)
                    let statusLine = Array("HTTP/1.1 \(status)\r\n".utf8)
                    #expect(bytes.starts(with: statusLine))
                    // Read the rest as a request's header section and body.
                    let outcome = parseRequests(Array("GET / HTTP/1.0\r\n".utf8) + bytes[statusLine.count...])
                    #expect(outcome.error == nil && !outcome.hasPartialRequest && outcome.bufferedByteCount == 0)
                    let echo = outcome.requests.first
                    #expect(echo?.body == body)
                    #expect(
                        echo?.headers == [
                            "Server": "proxym", "X-Empty": "", "Content-Length": "\(body.count)",
                            "Connection": keepAlive ? "keep-alive" : "close",
                        ]
                    )
                }
            }
        }
    }
}
