import ProxymGenerators
import ProxymModel
import ProxymTestSupport
import Testing

struct ReadFailure: Error, CustomStringConvertible {
    var description: String { "permission denied\nsecond line" }
}

/// An in-memory directory: contents, fingerprints that change on every write, and a count of reads.
final class FakeDirectory {
    private(set) var files: [String: [UInt8]] = [:]
    private var fingerprints: [String: FileFingerprint] = [:]
    private var nextInode: UInt64 = 1
    private(set) var reads: [String] = []
    var unreadable: Set<String> = []

    func write(_ name: String, _ text: String) {
        write(name, bytes: Array(text.utf8))
    }

    func write(_ name: String, bytes: [UInt8]) {
        files[name] = bytes
        nextInode += 1
        fingerprints[name] = FileFingerprint(
            device: 1, inode: nextInode, size: Int64(bytes.count), modificationNanoseconds: Int64(nextInode) * 1000)
    }

    /// Same content, new modification time.
    func touch(_ name: String) {
        fingerprints[name]?.modificationNanoseconds += 1
    }

    /// Pretends the file is this big without holding the bytes.
    func claimSize(_ name: String, _ size: Int64) {
        fingerprints[name]?.size = size
    }

    func delete(_ name: String) {
        files[name] = nil
        fingerprints[name] = nil
    }

    var listing: [ServiceFileCatalog.Entry] {
        fingerprints.map { ServiceFileCatalog.Entry(name: $0.key, fingerprint: $0.value) }
    }

    func read(_ name: String) throws -> [UInt8] {
        reads.append(name)
        if unreadable.contains(name) { throw ReadFailure() }
        guard let bytes = files[name] else { throw ReadFailure() }
        return bytes
    }

    func resetReads() { reads = [] }

    /// Runs an update and returns its changes and the names read during it.
    func update(_ catalog: inout ServiceFileCatalog) -> (changes: [ServiceFileCatalog.Change], reads: [String]) {
        resetReads()
        let changes = catalog.update(listing: listing, read: read)
        return (changes, reads)
    }
}

func serviceJSON(_ id: String, port: Int = 80, ip: String = "10.0.0.1") -> String {
    #"{"id": "\#(id)", "servicePort": \#(port), "hosts": [{"ip": "\#(ip)", "port": 31000}]}"#
}

@Suite("ServiceFileCatalog")
struct ServiceFileCatalogTests {
    @Test func newFilesAreLoadedAndSortedByFileName() {
        let dir = FakeDirectory()
        dir.write("b.json", serviceJSON("/b"))
        dir.write("a.json", serviceJSON("/z"))
        dir.write("c.json", #"{"id": "/c", "servicePort": 80, "hosts": [], "extra": 1}"#)
        var catalog = ServiceFileCatalog()
        let (changes, reads) = dir.update(&catalog)
        #expect(
            changes == [
                .loaded(file: "a.json", warnings: []), .loaded(file: "b.json", warnings: []),
                .loaded(file: "c.json", warnings: [#"unknown key "extra" ignored"#]),
            ])
        #expect(reads.sorted() == ["a.json", "b.json", "c.json"])
        #expect(catalog.services.map(\.id.rawValue) == ["/z", "/b", "/c"])
        #expect(catalog.services.map(\.source) == ["file:a.json", "file:b.json", "file:c.json"])
        #expect(catalog.failingFiles.isEmpty)
    }

    @Test func unchangedFilesAreNotRead() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("b.json", serviceJSON("/b"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        let before = catalog.services
        let (changes, reads) = dir.update(&catalog)
        #expect(changes.isEmpty)
        #expect(reads.isEmpty)
        #expect(catalog.services == before)
    }

    @Test func changedFileIsReadAgain() throws {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("b.json", serviceJSON("/b"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        dir.write("a.json", serviceJSON("/a", ip: "10.0.0.2"))
        let (changes, reads) = dir.update(&catalog)
        #expect(changes == [.loaded(file: "a.json", warnings: [])])
        #expect(reads == ["a.json"])
        #expect(catalog.services.first?.hosts == [try Host(ip: "10.0.0.2", port: 31000)])
    }

    @Test func touchedButIdenticalFileReportsNothing() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        dir.touch("a.json")
        let (changes, reads) = dir.update(&catalog)
        #expect(reads == ["a.json"])
        #expect(changes.isEmpty)
        // And the new fingerprint is remembered.
        #expect(dir.update(&catalog).reads.isEmpty)
    }

    @Test func brokenAfterGoodKeepsTheLastGoodService() throws {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("b.json", serviceJSON("/b"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        let good = catalog.services

        dir.write("a.json", #"{"id": "/a", "servicePort": 80, "hosts": [}"#)
        let (changes, reads) = dir.update(&catalog)
        #expect(reads == ["a.json"])
        guard case .failed(let file, let error, let kept)? = changes.first, changes.count == 1 else {
            Issue.record("expected one failure, got \(changes)")
            return
        }
        #expect(file == "a.json")
        #expect(kept)
        #expect(error.field == nil)
        #expect(error.description.hasPrefix("a.json: invalid JSON: line 1, column 43: unexpected character"))
        #expect(catalog.services == good)
        #expect(catalog.failingFiles == ["a.json"])

        // Still broken and unchanged: no read, nothing new to say.
        #expect(dir.update(&catalog) == ([], []))

        // Broken differently: a new failure, still keeping the last good service.
        dir.write("a.json", #"{"id": "/a", "servicePort": "80", "hosts": []}"#)
        let second = dir.update(&catalog).changes
        #expect(
            second == [
                .failed(
                    file: "a.json",
                    error: ServiceFileError(
                        file: "a.json", field: "servicePort", reason: "must be an integer, not a string", value: "80"),
                    keptLastGood: true)
            ])
        #expect(catalog.services == good)

        // Fixed, even back to the same content: loaded again, no longer failing.
        dir.write("a.json", serviceJSON("/a"))
        #expect(dir.update(&catalog).changes == [.loaded(file: "a.json", warnings: [])])
        #expect(catalog.services == good)
        #expect(catalog.failingFiles.isEmpty)
    }

    @Test func brokenWithoutPreviousContributesNothing() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("bad.json", #"{"id": "/bad;x", "servicePort": 80, "hosts": []}"#)
        var catalog = ServiceFileCatalog()
        let changes = dir.update(&catalog).changes
        #expect(
            changes == [
                .loaded(file: "a.json", warnings: []),
                .failed(
                    file: "bad.json",
                    error: ServiceFileError(
                        file: "bad.json", field: "id",
                        reason: "may only contain letters, digits, '.', '_', '-' and '/'",
                        value: "/bad;x"),
                    keptLastGood: false),
            ])
        #expect(catalog.services.map(\.id.rawValue) == ["/a"])
        #expect(catalog.failingFiles == ["bad.json"])
    }

    @Test func deletedFileDropsItsService() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("b.json", serviceJSON("/b"))
        dir.write("broken.json", "{")
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        dir.delete("a.json")
        dir.delete("broken.json")
        let (changes, reads) = dir.update(&catalog)
        #expect(changes == [.removed(file: "a.json"), .removed(file: "broken.json")])
        #expect(reads.isEmpty)
        #expect(catalog.services.map(\.id.rawValue) == ["/b"])
        #expect(catalog.failingFiles.isEmpty)
        // A file that comes back is new again.
        dir.write("a.json", serviceJSON("/a"))
        #expect(dir.update(&catalog).changes == [.loaded(file: "a.json", warnings: [])])
    }

    @Test func deletedFileThatFailedAfterGoodDropsTheKeptService() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        dir.write("a.json", "not json")
        _ = dir.update(&catalog)
        #expect(catalog.services.count == 1)
        dir.delete("a.json")
        #expect(dir.update(&catalog).changes == [.removed(file: "a.json")])
        #expect(catalog.services.isEmpty)
    }

    @Test(arguments: [
        "readme.txt", "web.JSON", "web.Json", ".hidden.json", ".json", "web.json~", "web.json.swp", "web.json.tmp",
        "#web.json#", "web.jsonx", "json",
    ])
    func otherNamesAreIgnored(_ name: String) {
        let dir = FakeDirectory()
        dir.write(name, serviceJSON("/other"))
        dir.write("web.json", serviceJSON("/web"))
        var catalog = ServiceFileCatalog()
        let (changes, reads) = dir.update(&catalog)
        #expect(reads == ["web.json"])
        #expect(changes == [.loaded(file: "web.json", warnings: [])])
        #expect(!ServiceFileCatalog.isServiceFileName(name))
    }

    @Test func readErrorIsAFailure() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.unreadable = ["a.json"]
        var catalog = ServiceFileCatalog()
        let (changes, reads) = dir.update(&catalog)
        #expect(reads == ["a.json"])
        let expected = ServiceFileError(
            file: "a.json", field: nil, reason: #"cannot be read: permission denied\nsecond line"#)
        #expect(changes == [.failed(file: "a.json", error: expected, keptLastGood: false)])
        #expect(!"\(changes[0])".contains("\n"))
        #expect(catalog.services.isEmpty)
        // Not retried until the file changes.
        #expect(dir.update(&catalog).reads.isEmpty)
        dir.unreadable = []
        dir.touch("a.json")
        #expect(dir.update(&catalog).changes == [.loaded(file: "a.json", warnings: [])])
    }

    @Test func readErrorAfterGoodKeepsTheService() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        dir.unreadable = ["a.json"]
        dir.touch("a.json")
        guard case .failed(_, _, let kept)? = dir.update(&catalog).changes.first else {
            Issue.record("no failure")
            return
        }
        #expect(kept)
        #expect(catalog.services.map(\.id.rawValue) == ["/a"])
    }

    @Test func oversizedFileIsRefusedWithoutReading() {
        let dir = FakeDirectory()
        dir.write("big.json", serviceJSON("/big"))
        dir.claimSize("big.json", 2_000_000)
        var catalog = ServiceFileCatalog()
        let (changes, reads) = dir.update(&catalog)
        #expect(reads.isEmpty)
        #expect(
            changes == [
                .failed(
                    file: "big.json",
                    error: ServiceFileError(
                        file: "big.json", field: nil, reason: "file is 2000000 bytes, the limit is 1048576"),
                    keptLastGood: false)
            ])
    }

    @Test func forgetFingerprintsRereadsEverythingQuietly() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a"))
        dir.write("b.json", serviceJSON("/b"))
        dir.write("bad.json", "[")
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        let before = catalog.services
        catalog.forgetFingerprints()
        #expect(catalog.services == before)
        let (changes, reads) = dir.update(&catalog)
        #expect(reads.sorted() == ["a.json", "b.json", "bad.json"])
        #expect(changes.isEmpty)
        #expect(catalog.services == before)
        // But a change that happened unseen is reported.
        catalog.forgetFingerprints()
        dir.write("b.json", serviceJSON("/b", port: 8080))
        #expect(dir.update(&catalog).changes == [.loaded(file: "b.json", warnings: [])])
        #expect(catalog.services.map(\.servicePort) == [80, 8080])
    }

    @Test func duplicateIdsAcrossFilesAreAllKept() {
        let dir = FakeDirectory()
        dir.write("one.json", serviceJSON("/web", ip: "10.0.0.1"))
        dir.write("two.json", serviceJSON("/web", ip: "10.0.0.2"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        #expect(catalog.services.map(\.id.rawValue) == ["/web", "/web"])
        #expect(catalog.services.map(\.source) == ["file:one.json", "file:two.json"])
    }

    @Test func duplicateNamesInAListingAreReadOnce() {
        let fingerprint = FileFingerprint(device: 1, inode: 1, size: 10, modificationNanoseconds: 1)
        var catalog = ServiceFileCatalog()
        var reads = 0
        let changes = catalog.update(
            listing: [
                .init(name: "a.json", fingerprint: fingerprint), .init(name: "a.json", fingerprint: fingerprint),
            ],
            read: { _ in
                reads += 1
                return Array(serviceJSON("/a").utf8)
            })
        #expect(reads == 1)
        #expect(changes.count == 1)
    }

    @Test func changeDescriptions() {
        let error = ServiceFileError(file: "a.json", field: "id", reason: "is required")
        #expect(ServiceFileCatalog.Change.loaded(file: "a.json", warnings: []).description == "a.json: loaded")
        #expect(
            ServiceFileCatalog.Change.loaded(file: "a.json", warnings: ["x", "y"]).description
                == "a.json: loaded (x; y)")
        #expect(
            ServiceFileCatalog.Change.failed(file: "a.json", error: error, keptLastGood: true).description
                == "a.json: id: is required (keeping its last good service)")
        #expect(
            ServiceFileCatalog.Change.failed(file: "a.json", error: error, keptLastGood: false).description
                == "a.json: id: is required")
        #expect(ServiceFileCatalog.Change.removed(file: "a\nb.json").description == #"a\nb.json: removed"#)
        #expect(ServiceFileCatalog.Change.removed(file: "a.json").file == "a.json")
    }

    @Test func tenThousandUnchangedFilesCostNoReads() {
        let dir = FakeDirectory()
        for i in 0..<10_000 { dir.write("svc-\(i).json", serviceJSON("/svc-\(i)", port: 10_000 + i)) }
        var catalog = ServiceFileCatalog()
        let first = dir.update(&catalog)
        #expect(first.reads.count == 10_000)
        #expect(first.changes.count == 10_000)
        #expect(catalog.services.count == 10_000)
        let second = dir.update(&catalog)
        #expect(second.reads.isEmpty)
        #expect(second.changes.isEmpty)
    }
}

/// `update(named:)` (the files inotify named) must leave the catalog exactly where a full
/// `update(listing:)` would: same services in the same order, same changes reported.
@Suite("ServiceFileCatalog: updates of named files")
struct ServiceFileCatalogNamedUpdateTests {
    @Test func randomEditsGiveTheSameCatalogAsFullListings() {
        var rng = SplitMix64(seed: 0xF11E5)
        let dir = FakeDirectory()
        var full = ServiceFileCatalog()
        var named = ServiceFileCatalog()
        let names = (0..<40).map { "svc-\($0).json" } + ["notes.txt", ".hidden.json", "bad name.json"]
        for round in 0..<400 {
            var touched: Set<String> = []
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let name = names[Int(rng.next() % UInt64(names.count))]
                touched.insert(name)
                switch rng.next() % 6 {
                case 0: dir.delete(name)
                case 1: dir.write(name, #"{"id": "/broken", "#)  // invalid JSON
                case 2: dir.write(name, serviceJSON("/dup", port: 80))  // the same id in several files
                case 3: dir.touch(name)
                default: dir.write(name, serviceJSON("/\(name.prefix { $0 != "." })", port: 80, ip: "10.0.0.\(1 + rng.next() % 3)"))
                }
            }
            let expected = dir.update(&full).changes
            var fingerprints: [String: FileFingerprint?] = [:]
            let listed = Dictionary(uniqueKeysWithValues: dir.listing.map { ($0.name, $0.fingerprint) })
            for name in touched { fingerprints[name] = .some(listed[name]) }
            let changes = named.update(named: fingerprints, read: dir.read)
            #expect(changes == expected, "round \(round)")
            #expect(named.services == full.services, "round \(round)")
            #expect(named.failingFiles == full.failingFiles, "round \(round)")
        }
    }

    @Test func aNamedFileIsReadAgainEvenWithTheSameFingerprint() {
        let dir = FakeDirectory()
        dir.write("a.json", serviceJSON("/a", ip: "10.0.0.1"))
        var catalog = ServiceFileCatalog()
        _ = dir.update(&catalog)
        let fingerprint = dir.listing.first { $0.name == "a.json" }!.fingerprint
        // Rewritten within one timestamp tick, same size: the fingerprint cannot tell.
        dir.write("a.json", serviceJSON("/a", ip: "10.0.0.2"))
        dir.resetReads()
        let changes = catalog.update(named: ["a.json": fingerprint], read: dir.read)
        #expect(dir.reads == ["a.json"])
        #expect(changes == [.loaded(file: "a.json", warnings: [])])
        #expect(catalog.services.first?.hosts.map(\.description) == ["10.0.0.2:31000"])
    }
}
