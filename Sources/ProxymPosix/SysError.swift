import Glibc

/// A failed system call: which call (with its main argument) and the errno it left.
///
/// `call` reads like `open(/etc/haproxy/x.tmp)`; `description` renders it for humans as
/// `open /etc/haproxy/x.tmp: Permission denied (errno 13)`.
public struct SysError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The C library's message for `errno`, e.g. "No such file or directory".
    public var message: String { SysError.message(for: errno) }

    public var description: String {
        "\(SysError.humanCall(call)): \(message) (errno \(errno))"
    }

    public static func message(for errno: Int32) -> String {
        // glibc's strerror returns static strings for known values and a thread-local buffer
        // for unknown ones, so it is safe to call from any thread.
        guard let text = strerror(errno) else { return "Unknown error \(errno)" }
        return String(cString: text)
    }

    /// "open(/etc/x)" -> "open /etc/x"; anything else unchanged.
    static func humanCall(_ call: String) -> String {
        guard call.last == ")", let open = call.firstIndex(of: "(") else { return call }
        let name = call[..<open]
        let argument = call[call.index(after: open)..<call.index(before: call.endIndex)]
        if argument.isEmpty { return String(name) }
        return "\(name) \(argument)"
    }
}

extension SysError {
    public var isWouldBlock: Bool { errno == EAGAIN }
    public var isInterrupted: Bool { errno == EINTR }
    /// ENOENT: the path (or a component of it) does not exist.
    public var isNoEntry: Bool { errno == ENOENT }
    /// EEXIST: O_EXCL creation or mkdir found something already there.
    public var isExists: Bool { errno == EEXIST }
    public var isNotDirectory: Bool { errno == ENOTDIR }
    public var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }
    /// ESRCH: the process is gone.
    public var isNoSuchProcess: Bool { errno == ESRCH }
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    public var isConnectionRefused: Bool { errno == ECONNREFUSED }
    public var isTimedOut: Bool { errno == ETIMEDOUT }
}

/// Named errno values, for comparing without importing Glibc: `error.errno == SysError.Code.noEntry`.
extension SysError {
    public enum Code {
        public static let wouldBlock: Int32 = EAGAIN
        public static let interrupted: Int32 = EINTR
        public static let noEntry: Int32 = ENOENT
        public static let exists: Int32 = EEXIST
        public static let notDirectory: Int32 = ENOTDIR
        public static let isDirectory: Int32 = EISDIR
        public static let permissionDenied: Int32 = EACCES
        public static let notPermitted: Int32 = EPERM
        public static let noSuchProcess: Int32 = ESRCH
        public static let noSpace: Int32 = ENOSPC
        public static let fileTooLarge: Int32 = EFBIG
        public static let invalidArgument: Int32 = EINVAL
        public static let brokenPipe: Int32 = EPIPE
        public static let connectionRefused: Int32 = ECONNREFUSED
        public static let connectionReset: Int32 = ECONNRESET
        public static let connectionAborted: Int32 = ECONNABORTED
        public static let timedOut: Int32 = ETIMEDOUT
        public static let addressInUse: Int32 = EADDRINUSE
        public static let noChild: Int32 = ECHILD
        public static let ioError: Int32 = EIO
    }
}

/// The outcome of a non-blocking call: a value, or "try again when the fd is ready".
public enum IOResult<T: ~Copyable>: ~Copyable {
    case ready(T)
    case wouldBlock
}

extension IOResult: Copyable where T: Copyable {}
extension IOResult: Sendable where T: Sendable & ~Copyable {}
extension IOResult: Equatable where T: Equatable {}

extension IOResult where T: Copyable {
    /// The value, or nil for `.wouldBlock`.
    public var value: T? {
        if case .ready(let value) = self { return value }
        return nil
    }
}

/// The one path every system call in ProxymPosix takes (except close(2), which is never retried).
///
/// - EINTR: the call is repeated.
/// - EAGAIN/EWOULDBLOCK: `.wouldBlock`.
/// - EBADF/EFAULT: a programming error in proxym (a closed or foreign fd, a bad pointer), so trap.
/// - anything else: `SysError` naming the call.
@inline(__always)
func sys<T: FixedWidthInteger & SignedInteger>(
    _ call: @autoclosure () -> String,
    _ body: () -> T
) throws(SysError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .ready(result) }
        let code = Glibc.errno  // read before anything else can overwrite it
        switch code {
        case EINTR:
            continue
        case EAGAIN:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(call()): errno \(code) (\(SysError.message(for: code))) means a bug in proxym")
        default:
            throw SysError(call: call(), errno: code)
        }
    }
}

/// `sys` for calls on blocking fds or calls that cannot block: EAGAIN is an error like any other.
@inline(__always)
func sysValue<T: FixedWidthInteger & SignedInteger>(
    _ call: @autoclosure () -> String,
    _ body: () -> T
) throws(SysError) -> T {
    switch try sys(call(), body) {
    case .ready(let value): return value
    case .wouldBlock: throw SysError(call: call(), errno: EAGAIN)
    }
}

/// For the pthread_* and posix_spawn* families, which return the error number instead of
/// setting errno.
@inline(__always)
func check(_ call: @autoclosure () -> String, _ rc: Int32) throws(SysError) {
    if rc == 0 { return }
    if rc == EBADF || rc == EFAULT {
        preconditionFailure("\(call()): errno \(rc) (\(SysError.message(for: rc))) means a bug in proxym")
    }
    throw SysError(call: call(), errno: rc)
}
