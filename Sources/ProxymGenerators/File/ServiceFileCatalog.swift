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
    /// The files `services` came from, in the same order (kept alongside, so that one file's change
    /// is an insertion or a replacement, not a sort of the whole directory).
    private var serviceFiles: [String] = []

    public init() {}

    /// Files that currently fail and why, sorted by name.
    public var failures: [(file: String, error: String)] {
        files.compactMap { name, state in state.error.map { (name, "\($0)") } }.sorted { $0.file < $1.file }
    }

    /// Files that currently fail, sorted; each may still contribute its last good service.
    public var failingFiles: [String] { failing.sorted() }

    /// The names of the files whose state has an error (kept with `files`: the status line asks for
    /// them after every change, and filtering 10,000 states each time cost more than the change).
    private var failing: Set<String> = []

    private mutating func setState(_ state: FileState?, for name: String) {
        files[name] = state
        if state?.error != nil { failing.insert(name) } else { failing.remove(name) }
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
            if let change = load(entry, read: read) { changes.append(change) }
        }
        changes.sort { $0.file < $1.file }  // usually few; sorting them is cheaper than the listing
        for name in files.keys.filter({ !listed.contains($0) }).sorted() {
            setState(nil, for: name)
            changes.append(.removed(file: name))
        }
        if !changes.isEmpty {
            let current = files.sorted(by: { $0.key < $1.key }).compactMap { file in file.value.service.map { (file.key, $0) } }
            serviceFiles = current.map(\.0)
            services = current.map(\.1)
        }
        return changes
    }

    /// Brings the catalog up to date for the files named, when the caller knows that no other file
    /// changed (inotify named them): each named file is read again whatever its fingerprint (a
    /// rewrite within one timestamp tick keeps it), a `nil` entry is a file that is gone (or no
    /// longer a regular file). Same changes, in the same order, as ``update(listing:read:)`` would
    /// report for those files; costs a few steps per file, not a pass over the directory.
    public mutating func update(named: [String: FileFingerprint?], read: (String) throws -> [UInt8]) -> [Change] {
        var changes: [Change] = []
        var removed: [String] = []
        for (name, fingerprint) in named.sorted(by: { $0.key < $1.key }) where Self.isServiceFileName(name) {
            guard let fingerprint else {
                if files[name] != nil {
                    setState(nil, for: name)
                    removed.append(name)
                    place(nil, for: name)
                }
                continue
            }
            if let change = load(Entry(name: name, fingerprint: fingerprint), read: read) { changes.append(change) }
            place(files[name]?.service, for: name)
        }
        return changes + removed.map { .removed(file: $0) }
    }

    /// Reads and decodes one new or changed file into `files`; what to report, if anything.
    private mutating func load(_ entry: Entry, read: (String) throws -> [UInt8]) -> Change? {
        let old = files[entry.name]
        var state = old ?? FileState()
        state.fingerprint = entry.fingerprint
        var change: Change?
        switch Self.load(entry, read: read) {
        case .success(let decoded):
            let same =
                old != nil && old?.error == nil && old?.service == decoded.service && old?.warnings == decoded.warnings
            state.service = decoded.service
            state.warnings = decoded.warnings
            state.error = nil
            if !same { change = .loaded(file: entry.name, warnings: decoded.warnings) }
        case .failure(let error):
            if old?.error != error {
                change = .failed(file: entry.name, error: error, keptLastGood: state.service != nil)
            }
            state.error = error
        }
        setState(state, for: entry.name)
        return change
    }

    /// Puts `name`'s service (or its absence) in its place in the sorted `services`.
    private mutating func place(_ service: Service?, for name: String) {
        // Binary search for the first file name not below `name`.
        var low = 0
        var high = serviceFiles.count
        while low < high {
            let middle = (low + high) / 2
            if serviceFiles[middle] < name { low = middle + 1 } else { high = middle }
        }
        let present = low < serviceFiles.count && serviceFiles[low] == name
        switch (service, present) {
        case (let service?, true):
            if services[low] != service { services[low] = service }
        case (let service?, false):
            serviceFiles.insert(name, at: low)
            services.insert(service, at: low)
        case (nil, true):
            serviceFiles.remove(at: low)
            services.remove(at: low)
        case (nil, false):
            break
        }
    }

    /// The fingerprint a file had when it was last read; `nil` for a file the next update reads
    /// whatever it finds (new, or after ``forgetFingerprints()``).
    public func knownFingerprint(of name: String) -> FileFingerprint? {
        files[name]?.fingerprint
    }

    /// Makes the next ``update(listing:read:)`` read every file again (after an inotify queue
    /// overflow, when changes may have gone unseen). Services stay as they are until then.
    public mutating func forgetFingerprints() {
        // In place, by index: iterating `files.keys` while assigning would copy the whole dictionary
        // (the keys view shares its storage) and hash every name again.
        var index = files.startIndex
        while index != files.endIndex {
            files.values[index].fingerprint = nil
            files.formIndex(after: &index)
        }
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
