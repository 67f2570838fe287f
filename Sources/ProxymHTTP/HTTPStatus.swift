/// A response status: the three-digit code and the reason phrase written after it.
///
/// The named statics are the statuses proxym answers with; ``init(code:reasonPhrase:)`` covers the
/// rest. Equality compares the code only, so `HTTPStatus(code: 200)` equals ``ok``.
public struct HTTPStatus: Sendable, Hashable, CustomStringConvertible {
    public let code: Int
    public let reasonPhrase: String

    /// A status with the standard reason phrase for `code` (or an empty phrase for a code this type
    /// does not name) unless `reasonPhrase` is given.
    ///
    /// - Precondition: `code` is in 100...999 and `reasonPhrase` holds no control characters.
    public init(code: Int, reasonPhrase: String? = nil) {
        precondition((100...999).contains(code), "an HTTP status code has three digits")
        let phrase = reasonPhrase ?? HTTPStatus.standardPhrase(for: code) ?? ""
        precondition(
            phrase.utf8.allSatisfy { ASCII.isFieldValueChar($0) },
            "a reason phrase must not hold control characters"
        )
        self.code = code
        self.reasonPhrase = phrase
    }

    /// `200 OK`
    public var description: String { reasonPhrase.isEmpty ? "\(code)" : "\(code) \(reasonPhrase)" }

    public static func == (lhs: HTTPStatus, rhs: HTTPStatus) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// Whether this is an interim (1xx) status.
    public var isInformational: Bool { code < 200 }

    /// Statuses whose responses never carry a body nor a `Content-Length` (RFC 9110 section 8.6).
    var forbidsBody: Bool { code < 200 || code == 204 || code == 304 }

    public static let `continue` = HTTPStatus(code: 100)
    public static let ok = HTTPStatus(code: 200)
    public static let noContent = HTTPStatus(code: 204)
    public static let badRequest = HTTPStatus(code: 400)
    public static let notFound = HTTPStatus(code: 404)
    /// Send it with an `Allow` header: ``HTTPResponse/methodNotAllowed(allowing:)``.
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let contentTooLarge = HTTPStatus(code: 413)
    public static let uriTooLong = HTTPStatus(code: 414)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    /// RFC 9110 section 15 phrases (413 keeps its older, better known name).
    static func standardPhrase(for code: Int) -> String? {
        switch code {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Payload Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: nil
        }
    }
}
