import Glibc

/// poll(2) for the blocking helpers (connect with a timeout, test clients, runToCompletion).
/// The daemon itself waits only in epoll.
public enum Poll {
    public struct Events: OptionSet, Sendable, Hashable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }

        public static let `in` = Events(rawValue: Int16(POLLIN))
        public static let out = Events(rawValue: Int16(POLLOUT))
        public static let err = Events(rawValue: Int16(POLLERR))
        public static let hup = Events(rawValue: Int16(POLLHUP))
        public static let invalid = Events(rawValue: Int16(POLLNVAL))
    }

    public struct Entry: Sendable, Hashable {
        public var fd: CInt
        public var events: Events
        public var returned: Events

        public init(fd: CInt, events: Events) {
            self.fd = fd
            self.events = events
            self.returned = []
        }
    }

    /// Waits until an entry is ready or `timeout` passes (nil = forever). Returns the number of
    /// ready entries (0 on timeout) and fills `returned`. EINTR retries with the time left.
    @discardableResult
    public static func wait(_ entries: inout [Entry], timeout: Duration?) throws(SysError) -> Int {
        let deadline = timeout.map { MonotonicClock.nanoseconds() &+ UInt64(max($0.nanosecondsForPoll, 0)) }
        var fds = entries.map { pollfd(fd: $0.fd, events: $0.events.rawValue, revents: 0) }
        while true {
            var milliseconds: Int32 = -1
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                let left = deadline > now ? deadline - now : 0
                milliseconds = Int32(clamping: (left + 999_999) / 1_000_000)
            }
            let rc = poll(&fds, nfds_t(fds.count), milliseconds)
            if rc >= 0 {
                for index in entries.indices { entries[index].returned = Events(rawValue: fds[index].revents) }
                return Int(rc)
            }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SysError(call: "poll", errno: code)
        }
    }
}

extension Duration {
    var nanosecondsForPoll: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : .max / 2 }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
