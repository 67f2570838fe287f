import Glibc
import ProxymCore
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct FileModuleTests {
    /// generate() completes synchronously; this returns its result.
    func generate(_ module: FileModule, fullResync: Bool = false) throws -> Result<[Service], GeneratorFailure> {
        var result: Result<[Service], GeneratorFailure>?
        module.generate(fullResync: fullResync) { result = $0 }
        return try #require(result)
    }

    func ids(_ module: FileModule, fullResync: Bool = false) throws -> [String] {
        try generate(module, fullResync: fullResync).get().map(\.id.rawValue).sorted()
    }

    func service(_ module: FileModule, _ id: String) throws -> Service? {
        try generate(module).get().first { $0.id.rawValue == id }
    }

    // MARK: generate()

    @Test func readsEveryServiceFileAndIgnoresTheRest() throws {
        try withTemporaryDirectory { dir in
            let log = TestLog()
            // The original's format, then the same keys in other cases (its decoder ignored case).
            try writeFile(
                dir + "/redis.json",
                serviceJSON(id: "/redis", domain: "redis.example.com", servicePort: 6379, hostPort: 31001)
            )
            try writeFile(
                dir + "/web.json",
                #"{"ID": "/web/app", "DOMAIN": "web.example.com", "Protocol": "tcp", "SERVICEPORT": 80, "hosts": [{"Ip": "10.0.0.2", "PORT": 31002}]}"#
            )
            // Not service files: other suffixes, hidden files, editor leftovers, a directory named *.json.
            let other = serviceJSON(id: "/other", domain: "other.example.com", servicePort: 81, hostPort: 1)
            for name in ["notes.txt", ".hidden.json", "web.json~", ".web.json.swp", "web.json.tmp", "web.JSON"] {
                try writeFile(dir + "/" + name, other)
            }
            try FileSystem.mkdir(dir + "/sub.json")
            try writeFile(dir + "/sub.json/inner.json", other)

            let module = FileModule(directory: dir, loop: try EventLoop(), logger: log.logger)
            let services = try generate(module).get()
            #expect(services.map(\.id.rawValue).sorted() == ["/redis", "/web/app"])
            let web = try #require(services.first { $0.id.rawValue == "/web/app" })
            #expect(web.domain?.rawValue == "web.example.com")
            #expect(web.servicePort == 80)
            #expect(web.hosts.map(\.description) == ["10.0.0.2:31002"])
            #expect(module.failingFiles.isEmpty)
        }
    }

    /// A FIFO named like a service file never blocks the loop (opened O_NONBLOCK, refused after
    /// fstat): an ERROR names it, and a service file that becomes a FIFO keeps its last good service.
    /// (A directory named `x.json` is not a service file at all: ignored, as before.)
    @Test func aFifoNamedLikeAServiceFileDoesNotBlock() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1))
            try writeFile(dir + "/b.json", serviceJSON(id: "/b", domain: "b.example.com", servicePort: 80, hostPort: 2))
            #expect(mkfifo(dir + "/pipe.json", 0o600) == 0)
            let log = TestLog()
            let module = FileModule(directory: dir, loop: try EventLoop(), logger: log.logger)
            #expect(try ids(module) == ["/a", "/b"])
            #expect(log.contains("pipe.json is a FIFO, not a regular file: not read"), "\(log.lines)")
            #expect(module.failingFiles.contains("pipe.json"))
            try FileSystem.unlink(dir + "/b.json")
            #expect(mkfifo(dir + "/b.json", 0o600) == 0)
            #expect(try ids(module, fullResync: true) == ["/a", "/b"], "b's last good service stays")
            #expect(log.contains("b.json is a FIFO, not a regular file: not read"), "\(log.lines)")
        }
    }

    @Test func brokenFileKeepsItsLastGoodServiceAndOthersAreUnaffected() throws {
        try withTemporaryDirectory { dir in
            let log = TestLog()
            let module = FileModule(directory: dir, loop: try EventLoop(), logger: log.logger)
            try writeFile(
                dir + "/a.json",
                serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1001)
            )
            try writeFile(
                dir + "/b.json",
                serviceJSON(id: "/b", domain: "b.example.com", servicePort: 80, hostPort: 2001)
            )
            #expect(try ids(module) == ["/a", "/b"])

            let broken = [
                ("bad JSON", #"{"id": "/a", "domain": "#),
                (
                    "hostile domain",
                    #"{"id": "/a", "domain": "a.example.com\nlisten evil\n  bind :1", "servicePort": 80, "hosts": [{"ip": "127.0.0.1", "port": 1}]}"#
                ),
                ("missing hosts", #"{"id": "/a", "domain": "a.example.com", "servicePort": 80}"#),
            ]
            for (what, text) in broken {
                try writeFile(dir + "/a.json", text)
                // b changes at the same time: the broken a must not hold it back.
                let bPort = 2000 + text.utf8.count
                try writeFile(
                    dir + "/b.json",
                    serviceJSON(id: "/b", domain: "b.example.com", servicePort: 80, hostPort: bPort)
                )
                let services = try generate(module).get()
                #expect(services.map(\.id.rawValue) == ["/a", "/b"], "\(what)")
                let a = try #require(services.first { $0.id.rawValue == "/a" })
                #expect(a.hosts.map(\.port) == [1001], "\(what): a keeps its last good service")
                #expect(services.first { $0.id.rawValue == "/b" }?.hosts.map(\.port) == [UInt16(bPort)], "\(what)")
                #expect(module.failingFiles == ["a.json"], "\(what)")
            }
            #expect(log.entries.contains { $0.level == .error && $0.metadata["file"] == "a.json" })
            // Nothing of the hostile domain reached a log line unescaped.
            #expect(!log.lines().contains { $0.contains("\n") })

            // A file broken from the start contributes nothing, and is listed.
            try writeFile(dir + "/c.json", "[]")
            #expect(try ids(module) == ["/a", "/b"])
            #expect(module.failingFiles == ["a.json", "c.json"])

            // Fixed: its new service replaces the last good one.
            try writeFile(
                dir + "/a.json",
                serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1002)
            )
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1002])
            #expect(module.failingFiles == ["c.json"])

            // Deleted: its service is gone (a broken file that is deleted stops failing).
            try FileSystem.unlink(dir + "/a.json")
            try FileSystem.unlink(dir + "/c.json")
            #expect(try ids(module) == ["/b"])
            #expect(module.failingFiles.isEmpty)
        }
    }

    @Test func missingDirectoryIsAFailureNotAnEmptyList() throws {
        try withTemporaryDirectory { parent in
            let dir = parent + "/services"
            let module = FileModule(directory: dir, loop: try EventLoop(), logger: TestLog().logger)
            guard case .failure(let failure) = try generate(module) else {
                Issue.record("a missing directory must fail")
                return
            }
            #expect(failure.message.contains(dir))

            // Present, then removed: again a failure (the daemon keeps the last good list), not [].
            try FileSystem.mkdir(dir)
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1))
            #expect(try ids(module) == ["/a"])
            try FileSystem.removeTree(dir)
            #expect(throws: GeneratorFailure.self) { try generate(module).get() }
            // A path that is a file, not a directory.
            try writeFile(dir, "not a directory")
            #expect(throws: GeneratorFailure.self) { try generate(module).get() }
        }
    }

    @Test func fullResyncRereadsFilesWhoseFingerprintDidNotChange() throws {
        try withTemporaryDirectory { dir in
            let module = FileModule(directory: dir, loop: try EventLoop(), logger: TestLog().logger)
            let path = dir + "/a.json"
            try writeFile(path, serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1001))
            // An old modification time (2020): nothing about it is recent enough to distrust.
            let old: Int64 = 1_600_000_000_123_456_789
            try setModificationTime(path, nanoseconds: old)
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1001])
            let before = try FileSystem.stat(path)

            // Same size, same inode, and the old modification time put back: the fingerprint is the same.
            try writeFile(path, serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1002))
            try setModificationTime(path, nanoseconds: old)
            let after = try FileSystem.stat(path)
            #expect(after.inode == before.inode && after.size == before.size)
            #expect(after.modificationNanoseconds == before.modificationNanoseconds)

            // Only a full resync notices.
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1001])
            #expect(try generate(module, fullResync: true).get().first?.hosts.map(\.port) == [1002])
        }
    }

    /// An in-place rewrite of the same size within one timestamp tick (a jiffy on Debian 12's kernel,
    /// whose ext4 timestamps are coarse) leaves the fingerprint as it was. Simulated exactly by putting
    /// the first version's modification time back: a scan that read the first version while its time
    /// was that recent must not trust the fingerprint afterwards.
    @Test func sameSizeRewriteInTheSameTimestampTickIsNotMissed() throws {
        try withTemporaryDirectory { dir in
            let module = FileModule(directory: dir, loop: try EventLoop(), logger: TestLog().logger)
            let path = dir + "/a.json"
            try writeFile(path, serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1001))
            let first = try FileSystem.stat(path)
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1001])

            try writeFile(path, serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1002))
            try setModificationTime(path, nanoseconds: first.modificationNanoseconds)
            let second = try FileSystem.stat(path)
            #expect(second.inode == first.inode && second.size == first.size)
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1002])
            // Stable afterwards: no change reported, the same service.
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1002])
            #expect(try service(module, "/a")?.hosts.map(\.port) == [1002])
        }
    }

    // MARK: Source

    /// A FileModule started on its own loop (watching), collecting the updates it reports.
    final class Watching {
        let loop: EventLoop
        let module: FileModule
        var updates: [SourceUpdate] = []

        init(directory: String) throws {
            loop = try EventLoop()
            module = FileModule(directory: directory, loop: loop, logger: TestLog().logger)
            try module.start(watching: true) { [unowned self] update in self.updates.append(update) }
        }

        var reasons: [String] { updates.map(\.reason.description) }

        /// Steps the loop until an update whose reason contains `fragment` arrives; returns and
        /// clears all reasons.
        func waitFor(_ fragment: String) throws -> [String] {
            let ok = try pump(loop, timeout: .seconds(10)) { reasons.contains { $0.contains(fragment) } }
            #expect(ok, "no reason containing \"\(fragment)\"; got \(reasons)")
            defer { updates.removeAll() }
            return reasons
        }

        /// Steps the loop for `duration` and returns what arrived.
        func settle(_ duration: Duration = .milliseconds(200)) throws -> [String] {
            let deadline = loop.now + duration
            while loop.now < deadline { try loop.runOnce(timeout: deadline - loop.now) }
            defer { updates.removeAll() }
            return reasons
        }

        var ids: [String] { module.services.map(\.id.rawValue).sorted() }
    }

    @Test func startReadsWholeAndAnswers() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1))
            let watching = try Watching(directory: dir)
            defer { watching.module.stop {} }
            // Synchronously, inside start: the list, an answer, a healthy state.
            #expect(watching.ids == ["/a"])
            let update = try #require(watching.updates.first)
            #expect(update.listChanged && update.answeredReadBegunAt != nil && update.reason == .startup)
            #expect(watching.module.state.health == .ok)
            #expect(watching.module.state.serviceCount == 1)
        }
    }

    @Test func directoryChangesAreReadAtOnceAndReported() throws {
        try withTemporaryDirectory { parent in
            let dir = parent + "/services"
            try FileSystem.mkdir(dir)
            let watching = try Watching(directory: dir)
            defer { watching.module.stop {} }
            #expect(try watching.settle(.milliseconds(50)) == ["startup"])

            // Editor swap and backup files: nothing.
            try writeFile(dir + "/.x.json.swp", "swap")
            try writeFile(dir + "/x.json~", "backup")
            try FileSystem.unlink(dir + "/.x.json.swp")
            try FileSystem.unlink(dir + "/x.json~")
            #expect(try watching.settle() == [])

            // Create: read once the writer closed it, one update.
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 1))
            let created = try watching.waitFor("file a.json changed")
            #expect(created.count == 1 && created[0].contains("file a.json created"), "\(created)")
            #expect(watching.ids == ["/a"])

            // In-place write of an existing file.
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 2))
            #expect(try watching.waitFor("a.json").allSatisfy { $0.contains("a.json") })
            #expect(watching.module.services.first?.hosts.map(\.port) == [2])
            _ = try watching.settle(.milliseconds(50))

            // Save by rename: the temp name is not relevant, the final one is.
            try writeFile(
                dir + "/x.json.tmp",
                serviceJSON(id: "/x", domain: "x.example.com", servicePort: 80, hostPort: 3)
            )
            try FileSystem.rename(from: dir + "/x.json.tmp", to: dir + "/x.json")
            #expect(try watching.waitFor("file x.json moved in") == ["file x.json moved in"])
            #expect(watching.ids == ["/a", "/x"])

            // Delete.
            try FileSystem.unlink(dir + "/x.json")
            #expect(try watching.waitFor("file x.json deleted") == ["file x.json deleted"])
            #expect(watching.ids == ["/a"])

            // An invalid file: an update, but the list did not change.
            try writeFile(dir + "/bad.json", "{ not json")
            _ = try pump(watching.loop, timeout: .seconds(5)) { watching.reasons.contains { $0.contains("bad.json changed") } }
            #expect(watching.updates.allSatisfy { !$0.listChanged })
            #expect(watching.module.state.note?.contains("bad.json") == true)
            watching.updates.removeAll()

            // The directory goes away (the source fails, keeping its list), then comes back.
            try FileSystem.removeTree(dir)
            #expect(try watching.waitFor("directory \(dir) removed").contains { $0.contains("directory \(dir) removed") })
            #expect(watching.module.state.isFailing)
            #expect(watching.ids == ["/a"], "the last good list stays")
            try FileSystem.mkdir(dir)
            #expect(try watching.waitFor("directory \(dir) appeared").contains { $0.contains("directory \(dir) appeared") })
            #expect(watching.module.state.health == .ok)
            #expect(watching.ids == [])

            // And is watched again.
            try writeFile(dir + "/b.json", serviceJSON(id: "/b", domain: "b.example.com", servicePort: 80, hostPort: 4))
            _ = try watching.waitFor("file b.json changed")
            #expect(watching.ids == ["/b"])
            #expect(watching.module.failingFiles.isEmpty)
        }
    }

    /// A file created and left open by its writer is not read half-written: it waits for the close,
    /// or for the grace period.
    @Test func aCreatedFileWaitsForItsWriter() throws {
        try withTemporaryDirectory { dir in
            let watching = try Watching(directory: dir)
            defer { watching.module.stop {} }
            _ = try watching.settle(.milliseconds(20))
            let path = dir + "/slow.json"
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(fd >= 0)
            let half = Array(#"{"id": "/slow", "domain": "slow.example.com", "#.utf8)
            _ = half.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            #expect(try watching.settle(.milliseconds(300)) == [], "not read while its writer has it open")
            let rest = Array(#""protocol": "tcp", "servicePort": 80, "hosts": []}"#.utf8)
            _ = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            _ = try watching.waitFor("slow.json changed")
            #expect(watching.ids == ["/slow"])
            #expect(watching.module.failingFiles.isEmpty, "never read half-written")

            // A hard link (created, never written): read after the grace period.
            try writeFile(dir + "/.other", serviceJSON(id: "/linked", domain: "l.example.com", servicePort: 80, hostPort: 1))
            #expect(link(dir + "/.other", dir + "/linked.json") == 0)
            _ = try watching.waitFor("linked.json created")
            #expect(watching.ids == ["/linked", "/slow"])
        }
    }

    /// Watched, the source reads the files inotify named, and only those: every file once at first,
    /// then one file per edit, and all of them again on resync.
    /// Issue 11, class 11: a Kubernetes ConfigMap update. The mounted directory holds
    /// `web.json -> ..data/web.json` and `..data -> ..<timestamp>`; an update writes a new timestamp
    /// directory and renames a new `..data` symlink over the old one. Nothing named `web.json`
    /// changes, so only the `..data` swap forcing a rescan makes the new content seen.
    @Test func aConfigMapSymlinkSwapForcesARescan() throws {
        try withTemporaryDirectory { dir in
            try FileSystem.mkdir(dir + "/..2026_12_03_01")
            try writeFile(dir + "/..2026_12_03_01/web.json", serviceJSON(id: "/web", domain: "web.example.com", servicePort: 80, hostPort: 1))
            try FileSystem.symlink(target: "..2026_12_03_01", at: dir + "/..data")
            try FileSystem.symlink(target: "..data/web.json", at: dir + "/web.json")
            let watching = try Watching(directory: dir)
            defer { watching.module.stop {} }
            #expect(watching.ids == ["/web"])
            #expect(try service(watching.module, "/web")?.hosts.map(\.port) == [1])
            _ = try watching.settle(.milliseconds(50))

            // The atomic writer's update: new directory, new symlink, renamed over `..data`.
            try FileSystem.mkdir(dir + "/..2026_12_03_02")
            try writeFile(dir + "/..2026_12_03_02/web.json", serviceJSON(id: "/web", domain: "web.example.com", servicePort: 80, hostPort: 2))
            try FileSystem.symlink(target: "..2026_12_03_02", at: dir + "/..data_tmp")
            try FileSystem.rename(from: dir + "/..data_tmp", to: dir + "/..data")
            try FileSystem.removeTree(dir + "/..2026_12_03_01")
            _ = try watching.waitFor("..data")
            _ = try watching.settle(.milliseconds(50))
            #expect(try service(watching.module, "/web")?.hosts.map(\.port) == [2], "the ..data swap was not followed by a rescan")
        }
    }

    @Test func aWatchedDirectoryIsRescannedByName() throws {
        try withTemporaryDirectory { dir in
            for name in ["a", "b", "c"] {
                try writeFile(
                    dir + "/\(name).json", serviceJSON(id: "/\(name)", domain: "\(name).example.com", servicePort: 80, hostPort: 1))
            }
            let watching = try Watching(directory: dir)
            defer { watching.module.stop {} }
            #expect(watching.ids == ["/a", "/b", "/c"])

            // Edited, deleted, created: read once the events are in.
            try writeFile(dir + "/b.json", serviceJSON(id: "/b", domain: "b.example.com", servicePort: 80, hostPort: 2))
            try FileSystem.unlink(dir + "/c.json")
            try writeFile(dir + "/d.json", serviceJSON(id: "/d", domain: "d.example.com", servicePort: 80, hostPort: 3))
            _ = try watching.waitFor("file d.json")
            _ = try watching.settle(.milliseconds(50))
            #expect(watching.ids == ["/a", "/b", "/d"])
            #expect(try service(watching.module, "/b")?.hosts.map(\.port) == [2])

            // A change inotify has not named yet is not seen until it has (or until a resync).
            try writeFile(dir + "/a.json", serviceJSON(id: "/a", domain: "a.example.com", servicePort: 80, hostPort: 4))
            #expect(try service(watching.module, "/a")?.hosts.map(\.port) == [1])
            watching.module.resync(.sighup)
            #expect(watching.module.services.first { $0.id.rawValue == "/a" }?.hosts.map(\.port) == [4])
            #expect(watching.updates.last?.answeredReadBegunAt != nil)

            // A same-size rewrite within one timestamp tick: named by inotify, so read again.
            let path = dir + "/d.json"
            let before = try FileSystem.stat(path)
            try writeFile(path, serviceJSON(id: "/d", domain: "d.example.com", servicePort: 80, hostPort: 5))
            try setModificationTime(path, nanoseconds: before.modificationNanoseconds)
            #expect(try FileSystem.stat(path).size == before.size)
            _ = try watching.waitFor("file d.json")
            #expect(watching.module.services.first { $0.id.rawValue == "/d" }?.hosts.map(\.port) == [5])
        }
    }

    @Test func stopEndsTheUpdates() throws {
        try withTemporaryDirectory { dir in
            let watching = try Watching(directory: dir)
            #expect(watching.loop.registrationCount == 1)
            watching.module.stop {}
            #expect(watching.loop.registrationCount == 0)
            watching.updates.removeAll()
            try writeFile(dir + "/a.json", "{}")
            #expect(try watching.settle(.milliseconds(100)).isEmpty)
        }
    }
}

/// Sets a file's modification time (and access time) to an exact instant.
func setModificationTime(_ path: String, nanoseconds: Int64) throws {
    var times = [
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000)),
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000)),
    ]
    guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
        throw SysError(call: "utimensat(\(path))", errno: errno)
    }
}
