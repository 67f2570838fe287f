// proxym-test-backend: a tiny HTTP/1.1 server used as a "real backend" by the example (`make run`)
// and by the end-to-end tests. Not shipped in the .deb.
//
//   proxym-test-backend --name blue [--host 127.0.0.1] [--port 0] [--fail-path /health]
//
// Answers every request with `200 OK` and the body "<name>\n" (HEAD: no body), keeps connections
// alive unless the client says `Connection: close`, and prints "listening on <host>:<port>" once the
// socket is bound, so a caller that asked for port 0 learns the port. Single-threaded, poll(2)-driven.
// The request's X-Forwarded-Proto, if any, comes back as `X-Seen-Forwarded-Proto`, its path as
// `X-Seen-Path`. With `--fail-path P`, requests whose path starts with P get `503` (a failing health
// check).
import Glibc
import ProxymModel

struct Options {
    var name = "backend"
    var host = "127.0.0.1"
    var port: UInt16 = 0
    var failPath: String? = nil
}

func fail(_ message: String) -> Never {
    var text = "proxym-test-backend: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func parseOptions() -> Options {
    var options = Options()
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        guard let value = args.popFirst() else { fail("\(arg) needs a value") }
        switch arg {
        case "--name": options.name = value
        case "--host": options.host = value
        case "--fail-path": options.failPath = value
        case "--port":
            guard let port = UInt16(value) else { fail("bad port \(value)") }
            options.port = port
        default: fail("unknown option \(arg) (use --name, --host, --port, --fail-path)")
        }
    }
    return options
}

func listenSocket(host: String, port: UInt16) -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { fail("socket: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { fail("not an IPv4 address: \(host)") }
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { fail("bind \(host):\(port): errno \(errno)") }
    guard listen(fd, 128) == 0 else { fail("listen: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, UInt16(bigEndian: addr.sin_port))
}

/// Per-connection buffer of bytes not yet parsed into requests.
final class Connection {
    let fd: Int32
    var input: [UInt8] = []
    init(fd: Int32) { self.fd = fd }
}

/// Finds one complete request head in `input`; returns (method, closeAfter, totalLength, the
/// X-Forwarded-Proto values) or nil.
func parseRequest(_ input: [UInt8]) -> (method: String, close: Bool, length: Int, forwardedProto: [String], path: String)? {
    guard input.count >= 4 else { return nil }
    var end = -1
    for i in 0...(input.count - 4)
    where input[i] == 13 && input[i + 1] == 10 && input[i + 2] == 13 && input[i + 3] == 10 {
        end = i + 4
        break
    }
    guard end > 0 else { return nil }
    let head = String(decoding: input[0..<end], as: UTF8.self)
    let lines = head.split(separator: "\r\n", omittingEmptySubsequences: true)
    let requestLine = lines.first.map(String.init) ?? ""
    let words = requestLine.split(separator: " ")
    let method = words.first.map(String.init) ?? "GET"
    let target = words.count > 1 ? String(words[1]) : "/"
    let path = String(target.prefix(while: { $0 != "?" && $0 != "\r" && $0 != "\n" }))
    var close = requestLine.hasSuffix("HTTP/1.0")
    var bodyLength = 0
    var forwardedProto: [String] = []
    for line in lines.dropFirst() {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let name = parts[0].lowercased()
        let value = parts[1].trimmingBlanks().lowercased()
        if name == "connection" { close = value == "close" ? true : (value == "keep-alive" ? false : close) }
        if name == "content-length" { bodyLength = Int(value) ?? 0 }
        if name == "x-forwarded-proto" { forwardedProto.append(value) }
    }
    guard input.count >= end + bodyLength else { return nil }
    return (method, close, end + bodyLength, forwardedProto, path)
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
                continue
            }
            return false
        }
        offset += n
    }
    return true
}

let options = parseOptions()
signal(SIGPIPE, SIG_IGN)
let (listener, port) = listenSocket(host: options.host, port: options.port)
var ready = "listening on \(options.host):\(port)\n"
ready.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }

let body = Array("\(options.name)\n".utf8)
var connections: [Int32: Connection] = [:]
var buffer = [UInt8](repeating: 0, count: 65536)

while true {
    var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
    fds += connections.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let ready = poll(&fds, nfds_t(fds.count), -1)
    if ready < 0 {
        if errno == EINTR { continue }
        fail("poll: errno \(errno)")
    }
    for p in fds where p.revents != 0 {
        if p.fd == listener {
            let client = accept(listener, nil, nil)
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                connections[client] = Connection(fd: client)
            }
            continue
        }
        guard let connection = connections[p.fd] else { continue }
        let n = buffer.withUnsafeMutableBytes { recv(p.fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 {
            close(p.fd)
            connections[p.fd] = nil
            continue
        }
        connection.input += buffer[0..<n]
        var closeNow = false
        while let request = parseRequest(connection.input) {
            connection.input.removeFirst(request.length)
            let failing = options.failPath.map { request.path.hasPrefix($0) } ?? false
            var head = failing ? "HTTP/1.1 503 Service Unavailable\r\n" : "HTTP/1.1 200 OK\r\n"
            head += "Content-Type: text/plain\r\nContent-Length: \(body.count)\r\n"
            head += "X-Backend: \(options.name)\r\nX-Seen-Path: \(request.path)\r\n"
            if !request.forwardedProto.isEmpty {
                head += "X-Seen-Forwarded-Proto: \(request.forwardedProto.joined(separator: ","))\r\n"
            }
            head += request.close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n"
            var response = Array(head.utf8)
            if request.method != "HEAD" { response += body }
            if !writeAll(p.fd, response) || request.close {
                closeNow = true
                break
            }
        }
        if closeNow || connection.input.count > 1 << 20 {
            close(p.fd)
            connections[p.fd] = nil
        }
    }
}
