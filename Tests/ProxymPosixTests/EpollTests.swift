import ProxymPosix
import Testing

@Suite(.timeLimit(.minutes(1)))
struct EpollTests {
    @Test func eventsConvertAtTheBoundary() {
        let events: Epoll.Events = [.in, .rdhup]
        #expect(events.contains(.in))
        #expect(!events.contains(.out))
        #expect(events.description == "[in,rdhup]")
    }

    @Test func pipeBecomesReadableWithItsCookie() throws {
        let epoll = try Epoll.create()
        let pair = try Pipe.create()
        try Epoll.add(epoll: epoll.rawValue, fd: pair.first.rawValue, events: .in, data: 0xABCD_0000_0042)
        let buffer = Epoll.Buffer(capacity: 8)
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 0) == 0)
        _ = try pair.second.write([1])
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 1000) == 1)
        #expect(buffer[0].data == 0xABCD_0000_0042)
        #expect(buffer[0].events == .in)
    }

    @Test func socketPairWritableThenReadableAfterModify() throws {
        let epoll = try Epoll.create()
        let pair = try Socket.pair()
        let buffer = Epoll.Buffer(capacity: 8)
        try Epoll.add(epoll: epoll.rawValue, fd: pair.first.rawValue, events: .out, data: 1)
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 1000) == 1)
        #expect(buffer[0].events.contains(.out))
        try Epoll.modify(epoll: epoll.rawValue, fd: pair.first.rawValue, events: [.in, .rdhup], data: 2)
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 0) == 0)
        _ = try Socket.send(pair.second.rawValue, [9])
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 1000) == 1)
        #expect(buffer[0].data == 2)
        #expect(buffer[0].events == .in)
        try Socket.shutdown(pair.second.rawValue, .write)
        _ = try pair.first.read(maxBytes: 8)
        #expect(try Epoll.wait(epoll: epoll.rawValue, into: buffer, timeoutMilliseconds: 1000) == 1)
        #expect(buffer[0].events.contains(.rdhup))
    }

    @Test func deleteTwiceIsNotAnError() throws {
        let epoll = try Epoll.create()
        let pair = try Pipe.create()
        try Epoll.add(epoll: epoll.rawValue, fd: pair.first.rawValue, events: .in, data: 0)
        try Epoll.delete(epoll: epoll.rawValue, fd: pair.first.rawValue)
        try Epoll.delete(epoll: epoll.rawValue, fd: pair.first.rawValue)
    }

    @Test func addingTwiceThrowsExists() throws {
        let epoll = try Epoll.create()
        let pair = try Pipe.create()
        try Epoll.add(epoll: epoll.rawValue, fd: pair.first.rawValue, events: .in, data: 0)
        let error = #expect(throws: SysError.self) {
            try Epoll.add(epoll: epoll.rawValue, fd: pair.first.rawValue, events: .in, data: 0)
        }
        #expect(error?.isExists == true)
    }
}
