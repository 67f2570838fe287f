import ProxymPosix
import Testing

@Suite(.timeLimit(.minutes(1)))
struct TimerFDTests {
    @Test func absoluteDeadlineFiresOnceThenDisarms() throws {
        let timer = try TimerFD.create()
        #expect(try TimerFD.remaining(timer.rawValue) == nil)
        #expect(try TimerFD.readExpirations(timer.rawValue) == .wouldBlock)
        let start = MonotonicClock.nanoseconds()
        try TimerFD.setDeadline(timer.rawValue, nanoseconds: start + 20_000_000)
        #expect(try TimerFD.remaining(timer.rawValue) != nil)
        var entries = [Poll.Entry(fd: timer.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        #expect(MonotonicClock.nanoseconds() - start >= 20_000_000)
        #expect(try TimerFD.readExpirations(timer.rawValue) == .ready(1))
        #expect(try TimerFD.remaining(timer.rawValue) == nil)
    }

    @Test func pastDeadlineFiresImmediatelyAndDisarmWorks() throws {
        let timer = try TimerFD.create()
        try TimerFD.setDeadline(timer.rawValue, nanoseconds: 0)  // "0" is raised to 1 ns: long past
        var entries = [Poll.Entry(fd: timer.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        #expect(try TimerFD.readExpirations(timer.rawValue) == .ready(1))
        try TimerFD.setDeadline(timer.rawValue, nanoseconds: MonotonicClock.nanoseconds() + 60_000_000_000)
        try TimerFD.disarm(timer.rawValue)
        #expect(try TimerFD.remaining(timer.rawValue) == nil)
    }

    @Test func clocks() {
        let a = MonotonicClock.nanoseconds()
        MonotonicClock.sleep(.milliseconds(2))
        let b = MonotonicClock.nanoseconds()
        #expect(b - a >= 2_000_000)
        let wall = WallClock.now()
        #expect(wall.seconds > 1_600_000_000)
        #expect(wall.nanoseconds >= 0 && wall.nanoseconds < 1_000_000_000)
    }

    @Test func localTimeIsBrokenDown() {
        let time = WallClock.localTime(seconds: 0)
        // The epoch in any zone is 1969-12-31 or 1970-01-01.
        #expect(time.year == 1970 || time.year == 1969)
        let now = WallClock.localTime(seconds: WallClock.now().seconds)
        #expect((1...12).contains(now.month))
        #expect((1...31).contains(now.day))
        #expect((0...23).contains(now.hour))
        #expect((0...6).contains(now.weekday))
        #expect((1...366).contains(now.yearDay))
        #expect(abs(now.utcOffsetSeconds) <= 14 * 3600)
        #expect(!now.zoneAbbreviation.isEmpty)
    }
}
