import ProxymModel

/// The state of the service-file directory between rescans: per file, its fingerprint and its last
/// good service.
///
/// Pure: the caller lists the directory (regular files only) and supplies a `read` function; the
/// catalog decides what to read, decodes, and says what changed. A rescan of unchanged files reads
/// nothing. A file that turns bad keeps serving the service it had before (DESIGN.md: a failure never
/// empties the config); a deleted file drops its service. Duplicate ids across files are left for the
/// merge step that sees every generator's services.
public struct ServiceFileCatalog: Sendable {
    /// One directory entry: a file name (no path) and its fingerprint.
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var fingerprint: FileFingerprint

        public init(name: String, fingerprint: FileFingerprint) {
            self.name = name
            self.fingerprint = fingerprint
        }
    }

    /// What an update found, per file.
    public enum Change: Hashable, Sendable, CustomStringConvertible {
        /// A new file, or a changed one, decoded; its service is now current.
        case loaded(file: String, warnings: [String])
        /// A new or changed file that could not be read or decoded. With `keptLastGood`, the service
        /// the file had before stays current; otherwise the file contributes nothing.
        case failed(file: String, error: ServiceFileError, keptLastGood: Bool)
        /// The file is gone, and with it its service.
        case removed(file: String)

        public var file: String {
            switch self {
            case .loaded(let file, _), .failed(let file, _, _), .removed(let file): return file
            }
        }

        public var description: String {
            let name = ValidationError.escaped(file, limit: 255)
            switch self {
            case .loaded(_, let warnings):
                return warnings.isEmpty ? "\(name): loaded" : "\(name): loaded (\(warnings.joined(separator: "; ")))"
            case .failed(_, let error, let kept):
                return "\(error)" + (kept ? " (keeping its last good service)" : "")
            case .removed:
                return "\(name): removed"
            }
        }
    }

    private struct FileState: Sendable {
        /// `nil` after ``forgetFingerprints()``: matches nothing, so the next update reads the file.
        var fingerprint: FileFingerprint?
        var service: Service?
        var warnings: [String] = []
        var error: ServiceFileError?
    }

    private var files: [String: FileState] = [:]

    /// The current services (each file's newest good one), sorted by file name.
    public private(set) var services: [Service] = []

    public init() {}

    /// Files that currently fail, sorted; each may still contribute its last good service.
    public var failingFiles: [String] {
        files.filter { $0.value.error != nil }.keys.sorted()
    }

    /// Whether a directory entry is a service file: `*.json` (case-sensitive), not hidden.
    public static func isServiceFileName(_ name: String) -> Bool {
        // Byte-wise: `hasSuffix` would compare Characters, which costs on every rescan.
        let utf8 = name.utf8
        return utf8.count > 5 && utf8.first != UInt8(ascii: ".") && utf8.suffix(5).elementsEqual(".json".utf8)
    }

    /// Brings the catalog up to date with a fresh listing of the directory.
    ///
    /// Calls `read` (with the entry's name) only for files that are new or whose fingerprint changed,
    /// never for files larger than ``ServiceFileDecoder/maxFileBytes``. A `read` that throws counts as a
    /// failure of that file. Changes come in file-name order, removals last. A re-read that finds the
    /// same service and warnings as before (a `touch`, or everything after ``forgetFingerprints()``)
    /// reports nothing, and neither does a file that fails again the same way.
    public mutating func update(listing: [Entry], read: (String) throws -> [UInt8]) -> [Change] {
        var changes: [Change] = []
        var listed = Set<String>(minimumCapacity: listing.count)
        for entry in listing where Self.isServiceFileName(entry.name) {
            guard listed.insert(entry.name).inserted else { continue }
            if files[entry.name]?.fingerprint == entry.fingerprint { continue }
            let old = files[entry.name]
            var state = old ?? FileState()
            state.fingerprint = entry.fingerprint
            switch Self.load(entry, read: read) {
            case .success(let decoded):
                let same =
                    old != nil && old?.error == nil && old?.service == decoded.service
                    && old?.warnings == decoded.warnings
                state.service = decoded.service
                state.warnings = decoded.warnings
                state.error = nil
                if !same { changes.append(.loaded(file: entry.name, warnings: decoded.warnings)) }
            case .failure(let error):
                if old?.error != error {
                    changes.append(.failed(file: entry.name, error: error, keptLastGood: state.service != nil))
                }
                state.error = error
            }
            files[entry.name] = state
        }
        changes.sort { $0.file < $1.file }  // usually few; sorting them is cheaper than the listing
        for name in files.keys.filter({ !listed.contains($0) }).sorted() {
            files[name] = nil
            changes.append(.removed(file: name))
        }
        if !changes.isEmpty {
            services = files.sorted(by: { $0.key < $1.key }).compactMap(\.value.service)
        }
        return changes
    }

    /// Makes the next ``update(listing:read:)`` read every file again (after an inotify queue
    /// overflow, when changes may have gone unseen). Services stay as they are until then.
    public mutating func forgetFingerprints() {
        for name in files.keys { files[name]?.fingerprint = nil }
    }

    private static func load(_ entry: Entry, read: (String) throws -> [UInt8]) -> Result<
        ServiceFileDecoder.Decoded, ServiceFileError
    > {
        if let error = ServiceFileDecoder.checkFileName(entry.name)
            ?? ServiceFileDecoder.checkSize(Int(clamping: entry.fingerprint.size), fileName: entry.name)
        {
            return .failure(error)
        }
        let bytes: [UInt8]
        do {
            bytes = try read(entry.name)
        } catch {
            return .failure(
                ServiceFileError(
                    file: entry.name, field: nil,
                    reason: "cannot be read: " + ValidationError.escaped("\(error)", limit: 200)))
        }
        return ServiceFileDecoder.decode(bytes, fileName: entry.name)
    }
}
