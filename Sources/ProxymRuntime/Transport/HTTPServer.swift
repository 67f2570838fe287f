import Logging
import ProxymCore
import ProxymHTTP
import ProxymPosix

/// A small HTTP/1.1 server on the loop (Marathon's event callbacks arrive here).
///
/// Every connection is non-blocking and read as it becomes readable into our incremental parser;
/// the handler answers synchronously (it must not block: it only notes that something changed), so
/// the response goes out at once. What a client can cost is bounded by `Limits`, whatever it does:
/// - memory: each connection holds at most one partial request (`Limits.request`), one read's worth
///   of pipelined input and `maxOutputBytes` of unsent answers; a client that does not read its
///   answers is not read any further until it does (see `Limits.maxBufferedBytes` for the total);
/// - time on the loop: one read of `readChunkBytes` per connection per wake-up, and at most
///   `maxAcceptsPerWake` new connections, so other fds (and other connections) keep being served;
/// - connection slots: `maxConnections`; at the cap the oldest idle or incomplete connection is
///   closed to make room (the newcomer is served: a flood of silent or slow connections cannot lock
///   out a client that sends its request at once, as Marathon does);
/// - time: a request must be complete within `requestTimeout` of its first byte (or of the
///   connection, for the first one; 408 when some of it arrived), an idle keep-alive connection is
///   closed after `idleTimeout`, and answers the client does not take within `requestTimeout` end
///   the connection.
public final class HTTPServer {
    /// What one server may cost. Other listeners (a status endpoint) pass their own.
    public struct Limits: Sendable, Hashable {
        /// Request line, header and body sizes.
        public var request = HTTPLimits.default
        /// Open connections; at the cap the oldest idle or incomplete one is closed for a newcomer.
        public var maxConnections = 64
        /// Unsent answer bytes per connection above which no further request is parsed or read from
        /// it until the client has taken them (pipelining without reading costs this much).
        public var maxOutputBytes = 64 << 10
        /// The kernel's send buffer of each connection (SO_SNDBUF; nil: the kernel's autotuning, up to
        /// megabytes per connection): with the unsent answers, what a client that does not read pins.
        public var socketSendBufferBytes: Int? = 16 << 10
        /// Bytes read from one connection per wake-up.
        public var readChunkBytes = 4 << 10
        /// New connections accepted per wake-up of the listener (others wait in the backlog).
        public var maxAcceptsPerWake = 8
        /// From a connection's start, or a request's first byte, to the request complete; also how
        /// long unsent answers may wait for the client to read them.
        public var requestTimeout: Duration = .seconds(5)
        /// A keep-alive connection between requests.
        public var idleTimeout: Duration = .seconds(30)

        public init() {}

        /// 64 connections, 64 KiB of unsent answers each (and a 16 KiB kernel send buffer), 5 s to send
        /// a request, 30 s idle.
        public static let `default` = Limits()

        /// The most the server's connections can hold in buffers at once: per connection one
        /// partial request, one read and the unsent answers (plus the answer that crossed the line).
        public var maxBufferedBytes: Int {
            let oneRequest = request.maxRequestLineLength + request.maxHeaderSectionLength + request.maxBodyLength
            return maxConnections * (oneRequest + readChunkBytes + 2 * maxOutputBytes)
        }
    }

    /// Counts since the server started (for tests and STATUS).
    public struct Counters: Sendable, Hashable {
        public var accepted = 0
        public var requests = 0
        /// Closed at the cap to make room for a newcomer.
        public var evicted = 0
        /// Closed because a request, or the client's reading of its answers, took too long.
        public var timedOut = 0
    }

    public let port: UInt16
    public let limits: Limits
    public private(set) var counters = Counters()
    private let loop: EventLoop
    private let logger: Logger
    private let handler: (HTTPRequest) -> HTTPResponse
    private var listener: OwnedFD?
    private var registration: EventLoop.Registration?
    private var acceptPause: EventLoop.TimerHandle?
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var nextSequence: UInt64 = 0

    /// Binds `host:port` (`host` nil = all addresses; port 0 = any free port, see `port`).
    public init(
        loop: EventLoop, host: String?, port: UInt16, limits: Limits = .default, logger: Logger,
        handler: @escaping (HTTPRequest) -> HTTPResponse
    ) throws(SysError) {
        precondition(limits.maxConnections >= 1 && limits.maxOutputBytes >= 1 && limits.readChunkBytes >= 1)
        precondition(limits.maxAcceptsPerWake >= 1)
        self.loop = loop
        self.logger = logger
        self.limits = limits
        self.handler = handler
        let socket = try Socket.listenTCP(host: host ?? "0.0.0.0", port: port)
        self.port = socket.port
        let fd = socket.fd
        let raw = fd.rawValue
        listener = consume fd
        registration = try loop.register(fd: raw, events: .in) { [weak self] _ in self?.acceptSome() }
    }

    deinit { close() }

    public var connectionCount: Int { connections.count }

    /// Bytes held in connection buffers now (partial requests, unsent answers).
    public var bufferedByteCount: Int { connections.values.reduce(0) { $0 + $1.bufferedByteCount } }

    /// Stops listening and closes every connection.
    public func close() {
        if let registration { loop.deregister(registration) }
        registration = nil
        if let acceptPause { loop.cancel(acceptPause) }
        acceptPause = nil
        listener = nil
        for connection in Array(connections.values) { connection.close() }
        connections = [:]
    }

    private func acceptSome() {
        for _ in 0..<limits.maxAcceptsPerWake {
            guard let raw = listener?.rawValue else { return }
            let accepted: OwnedFD
            do {
                switch try Socket.accept(raw) {
                case .wouldBlock: return
                case .ready(let fd): accepted = fd
                }
            } catch where error.errno == SysError.Code.connectionAborted {
                continue  // the client gave up while waiting
            } catch {
                // EMFILE, ENFILE, ENOBUFS...: the listener stays readable, so wait a little rather
                // than spin; a full fd table also frees a slot for the next try.
                logger.warning("cannot accept connections; pausing for 100 ms", metadata: ["error": "\(error)"])
                pauseAccepting()
                if let victim = oldestConnection() { evict(victim) }
                return
            }
            counters.accepted += 1
            if connections.count >= limits.maxConnections, let victim = oldestConnection() {
                evict(victim)
            }
            do {
                nextSequence += 1
                let connection = try Connection(fd: accepted, server: self, sequence: nextSequence)
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                logger.warning("cannot watch a new connection", metadata: ["error": "\(error)"])
            }
        }
    }

    private func pauseAccepting() {
        guard let registration, acceptPause == nil else { return }
        try? loop.modify(registration, events: [])
        acceptPause = loop.schedule(after: .milliseconds(100)) { [weak self] in
            guard let self else { return }
            self.acceptPause = nil
            if let registration = self.registration { try? self.loop.modify(registration, events: .in) }
        }
    }

    /// The connection that has gone longest without completing a request (every connection is idle,
    /// incomplete or waiting for its client to read: the handler answers at once).
    private func oldestConnection() -> Connection? {
        connections.values.min { ($0.lastProgress, $0.sequence) < ($1.lastProgress, $1.sequence) }
    }

    private func evict(_ connection: Connection) {
        counters.evicted += 1
        logger.warning(
            "too many connections; closed the oldest idle or incomplete one",
            metadata: ["limit": "\(limits.maxConnections)", "port": "\(port)"])
        connection.close()
    }

    fileprivate func timedOut(_ why: String) {
        counters.timedOut += 1
        logger.warning("\(why)", metadata: ["limit": "\(limits.requestTimeout)", "port": "\(port)"])
    }

    fileprivate func closed(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    fileprivate func respond(to request: HTTPRequest) -> HTTPResponse {
        counters.requests += 1
        return handler(request)
    }

    /// One client connection.
    fileprivate final class Connection {
        private weak var server: HTTPServer?
        private let loop: EventLoop
        private let limits: Limits
        let sequence: UInt64
        private var fd: OwnedFD?
        private var registration: EventLoop.Registration?
        private var interest: Epoll.Events = .in
        private var parser: HTTPRequestParser
        private var output: [UInt8] = []
        private var sent = 0
        private var closeAfterWrite = false
        /// The client shut down its side: answer what is complete, then close.
        private var inputEnded = false
        private var timer: EventLoop.TimerHandle?
        private var deadline: Instant?
        /// What the armed deadline waits for.
        private var wait = Wait.firstRequest
        /// The connection's start, or its last complete request: what eviction orders by.
        private(set) var lastProgress: Instant

        enum Wait {
            /// A new connection's first request (timed from the connection's start).
            case firstRequest
            /// Keep-alive, between requests.
            case idle
            /// A request under way (timed from its first byte).
            case request
            /// Unsent answers, for the client to read.
            case clientReading
        }

        init(fd: consuming OwnedFD, server: HTTPServer, sequence: UInt64) throws(SysError) {
            self.server = server
            self.loop = server.loop
            self.limits = server.limits
            self.sequence = sequence
            self.parser = HTTPRequestParser(limits: server.limits.request)
            let now = server.loop.now
            lastProgress = now
            let raw = fd.rawValue
            self.fd = consume fd
            if let bytes = limits.socketSendBufferBytes { try? Socket.setSendBufferSize(raw, bytes) }
            registration = try loop.register(fd: raw, events: .in) { [weak self] events in self?.ready(events) }
            armTimer(at: now + limits.requestTimeout)
        }

        var bufferedByteCount: Int { parser.bufferedByteCount + output.count - sent }

        private var pending: Int { output.count - sent }

        private func ready(_ events: Epoll.Events) {
            if pending > 0 { send() }
            guard fd != nil else { return }
            if pending == 0, !closeAfterWrite, !inputEnded, !events.intersection([.in, .hup, .err]).isEmpty {
                readOnce()
            }
            guard fd != nil else { return }
            answer()
        }

        private func readOnce() {
            guard let raw = fd?.rawValue else { return }
            let hadPartial = parser.hasPartialRequest
            switch try? Descriptor.read(raw, maxBytes: limits.readChunkBytes) {
            case .wouldBlock?:
                return
            case .ready(let bytes)? where bytes.isEmpty:
                inputEnded = true
            case .ready(let bytes)?:
                parser.feed(bytes)
                if wait == .idle && !hadPartial && parser.hasPartialRequest {
                    wait = .request  // a request's first byte
                    armTimer(at: loop.now + limits.requestTimeout)
                }
            case nil:
                close()
            }
        }

        /// Parses and answers complete requests while the unsent answers stay under the limit, sends,
        /// and repeats while the client keeps up; then watches for what comes next.
        private func answer() {
            var answeredAny = false
            while fd != nil {
                var answered = false
                var exhausted = false
                do {
                    while pending < limits.maxOutputBytes, !closeAfterWrite {
                        guard let request = try parser.next() else {
                            exhausted = true
                            break
                        }
                        answered = true
                        let response = server?.respond(to: request) ?? HTTPResponse(status: .serviceUnavailable)
                        output += response.serialized(keepAlive: request.keepAlive, omitBody: request.method == .head)
                        if !request.keepAlive { closeAfterWrite = true }
                    }
                    if parser.takeContinueRequest() { output += HTTPResponse.continueInterim }
                    if exhausted && inputEnded { closeAfterWrite = true }
                } catch {
                    output += HTTPResponse(error: error).serialized(keepAlive: false)
                    closeAfterWrite = true
                }
                if answered {
                    answeredAny = true
                    lastProgress = loop.now
                }
                send()
                guard answered, pending == 0, !closeAfterWrite else { break }
            }
            guard fd != nil else { return }
            if pending == 0 && closeAfterWrite {
                close()
                return
            }
            let now = loop.now
            if pending > 0 {
                watch(.out)
                if wait != .clientReading {
                    wait = .clientReading
                    armTimer(at: now + limits.requestTimeout)
                }
            } else {
                watch(.in)
                if wait == .clientReading || answeredAny {
                    if parser.hasPartialRequest {
                        wait = .request
                        armTimer(at: now + limits.requestTimeout)
                    } else {
                        wait = .idle
                        armTimer(at: now + limits.idleTimeout)
                    }
                }
                // Otherwise the deadline of the connection's start, or of the request's first byte, stands.
            }
        }

        private func send() {
            guard let raw = fd?.rawValue else { return }
            while pending > 0 {
                switch try? Socket.send(raw, Array(output[sent...])) {
                case .ready(let count)?:
                    sent += count
                case .wouldBlock?:
                    return
                case nil:
                    close()
                    return
                }
            }
            output.removeAll(keepingCapacity: output.capacity <= 16 << 10)
            sent = 0
        }

        /// Reading and writing exclude each other: while answers wait, the client is not read.
        private func watch(_ events: Epoll.Events) {
            guard events != interest, let registration else { return }
            interest = events
            try? loop.modify(registration, events: events)
        }

        private func armTimer(at deadline: Instant) {
            guard deadline != self.deadline else { return }
            if let timer { loop.cancel(timer) }
            self.deadline = deadline
            timer = loop.schedule(at: deadline) { [weak self] in self?.expired() }
        }

        private func expired() {
            timer = nil
            deadline = nil
            guard fd != nil else { return }
            switch wait {
            case .idle:
                break
            case .clientReading:
                server?.timedOut("closed a connection that did not read its answers in time")
            case .firstRequest, .request:
                server?.timedOut("closed a connection that did not send a complete request in time")
                if parser.hasPartialRequest {
                    // One try: a client this slow gets no more of our time.
                    output = HTTPResponse(status: .requestTimeout, text: "request timeout\n").serialized(keepAlive: false)
                    sent = 0
                    send()
                }
            }
            close()
        }

        func close() {
            if let timer { loop.cancel(timer) }
            timer = nil
            if let registration { loop.deregister(registration) }
            registration = nil
            fd = nil
            output = []
            sent = 0
            server?.closed(self)
        }
    }
}
