import ProxymCore
import ProxymPosix
import ProxymRuntime
import Testing

@Suite(.timeLimit(.minutes(1)))
struct EventLoopTests {
    @Test func readableFDRunsItsHandlerUntilDrained() throws {
        let loop = try EventLoop()
        let pair = try Pipe.create()
        var received: [UInt8] = []
        var calls = 0
        let reader = pair.first.rawValue
        let registration = try loop.register(fd: reader, events: .in) { events in
            calls += 1
            #expect(events.contains(.in))
            while case .ready(let chunk)? = try? Descriptor.read(reader, maxBytes: 2), !chunk.isEmpty {
                received += chunk
            }
        }
        try loop.runOnce(timeout: .zero)
        #expect(calls == 0)
        _ = try pair.second.write([1, 2, 3, 4, 5])
        try loop.runOnce(timeout: .seconds(5))
        #expect(calls == 1)
        #expect(received == [1, 2, 3, 4, 5])
        // Drained: level-triggered epoll stays quiet.
        try loop.runOnce(timeout: .milliseconds(10))
        #expect(calls == 1)
        loop.deregister(registration)
        #expect(loop.registrationCount == 0)
    }

    @Test func modifySwitchesInterest() throws {
        let loop = try EventLoop()
        let pair = try Socket.pair()
        var seen: [Epoll.Events] = []
        let registration = try loop.register(fd: pair.first.rawValue, events: .out) { seen.append($0) }
        try loop.runOnce(timeout: .seconds(5))
        #expect(seen == [.out])
        try loop.modify(registration, events: .in)
        try loop.runOnce(timeout: .milliseconds(10))
        #expect(seen == [.out])
        _ = try Socket.send(pair.second.rawValue, [1])
        try loop.runOnce(timeout: .seconds(5))
        #expect(seen == [.out, .in])
        loop.deregister(registration)
    }

    /// Two fds ready in one batch; whichever handler runs first deregisters the other, whose
    /// event (already in the batch) must then be dropped.
    @Test func deregisterMidBatchDropsTheStaleEvent() throws {
        let loop = try EventLoop()
        let a = try Pipe.create()
        let b = try Pipe.create()
        _ = try a.second.write([1])
        _ = try b.second.write([1])
        var ran: [String] = []
        var registrationA: EventLoop.Registration?
        var registrationB: EventLoop.Registration?
        registrationA = try loop.register(fd: a.first.rawValue, events: .in) { _ in
            ran.append("a")
            if let registrationB { loop.deregister(registrationB) }
            if let registrationA { loop.deregister(registrationA) }
        }
        registrationB = try loop.register(fd: b.first.rawValue, events: .in) { _ in
            ran.append("b")
            if let registrationA { loop.deregister(registrationA) }
            if let registrationB { loop.deregister(registrationB) }
        }
        try loop.runOnce(timeout: .seconds(5))
        #expect(ran.count == 1)
        #expect(loop.registrationCount == 0)
    }

    /// The stale event's fd number is reused (by dup3 over it) and registered again inside the
    /// batch: the new handler must not see the old description's event.
    @Test func reusedFDNumberDoesNotReceiveTheStaleEvent() throws {
        let loop = try EventLoop()
        let a = try Pipe.create()
        let b = try Pipe.create()
        let replacement = try Pipe.create()  // empty: never readable
        _ = try a.second.write([1])
        _ = try b.second.write([1])
        let bNumber = b.first.rawValue
        var ran: [String] = []
        var registrationA: EventLoop.Registration?
        var registrationB: EventLoop.Registration?
        var registrationNew: EventLoop.Registration?
        func swapB() {
            guard registrationNew == nil else { return }
            if let registrationB { loop.deregister(registrationB) }
            // bNumber now names the empty replacement pipe (b's description closes).
            try? Descriptor.duplicate(replacement.first.rawValue, onto: bNumber)
            registrationNew = try? loop.register(fd: bNumber, events: .in) { _ in ran.append("new") }
        }
        registrationA = try loop.register(fd: a.first.rawValue, events: .in) { _ in
            ran.append("a")
            swapB()
            if let registrationA { loop.deregister(registrationA) }
        }
        registrationB = try loop.register(fd: bNumber, events: .in) { _ in
            ran.append("b")
            // b ran first this time; make a's event the stale one instead.
            if let registrationA { loop.deregister(registrationA) }
            if let registrationB { loop.deregister(registrationB) }
        }
        try loop.runOnce(timeout: .seconds(5))
        try loop.runOnce(timeout: .milliseconds(20))
        // epoll reports fds made ready before EPOLL_CTL_ADD in registration order, so a runs first.
        #expect(ran == ["a"])
        #expect(registrationNew != nil)
        if let registrationNew {
            #expect(loop.isRegistered(registrationNew))
            #expect(registrationNew.fd == bNumber)
            loop.deregister(registrationNew)
        }
    }

    @Test func timersFireInDeadlineOrderAndCancelWorks() throws {
        let loop = try EventLoop()
        var fired: [Int] = []
        let start = loop.now
        loop.schedule(after: .milliseconds(30)) { fired.append(30) }
        loop.schedule(after: .milliseconds(10)) { fired.append(10) }
        let cancelled = loop.schedule(after: .milliseconds(15)) { fired.append(15) }
        loop.schedule(at: start + .milliseconds(20)) { fired.append(20) }
        loop.schedule(at: start + .milliseconds(20)) { fired.append(21) }  // same deadline: FIFO
        loop.cancel(cancelled)
        #expect(loop.pendingTimerCount == 4)
        try pump(loop) { fired.count == 4 }
        #expect(fired == [10, 20, 21, 30])
        #expect(loop.now - start >= .milliseconds(30))
        loop.cancel(cancelled)  // twice: nothing happens
    }

    @Test func noTimersMeansTheTimerFDIsDisarmed() throws {
        let loop = try EventLoop()
        #expect(!loop.isTimerFDArmed)
        let handle = loop.schedule(after: .seconds(60)) {}
        try loop.runOnce(timeout: .zero)
        #expect(loop.isTimerFDArmed)
        loop.cancel(handle)
        try loop.runOnce(timeout: .zero)
        #expect(!loop.isTimerFDArmed)
        var ran = false
        loop.schedule(after: .milliseconds(1)) { ran = true }
        try pump(loop) { ran }
        try loop.runOnce(timeout: .zero)
        #expect(!loop.isTimerFDArmed)
        #expect(loop.pendingTimerCount == 0)
    }

    @Test func aDueTimerRunsEvenWithAZeroTimeout() throws {
        let loop = try EventLoop()
        var ran = false
        loop.schedule(at: loop.now - .seconds(1)) { ran = true }
        try loop.runOnce(timeout: .zero)
        #expect(ran)
    }

    @Test func handlersAndTimersMayRegisterScheduleAndCancel() throws {
        let loop = try EventLoop()
        let pair = try Pipe.create()
        var log: [String] = []
        var later: EventLoop.TimerHandle?
        loop.schedule(after: .milliseconds(1)) {
            log.append("timer1")
            later = loop.schedule(after: .seconds(30)) { log.append("never") }
            _ = try? loop.register(fd: pair.first.rawValue, events: .in) { _ in
                log.append("readable")
                if let later { loop.cancel(later) }
                loop.schedule(after: .zero) { log.append("timer2") }
                _ = try? pair.first.read(maxBytes: 16)
            }
            _ = try? pair.second.write([1])
        }
        try pump(loop) { log.count == 3 }
        #expect(log == ["timer1", "readable", "timer2"])
        #expect(loop.pendingTimerCount == 0)
    }

    @Test func runUntilStop() throws {
        let loop = try EventLoop()
        var ticks = 0
        func tick() {
            ticks += 1
            if ticks == 3 { loop.stop() } else { loop.schedule(after: .milliseconds(1), tick) }
        }
        loop.schedule(after: .milliseconds(1), tick)
        try loop.run()
        #expect(ticks == 3)
    }

    @Test func idleWaitHonoursTheTimeout() throws {
        let loop = try EventLoop()
        let start = loop.now
        try loop.runOnce(timeout: .milliseconds(20))
        #expect(loop.now - start >= .milliseconds(20))
    }
}
