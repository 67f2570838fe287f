import ProxymCore
import ProxymModel
import Testing
import ProxymTestBuilders

/// The daemon's sequencing values, stepped with explicit instants.
@Suite struct DaemonDecisionsTests {
    func at(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
    func moment(_ ms: UInt64) -> Moment { Moment(instant: at(ms), unixSeconds: 1_700_000_000 + Int64(ms / 1000)) }

    // MARK: SourceGate

    @Test func gateOpensWhenEverySourceAnswered() {
        var gate = SourceGate(purpose: .startup, sources: ["file", "marathon"], now: at(1000), patience: .seconds(15))
        #expect(gate.check(now: at(1000)) == .wait(until: at(16_000)))
        #expect(gate.answered("file", readBegan: at(1000), now: at(1001)) == .wait(until: at(16_000)))
        #expect(gate.waiting == ["marathon"])
        // A failure is an answer too.
        #expect(gate.answered("marathon", readBegan: at(1000), now: at(1300)) == .open(missing: []))
    }

    @Test func gateOpensAtItsDeadlineNamingTheLateSources() {
        var gate = SourceGate(purpose: .reload, sources: ["file", "marathon"], now: at(0), patience: .seconds(15))
        _ = gate.answered("file", readBegan: at(0), now: at(1))
        #expect(gate.check(now: at(14_999)) == .wait(until: at(15_000)))
        #expect(gate.check(now: at(15_000)) == .open(missing: ["marathon"]))
    }

    @Test func answersToReadsBegunBeforeTheGateDoNotCount() {
        var gate = SourceGate(purpose: .reload, sources: ["marathon"], now: at(5000), patience: .seconds(15))
        // The fetch that was under way at SIGHUP answers: not the re-read SIGHUP asked for.
        #expect(gate.answered("marathon", readBegan: at(4200), now: at(5100)) == .wait(until: at(20_000)))
        #expect(gate.answered("marathon", readBegan: at(5100), now: at(5600)) == .open(missing: []))
    }

    @Test func gateWithoutSourcesOpensAtOnce() {
        #expect(SourceGate(purpose: .startup, sources: [], now: at(0), patience: .seconds(15)).check(now: at(0)) == .open(missing: []))
    }

    // MARK: ReadinessSequence

    @Test func readyOnceAfterTheFirstRefresh() {
        var r = ReadinessSequence()
        #expect(r.handle(.refreshFinished(carriedReload: false)) == ["READY=1"])
        #expect(r.isReady)
        #expect(r.handle(.refreshFinished(carriedReload: false)) == [])
    }

    @Test func reloadingThenReadyWhenTheRefreshCarryingItIsOver() {
        var r = ReadinessSequence()
        _ = r.handle(.refreshFinished(carriedReload: false))
        #expect(r.handle(.reloadRequested(now: at(2000))) == ["RELOADING=1", "MONOTONIC_USEC=2000000"])
        // A refresh for something else (a file edit) ends first: READY=1 still owed.
        #expect(r.handle(.refreshFinished(carriedReload: false)) == [])
        #expect(r.isReloading)
        #expect(r.handle(.refreshFinished(carriedReload: true)) == ["READY=1"])
        #expect(!r.isReloading)
    }

    @Test func sighupBeforeReadyOrWhileStoppingSendsNothing() {
        var r = ReadinessSequence()
        #expect(r.handle(.reloadRequested(now: at(10))) == [])
        #expect(r.handle(.refreshFinished(carriedReload: true)) == ["READY=1"])
        #expect(r.handle(.stopRequested) == ["STOPPING=1"])
        #expect(r.handle(.reloadRequested(now: at(20))) == [])
        #expect(r.handle(.stopRequested) == [])
    }

    // MARK: ApplyRetry

    @Test func transientFailuresBackOffAndASuccessResets() {
        var retry = ApplyRetry()
        let delays = (0..<8).map { _ in retry.refreshFinished(.failedTransiently) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        #expect(retry.refreshFinished(.succeeded) == nil)
        #expect(retry.refreshFinished(.failedTransiently) == .seconds(1))
    }

    @Test func aRejectionIsNotRetried() {
        var retry = ApplyRetry()
        _ = retry.refreshFinished(.failedTransiently)
        #expect(retry.refreshFinished(.rejected) == nil)
        #expect(retry.refreshFinished(.failedTransiently) == .seconds(1))
    }

    // MARK: ShutdownSequence

    @Test func stopWaitsForSourcesAndTheRunningRefresh() {
        var s = ShutdownSequence()
        let step = s.stopRequested(now: at(0), sources: 2, refreshRunning: true, refreshLimit: .seconds(65))
        #expect(step == .begin(deadline: at(65_000), waitingForRefresh: true))
        #expect(s.sourceStopped() == .wait)
        #expect(s.refreshFinished() == .wait)
        #expect(s.sourceStopped() == .exit(.finished))
    }

    @Test func stopWithNothingRunningIsBoundedByTheSourceLimit() {
        var s = ShutdownSequence()
        #expect(
            s.stopRequested(now: at(100), sources: 1, refreshRunning: false, refreshLimit: .seconds(65))
                == .begin(deadline: at(5100), waitingForRefresh: false))
        #expect(s.next() == .wait)
        #expect(s.deadlinePassed() == .exit(.deadlinePassed))
    }

    @Test func aSecondStopSignalExitsAtOnce() {
        var s = ShutdownSequence()
        _ = s.stopRequested(now: at(0), sources: 1, refreshRunning: true, refreshLimit: .seconds(65))
        #expect(s.stopRequested(now: at(10), sources: 1, refreshRunning: true, refreshLimit: .seconds(65)) == .exit(.secondSignal))
    }

    @Test func deadlineBeforeAStopMeansNothing() {
        #expect(ShutdownSequence().deadlinePassed() == .wait)
    }

    // MARK: SourceState

    @Test func sourceStateTransitions() {
        var state = SourceState(name: "marathon")
        #expect(!state.hasAnswered)
        state.readStarted(at: moment(0))
        #expect(state.fetchingSince == moment(0))
        #expect(state.staleSince(at: at(4999), patience: .seconds(5)) == nil)
        #expect(state.staleSince(at: at(5000), patience: .seconds(5)) == moment(0))
        #expect(state.succeeded(serviceCount: 8, at: moment(300)) == .none)
        #expect(state.health == .ok && state.fetchingSince == nil && state.lastSuccess == moment(300))
        #expect(state.failed("HTTP 503", at: moment(1000)) == .failed(keeping: 8))
        #expect(state.failed("HTTP 503", at: moment(2000)) == .none, "the same failure again: no new line")
        #expect(state.failed("connection refused", at: moment(3000)) == .failed(keeping: 8))
        #expect(state.failure?.since == moment(1000), "failing since the first failure")
        #expect(state.staleSince(at: at(3000), patience: .seconds(5)) == moment(1000))
        #expect(state.succeeded(serviceCount: 9, at: moment(4000)) == .recovered(failingSince: moment(1000)))
        #expect(state.serviceCount == 9)
    }

    // MARK: RefreshHistory, StraySignalLog

    @Test func historyKeepsTheLastRefreshesInOrder() {
        var history = RefreshHistory(capacity: 3)
        for i in 0..<5 {
            history.append(
                RefreshRecord(
                    trigger: "t\(i)", startedAt: moment(UInt64(i)), duration: .milliseconds(i), outcome: "applied",
                    serviceCount: i))
        }
        #expect(history.records.map(\.trigger) == ["t2", "t3", "t4"])
    }

    @Test func straySignalsAreLoggedOncePerInterval() {
        var log = StraySignalLog(interval: .seconds(10))
        #expect(log.received("SIGUSR2", at: at(0)) == "stray SIGUSR2 received")
        #expect(log.received("SIGUSR2", at: at(100)) == nil)
        #expect(log.received("SIGALRM", at: at(100)) == "stray SIGALRM received")
        #expect(log.received("SIGUSR2", at: at(200)) == nil)
        #expect(log.received("SIGUSR2", at: at(10_000))?.hasPrefix("stray SIGUSR2 received (and 2 more") == true)
    }
}

/// The one refresh pipeline: merge, guard, what to render.
@Suite struct RefreshPipelineTests {
    func service(_ id: String, port: UInt16, hosts: Int = 1) throws -> Service {
        try makeService(
            id, domains: ["\(id.dropFirst()).example.com"], port: port, hosts: (0..<hosts).map { ("10.0.0.\($0 + 1)", 8000) },
            source: "file")
    }

    @Test func problemsAreNewOnceThenRepeated() throws {
        var pipeline = RefreshPipeline(httpPort: 80)
        let a = try service("/a", port: 80)
        let clash = try service("/a", port: 80)
        let first = pipeline.plan([.init(name: "file", services: [a, clash])], now: .zero, force: false, reportAgain: false)
        #expect(first.problems.map(\.repeated) == [false])
        #expect(first.skipped == 1)
        let second = pipeline.plan([.init(name: "file", services: [a, clash])], now: .zero, force: false, reportAgain: false)
        #expect(second.problems.map(\.repeated) == [true])
        let again = pipeline.plan([.init(name: "file", services: [a, clash])], now: .zero, force: false, reportAgain: true)
        #expect(again.problems.map(\.repeated) == [false])
    }

    /// Three of four services removed one refresh at a time, within the removal window: the third
    /// refresh trips the guard (75% of what was applied 5 s ago), as one refresh would have.
    @Test func removalsSeenInPiecesCountTogether() throws {
        var pipeline = RefreshPipeline(httpPort: 80, maxRemovalShare: 0.5, guardHold: .seconds(30))
        var services = try (0..<4).map { try service("/s\($0)", port: 80) }
        func at(_ ms: Int64) -> Instant { Instant.zero + .milliseconds(ms) }
        #expect(pipeline.plan([.init(name: "file", services: services)], now: at(10_000), force: false, reportAgain: false).verdict.isApply)
        services.removeLast()
        #expect(pipeline.plan([.init(name: "file", services: services)], now: at(10_100), force: false, reportAgain: false).verdict.isApply)
        services.removeLast()
        // 2 of 4: not more than half yet.
        #expect(pipeline.plan([.init(name: "file", services: services)], now: at(10_300), force: false, reportAgain: false).verdict.isApply)
        services.removeLast()
        let third = pipeline.plan([.init(name: "file", services: services)], now: at(10_500), force: false, reportAgain: false)
        #expect(!third.verdict.isApply, "3 of 4 within the window: held")

        // Spread over more than the window, the same removals go through one by one.
        var slow = RefreshPipeline(httpPort: 80, maxRemovalShare: 0.5, guardHold: .seconds(30))
        var all = try (0..<4).map { try service("/s\($0)", port: 80) }
        var now: Int64 = 0
        #expect(slow.plan([.init(name: "file", services: all)], now: at(now), force: false, reportAgain: false).verdict.isApply)
        for _ in 0..<3 {
            now += 6_000
            all.removeLast()
            #expect(slow.plan([.init(name: "file", services: all)], now: at(now), force: false, reportAgain: false).verdict.isApply)
        }
    }

    /// The pipeline remembers what it let through: a newcomer repeating an established id loses,
    /// even where the order would let it win (an earlier source, a file name sorting first).
    @Test func incumbentsKeepTheirRoutes() throws {
        var pipeline = RefreshPipeline(httpPort: 80)
        let web = try service("/web", port: 80)
        var newcomer = try service("/web", port: 80)
        newcomer.source = "marathon"
        _ = pipeline.plan([.init(name: "file", services: [web])], now: .zero, force: false, reportAgain: false)
        #expect(pipeline.incumbents.map(\.source) == ["file"])
        let plan = pipeline.plan(
            [.init(name: "marathon", services: [newcomer]), .init(name: "file", services: [web])], now: .zero, force: false,
            reportAgain: false)
        #expect(plan.services.map(\.source) == ["file"])
        #expect(plan.problems.map(\.problem.source) == ["marathon"])
        // A fresh pipeline (a restart, `proxym render`) has no incumbents: the order decides.
        var fresh = RefreshPipeline(httpPort: 80)
        let atStart = fresh.plan(
            [.init(name: "marathon", services: [newcomer]), .init(name: "file", services: [web])], now: .zero, force: false,
            reportAgain: false)
        #expect(atStart.services.map(\.source) == ["marathon"])
    }

    @Test func theGuardHoldsAndAForcedPlanGoesThrough() throws {
        var pipeline = RefreshPipeline(httpPort: 80, maxRemovalShare: 0.5, guardHold: .seconds(30))
        let full = try (0..<4).map { try service("/s\($0)", port: 80, hosts: 2) }
        #expect(pipeline.plan([.init(name: "file", services: full)], now: .zero, force: false, reportAgain: false).verdict == .apply(note: nil))
        let emptied = pipeline.plan([.init(name: "file", services: [])], now: .zero, force: false, reportAgain: false)
        guard case .hold(_, _, let until) = emptied.verdict else {
            Issue.record("not held: \(emptied.verdict)")
            return
        }
        #expect(until == Instant.zero + .seconds(30))
        #expect(emptied.services.isEmpty, "the plan still says what the sources hold now")
        let forced = pipeline.plan([.init(name: "file", services: [])], now: .zero, force: true, reportAgain: true)
        #expect(forced.verdict.isApply)
        #expect(pipeline.applied?["file"]?.isEmpty == true)
    }
}

@Suite struct ReloadAnswersTests {
    @Test func answersOnlyAfterARefreshThatBeganAfterTheAskAndCarriesTheResync() {
        var answers = ReloadAnswers()
        answers.asked(by: 41)
        answers.refreshStarted(carriesResync: false)  // a file edit's refresh, already queued
        #expect(answers.refreshFinished().isEmpty)
        answers.refreshStarted(carriesResync: true)
        answers.asked(by: 42)  // during the resync's refresh: waits for the next one
        answers.asked(by: 41)  // asking twice is one answer
        #expect(answers.refreshFinished() == [41])
        #expect(answers.waiting == [42])
        answers.refreshStarted(carriesResync: true)
        #expect(answers.refreshFinished() == [42])
        #expect(answers.refreshFinished().isEmpty)
        answers.asked(by: 0)
        answers.asked(by: -1)
        #expect(answers.waiting.isEmpty, "no pid 0 or process group")
    }
}

extension RefreshPipeline.Verdict {
    var isApply: Bool {
        if case .apply = self { return true }
        return false
    }
}
