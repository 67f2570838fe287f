import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct DirectoryWatcherTests {
    typealias Event = DirectoryWatcher.Event

    /// A watcher plus the events it reported, stepped with `runOnce`.
    final class Harness {
        let loop: EventLoop
        var events: [Event] = []
        var watcher: DirectoryWatcher!

        init(path: String, retryInterval: Duration = .milliseconds(50)) throws {
            loop = try EventLoop()
            watcher = try DirectoryWatcher(loop: loop, path: path, retryInterval: retryInterval) {
                [unowned self] event in
                self.events.append(event)
            }
        }

        /// Runs the loop until `event` was reported; returns everything reported so far and clears it.
        @discardableResult
        func waitFor(_ event: Event, timeout: Duration = .seconds(10)) throws -> [Event] {
            let ok = try pump(loop, timeout: timeout) { events.contains(event) }
            #expect(ok, "timed out waiting for \(event); got \(events)")
            defer { events.removeAll() }
            return events
        }

        /// Runs the loop briefly and returns what was reported.
        func settle() throws -> [Event] {
            try loop.runOnce(timeout: .milliseconds(20))
            while events.isEmpty == false {
                let count = events.count
                try loop.runOnce(timeout: .milliseconds(20))
                if events.count == count { break }
            }
            defer { events.removeAll() }
            return events
        }
    }

    @Test func createWriteRenameDeleteMoveOut() throws {
        try withTemporaryDirectory { directory in
            let harness = try Harness(path: directory)
            #expect(harness.watcher.isWatching)
            #expect(try harness.settle().isEmpty)

            // In-place write: create, then close-write.
            try writeFile(directory + "/a.json", "{}")
            #expect(
                try harness.waitFor(.file(name: "a.json", change: .written)) == [
                    .file(name: "a.json", change: .created), .file(name: "a.json", change: .written),
                ]
            )

            // Save-by-rename, like an editor.
            try writeFile(directory + "/x.json.tmp", "{}")
            try FileSystem.rename(from: directory + "/x.json.tmp", to: directory + "/x.json")
            #expect(
                try harness.waitFor(.file(name: "x.json", change: .movedIn)) == [
                    .file(name: "x.json.tmp", change: .created), .file(name: "x.json.tmp", change: .written),
                    .file(name: "x.json.tmp", change: .movedOut), .file(name: "x.json", change: .movedIn),
                ]
            )

            // Delete.
            try FileSystem.unlink(directory + "/a.json")
            #expect(
                try harness.waitFor(.file(name: "a.json", change: .deleted)) == [
                    .file(name: "a.json", change: .deleted)
                ]
            )

            // Move out of the directory.
            try FileSystem.mkdir(directory + "/../" + FileSystem.baseName(directory) + ".out")
            let outside = directory + ".out"
            defer { try? FileSystem.removeTree(outside) }
            try FileSystem.rename(from: directory + "/x.json", to: outside + "/x.json")
            #expect(
                try harness.waitFor(.file(name: "x.json", change: .movedOut)) == [
                    .file(name: "x.json", change: .movedOut)
                ]
            )

            // Subdirectories are not reported.
            try FileSystem.mkdir(directory + "/sub")
            #expect(try harness.settle().isEmpty)
            harness.watcher.close()
            #expect(harness.loop.registrationCount == 0)
        }
    }

    @Test func directoryDeletedAndRecreated() throws {
        try withTemporaryDirectory { root in
            let directory = root + "/services"
            try FileSystem.mkdir(directory)
            try writeFile(directory + "/a.json", "{}")
            let harness = try Harness(path: directory)
            try FileSystem.removeTree(directory)
            let vanished = try harness.waitFor(.directoryVanished)
            #expect(vanished.last == .directoryVanished)
            #expect(!harness.watcher.isWatching)

            try FileSystem.mkdir(directory)
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
            #expect(harness.watcher.isWatching)

            try writeFile(directory + "/b.json", "{}")
            #expect(
                try harness.waitFor(.file(name: "b.json", change: .written)).contains(
                    .file(name: "b.json", change: .created)
                )
            )
        }
    }

    @Test func directoryRenamedAwayThenRecreatedByRename() throws {
        try withTemporaryDirectory { root in
            let directory = root + "/services"
            try FileSystem.mkdir(directory)
            let harness = try Harness(path: directory)
            try FileSystem.rename(from: directory, to: root + "/old")
            #expect(try harness.waitFor(.directoryVanished) == [.directoryVanished])

            // Writes to the old (moved) directory are no longer ours.
            try writeFile(root + "/old/ignored.json", "{}")
            #expect(try harness.settle().isEmpty)

            // A directory renamed into place counts as appearing.
            try FileSystem.mkdir(root + "/staging")
            try writeFile(root + "/staging/c.json", "{}")
            try FileSystem.rename(from: root + "/staging", to: directory)
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
            try writeFile(directory + "/d.json", "{}")
            try harness.waitFor(.file(name: "d.json", change: .written))
        }
    }

    @Test func directoryMissingAtStartThenCreated() throws {
        try withTemporaryDirectory { root in
            let directory = root + "/services"
            let harness = try Harness(path: directory, retryInterval: .seconds(30))  // the parent watch must do it
            #expect(!harness.watcher.isWatching)
            #expect(try harness.settle().isEmpty)
            // A plain file with the name does not count.
            try writeFile(directory, "not a directory")
            #expect(try harness.settle().isEmpty)
            try FileSystem.unlink(directory)
            try FileSystem.mkdir(directory)
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
            try writeFile(directory + "/a.json", "{}")
            try harness.waitFor(.file(name: "a.json", change: .written))
        }
    }

    @Test func parentMissingTooRetriesOnATimer() throws {
        try withTemporaryDirectory { root in
            let directory = root + "/etc/services"
            let harness = try Harness(path: directory, retryInterval: .milliseconds(50))
            #expect(!harness.watcher.isWatching)
            #expect(harness.loop.pendingTimerCount == 1)
            try FileSystem.mkdir(root + "/etc")
            try FileSystem.mkdir(directory)
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
            #expect(harness.loop.pendingTimerCount == 0)
            try writeFile(directory + "/a.json", "{}")
            try harness.waitFor(.file(name: "a.json", change: .written))
        }
    }

    @Test func parentDeletedWhileWaitingFallsBackToTheTimer() throws {
        try withTemporaryDirectory { root in
            try FileSystem.mkdir(root + "/etc")
            let directory = root + "/etc/services"
            let harness = try Harness(path: directory, retryInterval: .milliseconds(50))
            #expect(harness.loop.pendingTimerCount == 0)  // watching the parent
            try FileSystem.removeDirectory(root + "/etc")
            try pump(harness.loop) { harness.loop.pendingTimerCount == 1 }
            try FileSystem.mkdir(root + "/etc")
            try FileSystem.mkdir(directory)
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
        }
    }

    @Test func queueOverflowIsReported() throws {
        let limitText = (try? readTextFile("/proc/sys/fs/inotify/max_queued_events")) ?? "16384"
        let limit = Int(limitText.split(separator: "\n").first ?? "") ?? 16384
        try #require(limit <= 100_000, "max_queued_events is too large to overflow quickly")
        try withTemporaryDirectory { directory in
            let harness = try Harness(path: directory)
            // Each create+close is two events; nothing drains the queue meanwhile.
            let files = limit / 2 + 100
            for index in 0..<files {
                let file = try FileSystem.createExclusive(directory + "/f\(index)")
                try file.close()
            }
            let events = try harness.waitFor(.overflow, timeout: .seconds(30))
            #expect(events.contains(.overflow))
            #expect(harness.watcher.isWatching)
            // The watch still works after an overflow.
            try FileSystem.unlink(directory + "/f0")
            try harness.waitFor(.file(name: "f0", change: .deleted))
        }
    }

    @Test func verifyNoticesAnAncestorRename() throws {
        try withTemporaryDirectory { root in
            try FileSystem.mkdir(root + "/etc")
            try FileSystem.mkdir(root + "/etc/services")
            let harness = try Harness(path: root + "/etc/services")
            try FileSystem.rename(from: root + "/etc", to: root + "/etc.old")
            #expect(try harness.settle().isEmpty)  // inotify does not tell us
            harness.watcher.verify()
            #expect(harness.events == [.directoryVanished])
            harness.events.removeAll()
            try FileSystem.rename(from: root + "/etc.old", to: root + "/etc")
            #expect(try harness.waitFor(.directoryAppeared) == [.directoryAppeared])
        }
    }
}
