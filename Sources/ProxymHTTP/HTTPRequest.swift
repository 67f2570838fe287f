/// One complete request, as ``HTTPRequestParser`` yields it.
///
/// The body is the payload with any chunked framing removed; `headers` are the header section as
/// sent (including `Content-Length` or `Transfer-Encoding`), and `trailers` are the fields after a
/// chunked body (kept apart, as RFC 9110 section 6.5.1 asks).
public struct HTTPRequest: Sendable, Hashable {
    public var method: HTTPMethod
    /// The request target exactly as sent: `/v2/events?x=1`, `http://host/p`, `*` or `host:443`.
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var trailers: HTTPHeaders

    public init(
        method: HTTPMethod,
        target: String,
        version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        trailers: HTTPHeaders = [:]
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.trailers = trailers
    }

    /// The path of the target, still percent-encoded: the part before `?`. For an absolute target
    /// (`http://host:8080/cb?x`) the path after the authority (`/cb`, or `/` if there is none); for
    /// `*` and an authority (`CONNECT`) target, the target itself.
    public var path: Substring {
        let beforeQuery = target[..<(target.firstIndex(of: "?") ?? target.endIndex)]
        guard let schemeEnd = beforeQuery.firstRange(of: "://"), isHTTPScheme(beforeQuery[..<schemeEnd.lowerBound])
        else {
            return beforeQuery
        }
        let afterAuthority = beforeQuery[schemeEnd.upperBound...]
        guard let slash = afterAuthority.firstIndex(of: "/") else { return "/" }
        return afterAuthority[slash...]
    }

    /// The query, still percent-encoded: everything after the first `?`, or nil when there is none.
    public var query: Substring? {
        guard let mark = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: mark)...]
    }

    /// Whether the connection stays open after the answer (RFC 9112 section 9.3): `Connection:
    /// close` closes; otherwise HTTP/1.1 and later stay open, and HTTP/1.0 stays open only with
    /// `Connection: keep-alive`.
    public var keepAlive: Bool {
        if headers.containsToken("close", in: "Connection") { return false }
        if version >= .http1_1 { return true }
        return headers.containsToken("keep-alive", in: "Connection")
    }

    private func isHTTPScheme(_ scheme: Substring) -> Bool {
        ASCII.equalsIgnoringCase(scheme.utf8, "http".utf8) || ASCII.equalsIgnoringCase(scheme.utf8, "https".utf8)
    }
}

extension HTTPRequest {
    /// The request as bytes a client would send: the request line, `headers` without any
    /// `Content-Length` and `Transfer-Encoding` fields, a `Content-Length` when the body is not
    /// empty, the empty line, the body. Trailers are not sent.
    ///
    /// For test clients (the fake Marathon posting callbacks) and the fuzz harness: parsing the
    /// result gives back this request with the framing fields normalised.
    ///
    /// - Precondition: `target` is non-empty visible ASCII without `#`; header names are tokens and
    ///   values hold no control characters other than HTAB.
    public func serialized() -> [UInt8] {
        precondition(!target.isEmpty && target.utf8.allSatisfy(ASCII.isTargetChar), "invalid request target")
        var out: [UInt8] = []
        out.reserveCapacity(64 + target.utf8.count + headers.count * 32 + body.count)
        out.append(contentsOf: method.rawValue.utf8)
        out.append(ASCII.space)
        out.append(contentsOf: target.utf8)
        out.append(ASCII.space)
        out.append(contentsOf: version.description.utf8)
        out.appendLineEnd()
        for field in headers where !field.hasName("Content-Length") && !field.hasName("Transfer-Encoding") {
            precondition(HTTPRequest.isValid(field), "invalid header field")
            out.appendField(name: field.name, value: field.value)
        }
        if !body.isEmpty {
            out.appendField(name: "Content-Length", value: String(body.count))
        }
        out.appendLineEnd()
        out.append(contentsOf: body)
        return out
    }

    static func isValid(_ field: HTTPHeaders.Field) -> Bool {
        !field.name.isEmpty && field.name.utf8.allSatisfy(ASCII.isTokenChar)
            && field.value.utf8.allSatisfy(ASCII.isFieldValueChar)
    }
}

extension [UInt8] {
    mutating func appendLineEnd() {
        append(ASCII.cr)
        append(ASCII.lf)
    }

    mutating func appendField(name: String, value: String) {
        append(contentsOf: name.utf8)
        append(ASCII.colon)
        append(ASCII.space)
        append(contentsOf: value.utf8)
        appendLineEnd()
    }
}
