import ProxymCore
import ProxymTestSupport
import Testing

@Suite struct RefreshSchedulerTests {
    func at(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
    let file = RefreshReason("file web.json changed")
    let usr1 = RefreshReason.sigusr1

    @Test func aLoneRequestStartsAtOnce() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        let d = s.request(file, at: at(1000))
        #expect(d.start?.reasons == [file])
        #expect(d.timer == nil)
        #expect(s.isRunning)
        _ = s.finished(at: at(1005))
        // Quiet again for a quiet period after that start: the next one goes at once too.
        #expect(s.request(usr1, at: at(1100)).start?.reasons == [usr1])
    }

    /// Without the leading edge (Marathon's whole fetches), a lone request waits for the quiet period.
    @Test func trailingOnlyALoneRequestWaits() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1), leadingEdge: false)
        #expect(s.request(file, at: at(1000)) == .init(timer: at(1100)))
        #expect(s.request(usr1, at: at(1050)) == .init(timer: at(1150)))
        #expect(s.timerExpired(at: at(1150)).start?.requestCount == 2)
    }

    @Test func aRequestSoonAfterAStartWaitsForTheQuietPeriod() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        #expect(s.request(file, at: at(0)).start != nil)
        _ = s.finished(at: at(10))
        // 60 ms after the last start: part of the burst, not a lone change.
        #expect(s.request(usr1, at: at(60)) == .init(timer: at(160)))
        #expect(s.timerExpired(at: at(159)) == .init(timer: at(160)))
        let d = s.timerExpired(at: at(160))
        #expect(d.start?.reasons == [usr1])
        #expect(d.timer == nil)
    }

    @Test func burstGivesTheLeadingRefreshAndOneMore() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        #expect(s.request(file, at: at(0)).start?.requestCount == 1)
        _ = s.finished(at: at(5))
        for i in 1..<10 { #expect(s.request(file, at: at(UInt64(i) * 10)).start == nil) }
        #expect(s.timerExpired(at: at(100)) == .init(timer: at(190)))
        let d = s.timerExpired(at: at(190))
        #expect(d.start?.reasons == [file])
        #expect(d.start?.requestCount == 9)
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
        // The first event after a start comes up to one interval (50 ms) later; it waits at most
        // the max delay.
        for (a, b) in zip([0] + started, started) { #expect(b - a <= 1000 + 50) }
    }

    @Test func requestDuringRefreshGivesExactlyOneMore() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        #expect(s.request(file, at: at(0)).start != nil)
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
        #expect(s.request(file, at: at(0)).start != nil)
        _ = s.request(usr1, at: at(50))
        #expect(s.finished(at: at(60)) == .init(timer: at(150)))
    }

    @Test func immediateRequestSkipsTheQuietPeriod() {
        var s = RefreshScheduler(quietPeriod: .milliseconds(100), maxDelay: .seconds(1))
        _ = s.request(file, at: at(0))
        _ = s.finished(at: at(1))
        _ = s.request(file, at: at(2))
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
        // The first one starts a refresh at once; the storm arrives while it runs.
        #expect(scheduler.request(RefreshReason("file first.json created"), at: now).start != nil)
        for index in 0..<40_000 {
            _ = scheduler.request(RefreshReason("file x\(index).json created"), at: now)
            now = now + .microseconds(10)
        }
        _ = scheduler.request(.sighup, at: now)
        let elapsed = ContinuousClock.now - started
        let decision = scheduler.finished(at: now + .seconds(2))
        let batch = decision.start
        #expect(batch?.requestCount == 40_001)
        #expect((batch?.reasons.count ?? 0) <= RefreshScheduler.maxDistinctReasons + 1)
        #expect(batch?.forcesFullResync == true, "a forcing reason is never dropped")
        #expect(batch?.summary().hasSuffix("(+39998 more)") == true, "\(batch?.summary() ?? "")")
        #expect(elapsed < .seconds(1), "40 000 requests took \(elapsed)")
    }
}

/// The scheduler's guarantees on random request sequences, replayed with explicit instants: requests
/// at random gaps (bursts, lone ones, streams), refreshes of random length, now and then an immediate
/// one. The loop around it is simulated exactly as the daemon runs it: one timer at `Decision.timer`,
/// `finished` when a refresh is over.
@Suite struct RefreshSchedulerPropertyTests {
    struct Start: Equatable {
        var at: UInt64
        var requests: Int
        var immediate: Bool
    }

    struct Run {
        var requests: [(at: UInt64, immediate: Bool, running: Bool, pending: Bool)] = []
        var starts: [Start] = []
        /// For each request, the start that carried it.
        var carriedBy: [Int] = []
        var finishes: [UInt64] = []
    }

    static let quiet: UInt64 = 100
    static let maxDelay: UInt64 = 1000

    /// Replays requests at `times` (ms) with refreshes lasting `duration(i)` ms.
    static func simulate(
        _ times: [(UInt64, Bool)], duration: (Int) -> UInt64
    ) -> Run {
        var s = RefreshScheduler(quietPeriod: .milliseconds(Int64(quiet)), maxDelay: .milliseconds(Int64(maxDelay)))
        func at(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
        var run = Run()
        var timer: UInt64?
        var finishAt: UInt64?
        var waiting: [Int] = []  // requests not yet carried
        func apply(_ d: RefreshScheduler.Decision, now: UInt64) {
            timer = d.timer.map { $0.nanoseconds / 1_000_000 }
            if let batch = d.start {
                #expect(batch.requestCount == waiting.count, "a batch carries every request made so far")
                let index = run.starts.count
                run.starts.append(
                    Start(
                        at: now, requests: batch.requestCount,
                        immediate: waiting.contains { run.requests[$0].immediate }))
                for request in waiting { run.carriedBy[request] = index }
                waiting = []
                finishAt = now + duration(index)
            }
        }
        var next = 0
        while next < times.count || timer != nil || finishAt != nil {
            // The earliest of: the next request, the timer, the end of the running refresh.
            let candidates = [next < times.count ? times[next].0 : nil, timer, finishAt].compactMap { $0 }
            let now = candidates.min()!
            if let f = finishAt, f == now {
                finishAt = nil
                run.finishes.append(now)
                apply(s.finished(at: at(now)), now: now)
            } else if let t = timer, t == now {
                timer = nil
                apply(s.timerExpired(at: at(now)), now: now)
            } else {
                let (time, immediate) = times[next]
                run.requests.append((time, immediate, s.isRunning, s.hasPending))
                run.carriedBy.append(-1)
                waiting.append(next)
                next += 1
                let reason = RefreshReason("r\(next % 50)")
                apply(s.request(reason, at: at(now), immediate: immediate), now: now)
            }
        }
        return run
    }

    /// Gaps: mostly inside a burst (1-60 ms), sometimes a quiet spell (150-800 ms), sometimes a long
    /// stream (every 30-90 ms for seconds).
    static func randomRequests(_ rng: inout SplitMix64, count: Int) -> [(UInt64, Bool)] {
        var t: UInt64 = UInt64.random(in: 0...500, using: &rng)
        var out: [(UInt64, Bool)] = []
        for _ in 0..<count {
            out.append((t, UInt64.random(in: 0..<40, using: &rng) == 0))
            switch UInt64.random(in: 0..<10, using: &rng) {
            case 0...5: t += UInt64.random(in: 0...60, using: &rng)
            case 6...8: t += UInt64.random(in: 150...800, using: &rng)
            default: t += UInt64.random(in: 30...90, using: &rng)
            }
        }
        return out
    }

    @Test func guaranteesHoldOnRandomSequences() {
        var rng = SplitMix64(seed: 0x5EED_16_2)
        for round in 0..<400 {
            let times = Self.randomRequests(&rng, count: Int.random(in: 1...120, using: &rng))
            let durations = (0..<400).map { _ in
                UInt64.random(in: 0..<4, using: &rng) == 0 ? UInt64.random(in: 50...1500, using: &rng) : UInt64.random(in: 0...20, using: &rng)
            }
            let run = Self.simulate(times) { durations[$0 % durations.count] }
            let context = "round \(round)"

            // Every request is carried by exactly one refresh, none before it was made; one made
            // while a refresh ran is carried by a later one.
            for (i, request) in run.requests.enumerated() {
                let carrier = run.carriedBy[i]
                #expect(carrier >= 0, "\(context): request \(i) never refreshed")
                guard carrier >= 0 else { continue }
                #expect(run.starts[carrier].at >= request.at, "\(context)")
            }
            // Leading edge: a request with nothing pending, no refresh running and no start within
            // the quiet period starts a refresh at that very instant.
            for (i, request) in run.requests.enumerated() where run.carriedBy[i] >= 0 {
                // Requests are carried by the first start after them: the one before is the last.
                let lastStart = run.carriedBy[i] > 0 ? run.starts[run.carriedBy[i] - 1].at : nil
                let quietSpell = lastStart.map { request.at >= $0 + Self.quiet } ?? true
                if !request.running && !request.pending && quietSpell {
                    #expect(run.starts[run.carriedBy[i]].at == request.at, "\(context): lone request \(i) waited")
                }
            }
            // Two refreshes start at least a quiet period apart, unless the later one was immediate
            // or had to wait for the running one to end anyway.
            for (a, b) in zip(run.starts, run.starts.dropFirst()) where !b.immediate {
                #expect(b.at >= a.at + Self.quiet, "\(context): starts \(a.at) and \(b.at)")
            }
            // Bounded delay: a request waits at most the max delay, or until the refresh that was
            // running when it came (and the one after, for a request made just then) is over.
            for (i, request) in run.requests.enumerated() where run.carriedBy[i] >= 0 {
                let start = run.starts[run.carriedBy[i]].at
                let blockedUntil = run.finishes.filter { $0 >= request.at && $0 <= start }.max() ?? 0
                #expect(start <= max(request.at + Self.maxDelay, blockedUntil), "\(context): request \(i) at \(request.at) started \(start)")
            }
            // Exactly one more: the requests made while one refresh runs are all carried by one
            // refresh after it.
            var byRunning: [Int: Int] = [:]
            for (i, request) in run.requests.enumerated() where request.running {
                let running = run.starts.lastIndex { $0.at <= request.at }!
                #expect(run.carriedBy[i] > running, "\(context)")
                if let carrier = byRunning[running] {
                    #expect(run.carriedBy[i] == carrier, "\(context): requests during refresh \(running) split")
                } else {
                    byRunning[running] = run.carriedBy[i]
                }
            }
        }
    }

    /// A burst of requests 1-50 ms apart lasting less than the max delay, with instant refreshes:
    /// the leading refresh and at most one more.
    @Test func aBurstGivesAtMostTwoRefreshes() {
        var rng = SplitMix64(seed: 0xB0B5)
        for _ in 0..<500 {
            var t: UInt64 = 10_000
            var times: [(UInt64, Bool)] = []
            while t < 10_000 + Self.maxDelay - 60 {
                times.append((t, false))
                t += UInt64.random(in: 1...50, using: &rng)
            }
            let run = Self.simulate(times) { _ in 0 }
            #expect(run.starts.count <= 2, "\(run.starts)")
            #expect(run.starts.first?.at == 10_000, "the first goes at once")
        }
    }
}
