import CSystemd
import Glibc

/// signalfd(2): signals delivered as readable records instead of handlers. The signals must be
/// blocked (on every thread) first, or their default action runs instead.
public enum SignalFD {
    /// One `signalfd_siginfo` record.
    public struct Info: Sendable, Hashable, CustomStringConvertible {
        public var signal: Signal
        /// ssi_pid: who sent it (0 for kernel-generated signals).
        public var senderPID: Int32
        public var senderUID: UInt32
        /// ssi_code (SI_USER, SI_TKILL, SI_QUEUE, ...).
        public var code: Int32
        /// ssi_int: the value sigqueue(3) carried (meaningful when `isQueued`).
        public var value: Int32

        public init(signal: Signal, senderPID: Int32, senderUID: UInt32, code: Int32, value: Int32 = 0) {
            self.signal = signal
            self.senderPID = senderPID
            self.senderUID = senderUID
            self.code = code
            self.value = value
        }

        /// Sent with sigqueue(3) (SI_QUEUE), so `value` is the sender's.
        public var isQueued: Bool { code == SI_QUEUE }

        public var description: String { "\(signal) from pid \(senderPID) uid \(senderUID)" }
    }

    /// The process-wide setup for a daemon, to run first thing in `main` while it is the only
    /// thread: block `signals` (threads created later inherit the mask), ignore SIGPIPE, and
    /// create the signalfd.
    public static func prepareProcess(blocking signals: SignalSet) throws(SysError) -> OwnedFD {
        try signals.blockOnCurrentThread()
        try Signal.pipe.ignore()
        return try create(signals)
    }

    /// signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK).
    public static func create(_ signals: SignalSet) throws(SysError) -> OwnedFD {
        var set = signals.storage
        let fd = try sysValue("signalfd(\(signals))") { signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK)) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Reads as many whole records as are pending (up to `maxRecords`).
    public static func read(_ fd: CInt, maxRecords: Int = 16) throws(SysError) -> IOResult<[Info]> {
        precondition(maxRecords > 0)
        let size = MemoryLayout<signalfd_siginfo>.size
        let records = UnsafeMutablePointer<signalfd_siginfo>.allocate(capacity: maxRecords)
        defer { records.deallocate() }
        let buffer = UnsafeMutableRawBufferPointer(start: records, count: size * maxRecords)
        switch try Descriptor.read(fd, into: buffer) {
        case .wouldBlock:
            return .wouldBlock
        case .ready(let count):
            precondition(count % size == 0, "signalfd returned a partial record (\(count) bytes)")
            return .ready(
                (0..<(count / size)).map { index in
                    let record = records[index]
                    return Info(
                        signal: Signal(rawValue: Int32(bitPattern: record.ssi_signo)),
                        senderPID: Int32(bitPattern: record.ssi_pid),
                        senderUID: record.ssi_uid,
                        code: record.ssi_code,
                        value: record.ssi_int
                    )
                }
            )
        }
    }
}
