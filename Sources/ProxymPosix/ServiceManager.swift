import CSystemd

/// The service manager we report to (systemd via sd_notify), behind a protocol so the daemon can
/// be tested with a recording fake.
public protocol ServiceManager {
    /// Sends a state string such as "READY=1" or "RELOADING=1\nMONOTONIC_USEC=123". Never fails:
    /// notification is best effort.
    func notify(_ state: String)
    /// The watchdog interval systemd expects pings ("WATCHDOG=1") within, if enabled for us.
    var watchdogInterval: Duration? { get }
    /// Messages that could not be sent yet (the receiver's queue was full).
    var hasPendingNotifications: Bool { get }
    /// Tries to send what waits; true when nothing is left.
    func flush() -> Bool
}

extension ServiceManager {
    public var hasPendingNotifications: Bool { false }
    public func flush() -> Bool { true }
}

/// systemd's notify protocol: one datagram per message to `NOTIFY_SOCKET` (a path, or `@name` for an
/// abstract socket), and libsystemd's sd_watchdog_enabled. With NOTIFY_SOCKET unset nothing is sent and
/// nothing fails. The environment is never unset, so a later reload can notify again; children get an
/// explicit environment without NOTIFY_SOCKET instead.
///
/// Never blocks: libsystemd's `sd_notify` sends on a blocking socket, so a receiver that does not read
/// (systemd busy, a test's recorder) would stop the daemon's loop once the socket's queue is full
/// (`net.unix.max_dgram_qlen`, 10 on Debian 12). Here a message that cannot go out at once waits in a
/// small queue (repeated STATUS= and WATCHDOG=1 lines coalesced) until `flush()` gets it through.
public final class SystemdServiceManager: ServiceManager {
    /// Called when a message cannot be sent (not for a full queue, which is retried).
    public var onFailure: (@Sendable (SysError) -> Void)?
    private var socket: OwnedFD?
    private var pending: [String] = []
    /// At most this many messages wait; beyond it the oldest STATUS-only ones are dropped.
    static let pendingLimit = 32

    public init(onFailure: (@Sendable (SysError) -> Void)? = nil) {
        self.onFailure = onFailure
    }

    public func notify(_ state: String) {
        guard isNotifySocketSet else { return }
        enqueue(state)
        _ = flush()
    }

    public var hasPendingNotifications: Bool { !pending.isEmpty }

    /// Sends what waits, in order, until the receiver's queue is full again. True when nothing waits.
    public func flush() -> Bool {
        guard let address = ProcessEnvironment.value("NOTIFY_SOCKET"), !address.isEmpty else {
            pending = []
            return true
        }
        while let message = pending.first {
            do {
                if socket == nil { socket = try UnixDatagram.unboundSocket() }
                guard let raw = socket?.rawValue else { return false }
                switch try UnixDatagram.sendNow(Array(message.utf8), from: raw, to: address) {
                case .wouldBlock: return false
                case .ready: pending.removeFirst()
                }
            } catch {
                pending.removeFirst()
                let summary = message.split(separator: "\n").first.map(String.init) ?? ""
                onFailure?(SysError(call: "sd_notify(\(summary))", errno: error.errno))
            }
        }
        return true
    }

    private func enqueue(_ state: String) {
        let statusOnly = state.hasPrefix("STATUS=") && !state.contains("\n")
        if statusOnly, let index = pending.lastIndex(where: { $0.hasPrefix("STATUS=") && !$0.contains("\n") }) {
            pending.remove(at: index)
        }
        if state == "WATCHDOG=1" && pending.contains(state) { return }
        pending.append(state)
        while pending.count > Self.pendingLimit {
            guard let index = pending.firstIndex(where: { $0.hasPrefix("STATUS=") || $0 == "WATCHDOG=1" }) else {
                pending.removeFirst()
                continue
            }
            pending.remove(at: index)
        }
    }

    /// True when NOTIFY_SOCKET is set (sd_notify would try to send).
    public var isNotifySocketSet: Bool {
        ProcessEnvironment.value("NOTIFY_SOCKET").map { !$0.isEmpty } ?? false
    }

    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        let rc = sd_watchdog_enabled(0, &microseconds)
        guard rc > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }
}
