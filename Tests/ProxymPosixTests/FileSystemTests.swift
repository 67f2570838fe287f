import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct FileSystemTests {
    @Test func readFileRespectsTheLimit() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/x.json"
            try writeFile(path, "0123456789")
            #expect(try FileSystem.readFile(path, limit: 10) == Array("0123456789".utf8))
            let error = #expect(throws: SysError.self) { _ = try FileSystem.readFile(path, limit: 9) }
            #expect(error?.errno == SysError.Code.fileTooLarge)
            try writeFile(path, "")
            #expect(try FileSystem.readFile(path, limit: 0) == [])
            let big = String(repeating: "x", count: 200_000)
            try writeFile(path, big)
            #expect(try FileSystem.readFile(path, limit: 200_000).count == 200_000)
        }
    }

    @Test func listDirectoryReportsTypesAndInodes() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/a.json", "{}")
            try FileSystem.mkdir(directory + "/sub")
            try FileSystem.symlink(target: "a.json", at: directory + "/link")
            let entries = try FileSystem.listDirectory(directory).sorted { $0.name < $1.name }
            #expect(entries.map(\.name) == ["a.json", "link", "sub"])
            #expect(entries.map(\.type) == [.file, .symlink, .directory])
            #expect(entries[0].inode == (try FileSystem.stat(directory + "/a.json")).inode)
            #expect(try FileSystem.readLink(directory + "/link") == "a.json")
        }
    }

    @Test func statDistinguishesKindsAndFollowsSymlinksOnRequest() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/f", "abc", mode: 0o600)
            try FileSystem.symlink(target: "f", at: directory + "/l")
            let file = try FileSystem.stat(directory + "/f")
            #expect(file.isRegular && !file.isDirectory)
            #expect(file.size == 3)
            #expect(file.permissions == 0o600)
            #expect(file.modificationNanoseconds > 1_600_000_000 * 1_000_000_000)
            #expect(try FileSystem.stat(directory).isDirectory)
            #expect(try FileSystem.stat(directory + "/l").inode == file.inode)
            #expect(try FileSystem.stat(directory + "/l", followSymlinks: false).isSymlink)
            let dir = try FileSystem.openDirectory(directory)
            #expect(try FileSystem.fstatat(directory: dir.rawValue, name: "f").inode == file.inode)
            #expect(FileSystem.exists(directory + "/f"))
            #expect(!FileSystem.exists(directory + "/missing"))
        }
    }

    @Test func atomicWriteInTheTargetsDirectory() throws {
        try withTemporaryDirectory { directory in
            let target = directory + "/haproxy.cfg"
            try writeFile(target, "old")
            let temporary = try AtomicFileWriter.writeTemporary(
                nextTo: target,
                text: "new",
                mode: 0o640
            )
            #expect(FileSystem.directoryName(temporary) == directory)
            #expect(FileSystem.baseName(temporary).hasPrefix(".haproxy.cfg."))
            #expect(try FileSystem.stat(temporary).permissions == 0o640)
            #expect(try readTextFile(target) == "old")
            let inodeBefore = try FileSystem.stat(temporary).inode
            try AtomicFileWriter.commit(temporary: temporary, to: target)
            #expect(try readTextFile(target) == "new")
            #expect(try FileSystem.stat(target).inode == inodeBefore)
            #expect(!FileSystem.exists(temporary))
            try AtomicFileWriter.write(Array("newer".utf8), to: target)
            #expect(try readTextFile(target) == "newer")
            #expect(try FileSystem.listDirectory(directory).map(\.name) == ["haproxy.cfg"])
        }
    }

    @Test func createExclusiveRefusesExistingNames() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/x"
            let file = try FileSystem.createExclusive(path)
            try file.close()
            let error = #expect(throws: SysError.self) { _ = try FileSystem.createExclusive(path) }
            #expect(error?.isExists == true)
        }
    }

    /// /dev/full fails every write with ENOSPC: the writer reports it instead of losing data.
    @Test func writeAllReportsENOSPC() throws {
        let path = "/dev/full"
        let error = #expect(throws: SysError.self) { try FileSystem.writeFile(path, contents: [1, 2, 3]) }
        #expect(error?.isNoSpace == true)
    }

    @Test func renameUnlinkMkdirRmdirFsync() throws {
        try withTemporaryDirectory { directory in
            try FileSystem.mkdir(directory + "/d", mode: 0o700)
            #expect(try FileSystem.stat(directory + "/d").permissions == 0o700)
            let again = #expect(throws: SysError.self) { try FileSystem.mkdir(directory + "/d") }
            #expect(again?.isExists == true)
            try writeFile(directory + "/d/a", "1")
            try FileSystem.rename(from: directory + "/d/a", to: directory + "/d/b")
            #expect(try readTextFile(directory + "/d/b") == "1")
            try FileSystem.fsyncDirectory(directory + "/d")
            try FileSystem.unlink(directory + "/d/b")
            try FileSystem.removeDirectory(directory + "/d")
            let gone = #expect(throws: SysError.self) { try FileSystem.unlink(directory + "/d/b") }
            #expect(gone?.isNoEntry == true)
        }
    }

    @Test func removeTreeRemovesNestedContentWithoutFollowingLinks() throws {
        try withTemporaryDirectory { directory in
            let keep = directory + "/keep"
            try FileSystem.mkdir(keep)
            try writeFile(keep + "/precious", "x")
            let tree = directory + "/tree"
            try FileSystem.mkdir(tree)
            try FileSystem.mkdir(tree + "/a")
            try writeFile(tree + "/a/f", "x")
            try FileSystem.symlink(target: keep, at: tree + "/a/link")
            try FileSystem.removeTree(tree)
            #expect(!FileSystem.exists(tree))
            #expect(FileSystem.exists(keep + "/precious"))
            try FileSystem.removeTree(tree)  // missing: fine
        }
    }

    @Test func pathComponents() {
        #expect(FileSystem.directoryName("/a/b") == "/a")
        #expect(FileSystem.directoryName("/a/b/") == "/a")
        #expect(FileSystem.directoryName("b") == ".")
        #expect(FileSystem.directoryName("/b") == "/")
        #expect(FileSystem.directoryName("a//b") == "a")
        #expect(FileSystem.baseName("/a/b") == "b")
        #expect(FileSystem.baseName("/a/b/") == "b")
        #expect(FileSystem.baseName("b") == "b")
        #expect(FileSystem.baseName("/") == "/")
    }
}
