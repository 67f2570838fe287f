/// A response to serialise onto the connection.
///
/// ``serialized(keepAlive:omitBody:)`` owns the framing: it writes `Content-Length` (from the body)
/// and `Connection` itself and drops any `Content-Length`, `Connection` or `Transfer-Encoding`
/// field in ``headers``, so a response can never announce a length other than the body's.
public struct HTTPResponse: Sendable, Hashable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public init(status: HTTPStatus, headers: HTTPHeaders = [:], text: String) {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
        self.init(status: status, headers: headers, body: Array(text.utf8))
    }

    /// The answer to a request the parser refused: its status, and the parser's constant message as
    /// a short text body. Send it with `keepAlive: false` and close.
    public init(error: HTTPParseError) {
        self.init(status: error.status, text: "\(error.status.reasonPhrase): \(error.message)\n")
    }

    /// 405 with the `Allow` header RFC 9110 section 15.5.6 requires.
    public static func methodNotAllowed(allowing methods: [HTTPMethod]) -> HTTPResponse {
        HTTPResponse(
            status: .methodNotAllowed,
            headers: ["Allow": methods.map(\.rawValue).joined(separator: ", ")],
            text: "Method Not Allowed\n"
        )
    }

    /// `HTTP/1.1 100 Continue` and its empty line: the interim answer to `Expect: 100-continue`
    /// (see ``HTTPRequestParser/takeContinueRequest()``).
    public static let continueInterim: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// The response as bytes: `HTTP/1.1 <code> <reason>`, ``headers`` (less the framing fields),
    /// `Content-Length`, `Connection: keep-alive` or `Connection: close`, the empty line, the body.
    ///
    /// - Parameters:
    ///   - keepAlive: whether the server keeps the connection open afterwards; pass false after
    ///     an error, for a request whose ``HTTPRequest/keepAlive`` is false, or when shutting down.
    ///   - omitBody: for an answer to `HEAD`: the headers (and `Content-Length`) as for the full
    ///     response, but no body bytes.
    ///
    /// Statuses 1xx, 204 and 304 carry neither a body nor `Content-Length`. A header value's control
    /// characters (CR, LF, NUL...) are written as spaces, so no value can inject a header line.
    ///
    /// - Precondition: every header name is a token.
    public func serialized(keepAlive: Bool, omitBody: Bool = false) -> [UInt8] {
        let hasBody = !status.forbidsBody
        var out: [UInt8] = []
        out.reserveCapacity(96 + headers.count * 40 + (hasBody && !omitBody ? body.count : 0))
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status.code).utf8)
        out.append(ASCII.space)
        out.append(contentsOf: status.reasonPhrase.utf8)
        out.appendLineEnd()
        for field in headers
        where !field.hasName("Content-Length") && !field.hasName("Connection") && !field.hasName("Transfer-Encoding") {
            precondition(
                !field.name.isEmpty && field.name.utf8.allSatisfy(ASCII.isTokenChar),
                "a header name must be a token"
            )
            out.append(contentsOf: field.name.utf8)
            out.append(ASCII.colon)
            out.append(ASCII.space)
            for byte in field.value.utf8 {
                out.append(ASCII.isFieldValueChar(byte) ? byte : ASCII.space)
            }
            out.appendLineEnd()
        }
        if hasBody {
            out.appendField(name: "Content-Length", value: String(body.count))
        }
        out.appendField(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        out.appendLineEnd()
        if hasBody && !omitBody {
            out.append(contentsOf: body)
        }
        return out
    }
}
