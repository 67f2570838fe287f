import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct InotifyTests {
    func readAll(_ fd: CInt) throws -> [Inotify.Event] {
        var events: [Inotify.Event] = []
        while case .ready(let batch) = try Inotify.read(fd) { events += batch }
        return events
    }

    @Test func recordsCarryNamesMasksAndCookies() throws {
        try withTemporaryDirectory { directory in
            let inotify = try Inotify.create()
            #expect(try Descriptor.isCloseOnExec(inotify.rawValue))
            #expect(try Descriptor.isNonBlocking(inotify.rawValue))
            let wd = try Inotify.addWatch(
                inotify.rawValue,
                path: directory,
                mask: [.create, .closeWrite, .movedFrom, .movedTo, .delete, .onlyDir]
            )
            #expect(try Inotify.read(inotify.rawValue) == .wouldBlock)

            try writeFile(directory + "/a.json.tmp", "{}")
            try FileSystem.rename(from: directory + "/a.json.tmp", to: directory + "/a.json")
            try FileSystem.unlink(directory + "/a.json")

            let events = try readAll(inotify.rawValue)
            #expect(events.allSatisfy { $0.wd == wd })
            let summary = events.map { "\($0.mask) \($0.name)" }
            #expect(
                summary == [
                    "[create] a.json.tmp", "[closeWrite] a.json.tmp", "[movedFrom] a.json.tmp", "[movedTo] a.json",
                    "[delete] a.json",
                ]
            )
            #expect(events[2].cookie != 0)
            #expect(events[2].cookie == events[3].cookie)
        }
    }

    @Test func onlyDirRejectsFiles() throws {
        try withTemporaryDirectory { directory in
            let inotify = try Inotify.create()
            try writeFile(directory + "/file", "")
            let error = #expect(throws: SysError.self) {
                _ = try Inotify.addWatch(inotify.rawValue, path: directory + "/file", mask: [.create, .onlyDir])
            }
            #expect(error?.isNotDirectory == true)
        }
    }

    @Test func removeWatchQueuesIgnored() throws {
        try withTemporaryDirectory { directory in
            let inotify = try Inotify.create()
            let wd = try Inotify.addWatch(inotify.rawValue, path: directory, mask: [.create])
            try Inotify.removeWatch(inotify.rawValue, wd: wd)
            try Inotify.removeWatch(inotify.rawValue, wd: wd)  // already gone: not an error
            let events = try readAll(inotify.rawValue)
            #expect(events == [Inotify.Event(wd: wd, mask: .ignored, cookie: 0, name: "")])
        }
    }

    @Test func deletingTheWatchedDirectoryReportsDeleteSelfThenIgnored() throws {
        try withTemporaryDirectory { directory in
            let watched = directory + "/d"
            try FileSystem.mkdir(watched)
            let inotify = try Inotify.create()
            let wd = try Inotify.addWatch(inotify.rawValue, path: watched, mask: [.deleteSelf, .moveSelf])
            try FileSystem.removeDirectory(watched)
            let masks = try readAll(inotify.rawValue).filter { $0.wd == wd }.map(\.mask)
            #expect(masks == [.deleteSelf, .ignored])
        }
    }

    @Test func parsesRecordsFromRawBytes() {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(Int32(3))
        append(UInt32(0x100))
        append(UInt32(0))
        append(UInt32(16))
        bytes += Array("x.json".utf8) + [UInt8](repeating: 0, count: 10)
        append(Int32(-1))
        append(UInt32(0x4000))
        append(UInt32(0))
        append(UInt32(0))
        let events = bytes.withUnsafeBytes { Inotify.parse($0) }
        #expect(
            events == [
                Inotify.Event(wd: 3, mask: .create, cookie: 0, name: "x.json"),
                Inotify.Event(wd: -1, mask: .queueOverflow, cookie: 0, name: ""),
            ]
        )
        #expect(Inotify.Mask([.create, .isDir]).description == "[create,isDir]")
    }
}
