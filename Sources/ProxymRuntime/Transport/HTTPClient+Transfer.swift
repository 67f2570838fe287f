import ProxymCore
import ProxymModel
import ProxymPosix

extension HTTPClient {
    /// One request in flight. Keep it to `cancel()`; dropping it does not stop the transfer (the
    /// client holds it until it ends).
    public final class Transfer: CustomStringConvertible {
        enum Mode {
            case buffered(maxBodySize: Int, completion: (Result<Response, Failure>) -> Void)
            case stream(
                onHeaders: (Int, Headers) -> Void,
                onData: ([UInt8]) -> Void,
                completion: (Result<Void, Failure>) -> Void
            )
        }

        /// Increasing per client; for logs.
        public let id: UInt64
        let method: Method
        /// Without credentials.
        let url: String
        let mode: Mode
        let followRedirects: Bool
        let idleTimeout: Duration?
        weak var client: HTTPClient?

        var easy: CurlEasy?
        /// False once completed, failed or cancelled: no callback runs after that.
        public internal(set) var isActive = true

        // The header block being received (one per response: interim, redirect, final).
        var status = 0
        var headers = Headers()
        /// The final response's head, once its header block ended.
        var head: (status: Int, headers: Headers)?

        var body: [UInt8] = []
        var bodyTooLarge = false

        // Stream mode: received but not yet handed to the caller (done after each curl call).
        var headDelivered = false
        /// The pieces as libcurl wrote them (16 KiB at most each): a fast sender can have libcurl read
        /// megabytes in one call, and pieces cost neither a growing buffer nor its copies.
        var pendingData: [[UInt8]] = []
        var isQueued = false

        var lastActivity: Instant
        var idleTimer: EventLoop.TimerHandle?

        init(id: UInt64, request: Request, mode: Mode, client: HTTPClient, now: Instant) {
            self.id = id
            method = request.method
            url = HTTPClient.redact(request.url)
            self.mode = mode
            followRedirects = request.followRedirects
            idleTimeout = request.idleTimeout
            self.client = client
            lastActivity = now
        }

        /// Stops the transfer now and frees its connection. No callback of this transfer runs
        /// afterwards (not even the completion). Safe to call from any of its own callbacks and
        /// more than once.
        public func cancel() {
            client?.cancel(self)
        }

        public var description: String { "Transfer(\(id) \(method) \(url))" }

        var isStream: Bool {
            if case .stream = mode { return true }
            return false
        }

        // MARK: header parsing

        /// One header line from curl (CRLF included). Tracks header blocks so that `head` is
        /// the final response's, not an interim 1xx or a redirect curl is about to follow.
        func receiveHeaderLine(_ raw: UnsafeRawBufferPointer) {
            var bytes = raw[...]
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
            if bytes.starts(with: Transfer.httpPrefix) {
                // A status line starts a new block: "HTTP/1.1 200 OK", "HTTP/2 200".
                let text = String(decoding: bytes, as: UTF8.self)
                let parts = text.split(separator: " ", maxSplits: 2)
                status = parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
                headers = Headers()
                return
            }
            if bytes.isEmpty {
                if (100..<200).contains(status) { return }  // interim: the real response follows
                if followRedirects && Transfer.followedStatuses.contains(status) && headers["location"] != nil {
                    return  // curl follows this one; its body is skipped
                }
                if head == nil { head = (status, headers) }
                return
            }
            if head != nil { return }  // trailers after a chunked body: not part of the head
            if let first = bytes.first, first == 0x20 || first == 0x09 {
                headers.continueLast(with: String(String(decoding: bytes, as: UTF8.self).trimmingBlanks()))
                return
            }
            guard let colon = bytes.firstIndex(of: 0x3A) else { return }
            let name = String(decoding: bytes[..<colon], as: UTF8.self)
            let value = String(String(decoding: bytes[(colon + 1)...], as: UTF8.self).trimmingBlanks())
            headers.append(name: name, value: value)
        }

        static let httpPrefix: [UInt8] = Array("HTTP/".utf8)
        /// The statuses curl's CURLOPT_FOLLOWLOCATION follows when a Location is present.
        static let followedStatuses: Set<Int> = [301, 302, 303, 307, 308]
    }
}
