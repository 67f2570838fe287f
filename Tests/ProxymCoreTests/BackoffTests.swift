import ProxymCore
import Testing

@Suite struct BackoffTests {
    @Test func doublesFromOneSecondToItsCapAndResets() {
        var backoff = Backoff()
        #expect((0..<8).map { _ in backoff.take() } == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        backoff.reset()
        #expect(backoff.take() == .seconds(1))
    }

    @Test func aFirstTryAtOnceThenBacksOff() {
        var backoff = Backoff(first: .zero, initial: .seconds(1), cap: .seconds(5))
        #expect((0..<6).map { _ in backoff.take() } == [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        backoff.reset()
        #expect(backoff.take() == .zero)
    }

    @Test func aCapBelowTheInitialDelayHolds() {
        var backoff = Backoff(initial: .seconds(2), cap: .seconds(1))
        #expect((0..<3).map { _ in backoff.take() } == [.seconds(2), .seconds(1), .seconds(1)])
    }
}
