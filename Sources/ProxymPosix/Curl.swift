internal import CCurl

/// libcurl, the process-wide part: one-time initialisation, version facts, result codes.
///
/// The typed handles are `CurlEasy` (one transfer) and `CurlMulti` (many transfers driven by an
/// external event loop through the "socket" interface). Nothing above ProxymPosix imports CCurl:
/// options, codes and callbacks cross this boundary as Swift types and closures.
public enum Curl {
    /// curl_global_init(CURL_GLOBAL_DEFAULT), run once per process on first use (a lazily
    /// initialised `static let` is guarded by swift_once). libcurl 7.84+ makes the call itself
    /// thread-safe as well (feature "threadsafe").
    private static let globalInitCode: UInt32 = curl_global_init(proxym_curl_global_default()).rawValue

    /// Runs curl_global_init if nothing has yet; throws if it failed (then every handle would).
    static func initialize() throws(CurlError) {
        let code = globalInitCode
        if code != CURLE_OK.rawValue {
            throw CurlError(call: "curl_global_init", code: Code(rawValue: Int32(bitPattern: code)))
        }
    }

    /// "7.88.1" for the libcurl actually loaded (not the headers we built against).
    public static var version: String {
        guard let info = proxym_curl_version_info(), let text = info.pointee.version else { return "unknown" }
        return String(cString: text)
    }

    /// The loaded libcurl resolves host names asynchronously. Debian's builds use the threaded
    /// resolver: a host name (not an IP literal, not "localhost") is resolved by getaddrinfo on a
    /// short-lived thread that libcurl starts and joins; it touches only libcurl's own state and
    /// signals completion through a socketpair that the multi handle watches like any socket.
    public static var hasAsynchronousResolver: Bool {
        guard let info = proxym_curl_version_info() else { return false }
        return info.pointee.features & CURL_VERSION_ASYNCHDNS != 0
    }

    /// A CURLcode: the result of an easy-handle call or of a whole transfer.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ code: CURLcode) { rawValue = Int32(bitPattern: code.rawValue) }

        public static let ok = Code(CURLE_OK)
        public static let unsupportedProtocol = Code(CURLE_UNSUPPORTED_PROTOCOL)
        public static let urlMalformed = Code(CURLE_URL_MALFORMAT)
        public static let couldNotResolveProxy = Code(CURLE_COULDNT_RESOLVE_PROXY)
        public static let couldNotResolveHost = Code(CURLE_COULDNT_RESOLVE_HOST)
        public static let couldNotConnect = Code(CURLE_COULDNT_CONNECT)
        public static let weirdServerReply = Code(CURLE_WEIRD_SERVER_REPLY)
        public static let http2 = Code(CURLE_HTTP2)
        public static let partialFile = Code(CURLE_PARTIAL_FILE)
        public static let writeError = Code(CURLE_WRITE_ERROR)
        public static let outOfMemory = Code(CURLE_OUT_OF_MEMORY)
        public static let operationTimedOut = Code(CURLE_OPERATION_TIMEDOUT)
        public static let badFunctionArgument = Code(CURLE_BAD_FUNCTION_ARGUMENT)
        public static let abortedByCallback = Code(CURLE_ABORTED_BY_CALLBACK)
        public static let tooManyRedirects = Code(CURLE_TOO_MANY_REDIRECTS)
        public static let unknownOption = Code(CURLE_UNKNOWN_OPTION)
        public static let gotNothing = Code(CURLE_GOT_NOTHING)
        public static let sendError = Code(CURLE_SEND_ERROR)
        public static let receiveError = Code(CURLE_RECV_ERROR)
        public static let sslConnectError = Code(CURLE_SSL_CONNECT_ERROR)
        public static let sslCertificateProblem = Code(CURLE_SSL_CERTPROBLEM)
        public static let sslCipher = Code(CURLE_SSL_CIPHER)
        public static let peerFailedVerification = Code(CURLE_PEER_FAILED_VERIFICATION)
        public static let badContentEncoding = Code(CURLE_BAD_CONTENT_ENCODING)
        public static let fileSizeExceeded = Code(CURLE_FILESIZE_EXCEEDED)
        public static let useSSLFailed = Code(CURLE_USE_SSL_FAILED)
        public static let sslCACertificateBadFile = Code(CURLE_SSL_CACERT_BADFILE)
        public static let sslCRLBadFile = Code(CURLE_SSL_CRL_BADFILE)
        public static let sslIssuerError = Code(CURLE_SSL_ISSUER_ERROR)
        public static let sslPinnedPublicKeyMismatch = Code(CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        public static let sslInvalidCertificateStatus = Code(CURLE_SSL_INVALIDCERTSTATUS)
        public static let http2Stream = Code(CURLE_HTTP2_STREAM)
        public static let notBuiltIn = Code(CURLE_NOT_BUILT_IN)

        /// curl_easy_strerror: "Couldn't connect to server", "Timeout was reached", ...
        public var description: String {
            guard let text = curl_easy_strerror(CURLcode(rawValue: UInt32(bitPattern: rawValue))) else {
                return "curl error \(rawValue)"
            }
            return String(cString: text)
        }
    }

    /// A CURLMcode: the result of a multi-handle call.
    public struct MultiCode: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ code: CURLMcode) { rawValue = code.rawValue }

        public static let ok = MultiCode(CURLM_OK)
        /// An event for a socket libcurl no longer knows (it stopped watching it meanwhile).
        public static let badSocket = MultiCode(CURLM_BAD_SOCKET)
        /// A multi call from inside one of its own callbacks.
        public static let recursiveAPICall = MultiCode(CURLM_RECURSIVE_API_CALL)

        public var description: String {
            guard let text = curl_multi_strerror(CURLMcode(rawValue: rawValue)) else {
                return "curl multi error \(rawValue)"
            }
            return String(cString: text)
        }
    }
}

/// A libcurl call that failed: which call (and option), the code, and curl's text for it.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    /// The CURLcode (or CURLMcode for `curl_multi_*` calls).
    public var code: Int32
    public var message: String

    public init(call: String, code: Int32, message: String) {
        self.call = call
        self.code = code
        self.message = message
    }

    init(call: String, code: Curl.Code) {
        self.init(call: call, code: code.rawValue, message: code.description)
    }

    init(call: String, multiCode: Curl.MultiCode) {
        self.init(call: call, code: multiCode.rawValue, message: multiCode.description)
    }

    public var description: String { "\(call): \(message) (curl code \(code))" }
}
