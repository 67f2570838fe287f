import ProxymCore
import ProxymObserve
import Testing

@Suite struct MetricsTests {
    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() {
        var histogram = Histogram(bounds: [0.01, 0.1, 1])
        for value in [0.005, 0.05, 0.05, 0.5, 3] { histogram.observe(value) }
        let text = MetricsText.render([MetricFamily("x_seconds", .histogram, "h", histogram.samples(labels: [("stage", "a")]))])
        #expect(
            text == """
                # HELP x_seconds h
                # TYPE x_seconds histogram
                x_seconds_bucket{stage="a",le="0.01"} 1
                x_seconds_bucket{stage="a",le="0.1"} 3
                x_seconds_bucket{stage="a",le="1"} 4
                x_seconds_bucket{stage="a",le="+Inf"} 5
                x_seconds_sum{stage="a"} 3.605
                x_seconds_count{stage="a"} 5

                """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let text = MetricsText.render([
            MetricFamily("y_total", .counter, "a \\ b\nc", [.init(labels: [("type", "q\"\\\n")], value: 2)])
        ])
        #expect(text == "# HELP y_total a \\\\ b\\nc\n# TYPE y_total counter\ny_total{type=\"q\\\"\\\\\\n\"} 2\n")
    }

    @Test func triggersBecomeAFewKinds() {
        let kinds = [
            "startup", "SIGHUP", "SIGUSR1", "file web.json changed", "directory /x created", "inotify overflow in /x",
            "Marathon status_update_event", "retry Marathon (fetch failed)", "periodic Marathon resync",
            "retry after failed apply", "safety guard hold over", "haproxy restarted from the config file",
            "certificate shop.pem changed", "something new",
        ].map(RefreshMetrics.triggerKind)
        #expect(
            kinds == [
                "startup", "sighup", "sigusr1", "file", "file", "file", "marathon", "marathon", "marathon", "retry", "guard",
                "haproxy", "certificate", "other",
            ])
    }

    @Test func familiesFromASnapshot() {
        var refresh = RefreshMetrics()
        refresh.refreshFinished(trigger: "startup", result: .applied, duration: .milliseconds(20))
        refresh.refreshFinished(trigger: "file a.json changed", result: .held, duration: .milliseconds(1))
        refresh.stage("check", took: .milliseconds(300))
        let snapshot = sampleSnapshot()
        let families = StatusMetrics.families(
            snapshot, verdict: HealthVerdict.evaluate(snapshot, staleAfter: .seconds(120)), refresh: refresh, serverCount: 7)
        let text = MetricsText.render(families)
        #expect(text.contains("proxym_refreshes_total{trigger=\"file\",result=\"held\"} 1\n"))
        #expect(text.contains("proxym_refreshes_total{trigger=\"startup\",result=\"applied\"} 1\n"))
        #expect(text.contains("proxym_guard_holds_total 1\n"))
        #expect(text.contains("proxym_refresh_stage_duration_seconds_bucket{stage=\"check\",le=\"0.5\"} 1\n"))
        #expect(text.contains("proxym_refresh_stage_duration_seconds_count{stage=\"fetch\"} 0\n"))
        #expect(text.contains("proxym_servers 7\n"))
        #expect(text.contains("proxym_source_up{source=\"file\"} 1\n"))
        #expect(text.contains("proxym_source_up{source=\"marathon\"} 0\n"))
        #expect(text.contains("proxym_source_staleness_seconds{source=\"marathon\"} 300\n"))
        #expect(text.contains("proxym_source_last_success_timestamp_seconds{source=\"marathon\"} 1700000100\n"))
        #expect(text.contains("proxym_healthy 0\n"))
        #expect(text.contains("proxym_build_info{version=\"9.9.9\"} 1\n"))
        // Every family once, every name with the prefix; counters end in _total.
        let names = families.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.hasPrefix("proxym_") })
        #expect(families.filter { $0.kind == .counter }.allSatisfy { $0.name.hasSuffix("_total") })
    }
}
