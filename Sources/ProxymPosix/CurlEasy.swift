internal import CCurl
import Glibc

/// One libcurl easy handle: the options and result of one transfer.
///
/// Options are set through typed values (`set(.url, "...")`, `set(.followLocation, true)`),
/// each mapped onto the one C wrapper for its argument type. Response bytes come out through
/// two Swift closures, `onHeaderLine` and `onBody`, which libcurl calls (through C callbacks
/// that capture nothing) while the handle is being driven.
///
/// Every handle gets CURLOPT_NOSIGNAL=1 (libcurl must never install signal handlers or use
/// alarm(): proxym takes signals through a signalfd) and an error buffer whose text
/// `errorMessage` returns after a failed transfer.
///
/// Not thread-safe; one owner (the loop thread). Deinit runs curl_easy_cleanup, after which
/// libcurl never calls back into this object.
public final class CurlEasy {
    /// The CURL*. `void` in curl's public headers, so a raw pointer in Swift.
    let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    /// Each response header line as received, CRLF included: status lines ("HTTP/1.1 200 OK"),
    /// fields, and the empty line ending each header block (one block per response, so a
    /// followed redirect shows two). Return false to abort the transfer (CURLE_WRITE_ERROR).
    public var onHeaderLine: ((UnsafeRawBufferPointer) -> Bool)?

    /// Decoded response body bytes (after Content-Encoding and chunked framing), in pieces of
    /// whatever size libcurl read. Return false to abort the transfer (CURLE_WRITE_ERROR). The
    /// buffer is valid only during the call.
    public var onBody: ((UnsafeRawBufferPointer) -> Bool)?

    public init() throws(CurlError) {
        try Curl.initialize()
        guard let handle = curl_easy_init() else {
            throw CurlError(call: "curl_easy_init", code: .outOfMemory)
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check("CURLOPT_ERRORBUFFER", proxym_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try check("CURLOPT_NOSIGNAL", proxym_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))

        // Sound: libcurl calls these only synchronously, from inside a curl call that proxym
        // made on the loop thread (curl_multi_socket_action), and only while this handle exists:
        // `self` is passed unretained and deinit runs curl_easy_cleanup, after which curl never
        // calls back. They capture nothing and find their owner through the user-data pointer.
        let write: curl_write_callback = { buffer, size, count, userdata in
            let total = size * count
            guard let userdata else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(userdata).takeUnretainedValue()
            guard let onBody = easy.onBody else { return total }
            return onBody(UnsafeRawBufferPointer(start: buffer, count: total)) ? total : 0
        }
        let header: curl_write_callback = { buffer, size, count, userdata in
            let total = size * count
            guard let userdata else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(userdata).takeUnretainedValue()
            guard let onHeaderLine = easy.onHeaderLine else { return total }
            return onHeaderLine(UnsafeRawBufferPointer(start: buffer, count: total)) ? total : 0
        }
        try check("CURLOPT_WRITEFUNCTION", proxym_curl_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, write))
        try check("CURLOPT_WRITEDATA", proxym_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me))
        try check(
            "CURLOPT_HEADERFUNCTION",
            proxym_curl_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, header)
        )
        try check("CURLOPT_HEADERDATA", proxym_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me))
    }

    deinit {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    private func check(_ name: @autoclosure () -> String, _ code: CURLcode) throws(CurlError) {
        if code != CURLE_OK { throw CurlError(call: "curl_easy_setopt(\(name()))", code: Curl.Code(code)) }
    }

    // MARK: options

    public func set(_ option: Option<String>, _ value: String) throws(CurlError) {
        try check(option.name, proxym_curl_easy_setopt_string(handle, option.option, value))
    }

    public func set(_ option: Option<Int>, _ value: Int) throws(CurlError) {
        try check(option.name, proxym_curl_easy_setopt_long(handle, option.option, value))
    }

    public func set(_ option: Option<Bool>, _ value: Bool) throws(CurlError) {
        try check(option.name, proxym_curl_easy_setopt_long(handle, option.option, value ? 1 : 0))
    }

    public func set(_ option: Option<Int64>, _ value: Int64) throws(CurlError) {
        try check(option.name, proxym_curl_easy_setopt_off_t(handle, option.option, Int(value)))
    }

    /// HTTP basic authentication (CURLOPT_USERNAME, CURLOPT_PASSWORD, CURLOPT_HTTPAUTH=BASIC).
    public func setBasicAuth(username: String, password: String) throws(CurlError) {
        try set(.username, username)
        try set(.password, password)
        try check("CURLOPT_HTTPAUTH", proxym_curl_easy_setopt_long(handle, CURLOPT_HTTPAUTH, proxym_curlauth_basic()))
    }

    /// Extra request header lines ("Name: value"; "Name:" removes one curl would add). Replaces
    /// any list set before; the list lives as long as this handle.
    public func setHeaders(_ lines: [String]) throws(CurlError) {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw CurlError(call: "curl_slist_append", code: .outOfMemory)
            }
            list = appended
        }
        do {
            try check("CURLOPT_HTTPHEADER", proxym_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
        } catch {
            if let list { curl_slist_free_all(list) }
            throw error
        }
        if let headerList { curl_slist_free_all(headerList) }
        headerList = list
    }

    /// The request body (CURLOPT_POSTFIELDSIZE_LARGE, then CURLOPT_COPYPOSTFIELDS: curl keeps its
    /// own copy). Makes the request a POST unless CURLOPT_CUSTOMREQUEST names another method.
    public func setBody(_ body: [UInt8]) throws(CurlError) {
        try check(
            "CURLOPT_POSTFIELDSIZE_LARGE",
            proxym_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, body.count)
        )
        let code = body.withUnsafeBytes { raw -> CURLcode in
            // An empty array may have no storage; curl still wants a valid pointer.
            guard let base = raw.baseAddress else {
                return proxym_curl_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
            }
            return proxym_curl_easy_setopt_pointer(
                handle,
                CURLOPT_COPYPOSTFIELDS,
                UnsafeMutableRawPointer(mutating: base)
            )
        }
        try check("CURLOPT_COPYPOSTFIELDS", code)
    }

    /// Sets the open/close-socket callbacks; only `CurlMulti.add` does this, pointing them at
    /// the multi handle whose connection cache will own the sockets.
    func setSocketCallbacks(
        open: curl_opensocket_callback,
        close: curl_closesocket_callback,
        userdata: UnsafeMutableRawPointer
    ) throws(CurlError) {
        try check(
            "CURLOPT_OPENSOCKETFUNCTION",
            proxym_curl_easy_setopt_opensocket_function(handle, CURLOPT_OPENSOCKETFUNCTION, open)
        )
        try check("CURLOPT_OPENSOCKETDATA", proxym_curl_easy_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, userdata))
        try check(
            "CURLOPT_CLOSESOCKETFUNCTION",
            proxym_curl_easy_setopt_closesocket_function(handle, CURLOPT_CLOSESOCKETFUNCTION, close)
        )
        try check("CURLOPT_CLOSESOCKETDATA", proxym_curl_easy_setopt_pointer(handle, CURLOPT_CLOSESOCKETDATA, userdata))
    }

    // MARK: results

    /// The last response's status code (CURLINFO_RESPONSE_CODE); 0 if none arrived.
    public var responseCode: Int {
        var value = 0
        _ = proxym_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &value)
        return value
    }

    /// The URL of the last request made, after redirects (CURLINFO_EFFECTIVE_URL).
    public var effectiveURL: String? { string(CURLINFO_EFFECTIVE_URL) }

    /// The IP address of the last connection (CURLINFO_PRIMARY_IP); nil before any connect.
    public var primaryIP: String? {
        guard let text = string(CURLINFO_PRIMARY_IP), !text.isEmpty else { return nil }
        return text
    }

    /// How many redirects were followed (CURLINFO_REDIRECT_COUNT).
    public var redirectCount: Int {
        var value = 0
        _ = proxym_curl_easy_getinfo_long(handle, CURLINFO_REDIRECT_COUNT, &value)
        return value
    }

    /// Time from the start until the (last) connection was established
    /// (CURLINFO_CONNECT_TIME_T); zero when no connection was ever made.
    public var connectTime: Duration {
        var microseconds = 0
        _ = proxym_curl_easy_getinfo_off_t(handle, CURLINFO_CONNECT_TIME_T, &microseconds)
        return .microseconds(microseconds)
    }

    /// Bytes of request (line and headers) sent so far, redirects included (CURLINFO_REQUEST_SIZE);
    /// non-zero once a request went out, also on a connection reused from the cache, for which
    /// `connectTime` stays zero.
    public var requestSize: Int {
        var value = 0
        _ = proxym_curl_easy_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &value)
        return value
    }

    /// curl's detailed text for the last failure ("Failed to connect to 127.0.0.1 port 1 after
    /// 0 ms: Connection refused"), or "" if it left none.
    public var errorMessage: String {
        var text = String(cString: errorBuffer)
        while let last = text.last, last == "\n" || last == "\r" { text.removeLast() }
        return text
    }

    private func string(_ info: CURLINFO) -> String? {
        var pointer: UnsafePointer<CChar>? = nil
        guard proxym_curl_easy_getinfo_string(handle, info, &pointer) == CURLE_OK, let pointer else { return nil }
        return String(cString: pointer)
    }
}

// MARK: typed options

extension CurlEasy {
    /// A libcurl option whose argument has the Swift type `Value`: `String` (curl copies it),
    /// `Int` (a C long), `Bool` (a long of 0 or 1) or `Int64` (a curl_off_t size).
    public struct Option<Value>: Sendable {
        let raw: UInt32
        let name: String
        var option: CURLoption { CURLoption(rawValue: raw) }

        init(_ option: CURLoption, _ name: String) {
            raw = option.rawValue
            self.name = name
        }
    }
}

extension CurlEasy.Option where Value == String {
    public static var url: Self { Self(CURLOPT_URL, "CURLOPT_URL") }
    public static var username: Self { Self(CURLOPT_USERNAME, "CURLOPT_USERNAME") }
    public static var password: Self { Self(CURLOPT_PASSWORD, "CURLOPT_PASSWORD") }
    /// The method to send instead of GET/POST ("DELETE", "PUT").
    public static var customRequest: Self { Self(CURLOPT_CUSTOMREQUEST, "CURLOPT_CUSTOMREQUEST") }
    /// A PEM file of CA certificates to verify the server with.
    public static var caInfo: Self { Self(CURLOPT_CAINFO, "CURLOPT_CAINFO") }
    /// "" asks for (and decodes) every encoding this libcurl supports: gzip, deflate, br, zstd.
    public static var acceptEncoding: Self { Self(CURLOPT_ACCEPT_ENCODING, "CURLOPT_ACCEPT_ENCODING") }
    public static var userAgent: Self { Self(CURLOPT_USERAGENT, "CURLOPT_USERAGENT") }
    /// Allowed schemes, e.g. "http,https".
    public static var protocols: Self { Self(CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR") }
    /// Schemes a redirect may lead to.
    public static var redirectProtocols: Self { Self(CURLOPT_REDIR_PROTOCOLS_STR, "CURLOPT_REDIR_PROTOCOLS_STR") }
}

extension CurlEasy.Option where Value == Int {
    public static var connectTimeoutMilliseconds: Self { Self(CURLOPT_CONNECTTIMEOUT_MS, "CURLOPT_CONNECTTIMEOUT_MS") }
    /// The whole transfer; 0 = no limit.
    public static var timeoutMilliseconds: Self { Self(CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS") }
    public static var maxRedirects: Self { Self(CURLOPT_MAXREDIRS, "CURLOPT_MAXREDIRS") }
}

extension CurlEasy.Option where Value == Bool {
    public static var followLocation: Self { Self(CURLOPT_FOLLOWLOCATION, "CURLOPT_FOLLOWLOCATION") }
    /// Send credentials (basic auth and a custom Authorization header) to the host a redirect
    /// leads to, even when host or port differ (curl otherwise drops them).
    public static var unrestrictedAuth: Self { Self(CURLOPT_UNRESTRICTED_AUTH, "CURLOPT_UNRESTRICTED_AUTH") }
    public static var httpGet: Self { Self(CURLOPT_HTTPGET, "CURLOPT_HTTPGET") }
    public static var post: Self { Self(CURLOPT_POST, "CURLOPT_POST") }
    /// HEAD-like: no body is read.
    public static var noBody: Self { Self(CURLOPT_NOBODY, "CURLOPT_NOBODY") }
    public static var tcpKeepAlive: Self { Self(CURLOPT_TCP_KEEPALIVE, "CURLOPT_TCP_KEEPALIVE") }
    /// Verbose tracing to stderr (debugging only).
    public static var verbose: Self { Self(CURLOPT_VERBOSE, "CURLOPT_VERBOSE") }
}

extension CurlEasy.Option where Value == Int64 {
    /// Refuse a response whose announced (Content-Length) size is larger
    /// (CURLE_FILESIZE_EXCEEDED). Bodies of unknown length are checked by `onBody`'s owner.
    public static var maxFileSize: Self { Self(CURLOPT_MAXFILESIZE_LARGE, "CURLOPT_MAXFILESIZE_LARGE") }
}
