import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct DescriptorTests {
    @Test func pipeEndsAreCloseOnExecAndNonBlockingAsAsked() throws {
        let pair = try Pipe.create(nonBlockingRead: true, nonBlockingWrite: false)
        #expect(try Descriptor.isCloseOnExec(pair.first.rawValue))
        #expect(try Descriptor.isCloseOnExec(pair.second.rawValue))
        #expect(try Descriptor.isNonBlocking(pair.first.rawValue))
        #expect(try !Descriptor.isNonBlocking(pair.second.rawValue))
    }

    @Test func readOnEmptyNonBlockingPipeWouldBlockThenDataThenEOF() throws {
        var pair = try Pipe.create()
        #expect(try pair.first.read(maxBytes: 16) == .wouldBlock)
        #expect(try pair.second.write(Array("hello".utf8)) == .ready(5))
        #expect(try pair.first.read(maxBytes: 16) == .ready(Array("hello".utf8)))
        pair.second = try FileSystem.openForReading("/dev/null")  // the old write end closes here
        #expect(try pair.first.read(maxBytes: 16) == .ready([]))  // EOF
    }

    @Test func fullPipeWouldBlockOnWrite() throws {
        let pair = try Pipe.create()
        let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
        var total = 0
        var sawWouldBlock = false
        for _ in 0..<64 {
            switch try pair.second.write(chunk) {
            case .ready(let n): total += n
            case .wouldBlock: sawWouldBlock = true
            }
            if sawWouldBlock { break }
        }
        #expect(sawWouldBlock)
        #expect(total > 0)
    }

    @Test func releaseHandsOffTheRawFD() throws {
        let file = try FileSystem.openForReading("/dev/null")
        let raw = file.release()
        // Still open: we own it now.
        #expect(try Descriptor.isCloseOnExec(raw))
        try Descriptor.close(raw)
    }

    @Test func writeAllOnBlockingSocketPair() throws {
        let pair = try Socket.pair(nonBlocking: false)
        let payload = [UInt8](repeating: 7, count: 1000)
        try Descriptor.writeAll(pair.first.rawValue, payload)
        var received: [UInt8] = []
        while received.count < payload.count {
            guard case .ready(let chunk) = try pair.second.read(maxBytes: 4096), !chunk.isEmpty else { break }
            received += chunk
        }
        #expect(received == payload)
    }

    @Test func closeReportsNothingForAHealthyFD() throws {
        let file = try FileSystem.openForReading("/dev/null")
        try file.close()
    }

    @Test func currentProcessFacts() throws {
        #expect(CurrentProcess.pid > 1)
        let pair = try Pipe.create()
        let identity = try #require(CurrentProcess.fileIdentity(pair.first.rawValue))
        let info = try pair.first.info()
        #expect(identity.device == info.device)
        #expect(identity.inode == info.inode)
        #expect(!CurrentProcess.isatty(pair.first.rawValue))
        let fds = try CurrentProcess.openFileDescriptors()
        #expect(fds.contains(pair.first.rawValue))
        #expect(fds.contains(pair.second.rawValue))
    }

    @Test func environmentMatchesGetenv() {
        let environment = ProcessEnvironment.current()
        #expect(environment["PATH"] == ProcessEnvironment.value("PATH"))
        #expect(ProcessEnvironment.entries(["B": "2", "A": "1"]) == ["A=1", "B=2"])
    }
}
