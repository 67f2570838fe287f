import ProxymPosix
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SignalTests {
    @Test func namesAndDescriptions() {
        #expect(Signal.usr1.description == "SIGUSR1")
        #expect(Signal.term.description == "SIGTERM")
        #expect(Signal.hup.description == "SIGHUP")
        // Real-time signals by their offset from SIGRTMIN (34 with glibc, which keeps 32 and 33).
        #expect(Signal(rawValue: 40).description == "SIGRTMIN+6")
        #expect(Signal(rawValue: 32).description == "SIG32")
        #expect(Signal.realTime.first?.description == "SIGRTMIN")
        #expect(Signal.vtalrm.description == "SIGVTALRM")
        var set = SignalSet([.usr1, .hup])
        #expect(set.contains(.usr1))
        #expect(!set.contains(.term))
        set.insert(.term)
        set.remove(.usr1)
        #expect(set.members == [.hup, .term])
        #expect(SignalSet().isEmpty)
        #expect(SignalSet.all.contains(.usr2))
    }

    /// Block on this thread, raise (thread-directed), read it from a signalfd, restore the mask.
    /// Runner threads are reused, so the mask is always restored.
    @Test func blockedRaisedSignalIsReadFromSignalFD() throws {
        let set = SignalSet([.usr1, .usr2])
        let previous = try set.blockOnCurrentThread()
        defer { try? previous.setAsCurrentThreadMask() }
        let fd = try SignalFD.create(set)
        #expect(try Descriptor.isCloseOnExec(fd.rawValue))
        #expect(try SignalFD.read(fd.rawValue) == .wouldBlock)

        try Signal.usr2.raiseOnCurrentThread()
        try Signal.usr1.raiseOnCurrentThread()
        #expect(try SignalSet.pending().contains(.usr1))

        var received: [SignalFD.Info] = []
        while case .ready(let batch) = try SignalFD.read(fd.rawValue) { received += batch }
        // Standard signals are dequeued lowest number first.
        #expect(received.map(\.signal) == [.usr1, .usr2])
        #expect(received.allSatisfy { $0.senderPID == CurrentProcess.pid })
        #expect(!(try SignalSet.pending().contains(.usr1)))
    }

    @Test func maskRoundTrips() throws {
        let previous = try SignalSet([.winch]).blockOnCurrentThread()
        defer { try? previous.setAsCurrentThreadMask() }
        #expect(try SignalSet.currentThreadMask().contains(.winch))
        try previous.setAsCurrentThreadMask()
        #expect(try SignalSet.currentThreadMask() == previous)
    }

    /// The daemon's process-wide setup, in a fresh process: SIGPIPE ignored, set blocked,
    /// signalfd delivers a raised SIGTERM instead of dying.
    @Test func prepareProcessBlocksAndIgnoresSIGPIPE() async {
        await #expect(processExitsWith: .success) {
            let fd = try SignalFD.prepareProcess(blocking: SignalSet([.term, .hup, .usr1]))
            try Signal.term.raiseOnCurrentThread()
            guard case .ready(let infos) = try SignalFD.read(fd.rawValue), infos.map(\.signal) == [.term] else {
                CurrentProcess.exit(2)
            }
            // SIGPIPE is ignored: writing to a pipe without a reader gives EPIPE.
            var pair = try Pipe.create()
            pair.first = try FileSystem.openForReading("/dev/null")  // closes the read end
            do {
                _ = try pair.second.write([1])
                CurrentProcess.exit(3)
            } catch let error as SysError {
                if error.errno != SysError.Code.brokenPipe { CurrentProcess.exit(4) }
            }
        }
    }
}
