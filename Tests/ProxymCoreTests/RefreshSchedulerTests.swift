import ProxymCore
import Testing

@Suite struct RefreshSchedulerTests {
    func at(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
    let file = RefreshReason("file web.json changed")
    let usr1 = RefreshReason.sigusr1

    @Test func singleRequestWaitsForTheQuietPeriod() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        #expect(s.request(file, at: at(0)) == .init(timer: at(100)))
        #expect(s.timerExpired(at: at(99)) == .init(timer: at(100)))
        let d = s.timerExpired(at: at(100))
        #expect(d.start?.reasons == [file])
        #expect(d.timer == nil)
        #expect(s.isRunning)
    }

    @Test func burstCoalescesIntoOneRefresh() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        for i in 0..<10 { #expect(s.request(file, at: at(UInt64(i) * 10)).start == nil) }
        #expect(s.timerExpired(at: at(100)) == .init(timer: at(190)))
        let d = s.timerExpired(at: at(190))
        #expect(d.start?.reasons == [file])
        #expect(d.start?.requestCount == 10)
    }

    @Test func continuousStreamStillRefreshesWithinMaxDelay() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        var started: [UInt64] = []
        // An event every 50 ms for 3 s: the quiet period never passes.
        var t: UInt64 = 0
        var timer: Instant?
        while t <= 3000 {
            if let deadline = timer, deadline <= at(t) {
                let d = s.timerExpired(at: at(t))
                if d.start != nil {
                    started.append(t)
                    _ = s.finished(at: at(t))
                }
                timer = d.timer ?? s.dueAt
            }
            let d = s.request(file, at: at(t))
            if d.start != nil {
                started.append(t)
                timer = s.finished(at: at(t)).timer
            } else {
                timer = d.timer
            }
            t += 50
        }
        #expect(started.count >= 2)
        for (a, b) in zip([0] + started, started) { #expect(b - a <= 1000) }
    }

    @Test func requestDuringRefreshGivesExactlyOneMore() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        _ = s.request(file, at: at(0))
        #expect(s.timerExpired(at: at(100)).start != nil)
        // Three requests while running: no timer, no start.
        #expect(s.request(usr1, at: at(110)) == .init())
        #expect(s.request(file, at: at(120)) == .init())
        #expect(s.request(usr1, at: at(130)) == .init())
        // Finished after the quiet period of the last one: start right away, one batch.
        let d = s.finished(at: at(400))
        #expect(d.start?.reasons == [usr1, file])
        #expect(d.start?.requestCount == 3)
        #expect(s.finished(at: at(500)) == .init())
        #expect(!s.hasPending)
    }

    @Test func finishingEarlyWaitsForTheRestOfTheQuietPeriod() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        _ = s.request(file, at: at(0))
        _ = s.timerExpired(at: at(100))
        _ = s.request(usr1, at: at(150))
        #expect(s.finished(at: at(160)) == .init(timer: at(250)))
    }

    @Test func immediateRequestSkipsTheQuietPeriod() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        _ = s.request(file, at: at(0))
        let d = s.request(.sighup, at: at(5), immediate: true)
        #expect(d.start?.reasons == [file, .sighup])
        #expect(d.start?.forcesFullResync == true)
    }

    @Test func summaryNamesReasonsAndCountsTheRest() {
        let batch = RefreshScheduler.Batch(
            reasons: [.sigusr1, RefreshReason("file a.json changed"), RefreshReason("file b.json changed"),
                RefreshReason("file c.json changed")], requestCount: 9)
        #expect(batch.summary() == "SIGUSR1, file a.json changed, file b.json changed (+6 more)")
        #expect(RefreshScheduler.Batch(reasons: [.sigusr1], requestCount: 1).summary() == "SIGUSR1")
    }
}

/// A storm of events with distinct reasons (40 000 files created in a burst) costs linear time and
/// bounded memory: the batch keeps a bounded number of distinct reasons, and counts the rest.
@Suite struct RefreshSchedulerStormTests {
    @Test(.timeLimit(.minutes(1))) func distinctReasonsStayBounded() {
        var scheduler = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        var now = Instant(nanoseconds: 1_000_000_000)
        let started = ContinuousClock.now
        for index in 0..<40_000 {
            _ = scheduler.request(RefreshReason("file x\(index).json created"), at: now)
            now = now + .microseconds(10)
        }
        _ = scheduler.request(.sighup, at: now)
        let elapsed = ContinuousClock.now - started
        let decision = scheduler.timerExpired(at: now + .seconds(2))
        let batch = decision.start
        #expect(batch?.requestCount == 40_001)
        #expect((batch?.reasons.count ?? 0) <= RefreshScheduler.maxDistinctReasons + 1)
        #expect(batch?.forcesFullResync == true, "a forcing reason is never dropped")
        #expect(batch?.summary().hasSuffix("(+39998 more)") == true, "\(batch?.summary() ?? "")")
        #expect(elapsed < .seconds(1), "40 000 requests took \(elapsed)")
    }
}
