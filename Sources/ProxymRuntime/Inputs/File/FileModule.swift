import Logging
import ProxymCore
import ProxymGenerators
import ProxymModel
import ProxymObserve
import ProxymPosix

/// The File module: `*.json` service files in one directory, watched with inotify.
///
/// As a source it reads the files inotify names as soon as the events arrive (at the end of the
/// batch the loop read; non-blocking opens, a few small reads), so its list is always current and a
/// file edit reaches a refresh at once. A file just created waits for its writer to close it (or
/// for `createdGrace`), so a half-written file is not read. The whole directory is listed at start,
/// on SIGHUP, after an inotify overflow and when the directory comes back; `ServiceFileCatalog`
/// re-reads only files whose fingerprint changed and keeps each broken file's last good service. A
/// missing directory is a failure of this source (its last good services stay), not "zero services".
public final class FileModule: ServiceSource {
    public let name = "file"
    public let directory: String
    /// Service files larger than this are refused.
    public static let maxFileSize = 1 << 20
    /// A file created but not yet closed by its writer is read after this long anyway (a hard link,
    /// a writer that keeps it open).
    static let createdGrace: Duration = .seconds(1)

    private let loop: EventLoop
    private let logger: Logger
    private let record: SourceRecord
    private var catalog = ServiceFileCatalog()
    private var watcher: DirectoryWatcher?
    /// Files modified shortly before the last scan. File timestamps are coarse (one jiffy on kernels
    /// before 6.13, Debian 12's included), so a same-size rewrite in that tick keeps the fingerprint
    /// the scan stored: these files are re-read at the next scan whatever their fingerprint says.
    private var recentlyModified: Set<String> = []
    /// "Shortly": far more than any timestamp tick; costs at most a re-read or two of those files.
    static let racyWindowNanoseconds: Int64 = 1_000_000_000
    private var scanCount: Int64 = 0
    /// The files inotify named since the last scan; `nil` when the next scan must list the whole
    /// directory (before the first one, after a queue overflow, when the directory came and went,
    /// on SIGHUP). With the directory watched, a read then costs a stat and a read per file that
    /// changed, not a pass over every file.
    private var changedNames: Set<String>?
    /// Events since the last read, for the update's reason; the read runs at the end of the batch.
    private var pendingReasons: [RefreshReason] = []
    private var pendingCount = 0
    private var pendingForcesWhole = false
    private var readSoon: EventLoop.TimerHandle?
    /// Created files whose writer has not closed them yet, and the timer that reads them anyway.
    private var awaitingWrite: Set<String> = []
    private var graceTimer: EventLoop.TimerHandle?

    public init(directory: String, loop: EventLoop, logger: Logger) {
        self.directory = directory
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "file"
        self.logger = logger
        self.record = SourceRecord(name: "file", loop: loop, logger: logger)
    }

    public var services: [Service] { record.services }
    public var state: SourceState { record.state }

    /// Names that can change the service list: `*.json`, plus the `..data`-style entries Kubernetes'
    /// atomic writer swaps when a ConfigMap mounted here changes.
    static func isRelevant(_ name: String) -> Bool {
        if name.hasPrefix("..") { return true }
        return name.hasSuffix(".json") && !name.hasPrefix(".")
    }

    public func start(watching: Bool, update: @escaping (SourceUpdate) -> Void) throws {
        record.update = update
        if watching {
            watcher = try DirectoryWatcher(loop: loop, path: directory) { [weak self] event in self?.noticed(event) }
        }
        read([.startup], whole: true)
    }

    /// SIGHUP (`forcesFullResync`): every file read again. Otherwise (SIGUSR1) the directory is
    /// listed and the files whose fingerprint changed are read.
    public func resync(_ reason: RefreshReason) {
        cancelReadSoon()
        changedNames = nil
        read([reason], whole: reason.forcesFullResync)
    }

    public func stop(done: @escaping () -> Void) {
        watcher?.close()
        watcher = nil
        changedNames = nil
        cancelReadSoon()
        if let graceTimer { loop.cancel(graceTimer) }
        graceTimer = nil
        record.update = nil
        done()
    }

    private func noticed(_ event: DirectoryWatcher.Event) {
        switch event {
        case .file(let name, let change):
            guard FileModule.isRelevant(name) else { return }
            // `..data` & co.: Kubernetes swapped the whole set of files.
            if name.hasPrefix("..") { changedNames = nil } else { changedNames?.insert(name) }
            let reason = RefreshReason("file \(name) \(change.pastTense)")
            if change == .created && !name.hasPrefix("..") {
                // Wait for the writer's close (IN_CLOSE_WRITE), within a grace period.
                awaitingWrite.insert(name)
                pend(reason, now: false)
                armGrace()
                return
            }
            awaitingWrite.remove(name)
            pend(reason)
        case .overflow:
            logger.warning("inotify queue overflowed; rescanning every file", metadata: ["directory": "\(directory)"])
            catalog.forgetFingerprints()
            changedNames = nil
            pend(RefreshReason("inotify overflow in \(directory)"))
        case .directoryVanished:
            logger.error(
                "service directory is gone; keeping the last good services until it comes back",
                metadata: ["directory": "\(directory)"])
            changedNames = nil
            pend(RefreshReason("directory \(directory) removed"))
        case .directoryAppeared:
            logger.notice("service directory appeared; reading it", metadata: ["directory": "\(directory)"])
            catalog.forgetFingerprints()
            changedNames = nil
            pend(RefreshReason("directory \(directory) appeared"))
        }
    }

    /// Notes an event; with `now`, reads at the end of this batch of events (unless only created
    /// files still being written are pending).
    private func pend(_ reason: RefreshReason, now: Bool = true) {
        if pendingReasons.count < RefreshScheduler.maxDistinctReasons && !pendingReasons.contains(reason) {
            pendingReasons.append(reason)
        }
        pendingCount += 1
        guard now, readSoon == nil else { return }
        readSoon = loop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            self.readSoon = nil
            self.readPending()
        }
    }

    private func armGrace() {
        guard graceTimer == nil else { return }
        graceTimer = loop.schedule(after: FileModule.createdGrace) { [weak self] in
            guard let self else { return }
            self.graceTimer = nil
            guard !self.awaitingWrite.isEmpty else { return }
            self.awaitingWrite = []
            self.readPending()
        }
    }

    private func cancelReadSoon() {
        if let readSoon { loop.cancel(readSoon) }
        readSoon = nil
        pendingReasons = []
        pendingCount = 0
    }

    /// Reads what the events named (files still being written wait for their close).
    private func readPending() {
        guard pendingCount > 0 else { return }
        let reasons = pendingReasons
        let count = pendingCount
        pendingReasons = []
        pendingCount = 0
        read(reasons, count: count, whole: false, skipping: awaitingWrite)
    }

    /// One read, synchronous: whole (every file listed) or the files inotify named.
    private func read(_ reasons: [RefreshReason], count: Int = 1, whole: Bool, skipping: Set<String> = []) {
        let begun = loop.now
        var deferred: Set<String> = []
        if !skipping.isEmpty, let names = changedNames {
            deferred = names.intersection(skipping)
            changedNames = names.subtracting(skipping)
        }
        var loaded = false
        generate(fullResync: whole) { [weak self] result, changes in
            guard let self else { return }
            loaded = true
            switch result {
            case .success(let services):
                let changed = !self.record.state.hasAnswered || changes.contains { change in
                    if case .failed = change { return false }
                    return true
                }
                self.record.succeeded(
                    services, listChanged: changed, reasons: reasons, count: count, begun: begun, note: self.statusNote)
            case .failure(let failure):
                self.record.failed(failure.message, reasons: reasons, count: count, begun: begun)
            }
        }
        precondition(loaded, "the File module reads synchronously")
        if !deferred.isEmpty { changedNames?.formUnion(deferred) }
    }

    /// Broken files and why (for /api/v1/services).
    public var skipped: [SkippedInput] {
        catalog.failures.map { SkippedInput(source: name, item: $0.file, reason: $0.error) }
    }

    /// Files whose latest version is broken (they keep their last good service, if any).
    public var failingFiles: [String] { catalog.failingFiles }

    public var statusNote: String? {
        let failing = catalog.failingFiles
        guard !failing.isEmpty else { return nil }
        let names = failing.prefix(3).joined(separator: ", ") + (failing.count > 3 ? ", ..." : "")
        return "\(failing.count) invalid file\(failing.count == 1 ? "" : "s"): \(names)"
    }

    /// One read of the directory (the benchmarks and tests call it directly): whole with
    /// `fullResync`, else the files inotify named when the directory is watched. Synchronous.
    public func generate(fullResync: Bool, completion: (Result<[Service], GeneratorFailure>) -> Void) {
        generate(fullResync: fullResync) { result, _ in completion(result) }
    }

    private func generate(
        fullResync: Bool, completion: (Result<[Service], GeneratorFailure>, [ServiceFileCatalog.Change]) -> Void
    ) {
        if fullResync {
            catalog.forgetFingerprints()
            changedNames = nil
        }
        // inotify does not report renames of an ancestor directory; one stat per refresh does.
        watcher?.verify()
        if let names = changedNames, watcher?.isWatching == true, let changes = rescan(names) {
            changedNames = []
            completion(.success(catalog.services), changes)
            return
        }
        let entries: [DirectoryEntry]
        do {
            entries = try FileSystem.listDirectory(directory)
        } catch {
            completion(.failure(GeneratorFailure("cannot read \(directory): \(error)")), [])
            return
        }
        let directoryFD: OwnedFD
        do {
            directoryFD = try FileSystem.openDirectory(directory)
        } catch {
            completion(.failure(GeneratorFailure("cannot read \(directory): \(error)")), [])
            return
        }
        let dirfd = directoryFD.rawValue
        var listing: [ServiceFileCatalog.Entry] = []
        listing.reserveCapacity(entries.count)
        let scanStart = WallClock.now()
        let racySince =
            scanStart.seconds &* 1_000_000_000 &+ Int64(scanStart.nanoseconds) &- FileModule.racyWindowNanoseconds
        var racy: Set<String> = []
        scanCount &+= 1
        // For those files: a modification time no file has, new at every scan, so it never equals the
        // fingerprint the catalog stored and the file is read again.
        let unknownTime = Int64.min &+ (scanCount & 0xFFFF_FFFF)
        var sizes: [String: Int] = [:]
        // Files the catalog reads whatever it finds (new ones; all of them at startup or after
        // SIGHUP) are opened, fstat'ed and read in one go: no separate stat by name.
        var prefetched: [String: Result<[UInt8], SysError>] = [:]
        for entry in entries where ServiceFileCatalog.isServiceFileName(entry.name) {
            let info: FileInfo
            if catalog.knownFingerprint(of: entry.name) == nil,
                let opened = FileModule.openAndRead(directory: dirfd, name: entry.name)
            {
                guard let openedInfo = opened.info else { continue }  // gone, or not a regular file
                info = openedInfo
                if let bytes = opened.bytes { prefetched[entry.name] = bytes }
            } else {
                // stat (not lstat): symlinked files (e.g. a mounted ConfigMap) count by their target.
                guard let statted = try? FileSystem.fstatat(directory: dirfd, name: entry.name), statted.isRegular else {
                    continue
                }
                info = statted
            }
            if info.modificationNanoseconds >= racySince { racy.insert(entry.name) }
            sizes[entry.name] = Int(clamping: info.size)
            listing.append(
                ServiceFileCatalog.Entry(
                    name: entry.name,
                    fingerprint: FileFingerprint(
                        device: info.device, inode: info.inode, size: info.size,
                        modificationNanoseconds: recentlyModified.contains(entry.name)
                            ? unknownTime : info.modificationNanoseconds)))
        }
        recentlyModified = racy
        let changes = catalog.update(listing: listing) { name in
            if let bytes = prefetched.removeValue(forKey: name) { return try bytes.get() }
            return try FileSystem.readFile(
                directory: dirfd, name: name, limit: FileModule.maxFileSize, expectedSize: sizes[name] ?? 0)
        }
        for change in changes { log(change) }
        // From now on inotify names what changes (when the directory is watched).
        changedNames = watcher?.isWatching == true ? [] : nil
        completion(.success(catalog.services), changes)
    }

    /// A file opened and fstat'ed, and read unless too big: `info` nil when it is gone or not a
    /// regular file; `nil` altogether when it could not be opened for another reason (the caller
    /// then stats it by name, and the catalog's read reports the error).
    static func openAndRead(directory: CInt, name: String) -> (info: FileInfo?, bytes: Result<[UInt8], SysError>?)? {
        let fd: CInt
        do {
            fd = try FileSystem.openFile(directory: directory, name: name).release()
        } catch {
            return error.isNoEntry ? (nil, nil) : nil
        }
        defer { try? Descriptor.close(fd) }
        guard let info = try? FileSystem.fstat(fd), info.isRegular else { return (nil, nil) }
        // Too big: the catalog refuses it by its size without reading.
        guard info.size <= Int64(FileModule.maxFileSize) else { return (info, nil) }
        do {
            let bytes = try FileSystem.readAll(
                fd, name: name, limit: FileModule.maxFileSize, expectedSize: Int(clamping: info.size))
            return (info, .success(bytes))
        } catch {
            return (info, .failure(error))
        }
    }

    /// Only the files inotify named: a stat each, and a read of those still there. Nil when the
    /// directory cannot be opened (the full scan then reports why).
    private func rescan(_ names: Set<String>) -> [ServiceFileCatalog.Change]? {
        guard !names.isEmpty else { return [] }
        guard let directoryFD = try? FileSystem.openDirectory(directory) else { return nil }
        let dirfd = directoryFD.rawValue
        var named: [String: FileFingerprint?] = [:]
        var sizes: [String: Int] = [:]
        for name in names where ServiceFileCatalog.isServiceFileName(name) {
            if let info = try? FileSystem.fstatat(directory: dirfd, name: name), info.isRegular {
                named[name] = FileFingerprint(
                    device: info.device, inode: info.inode, size: info.size, modificationNanoseconds: info.modificationNanoseconds)
                sizes[name] = Int(clamping: info.size)
            } else {
                named[name] = .some(nil)
            }
        }
        let changes = catalog.update(named: named) { name in
            try FileSystem.readFile(
                directory: dirfd, name: name, limit: FileModule.maxFileSize, expectedSize: sizes[name] ?? 0)
        }
        for change in changes { log(change) }
        return changes
    }

    private func log(_ change: ServiceFileCatalog.Change) {
        switch change {
        case .loaded(let file, let warnings):
            logger.debug("service file loaded", metadata: ["file": "\(file)"])
            for warning in warnings { logger.warning("\(warning)", metadata: ["file": "\(file)"]) }
        case .removed(let file):
            logger.info("service file removed", metadata: ["file": "\(file)"])
        case .failed(let file, let error, let keptLastGood):
            logger.error(
                "\(error)",
                metadata: [
                    "file": "\(file)",
                    "kept": keptLastGood ? "its last good service" : "nothing (no earlier good version)",
                ])
        }
    }
}

extension DirectoryWatcher.Change {
    var pastTense: String {
        switch self {
        case .created: return "created"
        case .written: return "changed"
        case .movedIn: return "moved in"
        case .movedOut: return "moved out"
        case .deleted: return "deleted"
        }
    }
}
