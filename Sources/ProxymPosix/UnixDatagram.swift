import CSystemd
import Glibc

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
