import ProxymPosix

/// Watches one directory with inotify and reports changes to the files in it.
///
/// It survives the directory being absent at start, deleted, or renamed away and re-created:
/// while the directory is missing it watches the parent for the name to appear (as a directory,
/// created or moved in), and if the parent is missing too it retries on a loop timer. Events
/// are hints: after `.overflow` or `.directoryAppeared` the caller rescans the whole directory.
///
/// Not reported: events about subdirectories inside the watched directory (proxym reads only
/// files), and renames of an ancestor above the parent (call `verify()` now and then to catch
/// those; it compares the watched inode with what the path names now).
public final class DirectoryWatcher {
    public enum Change: Sendable, Hashable {
        /// IN_CREATE: a new name (the file may still be empty; `written` follows).
        case created
        /// IN_CLOSE_WRITE: a writer closed the file.
        case written
        /// IN_MOVED_TO: renamed into the directory (save-by-rename).
        case movedIn
        /// IN_MOVED_FROM: renamed out of (or within) the directory.
        case movedOut
        /// IN_DELETE.
        case deleted
    }

    public enum Event: Sendable, Hashable {
        case file(name: String, change: Change)
        /// IN_Q_OVERFLOW: events were lost; rescan everything.
        case overflow
        /// The directory was deleted or renamed away (or its filesystem unmounted).
        case directoryVanished
        /// The directory exists (again), after `directoryVanished` or after being missing at start.
        case directoryAppeared
    }

    static let directoryMask: Inotify.Mask = [
        .closeWrite, .movedTo, .movedFrom, .create, .delete, .deleteSelf, .moveSelf, .onlyDir,
    ]
    static let parentMask: Inotify.Mask = [.create, .movedTo, .deleteSelf, .moveSelf, .onlyDir]

    public let path: String
    private let parentPath: String
    private let name: String
    private let loop: EventLoop
    private let retryInterval: Duration
    private let onEvent: (Event) -> Void

    private var inotify: OwnedFD?
    private var registration: EventLoop.Registration?
    private var directoryWatch: Int32?
    private var watchedInode: (device: UInt64, inode: UInt64)?
    private var parentWatch: Int32?
    private var retryTimer: EventLoop.TimerHandle?
    /// True while the directory is known to be missing; the next successful attach reports
    /// `.directoryAppeared`.
    private var missing = false

    /// Starts watching. A missing directory (or parent) is not an error: `isWatching` is then
    /// false and `.directoryAppeared` follows once it exists. Throws only when inotify itself
    /// fails (e.g. too many instances) or the path is unusable in a way waiting will not fix.
    public init(
        loop: EventLoop,
        path: String,
        retryInterval: Duration = .seconds(2),
        onEvent: @escaping (Event) -> Void
    ) throws(SysError) {
        self.loop = loop
        self.path = path
        self.parentPath = FileSystem.directoryName(path)
        self.name = FileSystem.baseName(path)
        self.retryInterval = retryInterval
        self.onEvent = onEvent
        let fd = try Inotify.create()
        let raw = fd.rawValue
        inotify = consume fd
        registration = try loop.register(fd: raw, events: .in) { [weak self] _ in
            self?.drain()
        }
        // Errors other than "not there (yet)" are worth reporting at start.
        do {
            try addDirectoryWatch()
        } catch let error where error.isNoEntry || error.isNotDirectory {
            missing = true
            attach()
        }
    }

    deinit {
        if let registration { loop.deregister(registration) }
        if let retryTimer { loop.cancel(retryTimer) }
    }

    /// True while the directory itself is being watched.
    public var isWatching: Bool { directoryWatch != nil }

    /// Stops watching and closes the inotify fd. No events are delivered afterwards.
    public func close() {
        if let registration { loop.deregister(registration) }
        registration = nil
        if let retryTimer { loop.cancel(retryTimer) }
        retryTimer = nil
        inotify = nil
        directoryWatch = nil
        parentWatch = nil
    }

    /// Checks that the watched inode is still the directory at `path` (catches renames of
    /// ancestors, which inotify does not report to us); if not, reports it vanished and re-attaches.
    public func verify() {
        guard inotify != nil else { return }
        guard directoryWatch != nil else {
            attach()
            return
        }
        let current = try? FileSystem.stat(path)
        if let current, current.isDirectory, let watchedInode,
            current.device == watchedInode.device, current.inode == watchedInode.inode
        {
            return
        }
        directoryGone(removeWatch: true)
    }

    // MARK: watches

    /// Adds the watch on the directory itself; on success drops the parent watch and the retry
    /// timer and reports `.directoryAppeared` if it had been missing.
    private func addDirectoryWatch() throws(SysError) {
        guard let fd = inotify?.rawValue else { return }
        let wd = try Inotify.addWatch(fd, path: path, mask: DirectoryWatcher.directoryMask)
        directoryWatch = wd
        watchedInode = (try? FileSystem.stat(path)).map { ($0.device, $0.inode) }
        if let parentWatch {
            try? Inotify.removeWatch(fd, wd: parentWatch)
            self.parentWatch = nil
        }
        if let retryTimer {
            loop.cancel(retryTimer)
            self.retryTimer = nil
        }
        if missing {
            missing = false
            onEvent(.directoryAppeared)
        }
    }

    /// Watches the directory if it exists; otherwise watches the parent for it to appear, or,
    /// if the parent is missing as well, retries on a timer.
    private func attach() {
        guard let fd = inotify?.rawValue, directoryWatch == nil else { return }
        if (try? addDirectoryWatch()) != nil { return }
        if parentWatch == nil {
            parentWatch = try? Inotify.addWatch(fd, path: parentPath, mask: DirectoryWatcher.parentMask)
            // The directory may have been created between the failed add and the parent watch.
            if parentWatch != nil, (try? addDirectoryWatch()) != nil { return }
        }
        if parentWatch == nil { scheduleRetry() }
    }

    private func scheduleRetry() {
        guard retryTimer == nil, inotify != nil else { return }
        retryTimer = loop.schedule(after: retryInterval) { [weak self] in
            guard let self else { return }
            self.retryTimer = nil
            self.attach()
        }
    }

    private func directoryGone(removeWatch: Bool) {
        if removeWatch, let wd = directoryWatch, let fd = inotify?.rawValue {
            // After IN_MOVE_SELF the watch would follow the inode to its new name: drop it.
            try? Inotify.removeWatch(fd, wd: wd)
        }
        directoryWatch = nil
        watchedInode = nil
        if !missing {
            missing = true
            onEvent(.directoryVanished)
        }
        attach()
    }

    // MARK: events

    private func drain() {
        while let fd = inotify?.rawValue {
            let batch: [Inotify.Event]
            do {
                switch try Inotify.read(fd) {
                case .wouldBlock: return
                case .ready(let events): batch = events
                }
            } catch {
                return  // inotify reads fail only for programming errors (buffer too small)
            }
            for event in batch {
                guard inotify != nil else { return }  // closed by a callback
                handle(event)
            }
        }
    }

    private func handle(_ event: Inotify.Event) {
        let mask = event.mask
        if mask.contains(.queueOverflow) {
            onEvent(.overflow)
            // The lost events may include our own directory's deletion: check it directly.
            verify()
            return
        }
        if let directoryWatch, event.wd == directoryWatch {
            if !mask.intersection([.deleteSelf, .moveSelf, .ignored, .unmount]).isEmpty {
                directoryGone(removeWatch: mask.contains(.moveSelf))
                return
            }
            guard !event.name.isEmpty, !mask.contains(.isDir) else { return }
            let change: Change
            if mask.contains(.create) {
                change = .created
            } else if mask.contains(.closeWrite) {
                change = .written
            } else if mask.contains(.movedTo) {
                change = .movedIn
            } else if mask.contains(.movedFrom) {
                change = .movedOut
            } else if mask.contains(.delete) {
                change = .deleted
            } else {
                return
            }
            onEvent(.file(name: event.name, change: change))
            return
        }
        if let parentWatch, event.wd == parentWatch {
            if !mask.intersection([.deleteSelf, .moveSelf, .ignored, .unmount]).isEmpty {
                if mask.contains(.moveSelf), let fd = inotify?.rawValue {
                    try? Inotify.removeWatch(fd, wd: parentWatch)
                }
                self.parentWatch = nil
                attach()
                return
            }
            if event.name == name, mask.contains(.isDir), !mask.intersection([.create, .movedTo]).isEmpty {
                attach()
            }
        }
        // Anything else is for a watch we already dropped.
    }
}
