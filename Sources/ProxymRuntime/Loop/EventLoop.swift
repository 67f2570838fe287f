import ProxymCore
import ProxymPosix

/// The one event loop: a level-triggered epoll set, plus one timerfd it owns for all timers.
///
/// Not Sendable and not thread-safe: it belongs to the thread that created it (checked with
/// `assert` on every entry point). Handlers run on that thread, one at a time, and may
/// register, modify, deregister, schedule and cancel from inside a handler.
///
/// Stale events: each registration gets a fresh generation number, packed with the fd into
/// `epoll_data.u64`. An event whose (fd, generation) no longer matches a live registration, e.g.
/// because an earlier handler in the same batch deregistered the fd and maybe reused its number,
/// is dropped.
///
/// Ownership: the loop owns its epoll fd and timerfd (closed when it is released). Registered
/// fds belong to the sources that registered them. Handlers are stored until deregistered, so a
/// handler that captures its source should capture it `weak`/`unowned` to avoid a cycle.
public final class EventLoop {
    /// A live fd registration. Pass it back to `modify`/`deregister`.
    public struct Registration: Hashable, Sendable, CustomStringConvertible {
        public let fd: CInt
        let generation: UInt32

        public var description: String { "Registration(fd: \(fd), generation: \(generation))" }
    }

    /// A scheduled timer. Cancelling one that already ran (or was cancelled) does nothing.
    public struct TimerHandle: Hashable, Sendable {
        let id: UInt64
    }

    struct Handler {
        let generation: UInt32
        var events: Epoll.Events
        let action: (Epoll.Events) -> Void
    }

    struct TimerEntry {
        let deadline: Instant
        let id: UInt64  // increasing, so equal deadlines run in scheduling order
    }

    private let owner = ThreadIdentity.current
    private let epoll: OwnedFD
    private let timerFD: OwnedFD
    private let buffer = Epoll.Buffer(capacity: 64)

    private var handlers: [CInt: Handler] = [:]
    private var nextGeneration: UInt32 = 1  // 0 marks the loop's own timerfd

    private var timerHeap = TimerHeap()
    private var timerActions: [UInt64: () -> Void] = [:]
    private var nextTimerID: UInt64 = 1
    /// The deadline the timerfd is armed for; nil = disarmed.
    private var armedDeadline: Instant?

    private var stopRequested = false

    public init() throws(SysError) {
        epoll = try Epoll.create()
        timerFD = try TimerFD.create()
        try Epoll.add(
            epoll: epoll.rawValue,
            fd: timerFD.rawValue,
            events: .in,
            data: EventLoop.pack(fd: timerFD.rawValue, generation: 0)
        )
    }

    /// The monotonic clock (CLOCK_MONOTONIC), read fresh each time.
    public var now: Instant { Instant(nanoseconds: MonotonicClock.nanoseconds()) }

    /// How many fds are registered (the loop's own timerfd excluded).
    public var registrationCount: Int { handlers.count }

    /// How many timers are scheduled and not yet run or cancelled.
    public var pendingTimerCount: Int { timerActions.count }

    /// Whether the loop's timerfd is armed, as the kernel reports it (timerfd_gettime).
    /// An idle loop (no timers) keeps it disarmed, so it makes no wake-ups.
    public var isTimerFDArmed: Bool {
        (try? TimerFD.remaining(timerFD.rawValue)) != nil
    }

    // MARK: fds

    /// Adds `fd` to the epoll set. `handler` gets the ready events (err/hup are always reported).
    /// The fd stays owned by the caller, who must `deregister` before closing it.
    @discardableResult
    public func register(
        fd: CInt,
        events: Epoll.Events,
        _ handler: @escaping (Epoll.Events) -> Void
    ) throws(SysError) -> Registration {
        assertOnLoopThread()
        precondition(handlers[fd] == nil, "fd \(fd) is already registered; deregister it first")
        let generation = takeGeneration()
        try Epoll.add(
            epoll: epoll.rawValue,
            fd: fd,
            events: events,
            data: EventLoop.pack(fd: fd, generation: generation)
        )
        handlers[fd] = Handler(generation: generation, events: events, action: handler)
        return Registration(fd: fd, generation: generation)
    }

    /// Changes the events a registration waits for (e.g. add `.out` while output is queued).
    public func modify(_ registration: Registration, events: Epoll.Events) throws(SysError) {
        assertOnLoopThread()
        guard var handler = handlers[registration.fd], handler.generation == registration.generation else {
            preconditionFailure("modify on a stale registration \(registration)")
        }
        try Epoll.modify(
            epoll: epoll.rawValue,
            fd: registration.fd,
            events: events,
            data: EventLoop.pack(fd: registration.fd, generation: registration.generation)
        )
        handler.events = events
        handlers[registration.fd] = handler
    }

    /// Removes the fd from the epoll set (EPOLL_CTL_DEL) and forgets its handler; events for it
    /// still queued in the current batch are dropped. Close the fd only afterwards.
    /// Deregistering a stale registration does nothing.
    public func deregister(_ registration: Registration) {
        assertOnLoopThread()
        guard let handler = handlers[registration.fd], handler.generation == registration.generation else { return }
        handlers[registration.fd] = nil
        do {
            try Epoll.delete(epoll: epoll.rawValue, fd: registration.fd)
        } catch {
            // Only ENOMEM/EPERM-like failures remain after ENOENT is tolerated; the handler is
            // gone either way, and a later event for this fd is dropped as stale.
        }
    }

    public func isRegistered(_ registration: Registration) -> Bool {
        handlers[registration.fd]?.generation == registration.generation
    }

    private func takeGeneration() -> UInt32 {
        let generation = nextGeneration
        nextGeneration = nextGeneration == .max ? 1 : nextGeneration + 1
        return generation
    }

    static func pack(fd: CInt, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    static func unpack(_ data: UInt64) -> (fd: CInt, generation: UInt32) {
        (CInt(bitPattern: UInt32(truncatingIfNeeded: data)), UInt32(truncatingIfNeeded: data >> 32))
    }

    // MARK: timers

    /// Runs `action` once, on the loop, at or after `deadline`.
    @discardableResult
    public func schedule(at deadline: Instant, _ action: @escaping () -> Void) -> TimerHandle {
        assertOnLoopThread()
        let id = nextTimerID
        nextTimerID += 1
        timerHeap.push(TimerEntry(deadline: deadline, id: id))
        timerActions[id] = action
        return TimerHandle(id: id)
    }

    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping () -> Void) -> TimerHandle {
        schedule(at: now + delay, action)
    }

    public func cancel(_ timer: TimerHandle) {
        assertOnLoopThread()
        timerActions[timer.id] = nil
        if timerActions.isEmpty { timerHeap.removeAll() }
    }

    /// The earliest live deadline, dropping cancelled entries from the top of the heap.
    private func nextDeadline() -> Instant? {
        while let top = timerHeap.top {
            if timerActions[top.id] != nil { return top.deadline }
            _ = timerHeap.pop()
        }
        return nil
    }

    /// Arms the timerfd for the earliest deadline, or disarms it when there are no timers.
    /// Only talks to the kernel when the answer changed.
    private func updateTimerFD() throws(SysError) {
        let wanted = nextDeadline()
        if wanted == armedDeadline { return }
        if let wanted {
            try TimerFD.setDeadline(timerFD.rawValue, nanoseconds: wanted.nanoseconds)
        } else {
            try TimerFD.disarm(timerFD.rawValue)
        }
        armedDeadline = wanted
    }

    private func runDueTimers() {
        let current = now
        var due: [UInt64] = []
        while let top = timerHeap.top, top.deadline <= current {
            _ = timerHeap.pop()
            if timerActions[top.id] != nil { due.append(top.id) }
        }
        // Timers scheduled by these actions run on a later iteration, even if already due,
        // so a timer that reschedules itself with a zero delay can not starve the fds.
        for id in due {
            guard let action = timerActions.removeValue(forKey: id) else { continue }  // cancelled by an earlier one
            action()
        }
        if timerActions.isEmpty { timerHeap.removeAll() }
    }

    // MARK: running

    /// One iteration: arm the timerfd, wait for readiness (at most `timeout`; nil = until
    /// something happens), run the handlers of ready fds, then every timer that is due.
    public func runOnce(timeout: Duration?) throws(SysError) {
        assertOnLoopThread()
        try updateTimerFD()
        let milliseconds: Int32
        if let timeout {
            milliseconds = Int32(clamping: max(timeout, .zero).millisecondsRoundedUp)
        } else {
            milliseconds = -1
        }
        let count = try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: milliseconds)
        for index in 0..<count {
            let event = buffer[index]
            let (fd, generation) = EventLoop.unpack(event.data)
            if generation == 0 {
                drainTimerFD()
                continue
            }
            // Looked up afresh for every event: an earlier handler may have deregistered it.
            guard let handler = handlers[fd], handler.generation == generation else { continue }
            handler.action(event.events)
        }
        runDueTimers()
    }

    private func drainTimerFD() {
        // The deadline passed; the kernel disarmed the one-shot timer.
        armedDeadline = nil
        while case .ready = (try? TimerFD.readExpirations(timerFD.rawValue)) ?? .wouldBlock {}
    }

    /// Runs iterations until `stop()` is called (from a handler or timer).
    public func run() throws(SysError) {
        assertOnLoopThread()
        stopRequested = false
        while !stopRequested {
            try runOnce(timeout: nil)
        }
    }

    /// Makes `run()` return after the current iteration.
    public func stop() {
        assertOnLoopThread()
        stopRequested = true
    }

    private func assertOnLoopThread(function: StaticString = #function) {
        assert(owner.isCurrent, "EventLoop.\(function) called off the loop's thread")
    }
}
