import ProxymModel
import ProxymPosix

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). Another
/// process may take it before you bind it; prefer binding port 0 yourself where possible.
public func freeTCPPort() throws -> UInt16 {
    let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0)
    let port = listener.port
    _ = consume listener
    return port
}

/// A minimal blocking HTTP/1.1 GET for tests ("Connection: close", body read to EOF; chunked
/// bodies are decoded). Returns nil on any failure, including the timeout.
public func httpGet(
    host: String = "127.0.0.1",
    port: UInt16,
    path: String = "/",
    headers: [(String, String)] = [],
    timeout: Duration = .seconds(5)
) -> (status: Int, body: String)? {
    guard
        let response = httpRequest(
            host: host,
            port: port,
            method: "GET",
            path: path,
            headers: headers,
            timeout: timeout
        )
    else {
        return nil
    }
    return (response.status, String(decoding: response.body, as: UTF8.self))
}

/// A parsed HTTP response.
public struct HTTPTestResponse: Sendable {
    public var status: Int
    /// Header names lowercased, in order.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0 == lower }?.1
    }
}

/// Sends one request and reads the whole response (until EOF), all within `timeout`.
public func httpRequest(
    host: String = "127.0.0.1",
    port: UInt16,
    method: String = "GET",
    path: String = "/",
    headers: [(String, String)] = [],
    body: [UInt8] = [],
    timeout: Duration = .seconds(5)
) -> HTTPTestResponse? {
    let start = MonotonicClock.nanoseconds()
    let total = nanoseconds(timeout)
    func left() -> Duration {
        let spent = MonotonicClock.nanoseconds() - start
        return spent >= total ? .zero : .nanoseconds(Int64(total - spent))
    }
    guard let socket = try? Socket.connectTCP(host: host, port: port, timeout: timeout) else { return nil }
    // A caller-supplied Host header replaces the default (a second Host header is a 400).
    let hasHost = headers.contains { $0.0.lowercased() == "host" }
    var request = "\(method) \(path) HTTP/1.1\r\n"
    if !hasHost { request += "Host: \(host):\(port)\r\n" }
    request += "Connection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    if !body.isEmpty || method == "POST" || method == "PUT" { request += "Content-Length: \(body.count)\r\n" }
    request += "\r\n"
    guard (try? Socket.sendAll(socket.rawValue, Array(request.utf8) + body)) != nil else { return nil }

    var received: [UInt8] = []
    while true {
        var entries = [Poll.Entry(fd: socket.rawValue, events: .in)]
        let remaining = left()
        guard remaining > .zero, let ready = try? Poll.wait(&entries, timeout: remaining), ready > 0 else { return nil }
        guard case .ready(let chunk)? = try? socket.read(maxBytes: 64 * 1024) else { return nil }
        if chunk.isEmpty { break }
        received.append(contentsOf: chunk)
        if received.count > 64 * 1024 * 1024 { return nil }
    }
    return parseHTTPResponse(received)
}

/// Parses a complete HTTP/1.x response (status line, headers, body by chunked, length or EOF).
public func parseHTTPResponse(_ bytes: [UInt8]) -> HTTPTestResponse? {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let headerEnd = firstRange(of: separator, in: bytes, from: 0) else { return nil }
    let head = String(decoding: bytes[..<headerEnd], as: UTF8.self)
    var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    guard !lines.isEmpty else { return nil }
    let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
    guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else { return nil }
    var headers: [(String, String)] = []
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let name = line[..<colon].lowercased()
        let value = String(line[line.index(after: colon)...].trimmingBlanks())
        headers.append((name, value))
    }
    var body = Array(bytes[(headerEnd + 4)...])
    let response = HTTPTestResponse(status: status, headers: headers, body: [])
    if response.header("transfer-encoding")?.lowercased() == "chunked" {
        guard let decoded = decodeChunked(body) else { return nil }
        body = decoded
    } else if let lengthText = response.header("content-length"), let length = Int(lengthText) {
        guard body.count >= length else { return nil }
        body = Array(body.prefix(length))
    }
    return HTTPTestResponse(status: status, headers: headers, body: body)
}

func decodeChunked(_ bytes: [UInt8]) -> [UInt8]? {
    var output: [UInt8] = []
    var offset = 0
    let crlf: [UInt8] = [13, 10]
    while true {
        guard let lineEnd = firstRange(of: crlf, in: bytes, from: offset) else { return nil }
        let sizeText = String(decoding: bytes[offset..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingBlanks(), radix: 16) else { return nil }
        offset = lineEnd + 2
        if size == 0 { return output }
        guard offset + size + 2 <= bytes.count else { return nil }
        output.append(contentsOf: bytes[offset..<(offset + size)])
        offset += size + 2
    }
}

func firstRange(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    var index = start
    while index + needle.count <= haystack.count {
        if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
        index += 1
    }
    return nil
}

/// One request on a haproxy CLI socket (stats socket, or master CLI with `; quit`): connects, sends
/// the line, reads until haproxy closes. Blocking, bounded by `timeout`; nil on any failure.
public func cliRequest(path: String, _ request: String, timeout: Duration = .seconds(3)) -> String? {
    let start = MonotonicClock.nanoseconds()
    let total = nanoseconds(timeout)
    func connect() -> OwnedFD? {
        while MonotonicClock.nanoseconds() - start <= total {
            switch try? Socket.connectUnix(path: path) {
            case .ready(let fd)?: return fd
            case .wouldBlock?: MonotonicClock.sleep(.milliseconds(5))
            case nil: return nil
            }
        }
        return nil
    }
    guard let socket = connect() else { return nil }
    let raw = socket.rawValue
    try? Descriptor.setNonBlocking(raw, false)
    guard (try? Socket.sendAll(raw, Array((request + "\n").utf8))) != nil else { return nil }
    try? Descriptor.setNonBlocking(raw, true)
    var received: [UInt8] = []
    while true {
        let spent = MonotonicClock.nanoseconds() - start
        guard spent < total else { return nil }
        var entries = [Poll.Entry(fd: raw, events: .in)]
        guard let ready = try? Poll.wait(&entries, timeout: .nanoseconds(Int64(total - spent))), ready > 0 else { return nil }
        switch try? Descriptor.read(raw, maxBytes: 64 * 1024) {
        case .ready(let chunk)?:
            if chunk.isEmpty { return String(decoding: received, as: UTF8.self) }
            received += chunk
        case .wouldBlock?: continue
        case nil: return nil
        }
    }
}
