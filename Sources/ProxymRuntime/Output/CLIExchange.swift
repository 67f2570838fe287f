import ProxymCore
import ProxymPosix

/// One exchange with a haproxy CLI socket (the stats socket's Runtime API, or the master CLI): connect
/// to the UNIX socket, send one line, read until haproxy closes the connection. Non-blocking, on the
/// loop: a full backlog is retried every 10 ms, and everything is bounded by `timeout`.
///
/// The request must make haproxy close the connection after answering: a stats socket does so after
/// one line; a 2.6 master CLI session needs `; quit` at the end.
///
/// Lifetime: while it runs, its loop registrations keep it alive; `completion` runs exactly once, on
/// the loop, after the socket is closed.
final class CLIExchange {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// Nobody listens there (ENOENT, ECONNREFUSED): haproxy is not running, or not yet.
        var notListening: Bool
    }

    private let loop: EventLoop
    private let path: String
    private var output: [UInt8]
    private var received: [UInt8] = []
    private let limit: Int
    private let deadline: Instant
    private var socket: OwnedFD?
    private var registration: EventLoop.Registration?
    private var timer: EventLoop.TimerHandle?
    private var completion: ((Result<String, Failure>) -> Void)?

    /// Starts the exchange; `completion` may run before this returns (e.g. nothing listens).
    @discardableResult
    static func run(
        loop: EventLoop, path: String, request: String, timeout: Duration, limit: Int = 16 << 20,
        completion: @escaping (Result<String, Failure>) -> Void
    ) -> CLIExchange {
        let exchange = CLIExchange(loop: loop, path: path, request: request, timeout: timeout, limit: limit, completion: completion)
        exchange.connect()
        return exchange
    }

    private init(
        loop: EventLoop, path: String, request: String, timeout: Duration, limit: Int,
        completion: @escaping (Result<String, Failure>) -> Void
    ) {
        self.loop = loop
        self.path = path
        self.output = Array((request.hasSuffix("\n") ? request : request + "\n").utf8)
        self.limit = limit
        self.deadline = loop.now + timeout
        self.completion = completion
        // Strong capture: a pending exchange keeps itself alive until it finishes.
        timer = loop.schedule(at: deadline) { self.finish(.failure(Failure(description: "no answer within \(timeout)", notListening: false))) }
    }

    private func connect() {
        guard completion != nil else { return }
        let connected: OwnedFD
        do {
            switch try Socket.connectUnix(path: path) {
            case .ready(let fd):
                connected = fd
            case .wouldBlock:
                // The backlog is full (a master busy reloading): try again shortly.
                loop.schedule(after: .milliseconds(10)) { self.connect() }
                return
            }
        } catch {
            let absent = error.isNoEntry || error.errno == SysError.Code.connectionRefused
            finish(.failure(Failure(description: "cannot connect to \(path): \(error)", notListening: absent)))
            return
        }
        let raw = connected.rawValue
        socket = consume connected
        do {
            registration = try loop.register(fd: raw, events: .out) { events in self.ready(events) }
        } catch {
            finish(.failure(Failure(description: "cannot watch \(path): \(error)", notListening: false)))
        }
    }

    private func ready(_ events: Epoll.Events) {
        guard let raw = socket?.rawValue else { return }
        do {
            if !output.isEmpty {
                switch try Socket.send(raw, output) {
                case .wouldBlock: return
                case .ready(let sent): output.removeFirst(sent)
                }
                if output.isEmpty, let registration { try loop.modify(registration, events: .in) }
                return
            }
            while true {
                switch try Descriptor.read(raw, maxBytes: 64 * 1024) {
                case .wouldBlock: return
                case .ready(let chunk):
                    if chunk.isEmpty {
                        finish(.success(String(decoding: received, as: UTF8.self)))
                        return
                    }
                    received += chunk
                    if received.count > limit {
                        finish(.failure(Failure(description: "answer from \(path) longer than \(limit) bytes", notListening: false)))
                        return
                    }
                }
            }
        } catch {
            // ECONNRESET/EPIPE: the peer went away mid-exchange (a master re-executing itself).
            finish(.failure(Failure(description: "exchange with \(path) failed: \(error)", notListening: false)))
        }
    }

    private func finish(_ result: Result<String, Failure>) {
        guard let callback = completion else { return }
        completion = nil
        if let registration { loop.deregister(registration) }
        registration = nil
        socket = nil
        if let timer { loop.cancel(timer) }
        timer = nil
        callback(result)
    }
}
