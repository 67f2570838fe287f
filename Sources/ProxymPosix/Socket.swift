import CSystemd
import Glibc

/// A bound, listening TCP socket and the port it got (useful with port 0).
@frozen
public struct ListeningSocket: ~Copyable, Sendable {
    public var fd: OwnedFD
    public let port: UInt16

    public init(fd: consuming OwnedFD, port: UInt16) {
        self.fd = fd
        self.port = port
    }
}

/// TCP and AF_UNIX stream sockets. Every socket is created CLOEXEC; the ones that sit in epoll
/// are NONBLOCK as well.
public enum Socket {
    public enum ShutdownHow: Sendable {
        case read, write, both
    }

    /// socket + SO_REUSEADDR + bind + listen on a numeric IPv4 or IPv6 host ("127.0.0.1",
    /// "0.0.0.0", "::1", "[::]"), non-blocking. Port 0 picks a free port; the result carries it.
    public static func listenTCP(host: String, port: UInt16, backlog: Int32 = 128) throws(SysError) -> ListeningSocket {
        let address = try SocketAddress(host: host, port: port)
        let fd = try sysValue("socket(\(host))") {
            Glibc.socket(
                address.family,
                Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue),
                0
            )
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        var one: Int32 = 1
        _ = try sysValue("setsockopt(SO_REUSEADDR)") {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = try sysValue("bind(\(address))") { address.withSockAddr { Glibc.bind(fd, $0, $1) } }
        _ = try sysValue("listen(\(address))") { Glibc.listen(fd, backlog) }
        let bound = try localPort(fd)
        return ListeningSocket(fd: socket, port: bound)
    }

    /// accept4(CLOEXEC | NONBLOCK). `.wouldBlock` when no connection is waiting. Errors such as
    /// ECONNABORTED (the client gave up before we accepted) or EMFILE throw; a listener simply
    /// tries again on its next readiness.
    public static func accept(_ listener: CInt) throws(SysError) -> IOResult<OwnedFD> {
        switch try sys(
            "accept4(fd \(listener))",
            { accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)) }
        ) {
        case .ready(let fd): return .ready(OwnedFD(takingOwnershipOf: fd))
        case .wouldBlock: return .wouldBlock
        }
    }

    /// Connects to a numeric host and port, waiting at most `timeout` (poll on a non-blocking
    /// connect). The returned socket is blocking unless `nonBlocking`. ETIMEDOUT on timeout.
    public static func connectTCP(
        host: String,
        port: UInt16,
        timeout: Duration,
        nonBlocking: Bool = false
    ) throws(SysError) -> OwnedFD {
        let address = try SocketAddress(host: host, port: port)
        let fd = try sysValue("socket(\(host))") {
            Glibc.socket(
                address.family,
                Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue),
                0
            )
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let code = Glibc.errno
            guard code == EINPROGRESS || code == EINTR else { throw SysError(call: "connect(\(address))", errno: code) }
            var entries = [Poll.Entry(fd: fd, events: .out)]
            if try Poll.wait(&entries, timeout: timeout) == 0 {
                throw SysError(call: "connect(\(address))", errno: ETIMEDOUT)
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = try sysValue("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) }
            if failure != 0 { throw SysError(call: "connect(\(address))", errno: failure) }
        }
        if !nonBlocking { try Descriptor.setNonBlocking(fd, false) }
        return socket
    }

    /// SO_RCVBUF (the kernel doubles the value): a small one plays a client that reads slowly.
    public static func setReceiveBufferSize(_ fd: CInt, _ bytes: Int) throws(SysError) {
        try setBufferSize(fd, SO_RCVBUF, "SO_RCVBUF", bytes)
    }

    /// SO_SNDBUF (the kernel doubles the value; autotuning is off for the socket): what the kernel
    /// holds for a peer that does not read.
    public static func setSendBufferSize(_ fd: CInt, _ bytes: Int) throws(SysError) {
        try setBufferSize(fd, SO_SNDBUF, "SO_SNDBUF", bytes)
    }

    private static func setBufferSize(_ fd: CInt, _ option: Int32, _ name: String, _ bytes: Int) throws(SysError) {
        var value = Int32(clamping: bytes)
        _ = try sysValue("setsockopt(\(name))") {
            setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Connects a non-blocking AF_UNIX stream socket to the socket at `path` (CLOEXEC + NONBLOCK).
    /// A UNIX connect completes at once or fails at once: `.wouldBlock` means the listener's backlog
    /// is full (EAGAIN), try again later; ENOENT / ECONNREFUSED (nobody listens) throw.
    public static func connectUnix(path: String) throws(SysError) -> IOResult<OwnedFD> {
        let address = try UnixAddress(path)
        let fd = try sysValue("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        while true {
            if address.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 { return .ready(socket) }
            let code = Glibc.errno
            switch code {
            case EINTR: continue
            // EINPROGRESS does not happen for AF_UNIX on Linux; should it, writability says when.
            case EINPROGRESS: return .ready(socket)
            case EAGAIN: return .wouldBlock
            default: throw SysError(call: "connect(\(path))", errno: code)
            }
        }
    }

    /// Listens on a UNIX stream socket at `path` (which must not exist), non-blocking (tests).
    public static func listenUnix(path: String, backlog: Int32 = 16) throws(SysError) -> OwnedFD {
        let address = try UnixAddress(path)
        let fd = try sysValue("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        _ = try sysValue("bind(\(path))") { address.withSockAddr { Glibc.bind(fd, $0, $1) } }
        _ = try sysValue("listen(\(path))") { Glibc.listen(fd, backlog) }
        return socket
    }

    /// A connected AF_UNIX stream pair, CLOEXEC (+ NONBLOCK unless asked otherwise).
    public static func pair(nonBlocking: Bool = true) throws(SysError) -> FDPair {
        var fds: [Int32] = [-1, -1]
        let flags = SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | (nonBlocking ? SOCK_NONBLOCK.rawValue : 0)
        _ = try sysValue("socketpair") { socketpair(AF_UNIX, Int32(flags), 0, &fds) }
        return FDPair(first: OwnedFD(takingOwnershipOf: fds[0]), second: OwnedFD(takingOwnershipOf: fds[1]))
    }

    /// send(MSG_NOSIGNAL): a write to a socket whose peer is gone returns EPIPE instead of
    /// raising SIGPIPE, whatever the process's disposition.
    public static func send(_ fd: CInt, _ bytes: [UInt8]) throws(SysError) -> IOResult<Int> {
        var result: Result<IOResult<Int>, SysError> = .success(.wouldBlock)
        bytes.withUnsafeBytes { raw in
            do throws(SysError) {
                result = .success(
                    try sys("send(fd \(fd))") { Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) }
                )
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Sends every byte on a blocking socket (MSG_NOSIGNAL).
    public static func sendAll(_ fd: CInt, _ bytes: [UInt8]) throws(SysError) {
        var offset = 0
        while offset < bytes.count {
            switch try send(fd, Array(bytes[offset...])) {
            case .ready(let n): offset += n
            case .wouldBlock:
                var entries = [Poll.Entry(fd: fd, events: .out)]
                try Poll.wait(&entries, timeout: nil)
            }
        }
    }

    public static func shutdown(_ fd: CInt, _ how: ShutdownHow) throws(SysError) {
        let value: Int32
        switch how {
        case .read: value = Int32(SHUT_RD)
        case .write: value = Int32(SHUT_WR)
        case .both: value = Int32(SHUT_RDWR)
        }
        do {
            _ = try sysValue("shutdown(fd \(fd))") { Glibc.shutdown(fd, value) }
        } catch let error where error.errno == ENOTCONN {
            return  // the peer already went away: nothing left to shut down
        }
    }

    /// The local port of a bound socket (getsockname).
    public static func localPort(_ fd: CInt) throws(SysError) -> UInt16 {
        SocketAddress.port(of: try socketName("getsockname(fd \(fd))") { getsockname(fd, $0, $1) })
    }

    /// "127.0.0.1:54321" / "[::1]:54321" for the peer of a connected socket (getpeername).
    public static func peerDescription(_ fd: CInt) throws(SysError) -> String {
        SocketAddress.describe(try socketName("getpeername(fd \(fd))") { getpeername(fd, $0, $1) })
    }

    /// The address `get` (getsockname or getpeername) fills in.
    private static func socketName(
        _ call: @autoclosure () -> String,
        _ get: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) throws(SysError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try sysValue(call()) {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { get($0, &length) }
            }
        }
        return storage
    }
}
