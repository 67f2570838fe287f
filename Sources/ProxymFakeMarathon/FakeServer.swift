import ProxymHTTP
import ProxymPosix
import ProxymRuntime

/// A small HTTP/1.1 server on the event loop for the fake Marathon: keep-alive, pipelining (answers
/// in order), large bodies both ways, and streams (SSE) that stay open until either side closes them.
///
/// Unlike proxym's `HTTPServer` (which answers each request with one complete response), a handler
/// here may also answer "never" (to test client timeouts) or turn the connection into a stream.
final class FakeServer {
    enum Reply {
        /// A complete response; the connection stays open if the request allows it.
        case response(HTTPResponse)
        /// Raw bytes, then close (a truncated or otherwise broken answer).
        case raw([UInt8])
        /// Never answer; the connection stays open until the client gives up.
        case silence
        /// Write `head` (a complete response head, no length: the body ends when the connection
        /// closes), then hand the stream to `opened`. Later requests on this connection are ignored.
        case stream(head: [UInt8], opened: (Stream) -> Void)
    }

    /// One open streaming response.
    final class Stream {
        fileprivate weak var connection: Connection?
        let peer: String
        /// Set by the owner, e.g. the `event_type` filter of an SSE stream.
        var accepts: (String) -> Bool = { _ in true }
        var onClose: (() -> Void)?

        fileprivate init(connection: Connection, peer: String) {
            self.connection = connection
            self.peer = peer
        }

        var isOpen: Bool { connection?.isOpen ?? false }

        func send(_ bytes: [UInt8]) { connection?.enqueue(bytes) }

        /// Bytes queued and not yet taken by the reader.
        var queuedBytes: Int { connection?.queuedBytes ?? 0 }

        /// Ends the stream (what is queued is still written).
        func close() { connection?.closeAfterFlush() }
    }

    struct Info {
        var peer: String
    }

    let port: UInt16
    private let loop: EventLoop
    private let limits: HTTPLimits
    private let handler: (HTTPRequest, Info) -> Reply
    private var listener: OwnedFD?
    private var registration: EventLoop.Registration?
    fileprivate var connections: [ObjectIdentifier: Connection] = [:]

    init(loop: EventLoop, host: String, port: UInt16, limits: HTTPLimits, handler: @escaping (HTTPRequest, Info) -> Reply)
        throws
    {
        self.loop = loop
        self.limits = limits
        self.handler = handler
        let socket = try Socket.listenTCP(host: host, port: port, backlog: 512)
        self.port = socket.port
        let fd = socket.fd
        let raw = fd.rawValue
        listener = consume fd
        registration = try loop.register(fd: raw, events: .in) { [weak self] _ in self?.acceptAll() }
    }

    var connectionCount: Int { connections.count }

    private func acceptAll() {
        while let raw = listener?.rawValue {
            guard case .ready(let fd)? = try? Socket.accept(raw) else { return }
            let peer = (try? Socket.peerDescription(fd.rawValue)) ?? "?"
            do {
                let connection = try Connection(fd: fd, peer: peer, server: self)
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                log("cannot watch a connection: \(error)")
            }
        }
    }

    fileprivate func respond(_ request: HTTPRequest, peer: String) -> Reply { handler(request, Info(peer: peer)) }

    /// One client connection.
    fileprivate final class Connection {
        private weak var server: FakeServer?
        private let loop: EventLoop
        private var fd: OwnedFD?
        private var registration: EventLoop.Registration?
        private var parser: HTTPRequestParser
        private var output: [UInt8] = []
        private var outputOffset = 0
        private var closing = false
        /// Answering "never" or streaming: later requests are not read.
        private var parked = false
        private var stream: Stream?
        let peer: String

        init(fd: consuming OwnedFD, peer: String, server: FakeServer) throws {
            self.server = server
            self.loop = server.loop
            self.peer = peer
            parser = HTTPRequestParser(limits: server.limits)
            let raw = fd.rawValue
            self.fd = consume fd
            registration = try loop.register(fd: raw, events: .in) { [weak self] events in self?.ready(events) }
        }

        var isOpen: Bool { fd != nil && !closing }

        private func ready(_ events: Epoll.Events) {
            if events.contains(.out) { flush() }
            guard fd != nil else { return }
            if events.contains(.in) || events.contains(.hup) || events.contains(.err) { readAvailable() }
        }

        private func readAvailable() {
            while let raw = fd?.rawValue {
                switch try? Descriptor.read(raw, maxBytes: 256 * 1024) {
                case .wouldBlock?:
                    return
                case .ready(let bytes)? where !bytes.isEmpty:
                    if parked || closing { continue }  // a stream's client has nothing more to say
                    parser.feed(bytes)
                    process()
                default:
                    close()  // EOF or error: the client is gone (a stream ends here too)
                    return
                }
            }
        }

        private func process() {
            do {
                while !parked, !closing, let request = try parser.next() {
                    guard let server else { return }
                    switch server.respond(request, peer: peer) {
                    case .response(let response):
                        output += response.serialized(keepAlive: request.keepAlive, omitBody: request.method == .head)
                        if !request.keepAlive { closing = true }
                    case .raw(let bytes):
                        output += bytes
                        closing = true
                    case .silence:
                        parked = true
                    case .stream(let head, let opened):
                        output += head
                        parked = true
                        let stream = Stream(connection: self, peer: peer)
                        self.stream = stream
                        flush()
                        if fd != nil { opened(stream) }
                        return
                    }
                }
                if parser.takeContinueRequest() { output += HTTPResponse.continueInterim }
            } catch {
                output += HTTPResponse(error: error).serialized(keepAlive: false)
                closing = true
            }
            flush()
        }

        var queuedBytes: Int { output.count - outputOffset }

        func enqueue(_ bytes: [UInt8]) {
            guard isOpen else { return }
            output += bytes
            // A reader that stopped reading does not get to hold unbounded memory.
            if output.count - outputOffset > 64 << 20 {
                log("dropping a stream whose reader is too slow (\(peer))")
                close()
                return
            }
            flush()
        }

        func closeAfterFlush() {
            guard fd != nil else { return }
            closing = true
            flush()
        }

        private func flush() {
            guard let raw = fd?.rawValue else { return }
            while outputOffset < output.count {
                let sent: IOResult<Int>?
                if outputOffset == 0 {
                    sent = try? Socket.send(raw, output)
                } else {
                    sent = try? Socket.send(raw, Array(output[outputOffset...]))
                }
                switch sent {
                case .ready(let n)?:
                    outputOffset += n
                case .wouldBlock?:
                    if outputOffset > 0 {
                        output.removeFirst(outputOffset)
                        outputOffset = 0
                    }
                    if let registration { try? loop.modify(registration, events: [.in, .out]) }
                    return
                case nil:
                    close()
                    return
                }
            }
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
            if let registration { try? loop.modify(registration, events: .in) }
            if closing { close() }
        }

        func close() {
            guard fd != nil else { return }
            if let registration { loop.deregister(registration) }
            registration = nil
            fd = nil
            let stream = self.stream
            self.stream = nil
            server?.connections[ObjectIdentifier(self)] = nil
            stream?.onClose?()
        }
    }
}
