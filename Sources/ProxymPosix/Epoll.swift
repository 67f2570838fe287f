import CSystemd
import Glibc

/// epoll(7), level-triggered only. One static function per call; bits become `Events` here.
public enum Epoll {
    public struct Events: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// EPOLLIN: readable (or EOF, or a listening socket with a connection to accept).
        public static let `in` = Events(rawValue: EPOLLIN.rawValue)
        /// EPOLLOUT: writable.
        public static let out = Events(rawValue: EPOLLOUT.rawValue)
        /// EPOLLERR: an error is pending (always reported, need not be asked for).
        public static let err = Events(rawValue: EPOLLERR.rawValue)
        /// EPOLLHUP: hang-up (always reported, need not be asked for).
        public static let hup = Events(rawValue: EPOLLHUP.rawValue)
        /// EPOLLRDHUP: the peer shut down its writing half.
        public static let rdhup = Events(rawValue: EPOLLRDHUP.rawValue)

        public var description: String {
            var names: [String] = []
            if contains(.in) { names.append("in") }
            if contains(.out) { names.append("out") }
            if contains(.err) { names.append("err") }
            if contains(.hup) { names.append("hup") }
            if contains(.rdhup) { names.append("rdhup") }
            let known = Events([.in, .out, .err, .hup, .rdhup]).rawValue
            if rawValue & ~known != 0 { names.append("0x\(String(rawValue & ~known, radix: 16))") }
            return "[" + names.joined(separator: ",") + "]"
        }
    }

    /// One ready fd from `wait`: the 64-bit cookie given to `add` and the events that fired.
    public struct Event: Sendable, Hashable {
        public var data: UInt64
        public var events: Events
    }

    /// epoll_create1(EPOLL_CLOEXEC).
    public static func create() throws(SysError) -> OwnedFD {
        let fd = try sysValue("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    public static func add(epoll: CInt, fd: CInt, events: Events, data: UInt64) throws(SysError) {
        try control(
            epoll: epoll,
            op: EPOLL_CTL_ADD,
            fd: fd,
            events: events,
            data: data,
            name: "epoll_ctl(ADD, fd \(fd))"
        )
    }

    public static func modify(epoll: CInt, fd: CInt, events: Events, data: UInt64) throws(SysError) {
        try control(
            epoll: epoll,
            op: EPOLL_CTL_MOD,
            fd: fd,
            events: events,
            data: data,
            name: "epoll_ctl(MOD, fd \(fd))"
        )
    }

    /// EPOLL_CTL_DEL. ENOENT (not registered, or the description already closed) is not an error.
    public static func delete(epoll: CInt, fd: CInt) throws(SysError) {
        do {
            try control(epoll: epoll, op: EPOLL_CTL_DEL, fd: fd, events: [], data: 0, name: "epoll_ctl(DEL, fd \(fd))")
        } catch let error where error.errno == ENOENT {
            return
        }
    }

    private static func control(
        epoll: CInt,
        op: CInt,
        fd: CInt,
        events: Events,
        data: UInt64,
        name: @autoclosure () -> String
    ) throws(SysError) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = data
        _ = try sysValue(name()) { epoll_ctl(epoll, op, fd, &event) }
    }

    /// A reusable buffer for `wait`, so the loop allocates nothing per iteration.
    public struct Buffer: ~Copyable {
        fileprivate let storage: UnsafeMutablePointer<epoll_event>
        public let capacity: Int

        public init(capacity: Int = 64) {
            precondition(capacity > 0)
            self.capacity = capacity
            storage = .allocate(capacity: capacity)
            storage.initialize(repeating: epoll_event(), count: capacity)
        }

        deinit { storage.deallocate() }

        public subscript(index: Int) -> Event {
            precondition(index >= 0 && index < capacity)
            let raw = storage[index]
            return Event(data: raw.data.u64, events: Events(rawValue: raw.events))
        }
    }

    /// epoll_wait: fills `buffer` and returns how many entries are valid. `timeoutMilliseconds`
    /// -1 waits forever. EINTR is retried (with the same timeout; callers recompute deadlines).
    public static func wait(
        epoll: CInt,
        into buffer: borrowing Buffer,
        timeoutMilliseconds: Int32
    ) throws(SysError) -> Int {
        let storage = buffer.storage
        let capacity = Int32(clamping: buffer.capacity)
        return Int(try sysValue("epoll_wait") { epoll_wait(epoll, storage, capacity, timeoutMilliseconds) })
    }
}
