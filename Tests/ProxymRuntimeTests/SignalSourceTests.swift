import ProxymPosix
import ProxymRuntime
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SignalSourceTests {
    /// Block on this thread, raise (thread-directed), let the loop read it, restore the mask.
    @Test func deliversRaisedSignalsWithTheSender() throws {
        let set = SignalSet([.usr1, .hup])
        let previous = try set.blockOnCurrentThread()
        defer { try? previous.setAsCurrentThreadMask() }
        let loop = try EventLoop()
        var received: [(Signal, Int32)] = []
        let source = try SignalSource(loop: loop, signals: set) { info in received.append((info.signal, info.senderPID)) }
        try loop.runOnce(timeout: .zero)
        #expect(received.isEmpty)
        try Signal.hup.raiseOnCurrentThread()
        try Signal.usr1.raiseOnCurrentThread()
        try pump(loop) { received.count == 2 }
        #expect(received.map(\.0) == [.hup, .usr1])
        #expect(received.allSatisfy { $0.1 == CurrentProcess.pid })
        source.close()
        #expect(loop.registrationCount == 0)
    }
}
