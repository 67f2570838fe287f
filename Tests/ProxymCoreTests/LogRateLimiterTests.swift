@testable import ProxymCore
import Testing

@Suite struct LogRateLimiterTests {
    typealias Limiter = LogRateLimiter<String, Int>
    let t0 = Instant(nanoseconds: 1_000_000_000)

    func at(_ seconds: Double) -> Instant { t0 + .milliseconds(Int(seconds * 1000)) }

    @Test func aFloodCostsTheBurstThenOneLinePerIntervalWithItsCount() {
        var limiter = Limiter(interval: .seconds(10), burst: 3, overflowKey: "other")
        var written = 0
        var summaries: [Limiter.Summary] = []
        // 10,000 lines of one kind over 25 s.
        for index in 0..<10_000 {
            let (write, ended) = limiter.admit("refused", index, at: at(Double(index) * 0.0025))
            if write { written += 1 }
            summaries += ended
        }
        summaries += limiter.expire(at: at(40))
        #expect(written == 3, "only the burst is written as is")
        #expect(summaries.count == 3, "one count per interval: 0-10 s, 10-20 s, 20-25 s")
        #expect(summaries.map(\.suppressed).reduce(0, +) == 10_000 - 3, "every line is counted")
        #expect(summaries.last?.last == 9_999, "the summary carries the last line left out")
        #expect(Limiter.note(summaries[0]) == "(\(Limiter.grouped(summaries[0].suppressed)) more in the last 10 s)")
        #expect(limiter.expire(at: at(50)).isEmpty)
        #expect(limiter.trackedKinds == 0, "a quiet kind is forgotten")
    }

    @Test func kindsAreCountedApartAndRareLinesPassUntouched() {
        var limiter = Limiter(interval: .seconds(10), burst: 2, overflowKey: "other")
        #expect(limiter.admit("a", 1, at: at(0)).write)
        #expect(limiter.admit("b", 1, at: at(0)).write)
        #expect(limiter.admit("a", 2, at: at(1)).write)
        #expect(!limiter.admit("a", 3, at: at(2)).write)
        #expect(limiter.admit("b", 2, at: at(3)).write, "b has its own allowance")
        // After the interval: a's count, and a fresh allowance for b (nothing of b was left out).
        let (write, summaries) = limiter.admit("b", 3, at: at(11))
        #expect(write)
        #expect(summaries.map(\.key) == ["a"] && summaries.first?.suppressed == 1)
        // a stays collapsed for one more interval after its flood...
        #expect(!limiter.admit("a", 4, at: at(12)).write)
        #expect(limiter.expire(at: at(22)).map(\.suppressed) == [1])
        // ...and is written again once an interval passed with nothing left out.
        _ = limiter.expire(at: at(33))
        #expect(limiter.admit("a", 5, at: at(34)).write)
    }

    @Test func theNumberOfKindsTrackedIsBounded() {
        var limiter = Limiter(interval: .seconds(10), burst: 1, maxKinds: 4, overflowKey: "other")
        var written = 0
        for index in 0..<1000 where limiter.admit("kind \(index)", index, at: at(0)).write { written += 1 }
        #expect(limiter.trackedKinds <= 5)
        #expect(written == 4 + 1, "four kinds, then the overflow entry's one line")
        let summaries = limiter.expire(at: at(10))
        #expect(summaries.map(\.key) == ["other"] && summaries.first?.suppressed == 995)
    }

    @Test(arguments: [(0, "0"), (999, "999"), (1000, "1,000"), (8812, "8,812"), (88_807, "88,807"), (1_234_567, "1,234,567")])
    func countsAreGrouped(count: Int, text: String) {
        #expect(Limiter.grouped(count) == text)
    }

    @Test func intervalsAreSaid() {
        var limiter = Limiter(interval: .milliseconds(1500), burst: 1, overflowKey: "other")
        _ = limiter.admit("x", 0, at: at(0))
        _ = limiter.admit("x", 1, at: at(0.1))
        let summary = limiter.expire(at: at(2))
        #expect(summary.map(Limiter.note) == ["(1 more in the last 1.5 s)"])
    }
}
