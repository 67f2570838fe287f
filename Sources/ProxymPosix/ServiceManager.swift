import CSystemd

/// The service manager we report to (systemd via sd_notify), behind a protocol so the daemon can
/// be tested with a recording fake.
public protocol ServiceManager {
    /// Sends a state string such as "READY=1" or "RELOADING=1\nMONOTONIC_USEC=123". Never fails:
    /// notification is best effort.
    func notify(_ state: String)
    /// The watchdog interval systemd expects pings ("WATCHDOG=1") within, if enabled for us.
    var watchdogInterval: Duration? { get }
}

/// libsystemd's sd_notify/sd_watchdog_enabled. With NOTIFY_SOCKET unset nothing is sent and
/// nothing fails. The environment is never unset (unset_environment = 0), so a later reload can
/// notify again; children get an explicit environment without NOTIFY_SOCKET instead.
public struct SystemdServiceManager: ServiceManager, Sendable {
    /// Called when sd_notify reports an error (a negative errno), e.g. to log it at debug level.
    public var onFailure: (@Sendable (SysError) -> Void)?

    public init(onFailure: (@Sendable (SysError) -> Void)? = nil) {
        self.onFailure = onFailure
    }

    public func notify(_ state: String) {
        let rc = sd_notify(0, state)
        if rc < 0 {
            let summary = state.split(separator: "\n").first.map(String.init) ?? ""
            onFailure?(SysError(call: "sd_notify(\(summary))", errno: -rc))
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
