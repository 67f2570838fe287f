import CSystemd
import Glibc

/// A file descriptor with exactly one owner, closed exactly once.
///
/// Why a `~Copyable` struct and not a final class: the compiler then enforces single ownership
/// (a copy that could close the fd twice does not compile), the fd costs no allocation, and
/// `release()` ends the value's life statically via `discard self`, so a released fd can not be
/// closed by `deinit` as well. Where shared ownership is needed (a runtime source stored in the
/// loop's closures), the owning class stores the `OwnedFD` and closures capture the class.
///
/// `deinit` closes the fd and ignores the result (close(2) on Linux always releases the fd, even
/// when it reports EINTR or EIO). Use `close()` where the result matters.
public struct OwnedFD: ~Copyable, Sendable {
    public let rawValue: CInt

    /// Takes ownership of `rawValue`. The caller must not close it.
    public init(takingOwnershipOf rawValue: CInt) {
        precondition(rawValue >= 0, "OwnedFD needs a valid descriptor, got \(rawValue)")
        self.rawValue = rawValue
    }

    /// Hands the raw fd off; the caller now owns it and must close it.
    public consuming func release() -> CInt {
        let fd = rawValue
        discard self
        return fd
    }

    /// Closes now and reports failures. Never retried: on Linux the fd is released even when
    /// close(2) fails with EINTR, and a retry could close a number another thread just opened.
    public consuming func close() throws(SysError) {
        let fd = rawValue
        discard self
        try Descriptor.close(fd)
    }

    deinit {
        _ = Glibc.close(rawValue)
    }

    /// Lends the raw fd for the duration of `body`.
    public borrowing func withRawValue<R, E: Error>(_ body: (CInt) throws(E) -> R) throws(E) -> R {
        try body(rawValue)
    }
}

extension OwnedFD {
    public borrowing func read(into buffer: UnsafeMutableRawBufferPointer) throws(SysError) -> IOResult<Int> {
        try Descriptor.read(rawValue, into: buffer)
    }

    public borrowing func read(maxBytes: Int) throws(SysError) -> IOResult<[UInt8]> {
        try Descriptor.read(rawValue, maxBytes: maxBytes)
    }

    public borrowing func write(_ bytes: UnsafeRawBufferPointer) throws(SysError) -> IOResult<Int> {
        try Descriptor.write(rawValue, bytes)
    }

    public borrowing func write(_ bytes: [UInt8]) throws(SysError) -> IOResult<Int> {
        try Descriptor.write(rawValue, bytes)
    }

    public borrowing func writeAll(_ bytes: [UInt8]) throws(SysError) {
        try Descriptor.writeAll(rawValue, bytes)
    }

    public borrowing func writeAll(_ text: String) throws(SysError) {
        try Descriptor.writeAll(rawValue, text)
    }

    public borrowing func info() throws(SysError) -> FileInfo {
        try FileSystem.fstat(rawValue)
    }
}

/// Operations on raw descriptors the caller owns or borrows. OwnedFD forwards here.
public enum Descriptor {
    /// close(2), not retried on EINTR (Linux has already released the fd). EBADF traps.
    public static func close(_ fd: CInt) throws(SysError) {
        if Glibc.close(fd) == 0 { return }
        let code = Glibc.errno
        switch code {
        case EINTR: return
        case EBADF: preconditionFailure("close(\(fd)): EBADF means a bug in proxym (double close?)")
        default: throw SysError(call: "close(\(fd))", errno: code)
        }
    }

    /// read(2). `.ready(0)` means end of file.
    public static func read(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer) throws(SysError) -> IOResult<Int> {
        try sys("read(fd \(fd))") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Reads at most `maxBytes`; `.ready([])` means end of file.
    public static func read(_ fd: CInt, maxBytes: Int) throws(SysError) -> IOResult<[UInt8]> {
        precondition(maxBytes > 0)
        var count = 0
        var failure: SysError?
        let bytes = [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, initialized in
            do throws(SysError) {
                switch try Descriptor.read(fd, into: UnsafeMutableRawBufferPointer(buffer)) {
                case .ready(let n): count = n
                case .wouldBlock: count = -1
                }
            } catch {
                failure = error
                count = 0
            }
            initialized = max(count, 0)
        }
        if let failure { throw failure }
        return count < 0 ? .wouldBlock : .ready(bytes)
    }

    /// write(2): may write fewer bytes than given.
    public static func write(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws(SysError) -> IOResult<Int> {
        try sys("write(fd \(fd))") { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    public static func write(_ fd: CInt, _ bytes: [UInt8]) throws(SysError) -> IOResult<Int> {
        var result: Result<IOResult<Int>, SysError> = .success(.wouldBlock)
        bytes.withUnsafeBytes { raw in
            do throws(SysError) { result = .success(try Descriptor.write(fd, raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Writes every byte to a blocking fd (log lines to fds 1/2, temp files), looping over partial
    /// writes. ENOSPC and friends throw. On a non-blocking fd that fills up, throws EAGAIN.
    public static func writeAll(_ fd: CInt, _ bytes: [UInt8]) throws(SysError) {
        var failure: SysError?
        bytes.withUnsafeBytes { raw in
            do throws(SysError) { try writeAll(fd, raw: raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// `writeAll` of a text's UTF-8, straight from the string's own storage (a rendered config of
    /// megabytes is not copied into an array first).
    public static func writeAll(_ fd: CInt, _ text: String) throws(SysError) {
        var failure: SysError?
        var text = text
        text.withUTF8 { utf8 in
            do throws(SysError) { try writeAll(fd, raw: UnsafeRawBufferPointer(utf8)) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private static func writeAll(_ fd: CInt, raw: UnsafeRawBufferPointer) throws(SysError) {
        var offset = 0
        while offset < raw.count {
            let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
            let n = try sysValue("write(fd \(fd))") { Glibc.write(fd, rest.baseAddress, rest.count) }
            // Not expected for files/pipes; refuse to spin.
            if n == 0 { throw SysError(call: "write(fd \(fd))", errno: EIO) }
            offset += n
        }
    }

    /// Sets or clears O_NONBLOCK.
    public static func setNonBlocking(_ fd: CInt, _ on: Bool) throws(SysError) {
        let flags = try sysValue("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try sysValue("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, wanted) } }
    }

    public static func isNonBlocking(_ fd: CInt) throws(SysError) -> Bool {
        try sysValue("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) } & O_NONBLOCK != 0
    }

    public static func isCloseOnExec(_ fd: CInt) throws(SysError) -> Bool {
        try sysValue("fcntl(F_GETFD)") { fcntl(fd, F_GETFD) } & FD_CLOEXEC != 0
    }

    /// dup3(fd, target, O_CLOEXEC): makes `target` name the same description as `fd`,
    /// atomically closing whatever `target` named before. The caller must own `target`.
    public static func duplicate(_ fd: CInt, onto target: CInt) throws(SysError) {
        _ = try sysValue("dup3(fd \(fd) -> \(target))") { dup3(fd, target, O_CLOEXEC) }
    }

    public static func fsync(_ fd: CInt) throws(SysError) {
        _ = try sysValue("fsync(fd \(fd))") { Glibc.fsync(fd) }
    }
}

/// Two ends of a pipe or a socket pair. (A tuple can not hold non-copyable values.)
/// `@frozen` so callers in other modules may move one end out and keep the other.
@frozen
public struct FDPair: ~Copyable, Sendable {
    public var first: OwnedFD
    public var second: OwnedFD

    public init(first: consuming OwnedFD, second: consuming OwnedFD) {
        self.first = first
        self.second = second
    }
}

public enum Pipe {
    /// pipe2(O_CLOEXEC), with O_NONBLOCK on the read and/or write end as asked.
    /// `first` is the read end, `second` the write end.
    public static func create(nonBlockingRead: Bool = true, nonBlockingWrite: Bool = true) throws(SysError) -> FDPair {
        var fds: [CInt] = [-1, -1]
        _ = try sysValue("pipe2") { pipe2(&fds, O_CLOEXEC) }
        let pair = FDPair(first: OwnedFD(takingOwnershipOf: fds[0]), second: OwnedFD(takingOwnershipOf: fds[1]))
        if nonBlockingRead { try Descriptor.setNonBlocking(pair.first.rawValue, true) }
        if nonBlockingWrite { try Descriptor.setNonBlocking(pair.second.rawValue, true) }
        return pair
    }
}
