import CSystemd
import Glibc

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
            text = storage.text(host: name)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, name, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            storage = .v6(v6)
            text = storage.text(host: name)
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
        case .v4(let address): return Self.withSockAddr(address, body)
        case .v6(let address): return Self.withSockAddr(address, body)
        }
    }

    /// `address` (a `sockaddr_in` or `sockaddr_in6`) as the `sockaddr` pointer and length the socket
    /// calls take.
    private static func withSockAddr<Address, R>(
        _ address: Address, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) -> R {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }

    /// The port in `storage` (as getsockname fills it); 0 for a family other than IPv4 and IPv6.
    static func port(of storage: sockaddr_storage) -> UInt16 {
        Storage(storage)?.port ?? 0
    }

    /// "127.0.0.1:54321" / "[::1]:54321"; "unix", or "family <n>", for other families.
    static func describe(_ storage: sockaddr_storage) -> String {
        guard let address = Storage(storage) else {
            return Int32(storage.ss_family) == AF_UNIX ? "unix" : "family \(storage.ss_family)"
        }
        return address.text(host: address.numericHost)
    }
}

extension SocketAddress.Storage {
    /// The IPv4 or IPv6 address `storage` holds (as getsockname and getpeername fill it); nil for another
    /// family.
    init?(_ storage: sockaddr_storage) {
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        self = withUnsafeBytes(of: storage) { raw in
            family == AF_INET
                ? .v4(raw.loadUnaligned(as: sockaddr_in.self)) : .v6(raw.loadUnaligned(as: sockaddr_in6.self))
        }
    }

    var port: UInt16 {
        switch self {
        case .v4(let address): return UInt16(bigEndian: address.sin_port)
        case .v6(let address): return UInt16(bigEndian: address.sin6_port)
        }
    }

    /// The address as inet_ntop writes it ("127.0.0.1", "::1": no brackets).
    var numericHost: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch self {
        case .v4(var address): _ = inet_ntop(AF_INET, &address.sin_addr, &buffer, socklen_t(buffer.count))
        case .v6(var address): _ = inet_ntop(AF_INET6, &address.sin6_addr, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `host` (a numeric address) and the port: "127.0.0.1:80", "[::1]:80".
    func text(host: String) -> String {
        switch self {
        case .v4: return "\(host):\(port)"
        case .v6: return "[\(host)]:\(port)"
        }
    }
}
