import Logging
import ProxymCore
import ProxymPosix

/// HTTP(S) requests on the event loop, through libcurl's multi "socket" interface. Nothing
/// blocks the loop and no thread is started for IP-literal URLs (see "Threads" below).
///
/// How libcurl is wired to the loop:
/// - libcurl's socket callback (`CurlMulti.onSocket`) → `loop.register/modify/deregister` of
///   that fd, for read, write or both.
/// - libcurl's timer callback (`onTimer`) → one loop timer (`schedule(after:)`/`cancel`).
/// - a ready fd → `curl_multi_socket_action(fd, in/out/err)`; the timer → the same with
///   CURL_SOCKET_TIMEOUT; after either, finished transfers are read (`curl_multi_info_read`).
/// - `.remove` → `deregister`. `CurlMulti` guarantees the fd is still open then (it hands out
///   duplicates, closed only after `.remove`), because cached connections outlive transfers, a
///   closed fd can not leave epoll, and Debian's libcurl 7.88 closes unconnected sockets
///   without its close-socket callback (see `CurlMulti`).
/// libcurl's callbacks run synchronously inside the libcurl calls made here, on the loop thread.
///
/// Callbacks to the caller (`completion`, a stream's `onHeaders`/`onData`) never run inside a
/// libcurl call or inside `send`/`stream`: they run later, from the loop, once the libcurl call
/// that produced them has returned. So a callback may freely start requests, cancel any
/// transfer, or close the client.
///
/// Threads: with an IP literal (or "localhost", which libcurl resolves itself) nothing but
/// the loop thread ever runs. A host name is resolved by Debian's libcurl (threaded resolver)
/// on a short-lived thread running getaddrinfo; it touches only libcurl's own data and wakes
/// the loop through a socketpair that arrives here like any other socket. The thread inherits
/// the loop thread's signal mask, so blocked signals still reach the signalfd. libcurl creates
/// that socketpair without SOCK_CLOEXEC: a child spawned during a lookup inherits both ends
/// (nothing breaks, but they stay open in the child). Lookups are cached for 60 s.
///
/// Connections are reused between requests to the same server (libcurl's connection cache);
/// idle cached connections are not watched (no wake-ups) and are closed by `close()`.
///
/// Not thread-safe: use it only on the loop's thread.
public final class HTTPClient {
    let loop: EventLoop
    let logger: Logger
    let userAgent: String
    let multi: CurlMulti

    /// fds libcurl asked us to watch.
    var watched: [CInt: EventLoop.Registration] = [:]
    var curlTimer: EventLoop.TimerHandle?
    /// Active transfers by their easy handle.
    var transfers: [ObjectIdentifier: Transfer] = [:]
    /// Stream transfers with headers or data not yet handed to their caller.
    var queued: [Transfer] = []
    private var nextID: UInt64 = 1
    var closed = false

    /// - Parameters:
    ///   - userAgent: the User-Agent header sent with every request.
    public init(
        loop: EventLoop,
        userAgent: String = "proxym/\(ProxymVersion.string)",
        logger: Logger = Logger(label: "proxym.http", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(CurlError) {
        self.loop = loop
        self.logger = logger
        self.userAgent = userAgent
        multi = try CurlMulti()
        // [weak self]: the multi handle belongs to this client; once the client is gone (or
        // closed) there is nothing left to watch.
        multi.onSocket = { [weak self] fd, interest in self?.watch(fd, interest) }
        multi.onTimer = { [weak self] delay in self?.armCurlTimer(delay) }
    }

    deinit {
        close()
    }

    /// Transfers not yet completed, failed or cancelled.
    public var activeTransferCount: Int { transfers.count }

    /// fds currently in the loop on libcurl's behalf (0 when no transfer is running).
    public var watchedSocketCount: Int { watched.count }

    /// Sockets libcurl holds open, idle cached connections included.
    public var openConnectionCount: Int { multi.openSocketCount }

    /// Sends `request` and buffers the whole response (up to `request.maxBodySize`).
    /// `completion` runs exactly once, on the loop, never inside this call, unless the transfer
    /// is cancelled first.
    @discardableResult
    public func send(
        _ request: Request,
        completion: @escaping (Result<Response, Failure>) -> Void
    ) -> Transfer {
        start(request, mode: .buffered(maxBodySize: request.maxBodySize, completion: completion))
    }

    /// Sends `request` and hands the response over as it arrives, never buffering the body:
    /// `onHeaders(status, headers)` once, for the final response (after redirects), then
    /// `onData(bytes)` for each piece of body, then `completion` when the server ends the body
    /// (`.success`) or the transfer fails. Use `idleTimeout` as a heartbeat watchdog and
    /// `timeout: nil` for an endless stream. Every status is streamed; check it in `onHeaders`
    /// and `cancel()` if it is not the one you want.
    @discardableResult
    public func stream(
        _ request: Request,
        onHeaders: @escaping (_ status: Int, _ headers: Headers) -> Void,
        onData: @escaping ([UInt8]) -> Void,
        completion: @escaping (Result<Void, Failure>) -> Void
    ) -> Transfer {
        start(request, mode: .stream(onHeaders: onHeaders, onData: onData, completion: completion))
    }

    /// Stops every transfer (their callbacks do not run), takes every fd out of the loop and
    /// closes the cached connections. Idempotent; deinit does it too. The client can not be used
    /// afterwards (new requests fail with `.closed`).
    public func close() {
        guard !closed else { return }
        closed = true
        // Out of epoll first, while every fd is still open (libcurl closes them below).
        for registration in watched.values { loop.deregister(registration) }
        watched.removeAll()
        if let curlTimer { loop.cancel(curlTimer) }
        curlTimer = nil
        for transfer in transfers.values { retire(transfer) }
        queued.removeAll()
        multi.close()  // removes the easy handles, then closes the cached connections
    }

    // MARK: starting and ending transfers

    private func start(_ request: Request, mode: Transfer.Mode) -> Transfer {
        let transfer = Transfer(id: nextID, request: request, mode: mode, client: self, now: loop.now)
        nextID += 1
        if closed {
            failLater(transfer, Failure(kind: .closed, message: "the HTTP client is closed", url: transfer.url))
            return transfer
        }
        let easy: CurlEasy
        do {
            easy = try makeEasy(for: request, transfer: transfer)
        } catch let failure as Failure {
            failLater(transfer, failure)
            return transfer
        } catch {
            failLater(transfer, Failure(kind: .invalidRequest, message: "\(error)", url: transfer.url))
            return transfer
        }
        transfer.easy = easy
        do {
            try multi.add(easy)
        } catch {
            transfer.easy = nil
            failLater(transfer, Failure(kind: .other, message: "\(error)", url: transfer.url))
            return transfer
        }
        transfers[ObjectIdentifier(easy)] = transfer
        armIdleTimer(transfer)
        logger.debug(
            "http.transfer.start",
            metadata: ["http.id": "\(transfer.id)", "http.method": "\(request.method)", "http.url": "\(transfer.url)"]
        )
        return transfer
    }

    /// Reports a failure that happened before the transfer reached libcurl, on the loop's next
    /// iteration (never inside `send`/`stream`).
    private func failLater(_ transfer: Transfer, _ failure: Failure) {
        loop.schedule(after: .zero) { [weak self] in
            guard transfer.isActive else { return }
            transfer.isActive = false
            self?.logFailure(transfer, failure)
            Self.callCompletion(transfer, failure: failure)
        }
    }

    /// `Transfer.cancel()`: stop now, no callbacks.
    func cancel(_ transfer: Transfer) {
        guard transfer.isActive else { return }
        retire(transfer)
        logger.debug("http.transfer.cancelled", metadata: ["http.id": "\(transfer.id)"])
    }

    /// Ends a transfer on our side: inactive (no callback runs any more), out of libcurl, its
    /// watchdog cancelled.
    private func retire(_ transfer: Transfer) {
        transfer.isActive = false
        if let idleTimer = transfer.idleTimer { loop.cancel(idleTimer) }
        transfer.idleTimer = nil
        if let easy = transfer.easy {
            transfers[ObjectIdentifier(easy)] = nil
            if !closed { multi.remove(easy) }
        }
        transfer.easy = nil
        transfer.pendingData = []
    }

    /// A transfer libcurl reports done.
    func finish(_ transfer: Transfer, easy: CurlEasy, result: Curl.Code) {
        if transfer.isStream {
            deliver(transfer)  // what arrived before the end, and the head of an empty body
            guard transfer.isActive else { return }  // cancelled from onHeaders/onData
        }
        retire(transfer)

        if result == .ok {
            logger.debug(
                "http.transfer.done",
                metadata: ["http.id": "\(transfer.id)", "http.status": "\(easy.responseCode)"]
            )
            switch transfer.mode {
            case .buffered(_, let completion):
                let head = transfer.head ?? (transfer.status, transfer.headers)
                let response = Response(
                    status: easy.responseCode != 0 ? easy.responseCode : head.status,
                    headers: head.headers,
                    body: transfer.body,
                    effectiveURL: HTTPClient.redact(easy.effectiveURL ?? transfer.url)
                )
                transfer.body = []
                completion(.success(response))
            case .stream(_, _, let completion):
                completion(.success(()))
            }
            return
        }
        var failure = Failure.from(
            code: result,
            message: easy.errorMessage,
            connected: Self.connected(easy),
            url: transfer.url
        )
        if case .buffered(let limit, _) = transfer.mode, transfer.bodyTooLarge || failure.kind == .bodyTooLarge {
            failure.kind = .bodyTooLarge
            failure.message = "the response body is larger than the limit of \(limit) bytes"
        }
        logFailure(transfer, failure)
        Self.callCompletion(transfer, failure: failure)
    }

    /// Ends an active transfer from our side (the idle watchdog).
    private func abort(_ transfer: Transfer, _ failure: Failure) {
        guard transfer.isActive else { return }
        retire(transfer)
        logFailure(transfer, failure)
        Self.callCompletion(transfer, failure: failure)
    }

    /// Whether the transfer had a connection to the server: a new one (its connect time is set) or
    /// one reused from the cache (libcurl then reports no connect time, but the request went out).
    static func connected(_ easy: CurlEasy) -> Bool {
        easy.connectTime > .zero || easy.requestSize > 0
    }

    private static func callCompletion(_ transfer: Transfer, failure: Failure) {
        switch transfer.mode {
        case .buffered(_, let completion): completion(.failure(failure))
        case .stream(_, _, let completion): completion(.failure(failure))
        }
    }

    private func logFailure(_ transfer: Transfer, _ failure: Failure) {
        logger.debug(
            "http.transfer.failed",
            metadata: [
                "http.id": "\(transfer.id)", "http.failure": "\(failure.kind)", "http.error": "\(failure.message)",
            ]
        )
    }

    // MARK: the idle watchdog

    private func armIdleTimer(_ transfer: Transfer) {
        guard let idle = transfer.idleTimeout else { return }
        // One timer per transfer, re-armed only when it fires: a busy stream does not touch the
        // timer heap for every piece of data.
        transfer.idleTimer = loop.schedule(at: transfer.lastActivity + idle) { [weak self, weak transfer] in
            guard let self, let transfer, transfer.isActive else { return }
            transfer.idleTimer = nil
            if self.loop.now - transfer.lastActivity >= idle {
                self.abort(
                    transfer,
                    Failure(
                        kind: .timeout,
                        message: "no data received for \(idle)",
                        connected: transfer.easy.map(Self.connected) ?? false,
                        url: transfer.url
                    )
                )
            } else {
                self.armIdleTimer(transfer)
            }
        }
    }
}
