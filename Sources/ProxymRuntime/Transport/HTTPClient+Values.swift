import ProxymPosix

extension HTTPClient {
    /// An HTTP method. A struct over a name, so callers need no `default:` for methods we add.
    public struct Method: Sendable, Hashable, CustomStringConvertible {
        public let name: String

        public init(_ name: String) { self.name = name }

        public static let get = Method("GET")
        public static let head = Method("HEAD")
        public static let post = Method("POST")
        public static let put = Method("PUT")
        public static let delete = Method("DELETE")

        public var description: String { name }
    }

    /// HTTP basic authentication credentials. Credentials written in the URL
    /// (`http://user:pass@host/`) work as well; these take precedence.
    public struct BasicAuth: Sendable, Hashable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// Header fields in order, names compared ASCII-case-insensitively. Request headers are
    /// checked for CR/LF/NUL (refused as `.invalidRequest`), so no value can inject a header.
    public struct Headers: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
        public struct Field: Sendable, Hashable {
            public var name: String
            public var value: String

            public init(name: String, value: String) {
                self.name = name
                self.value = value
            }
        }

        public private(set) var fields: [Field] = []

        public init() {}

        public init(_ pairs: [(String, String)]) {
            fields = pairs.map { Field(name: $0.0, value: $0.1) }
        }

        public init(dictionaryLiteral elements: (String, String)...) {
            self.init(elements)
        }

        public var count: Int { fields.count }
        public var isEmpty: Bool { fields.isEmpty }

        /// The first value for `name`, or nil.
        public subscript(name: String) -> String? {
            let wanted = name.lowercased()
            return fields.first { $0.name.lowercased() == wanted }?.value
        }

        /// Every value for `name`, in order.
        public func values(for name: String) -> [String] {
            let wanted = name.lowercased()
            return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
        }

        public mutating func append(name: String, value: String) {
            fields.append(Field(name: name, value: value))
        }

        /// Appends to the last field's value (an obsolete folded continuation line).
        mutating func continueLast(with text: String) {
            guard !fields.isEmpty else { return }
            fields[fields.count - 1].value += " " + text
        }

        public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

        public var description: String {
            "[" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
        }
    }

    /// What to send. Defaults suit a REST call to Marathon; an event stream wants `timeout: nil`
    /// and an `idleTimeout`.
    public struct Request: Sendable, Hashable {
        public var method: Method
        /// `http://` or `https://` (other schemes are refused), optionally with `user:password@`.
        public var url: String
        public var headers: Headers
        /// Sent for any method but GET/HEAD when non-empty, and always for POST/PUT.
        public var body: [UInt8]

        /// Limit for establishing each connection (TCP and TLS).
        public var connectTimeout: Duration = .seconds(5)
        /// Limit for the whole transfer, redirects included; nil = none (event streams).
        public var timeout: Duration? = .seconds(30)
        /// Fail when no byte (header or body) arrives for this long. Measured from the start, so
        /// it also bounds waiting for the first response byte. nil = no watchdog.
        public var idleTimeout: Duration? = nil

        public var basicAuth: BasicAuth? = nil
        /// A raw `Authorization` value, e.g. DC/OS's `token=<ACS token>`. Replaces an
        /// Authorization field in `headers`, and wins over `basicAuth` and URL credentials
        /// (curl then sends no header of its own).
        public var authorization: String? = nil
        /// A PEM file with the CA certificates to verify an HTTPS server against (instead of the
        /// system store).
        public var caFile: String? = nil

        public var followRedirects = true
        public var maxRedirects = 5
        /// Keep sending credentials (basic auth, `authorization`) after a redirect to another
        /// host or port, as a Marathon standby's 302 to the leader needs (CURLOPT_UNRESTRICTED_AUTH).
        public var sendCredentialsOnRedirect = true
        /// Ask for compressed bodies (gzip, deflate, br, zstd) and decode them.
        public var acceptEncoding = true
        /// `send` fails with `.bodyTooLarge` above this many (decoded) body bytes. Not used by
        /// `stream`, which never buffers the body.
        public var maxBodySize = 64 << 20

        public init(_ method: Method, _ url: String, headers: Headers = [:], body: [UInt8] = []) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    /// A complete response. Any status is a response (404 and 500 included); only transport
    /// problems are `Failure`s.
    public struct Response: Sendable, Hashable {
        public var status: Int
        /// The final response's header fields (those of a followed redirect are dropped).
        public var headers: Headers
        public var body: [UInt8]
        /// The URL that answered, after redirects.
        public var effectiveURL: String

        public init(status: Int, headers: Headers, body: [UInt8], effectiveURL: String) {
            self.status = status
            self.headers = headers
            self.body = body
            self.effectiveURL = effectiveURL
        }

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        public var isSuccess: Bool { (200..<300).contains(status) }
        public var isServerError: Bool { (500..<600).contains(status) }
    }

    /// Why a transfer produced no response (or a stream ended badly).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// A struct over a private enum, so kinds can be added without breaking switches.
        public struct Kind: Sendable, Hashable, CustomStringConvertible {
            private enum Value: String, Sendable {
                case resolve, connect, timeout, tls, protocolError, bodyTooLarge, invalidRequest, closed, other
            }

            private let value: Value
            private init(_ value: Value) { self.value = value }

            /// The host name could not be resolved.
            public static let resolve = Kind(.resolve)
            /// No TCP connection (refused, unreachable). Nothing reached the server.
            public static let connect = Kind(.connect)
            /// The total `timeout` or `idleTimeout` passed, or `connectTimeout` (then
            /// `connected` is false).
            public static let timeout = Kind(.timeout)
            /// TLS handshake or certificate verification failed, or the CA file is unusable.
            public static let tls = Kind(.tls)
            /// The server broke HTTP: nothing or garbage sent, connection cut mid-body, bad
            /// encoding, a redirect loop.
            public static let protocolError = Kind(.protocolError)
            /// The body exceeded `Request.maxBodySize`.
            public static let bodyTooLarge = Kind(.bodyTooLarge)
            /// The request could not be sent as given (bad URL or scheme, CR/LF in a header).
            public static let invalidRequest = Kind(.invalidRequest)
            /// The client was closed.
            public static let closed = Kind(.closed)
            public static let other = Kind(.other)

            public var description: String { value.rawValue }
        }

        public var kind: Kind
        /// What went wrong, for humans: curl's detailed error text where it left one.
        public var message: String
        /// libcurl's result code, when the failure came from libcurl.
        public var curlCode: Int32?
        /// Whether a connection to the server was fully established (TCP, and TLS for HTTPS): a new
        /// one (CURLINFO_CONNECT_TIME_T > 0) or one reused from the cache (a request was sent,
        /// CURLINFO_REQUEST_SIZE > 0). Without one the request was never sent, so any request,
        /// even a POST, may be retried on another server.
        public var connected: Bool
        /// The request URL without credentials.
        public var url: String

        public init(kind: Kind, message: String, curlCode: Int32? = nil, connected: Bool = false, url: String) {
            self.kind = kind
            self.message = message
            self.curlCode = curlCode
            self.connected = connected
            self.url = url
        }

        /// The server could not be reached at all: try the next one. (5xx responses are the
        /// other reason to move on; they arrive as `Response`s.)
        public var isServerUnreachable: Bool {
            kind == .resolve || kind == .connect || (kind == .timeout && !connected)
        }

        public var description: String {
            var text = "\(url): \(kind): \(message)"
            if let curlCode { text += " (curl \(curlCode))" }
            return text
        }
    }
}

extension HTTPClient.Failure {
    /// Classifies a libcurl result.
    static func from(code: Curl.Code, message: String, connected: Bool, url: String) -> Self {
        let kind: Kind
        switch code {
        case .couldNotResolveHost, .couldNotResolveProxy:
            kind = .resolve
        case .couldNotConnect:
            kind = .connect
        case .operationTimedOut:
            kind = .timeout
        case .sslConnectError, .sslCertificateProblem, .sslCipher, .peerFailedVerification, .useSSLFailed,
            .sslCACertificateBadFile, .sslCRLBadFile, .sslIssuerError, .sslPinnedPublicKeyMismatch,
            .sslInvalidCertificateStatus:
            kind = .tls
        case .weirdServerReply, .http2, .http2Stream, .partialFile, .gotNothing, .sendError, .receiveError,
            .badContentEncoding, .tooManyRedirects:
            kind = .protocolError
        case .fileSizeExceeded:
            kind = .bodyTooLarge
        case .unsupportedProtocol, .urlMalformed, .badFunctionArgument, .unknownOption, .notBuiltIn:
            kind = .invalidRequest
        default:
            kind = .other
        }
        return Self(
            kind: kind,
            message: message.isEmpty ? code.description : message,
            curlCode: code.rawValue,
            connected: connected,
            url: url
        )
    }
}

extension HTTPClient {
    /// `url` with any `user:password@` removed, for logs and errors.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }
}
