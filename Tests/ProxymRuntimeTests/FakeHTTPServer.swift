import ProxymCore
import ProxymPosix
import ProxymRuntime

/// A small HTTP/1.1 server on 127.0.0.1 for the HTTP client tests, driven by the same loop as
/// the client (so a test is one thread stepping one loop). Keep-alive, Content-Length request
/// bodies, and scripted replies: whole responses, raw pieces with pauses, or silence.
final class FakeHTTPServer {
    struct Request {
        var method: String
        var target: String
        /// Names lowercased.
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.0 == lower }?.1
        }
    }

    enum Step {
        case send([UInt8])
        case wait(Duration)
        case close
    }

    enum Reply {
        /// A complete response; Content-Length is added.
        case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
        /// Raw bytes and pauses, in order.
        case script([Step])
        /// Read the request, never answer.
        case silence
    }

    final class Connection {
        var fd: OwnedFD?
        var registration: EventLoop.Registration?
        var input: [UInt8] = []
        var output: [UInt8] = []
        var closeWhenFlushed = false
        /// A scripted or silent reply is running: later requests wait.
        var busy = false

        init(fd: consuming OwnedFD) { self.fd = consume fd }
    }

    let loop: EventLoop
    let port: UInt16
    var handler: (Request) -> Reply
    private(set) var requests: [Request] = []
    private(set) var acceptedCount = 0
    /// Connections the client closed (EOF or reset seen).
    private(set) var closedByPeerCount = 0
    private var listener: OwnedFD?
    private var listenerRegistration: EventLoop.Registration?
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var timers: [EventLoop.TimerHandle] = []

    init(loop: EventLoop, handler: @escaping (Request) -> Reply) throws {
        self.loop = loop
        self.handler = handler
        let listening = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        port = listening.port
        let fd = listening.fd.rawValue
        listener = consume listening.fd
        listenerRegistration = try loop.register(fd: fd, events: .in) { [weak self] _ in self?.acceptAll() }
    }

    deinit { close() }

    var url: String { "http://127.0.0.1:\(port)" }
    var openConnectionCount: Int { connections.count }

    func close() {
        for timer in timers { loop.cancel(timer) }
        timers.removeAll()
        for connection in connections.values { drop(connection) }
        if let listenerRegistration { loop.deregister(listenerRegistration) }
        listenerRegistration = nil
        listener = nil
    }

    private func acceptAll() {
        guard let raw = listener?.rawValue else { return }
        while case .ready(let fd)? = try? Socket.accept(raw) {
            acceptedCount += 1
            let rawFD = fd.rawValue
            let connection = Connection(fd: fd)
            connections[ObjectIdentifier(connection)] = connection
            connection.registration = try? loop.register(fd: rawFD, events: .in) { [weak self] events in
                self?.ready(connection, events)
            }
        }
    }

    private func ready(_ connection: Connection, _ events: Epoll.Events) {
        if events.contains(.out) { flush(connection) }
        guard connection.fd != nil, events.contains(.in) || events.contains(.hup) || events.contains(.err) else {
            return
        }
        while let raw = connection.fd?.rawValue {
            switch try? Descriptor.read(raw, maxBytes: 64 * 1024) {
            case .wouldBlock?:
                serve(connection)
                return
            case .ready(let chunk)? where !chunk.isEmpty:
                connection.input += chunk
            default:  // EOF or error
                closedByPeerCount += 1
                drop(connection)
                return
            }
        }
    }

    private func serve(_ connection: Connection) {
        while !connection.busy, connection.fd != nil, let request = takeRequest(connection) {
            requests.append(request)
            switch handler(request) {
            case .respond(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) \(FakeHTTPServer.reason(status))\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "Content-Length: \(body.count)\r\n\r\n"
                send(connection, Array(head.utf8) + body)
            case .script(let steps):
                connection.busy = true
                run(steps[...], on: connection)
            case .silence:
                connection.busy = true
            }
        }
    }

    private func run(_ steps: ArraySlice<Step>, on connection: Connection) {
        var rest = steps
        while let step = rest.popFirst() {
            guard connection.fd != nil else { return }
            switch step {
            case .send(let bytes):
                send(connection, bytes)
            case .wait(let delay):
                timers.append(
                    loop.schedule(after: delay) { [weak self] in self?.run(rest, on: connection) }
                )
                return
            case .close:
                connection.closeWhenFlushed = true
                flush(connection)
                return
            }
        }
        connection.busy = false
        serve(connection)
    }

    /// One complete request from the input buffer (Content-Length bodies only), or nil.
    private func takeRequest(_ connection: Connection) -> Request? {
        let input = connection.input
        guard let end = FakeHTTPServer.find([13, 10, 13, 10], in: input) else { return nil }
        let head = String(decoding: input[..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers.append((line[..<colon].lowercased(), String(value)))
        }
        let length = Int(headers.first { $0.0 == "content-length" }?.1 ?? "0") ?? 0
        let bodyStart = end + 4
        guard input.count >= bodyStart + length else { return nil }
        connection.input = Array(input[(bodyStart + length)...])
        return Request(
            method: requestLine.count > 0 ? String(requestLine[0]) : "",
            target: requestLine.count > 1 ? String(requestLine[1]) : "",
            headers: headers,
            body: Array(input[bodyStart..<(bodyStart + length)])
        )
    }

    private func send(_ connection: Connection, _ bytes: [UInt8]) {
        connection.output += bytes
        flush(connection)
    }

    private func flush(_ connection: Connection) {
        guard let raw = connection.fd?.rawValue, let registration = connection.registration else { return }
        while !connection.output.isEmpty {
            switch try? Socket.send(raw, connection.output) {
            case .ready(let n)?:
                connection.output.removeFirst(n)
            case .wouldBlock?:
                try? loop.modify(registration, events: [.in, .out])
                return
            case nil:
                drop(connection)
                return
            }
        }
        try? loop.modify(registration, events: .in)
        if connection.closeWhenFlushed { drop(connection) }
    }

    private func drop(_ connection: Connection) {
        if let registration = connection.registration { loop.deregister(registration) }
        connection.registration = nil
        connection.fd = nil
        connections[ObjectIdentifier(connection)] = nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count)
        where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 307: return "Temporary Redirect"
        case 404: return "Not Found"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        default: return "Status"
        }
    }
}

// MARK: response builders for scripts

extension FakeHTTPServer {
    /// A response head for a chunked body.
    static func chunkedHead(status: Int = 200, headers: [(String, String)] = []) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason(status))\r\nTransfer-Encoding: chunked\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10]
    }

    static func chunk(_ text: String) -> [UInt8] { chunk(Array(text.utf8)) }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}

/// gzip (RFC 1952) of `data` using stored (uncompressed) deflate blocks: a valid stream any
/// inflater accepts, built without a compression library.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
    var offset = 0
    repeat {
        let count = min(65_535, data.count - offset)
        let final: UInt8 = offset + count == data.count ? 1 : 0
        out.append(final)  // BFINAL, BTYPE=00 (stored)
        out += [UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
        out += data[offset..<(offset + count)]
        offset += count
    } while offset < data.count
    let crc = crc32(data)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((crc >> UInt32(shift)) & 0xFF)) }
    let size = UInt32(truncatingIfNeeded: data.count)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((size >> UInt32(shift)) & 0xFF)) }
    return out
}

func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
