import ProxymCore
import Testing

@Suite struct StatusReportTests {
    @Test func startingLine() {
        #expect(StatusReport(serviceCount: 0, sources: [.init(name: "file", serviceCount: 0)]).line == "0 services (file 0); starting")
    }

    @Test func healthyLine() {
        let r = StatusReport(
            serviceCount: 12, sources: [.init(name: "file", serviceCount: 12)], lastRefresh: "14:03:22",
            lastOutcome: "applied, haproxy reloaded")
        #expect(r.line == "12 services (file 12); last refresh 14:03:22: applied, haproxy reloaded")
    }

    @Test func failingSourceKeepsLastGood() {
        let r = StatusReport(
            serviceCount: 9,
            sources: [
                .init(name: "file", serviceCount: 1),
                .init(name: "marathon", serviceCount: 8, failure: "connection refused", failingSince: "14:01:07"),
            ], lastRefresh: "14:03:22", lastOutcome: "unchanged", skippedServices: 1)
        #expect(
            r.line
                == "9 services (file 1, marathon 8); last refresh 14:03:22: unchanged; 1 service skipped (see log); FAILING: marathon (connection refused) since 14:01:07, keeping 8 last good services"
        )
    }

    @Test func sourceNotesAreShown() {
        let r = StatusReport(
            serviceCount: 2, sources: [.init(name: "file", serviceCount: 2, note: "1 invalid file: bad.json")],
            lastRefresh: "14:03:22", lastOutcome: "unchanged")
        #expect(r.line == "2 services (file 2); last refresh 14:03:22: unchanged; file: 1 invalid file: bad.json")
    }
}
