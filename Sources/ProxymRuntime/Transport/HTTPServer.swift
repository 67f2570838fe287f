import Logging
import ProxymCore
import ProxymHTTP
import ProxymPosix

/// A small HTTP/1.1 server on the loop (Marathon's event callbacks arrive here).
///
/// Every connection is non-blocking and read as it becomes readable into our incremental parser;
/// the handler answers synchronously (it must not block: it only notes that something changed), so
/// the response goes out at once. Limits: request line, headers and body sizes (`HTTPLimits`), a cap
/// on concurrent connections (excess ones get 503 and are closed), an idle timeout between requests
/// and a deadline for a request that has started to arrive (slow clients get 408).
public final class HTTPServer {
    public struct Options: Sendable {
        public var limits = HTTPLimits.default
        public var maxConnections = 64
        public var idleTimeout: Duration = .seconds(60)
        public var requestTimeout: Duration = .seconds(10)
        public init() {}
    }

    public let port: UInt16
    private let loop: EventLoop
    private let logger: Logger
    private let options: Options
    private let handler: (HTTPRequest) -> HTTPResponse
    private var listener: OwnedFD?
    private var registration: EventLoop.Registration?
    private var connections: [ObjectIdentifier: Connection] = [:]

    /// Binds `host:port` (`host` nil = all addresses; port 0 = any free port, see `port`).
    public init(
        loop: EventLoop, host: String?, port: UInt16, options: Options = Options(), logger: Logger,
        handler: @escaping (HTTPRequest) -> HTTPResponse
    ) throws(SysError) {
        self.loop = loop
        self.logger = logger
        self.options = options
        self.handler = handler
        let socket = try Socket.listenTCP(host: host ?? "0.0.0.0", port: port)
        self.port = socket.port
        let fd = socket.fd
        let raw = fd.rawValue
        listener = consume fd
        registration = try loop.register(fd: raw, events: .in) { [weak self] _ in self?.acceptAll() }
    }

    deinit { close() }

    public var connectionCount: Int { connections.count }

    /// Stops listening and closes every connection.
    public func close() {
        if let registration { loop.deregister(registration) }
        registration = nil
        listener = nil
        for connection in Array(connections.values) { connection.close() }
        connections = [:]
    }

    private func acceptAll() {
        while let raw = listener?.rawValue {
            let accepted: OwnedFD
            do {
                switch try Socket.accept(raw) {
                case .wouldBlock: return
                case .ready(let fd): accepted = fd
                }
            } catch {
                // ECONNABORTED, EMFILE...: log and try again on the next readiness.
                logger.warning("accept failed", metadata: ["error": "\(error)"])
                return
            }
            if connections.count >= options.maxConnections {
                logger.warning("too many connections; refusing one", metadata: ["limit": "\(options.maxConnections)"])
                let busy = HTTPResponse(status: .serviceUnavailable, text: "too many connections\n")
                _ = try? Socket.send(accepted.rawValue, busy.serialized(keepAlive: false))
                continue  // `accepted` closes here
            }
            do {
                let connection = try Connection(fd: accepted, server: self)
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                logger.warning("cannot watch a new connection", metadata: ["error": "\(error)"])
            }
        }
    }

    fileprivate func closed(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    fileprivate func respond(to request: HTTPRequest) -> HTTPResponse { handler(request) }

    /// One client connection.
    fileprivate final class Connection {
        private weak var server: HTTPServer?
        private let loop: EventLoop
        private var fd: OwnedFD?
        private var registration: EventLoop.Registration?
        private var parser: HTTPRequestParser
        private var output: [UInt8] = []
        private var closeAfterWrite = false
        private var timer: EventLoop.TimerHandle?
        private var partialSince: Instant?
        private let options: Options

        init(fd: consuming OwnedFD, server: HTTPServer) throws(SysError) {
            self.server = server
            self.loop = server.loop
            self.options = server.options
            self.parser = HTTPRequestParser(limits: server.options.limits)
            let raw = fd.rawValue
            self.fd = consume fd
            registration = try loop.register(fd: raw, events: .in) { [weak self] events in self?.ready(events) }
            armTimer()
        }

        private func ready(_ events: Epoll.Events) {
            if events.contains(.out) || !output.isEmpty { flush() }
            if fd != nil, output.isEmpty, events.contains(.in) || events.contains(.hup) || events.contains(.err) {
                readAvailable()
            }
        }

        private func readAvailable() {
            var sawEOF = false
            while let raw = fd?.rawValue, !closeAfterWrite {
                let chunk: [UInt8]
                do {
                    switch try Descriptor.read(raw, maxBytes: 64 * 1024) {
                    case .wouldBlock:
                        chunk = []
                    case .ready(let bytes):
                        chunk = bytes
                        if bytes.isEmpty { sawEOF = true }
                    }
                } catch {
                    close()
                    return
                }
                if chunk.isEmpty { break }
                parser.feed(chunk)
                process()
            }
            if sawEOF {
                // The client is done sending; finish writing what we owe, then close.
                closeAfterWrite = true
                if output.isEmpty { close() }
            } else if fd != nil {
                armTimer()  // not for a connection the answer just closed
            }
        }

        private func process() {
            do {
                while let request = try parser.next() {
                    partialSince = nil  // a request that follows is timed from its own first byte
                    let response = server?.respond(to: request) ?? HTTPResponse(status: .serviceUnavailable)
                    output += response.serialized(keepAlive: request.keepAlive, omitBody: request.method == .head)
                    if !request.keepAlive { closeAfterWrite = true }
                }
                if parser.takeContinueRequest() { output += HTTPResponse.continueInterim }
            } catch {
                output += HTTPResponse(error: error).serialized(keepAlive: false)
                closeAfterWrite = true
            }
            flush()
        }

        private func flush() {
            guard let raw = fd?.rawValue else { return }
            while !output.isEmpty {
                switch try? Socket.send(raw, output) {
                case .ready(let sent)?:
                    output.removeFirst(sent)
                case .wouldBlock?:
                    // Backpressure: stop reading until the client takes what we owe it (pipelined
                    // requests cannot pile up answers), and a half-closed client cannot make the
                    // level-triggered EOF spin the loop.
                    if let registration { try? loop.modify(registration, events: .out) }
                    return
                case nil:
                    close()
                    return
                }
            }
            if let registration { try? loop.modify(registration, events: .in) }
            if closeAfterWrite { close() }
        }

        /// Idle between requests: `idleTimeout`; a request under way must be complete within
        /// `requestTimeout` of its first byte (408 otherwise).
        private func armTimer() {
            if let timer { loop.cancel(timer) }
            let deadline: Instant
            if parser.hasPartialRequest {
                let since = partialSince ?? loop.now
                partialSince = since
                deadline = since + options.requestTimeout
            } else {
                partialSince = nil
                deadline = loop.now + options.idleTimeout
            }
            timer = loop.schedule(at: deadline) { [weak self] in
                guard let self else { return }
                self.timer = nil
                if self.parser.hasPartialRequest {
                    self.output += HTTPResponse(status: .requestTimeout, text: "request timeout\n").serialized(keepAlive: false)
                    self.closeAfterWrite = true
                    self.flush()
                } else {
                    self.close()
                }
            }
        }

        func close() {
            if let timer { loop.cancel(timer) }
            timer = nil
            if let registration { loop.deregister(registration) }
            registration = nil
            fd = nil
            server?.closed(self)
        }
    }
}
