import CSystemd
import Glibc

/// A POSIX signal number with Swift names. Extensible: any number can be wrapped, so adding a
/// named static never breaks a caller's `switch`.
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    public static let hup = Signal(rawValue: SIGHUP)
    public static let int = Signal(rawValue: SIGINT)
    public static let quit = Signal(rawValue: SIGQUIT)
    public static let kill = Signal(rawValue: SIGKILL)
    public static let usr1 = Signal(rawValue: SIGUSR1)
    public static let usr2 = Signal(rawValue: SIGUSR2)
    public static let pipe = Signal(rawValue: SIGPIPE)
    public static let alrm = Signal(rawValue: SIGALRM)
    public static let term = Signal(rawValue: SIGTERM)
    public static let chld = Signal(rawValue: SIGCHLD)
    public static let cont = Signal(rawValue: SIGCONT)
    public static let stop = Signal(rawValue: SIGSTOP)
    public static let abrt = Signal(rawValue: SIGABRT)
    public static let segv = Signal(rawValue: SIGSEGV)
    public static let winch = Signal(rawValue: SIGWINCH)
    /// File size limit exceeded (RLIMIT_FSIZE): by default it kills the process.
    public static let xfsz = Signal(rawValue: SIGXFSZ)
    public static let xcpu = Signal(rawValue: SIGXCPU)
    public static let vtalrm = Signal(rawValue: SIGVTALRM)
    public static let prof = Signal(rawValue: SIGPROF)
    /// SIGPOLL (= SIGIO).
    public static let poll = Signal(rawValue: SIGPOLL)
    public static let stkflt = Signal(rawValue: SIGSTKFLT)
    public static let pwr = Signal(rawValue: SIGPWR)
    public static let tstp = Signal(rawValue: SIGTSTP)
    public static let ttin = Signal(rawValue: SIGTTIN)
    public static let ttou = Signal(rawValue: SIGTTOU)

    /// The real-time signals applications may use (glibc keeps the first two or three for itself).
    public static var realTime: [Signal] {
        let low = __libc_current_sigrtmin()
        let high = __libc_current_sigrtmax()
        guard low <= high else { return [] }
        return (low...high).map(Signal.init(rawValue:))
    }

    /// "SIGUSR1"; unknown numbers as "SIG<n>".
    public var description: String {
        switch rawValue {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGUSR1: return "SIGUSR1"
        case SIGSEGV: return "SIGSEGV"
        case SIGUSR2: return "SIGUSR2"
        case SIGPIPE: return "SIGPIPE"
        case SIGALRM: return "SIGALRM"
        case SIGTERM: return "SIGTERM"
        case SIGCHLD: return "SIGCHLD"
        case SIGCONT: return "SIGCONT"
        case SIGSTOP: return "SIGSTOP"
        case SIGTSTP: return "SIGTSTP"
        case SIGTTIN: return "SIGTTIN"
        case SIGTTOU: return "SIGTTOU"
        case SIGWINCH: return "SIGWINCH"
        case SIGXFSZ: return "SIGXFSZ"
        case SIGXCPU: return "SIGXCPU"
        case SIGVTALRM: return "SIGVTALRM"
        case SIGPROF: return "SIGPROF"
        case SIGPOLL: return "SIGPOLL"
        case SIGSTKFLT: return "SIGSTKFLT"
        case SIGPWR: return "SIGPWR"
        case SIGSYS: return "SIGSYS"
        default:
            let low = __libc_current_sigrtmin()
            if rawValue >= low && rawValue <= __libc_current_sigrtmax() {
                return rawValue == low ? "SIGRTMIN" : "SIGRTMIN+\(rawValue - low)"
            }
            return "SIG\(rawValue)"
        }
    }

    /// Sets this signal's disposition to "ignore" for the whole process (used for SIGPIPE, so a
    /// write to a closed socket returns EPIPE instead of killing us). Children get the default
    /// back via `Spawn`.
    public func ignore() throws(SysError) {
        if let previous = Glibc.signal(rawValue, SIG_IGN), unsafeBitCast(previous, to: Int.self) == -1 {  // SIG_ERR
            throw SysError(call: "signal(\(self), SIG_IGN)", errno: Glibc.errno)
        }
    }

    /// Restores the default disposition for the whole process.
    public func setDefault() throws(SysError) {
        if let previous = Glibc.signal(rawValue, SIG_DFL), unsafeBitCast(previous, to: Int.self) == -1 {  // SIG_ERR
            throw SysError(call: "signal(\(self), SIG_DFL)", errno: Glibc.errno)
        }
    }

    /// Sends this signal to the calling thread only (raise(3) = tgkill on ourselves).
    /// Tests use it with the signal blocked on the current thread, then read it from a signalfd.
    public func raiseOnCurrentThread() throws(SysError) {
        if Glibc.raise(rawValue) != 0 {
            throw SysError(call: "raise(\(self))", errno: Glibc.errno)
        }
    }
}

/// kill(2): send `signal` to the process `pid` (e.g. an haproxy master read from a pidfile).
/// Prefer `PidFD.sendSignal` for our own children: a pid can be reused once reaped.
public func kill(pid: Int32, signal: Signal) throws(SysError) {
    precondition(pid > 0, "kill(pid: \(pid)): only positive pids; 0 and -1 would hit a process group or everyone")
    _ = try sysValue("kill(\(pid), \(signal))") { Glibc.kill(pid, signal.rawValue) }
}

/// sigqueue(3): send `signal` with `value` to the process `pid`; the receiver sees SI_QUEUE, our
/// pid and the value (signalfd's ssi_code, ssi_pid, ssi_int).
public func queueSignal(pid: Int32, signal: Signal, value: Int32) throws(SysError) {
    precondition(pid > 0, "queueSignal(pid: \(pid)): only positive pids")
    var carried = sigval()
    carried.sival_int = value
    _ = try sysValue("sigqueue(\(pid), \(signal))") { Glibc.sigqueue(pid, signal.rawValue, carried) }
}

/// A `sigset_t` with Swift operations.
public struct SignalSet: Sendable, Equatable, CustomStringConvertible {
    var storage: sigset_t

    /// The empty set.
    public init() {
        storage = sigset_t()
        sigemptyset(&storage)
    }

    public init(_ signals: some Sequence<Signal>) {
        self.init()
        for signal in signals { insert(signal) }
    }

    /// Every signal glibc lets applications use (excludes its internal ones).
    public static var all: SignalSet {
        var set = SignalSet()
        sigfillset(&set.storage)
        return set
    }

    public mutating func insert(_ signal: Signal) {
        sigaddset(&storage, signal.rawValue)
    }

    public mutating func remove(_ signal: Signal) {
        sigdelset(&storage, signal.rawValue)
    }

    public func contains(_ signal: Signal) -> Bool {
        withUnsafePointer(to: storage) { sigismember($0, signal.rawValue) == 1 }
    }

    public var isEmpty: Bool {
        members.isEmpty
    }

    /// The members among signals 1...64.
    public var members: [Signal] {
        (1...64).map(Signal.init(rawValue:)).filter(contains)
    }

    public var description: String { "[" + members.map(\.description).joined(separator: ",") + "]" }

    public static func == (lhs: SignalSet, rhs: SignalSet) -> Bool { lhs.members == rhs.members }

    /// Blocks these signals on the calling thread (pthread_sigmask SIG_BLOCK) and returns the
    /// previous mask, to hand to `setCurrentThreadMask` later. Threads created afterwards inherit it.
    @discardableResult
    public func blockOnCurrentThread() throws(SysError) -> SignalSet {
        var previous = SignalSet()
        var set = storage
        try check("pthread_sigmask(SIG_BLOCK, \(self))", pthread_sigmask(SIG_BLOCK, &set, &previous.storage))
        return previous
    }

    /// Replaces the calling thread's mask (pthread_sigmask SIG_SETMASK).
    public func setAsCurrentThreadMask() throws(SysError) {
        var set = storage
        try check("pthread_sigmask(SIG_SETMASK, \(self))", pthread_sigmask(SIG_SETMASK, &set, nil))
    }

    /// The calling thread's current mask.
    public static func currentThreadMask() throws(SysError) -> SignalSet {
        var current = SignalSet()
        try check("pthread_sigmask(SIG_BLOCK, [])", pthread_sigmask(SIG_BLOCK, nil, &current.storage))
        return current
    }

    /// Signals pending for the calling thread or the process.
    public static func pending() throws(SysError) -> SignalSet {
        var set = SignalSet()
        _ = try sysValue("sigpending") { sigpending(&set.storage) }
        return set
    }
}
