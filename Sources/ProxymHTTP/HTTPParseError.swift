/// Why a request was refused, and the status to answer with before closing the connection.
///
/// `message` is constant text chosen by the parser: it never contains bytes from the request, so it
/// is safe to log and to send back.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable category. A struct over a private enum, so new codes do not break callers' switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case malformed, bodyTooLarge, requestLineTooLong, headersTooLarge, unsupportedTransferEncoding
            case unsupportedVersion
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// 400: the bytes are not an HTTP/1.1 request, or its framing is ambiguous.
        public static let malformed = Code(.malformed)
        /// 413: the body (declared or received) is over ``HTTPLimits/maxBodyLength``.
        public static let bodyTooLarge = Code(.bodyTooLarge)
        /// 414: the request line is over ``HTTPLimits/maxRequestLineLength``.
        public static let requestLineTooLong = Code(.requestLineTooLong)
        /// 431: the header (or trailer) section is over its length or count limit.
        public static let headersTooLarge = Code(.headersTooLarge)
        /// 501: a transfer coding other than `chunked`.
        public static let unsupportedTransferEncoding = Code(.unsupportedTransferEncoding)
        /// 505: a major version other than 1.
        public static let unsupportedVersion = Code(.unsupportedVersion)

        /// The status to answer with.
        public var status: HTTPStatus {
            switch base {
            case .malformed: .badRequest
            case .bodyTooLarge: .contentTooLarge
            case .requestLineTooLong: .uriTooLong
            case .headersTooLarge: .requestHeaderFieldsTooLarge
            case .unsupportedTransferEncoding: .notImplemented
            case .unsupportedVersion: .httpVersionNotSupported
            }
        }

        public var description: String {
            switch base {
            case .malformed: "malformed"
            case .bodyTooLarge: "bodyTooLarge"
            case .requestLineTooLong: "requestLineTooLong"
            case .headersTooLarge: "headersTooLarge"
            case .unsupportedTransferEncoding: "unsupportedTransferEncoding"
            case .unsupportedVersion: "unsupportedVersion"
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The status to answer with; the connection must be closed after the answer.
    public var status: HTTPStatus { code.status }

    /// `400 Bad Request: whitespace between a field name and its colon`
    public var description: String { "\(status): \(message)" }

    static func malformed(_ message: String) -> HTTPParseError { HTTPParseError(.malformed, message) }
}
