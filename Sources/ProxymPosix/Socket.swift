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
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try sysValue("getsockname(fd \(fd))") {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        return SocketAddress.port(of: storage)
    }

    /// "127.0.0.1:54321" / "[::1]:54321" for the peer of a connected socket (getpeername).
    public static func peerDescription(_ fd: CInt) throws(SysError) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try sysValue("getpeername(fd \(fd))") {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            }
        }
        return SocketAddress.describe(storage)
    }
}

/// A numeric IPv4 or IPv6 address and port.
struct SocketAddress: CustomStringConvertible {
    enum Storage {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    let storage: Storage
    let text: String

    init(host: String, port: UInt16) throws(SysError) {
        var name = host
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" { name = "127.0.0.1" }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, name, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            storage = .v4(v4)
            text = "\(name):\(port)"
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, name, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            storage = .v6(v6)
            text = "[\(name)]:\(port)"
            return
        }
        throw SysError(call: "inet_pton(\(host))", errno: EINVAL)
    }

    var family: Int32 {
        switch storage {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    var description: String { text }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch storage {
        case .v4(var address):
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var address):
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    static func port(of storage: sockaddr_storage) -> UInt16 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin_port)
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin6_port)
                }
            default: return 0
            }
        }
    }

    static func describe(_ storage: sockaddr_storage) -> String {
        var copy = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &copy) { pointer -> String in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address -> String in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                    return
                        "\(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: address.pointee.sin_port))"
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address -> String in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                    return
                        "[\(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))]:\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            case AF_UNIX:
                return "unix"
            default:
                return "family \(storage.ss_family)"
            }
        }
    }
}

/// AF_UNIX SOCK_DGRAM sockets, e.g. a recording NOTIFY_SOCKET in tests.
public enum UnixDatagram {
    /// A non-blocking datagram socket bound to `path` (which must not exist yet), or to the abstract
    /// name `name` for `@name`.
    public static func bind(path: String) throws(SysError) -> OwnedFD {
        let fd = try sysValue("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        let address = try UnixAddress.make(abstractOrPath: path)
        _ = try sysValue("bind(\(path))") { address.withSockAddr { Glibc.bind(fd, $0, $1) } }
        return socket
    }

    /// One datagram (truncated to `maxSize`), or `.wouldBlock`.
    public static func receive(_ fd: CInt, maxSize: Int = 64 * 1024) throws(SysError) -> IOResult<[UInt8]> {
        try Descriptor.read(fd, maxBytes: maxSize)
    }

    /// Sends one datagram to the socket bound at `path` from a fresh unbound socket.
    public static func send(_ bytes: [UInt8], to path: String) throws(SysError) {
        let fd = try sysValue("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        let socket = OwnedFD(takingOwnershipOf: fd)
        let address = try UnixAddress(path)
        _ = try sysValue("sendto(\(path))") {
            address.withSockAddr { pointer, length in
                bytes.withUnsafeBytes {
                    Glibc.sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), pointer, length)
                }
            }
        }
        try socket.close()
    }

    /// Sends one datagram from `socket` (non-blocking, unbound) to `address` (a path, or `@name` for
    /// an abstract socket) without ever waiting: `.wouldBlock` when the receiver's queue is full.
    public static func sendNow(_ bytes: [UInt8], from socket: CInt, to address: String) throws(SysError) -> IOResult<Void> {
        let target = try UnixAddress.make(abstractOrPath: address)
        let result = try sys("sendto(\(address))") {
            target.withSockAddr { pointer, length in
                bytes.withUnsafeBytes {
                    Glibc.sendto(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), pointer, length)
                }
            }
        }
        switch result {
        case .ready: return .ready(())
        case .wouldBlock: return .wouldBlock
        }
    }

    /// An unbound non-blocking datagram socket for `sendNow`.
    public static func unboundSocket() throws(SysError) -> OwnedFD {
        let fd = try sysValue("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        }
        return OwnedFD(takingOwnershipOf: fd)
    }
}

/// A sockaddr_un for a filesystem path; paths longer than sun_path throw ENAMETOOLONG.
struct UnixAddress {
    private var address = sockaddr_un()
    private var length: socklen_t = 0

    /// `@name` is the abstract name `name` (as NOTIFY_SOCKET writes it): no trailing NUL counted.
    static func make(abstractOrPath path: String) throws(SysError) -> UnixAddress {
        guard path.hasPrefix("@") else { return try UnixAddress(path) }
        var result = try UnixAddress("/")
        let bytes = [0] + Array(path.utf8.dropFirst())
        let capacity = MemoryLayout.size(ofValue: result.address.sun_path)
        guard bytes.count > 1, bytes.count <= capacity else {
            throw SysError(call: "sockaddr_un(\(path))", errno: bytes.count > capacity ? ENAMETOOLONG : EINVAL)
        }
        withUnsafeMutableBytes(of: &result.address.sun_path) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.copyBytes(from: bytes)
        }
        result.length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        return result
    }

    init(_ path: String) throws(SysError) {
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw SysError(call: "sockaddr_un(\(path))", errno: bytes.count >= capacity ? ENAMETOOLONG : EINVAL)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = address
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
