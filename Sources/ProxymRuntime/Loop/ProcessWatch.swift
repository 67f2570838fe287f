import ProxymPosix

/// Watches processes that are not our children (a daemonized haproxy, a master run by systemd) for
/// their exit, through pidfds in the loop: `pidfd_open` works for any process, and the pidfd becomes
/// readable once it has exited. Calls `onAllExited` once, when every watched process is gone.
final class ProcessWatch {
    private let loop: EventLoop
    private var fds: [Int32: OwnedFDBox] = [:]
    private var onAllExited: (() -> Void)?

    /// The pids still running.
    var pids: [Int32] { fds.keys.sorted() }

    /// Watches `pids` (those that are already gone or cannot be opened are skipped); with nothing left
    /// to watch, `onAllExited` runs on the next loop iteration.
    init(loop: EventLoop, pids: [Int32], onAllExited: @escaping () -> Void) {
        self.loop = loop
        self.onAllExited = onAllExited
        for pid in Set(pids) where pid > 1 {
            guard let fd = try? PidFD.open(pid: pid) else { continue }
            let raw = fd.rawValue
            let box = OwnedFDBox(fd)
            guard let registration = try? loop.register(fd: raw, events: .in, { [weak self] _ in self?.exited(pid) }) else {
                continue
            }
            box.registration = registration
            fds[pid] = box
        }
        if fds.isEmpty {
            loop.schedule(after: .zero) { [weak self] in self?.fireIfDone() }
        }
    }

    private func exited(_ pid: Int32) {
        guard let box = fds.removeValue(forKey: pid) else { return }
        if let registration = box.registration { loop.deregister(registration) }
        box.fd = nil
        fireIfDone()
    }

    private func fireIfDone() {
        guard fds.isEmpty, let callback = onAllExited else { return }
        onAllExited = nil
        callback()
    }

    /// Stops watching; `onAllExited` will not run.
    func cancel() {
        onAllExited = nil
        for box in fds.values {
            if let registration = box.registration { loop.deregister(registration) }
            box.fd = nil
        }
        fds = [:]
    }

    deinit { cancel() }
}

/// A class holder for a non-copyable fd, so it can live in a dictionary.
final class OwnedFDBox {
    var fd: OwnedFD?
    var registration: EventLoop.Registration?
    init(_ fd: consuming OwnedFD) { self.fd = .some(fd) }
}
