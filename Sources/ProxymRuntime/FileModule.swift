import Logging
import ProxymCore
import ProxymGenerators
import ProxymModel
import ProxymPosix

/// The File module: `*.json` service files in one directory, watched with inotify.
///
/// As a Notifier it turns directory events into refresh requests; as a ServiceGenerator it lists the
/// directory and lets `ServiceFileCatalog` re-read only files whose fingerprint changed, keeping each
/// broken file's last good service. A missing directory is a failure of this source (the daemon keeps
/// the last good services), not "zero services".
public final class FileModule: ServiceGenerator, Notifier {
    public let name = "file"
    public let directory: String
    /// Service files larger than this are refused.
    public static let maxFileSize = 1 << 20

    private let loop: EventLoop
    private let logger: Logger
    private var catalog = ServiceFileCatalog()
    private var watcher: DirectoryWatcher?
    /// Files modified shortly before the last scan. File timestamps are coarse (one jiffy on kernels
    /// before 6.13, Debian 12's included), so a same-size rewrite in that tick keeps the fingerprint
    /// the scan stored: these files are re-read at the next scan whatever their fingerprint says.
    private var recentlyModified: Set<String> = []
    /// "Shortly": far more than any timestamp tick; costs at most a re-read or two of those files.
    static let racyWindowNanoseconds: Int64 = 1_000_000_000
    private var scanCount: Int64 = 0

    public init(directory: String, loop: EventLoop, logger: Logger) {
        self.directory = directory
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "file"
        self.logger = logger
    }

    /// Names that can change the service list: `*.json`, plus the `..data`-style entries Kubernetes'
    /// atomic writer swaps when a ConfigMap mounted here changes.
    static func isRelevant(_ name: String) -> Bool {
        if name.hasPrefix("..") { return true }
        return name.hasSuffix(".json") && !name.hasPrefix(".")
    }

    public func start(notify: @escaping (RefreshReason) -> Void) throws {
        let directory = self.directory
        let logger = self.logger
        watcher = try DirectoryWatcher(loop: loop, path: directory) { [weak self] event in
            switch event {
            case .file(let name, let change):
                guard FileModule.isRelevant(name) else { return }
                notify(RefreshReason("file \(name) \(change.pastTense)"))
            case .overflow:
                logger.warning("inotify queue overflowed; rescanning every file", metadata: ["directory": "\(directory)"])
                self?.catalog.forgetFingerprints()
                notify(RefreshReason("inotify overflow in \(directory)", forcesFullResync: false))
            case .directoryVanished:
                logger.error(
                    "service directory is gone; keeping the last good services until it comes back",
                    metadata: ["directory": "\(directory)"])
                notify(RefreshReason("directory \(directory) removed"))
            case .directoryAppeared:
                logger.notice("service directory appeared; reading it", metadata: ["directory": "\(directory)"])
                self?.catalog.forgetFingerprints()
                notify(RefreshReason("directory \(directory) appeared"))
            }
        }
    }

    public func stop(done: @escaping () -> Void) {
        watcher?.close()
        watcher = nil
        done()
    }

    /// Files whose latest version is broken (they keep their last good service, if any).
    public var failingFiles: [String] { catalog.failingFiles }

    public var statusNote: String? {
        let failing = catalog.failingFiles
        guard !failing.isEmpty else { return nil }
        let names = failing.prefix(3).joined(separator: ", ") + (failing.count > 3 ? ", ..." : "")
        return "\(failing.count) invalid file\(failing.count == 1 ? "" : "s"): \(names)"
    }

    public func generate(fullResync: Bool, completion: @escaping (Result<[Service], GeneratorFailure>) -> Void) {
        if fullResync { catalog.forgetFingerprints() }
        // inotify does not report renames of an ancestor directory; one stat per refresh does.
        watcher?.verify()
        let entries: [DirectoryEntry]
        do {
            entries = try FileSystem.listDirectory(directory)
        } catch {
            completion(.failure(GeneratorFailure("cannot read \(directory): \(error)")))
            return
        }
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
        for entry in entries where entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            // stat (not lstat): symlinked files (e.g. a mounted ConfigMap) count by their target.
            guard let info = try? FileSystem.stat(directory + "/" + entry.name), info.isRegular else { continue }
            if info.modificationNanoseconds >= racySince { racy.insert(entry.name) }
            listing.append(
                ServiceFileCatalog.Entry(
                    name: entry.name,
                    fingerprint: FileFingerprint(
                        device: info.device, inode: info.inode, size: info.size,
                        modificationNanoseconds: recentlyModified.contains(entry.name)
                            ? unknownTime : info.modificationNanoseconds)))
        }
        recentlyModified = racy
        let directory = self.directory
        let changes = catalog.update(listing: listing) { name in
            try FileSystem.readFile(directory + "/" + name, limit: FileModule.maxFileSize)
        }
        for change in changes { log(change) }
        completion(.success(catalog.services))
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
