import ProxymCore

/// `GET /metrics`: the daemon's own families from a snapshot and its refresh counters, followed by
/// what the sources and outputs count themselves (Marathon events, haproxy reloads, certificates).
/// Names follow Prometheus' conventions: `proxym_` prefix, `_total` counters, seconds and bytes.
public enum StatusMetrics {
    public static func families(
        _ snapshot: StatusSnapshot, verdict: HealthVerdict, refresh: RefreshMetrics, serverCount: Int,
        patience: Duration = .seconds(5), extra: [MetricFamily] = []
    ) -> [MetricFamily] {
        var out: [MetricFamily] = []
        out.append(
            MetricFamily(
                "proxym_build_info", .gauge, "proxym's version (the value is always 1).",
                [.init(labels: [("version", snapshot.version)], value: 1)]))
        out.append(.single("proxym_start_time_seconds", .gauge, "When the daemon started, Unix seconds.", Double(snapshot.startedAt.unixSeconds)))
        out.append(.single("proxym_ready", .gauge, "1 once the first refresh finished (READY=1).", snapshot.ready ? 1 : 0))
        out.append(.single("proxym_healthy", .gauge, "1 while /healthz answers 200.", verdict.healthy ? 1 : 0))

        var refreshSamples: [MetricFamily.Sample] = []
        for key in refresh.refreshes.keys.sorted(by: { ($0.trigger, $0.result.rawValue) < ($1.trigger, $1.result.rawValue) }) {
            refreshSamples.append(
                .init(labels: [("trigger", key.trigger), ("result", key.result.rawValue)], value: Double(refresh.refreshes[key] ?? 0)))
        }
        out.append(
            MetricFamily(
                "proxym_refreshes_total", .counter,
                "Refreshes finished, by trigger (the first reason) and result (applied, unchanged, failed, held).",
                refreshSamples))
        out.append(
            MetricFamily(
                "proxym_refresh_duration_seconds", .histogram, "How long a whole refresh took (merge to applied).",
                refresh.refreshDuration.samples()))
        out.append(
            MetricFamily(
                "proxym_refresh_stage_duration_seconds", .histogram,
                "How long each stage took: fetch (a source's read), merge, render, check (haproxy -c), apply (install and reload, or the Runtime API).",
                RefreshMetrics.stages.flatMap { stage in
                    (refresh.stageDurations[stage] ?? Histogram()).samples(labels: [("stage", stage)])
                }))
        out.append(
            .single(
                "proxym_guard_holds_total", .counter, "Refreshes the safety guard held back.",
                Double(refresh.count(result: .held))))
        out.append(.single("proxym_guard_holding", .gauge, "1 while the safety guard holds a refresh back.", snapshot.held == nil ? 0 : 1))
        out.append(.single("proxym_services", .gauge, "Services in the last refresh (after the merge).", Double(snapshot.serviceCount)))
        out.append(.single("proxym_servers", .gauge, "Servers (host:port of a service) in the last refresh.", Double(serverCount)))
        out.append(
            .single("proxym_skipped_services", .gauge, "Services the last merge dropped (conflicts).", Double(snapshot.skippedServices)))

        let now = snapshot.now
        var up: [MetricFamily.Sample] = []
        var services: [MetricFamily.Sample] = []
        var staleness: [MetricFamily.Sample] = []
        var lastSuccess: [MetricFamily.Sample] = []
        for source in snapshot.sources {
            let labels = [("source", source.name)]
            let stale = source.staleSince(at: now.instant, patience: patience)
            up.append(.init(labels: labels, value: source.health == .ok && stale == nil ? 1 : 0))
            services.append(.init(labels: labels, value: Double(source.serviceCount)))
            staleness.append(.init(labels: labels, value: stale.map { StatusJSON.seconds(now.instant - $0.instant) } ?? 0))
            if let success = source.lastSuccess {
                lastSuccess.append(.init(labels: labels, value: Double(success.unixSeconds)))
            }
        }
        out.append(MetricFamily("proxym_source_up", .gauge, "1 while a source's last read succeeded and no read has run long.", up))
        out.append(MetricFamily("proxym_source_services", .gauge, "Services in a source's latest good list.", services))
        out.append(
            MetricFamily(
                "proxym_source_staleness_seconds", .gauge,
                "How long a source has been stale (failing, or a read running over 5 s); 0 while current.", staleness))
        out.append(
            MetricFamily(
                "proxym_source_last_success_timestamp_seconds", .gauge, "When a source's last read succeeded, Unix seconds.",
                lastSuccess))
        return out + extra
    }
}
