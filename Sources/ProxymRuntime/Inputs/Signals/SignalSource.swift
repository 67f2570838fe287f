import ProxymPosix

/// Delivers signals from a signalfd on the loop. The signals must already be blocked on every
/// thread (main does that first thing, see `SignalFD.prepareProcess`), or their default action
/// runs instead.
public final class SignalSource {
    private let loop: EventLoop
    private var fd: OwnedFD?
    private var registration: EventLoop.Registration?
    private let onSignal: (SignalFD.Info) -> Void

    /// - Parameter onSignal: called with each signal's record (signal, sender's pid — 0 if the
    ///   kernel sent it —, code and sigqueue value).
    public init(
        loop: EventLoop,
        signals: SignalSet,
        onSignal: @escaping (SignalFD.Info) -> Void
    ) throws(SysError) {
        self.loop = loop
        self.onSignal = onSignal
        let fd = try SignalFD.create(signals)
        let raw = fd.rawValue
        self.fd = consume fd
        registration = try loop.register(fd: raw, events: .in) { [weak self] _ in
            self?.drain()
        }
    }

    private func drain() {
        while let raw = fd?.rawValue {
            let batch: [SignalFD.Info]
            do {
                switch try SignalFD.read(raw) {
                case .wouldBlock: return
                case .ready(let infos): batch = infos
                }
            } catch {
                // signalfd reads fail only for programming errors (bad buffer size); stop reading.
                return
            }
            for info in batch { onSignal(info) }
        }
    }

    /// Deregisters and closes the signalfd. The signals stay blocked.
    public func close() {
        if let registration { loop.deregister(registration) }
        registration = nil
        fd = nil
    }

    deinit {
        if let registration { loop.deregister(registration) }
    }
}
