import Logging
import ProxymCore
import ProxymHTTP
import ProxymObserve
import ProxymPosix

/// The status listener (`PROXYM_STATUS_ADDRESS`): the same HTTP server and limits as the Marathon
/// callback receiver, on the same loop, answering from the daemon's state at that moment.
extension Daemon {
    /// Binds the listener. A listener that cannot bind (the port is taken, ...) is logged at ERROR and
    /// said in STATUS; the daemon still routes traffic without it.
    func startStatusListener() {
        guard let address = settings.status.address, statusServer == nil else { return }
        var router = StatusRouter(
            staleAfter: settings.status.staleAfter, patience: Self.stalePatience,
            snapshot: { [unowned self] in self.snapshot() },
            metrics: { [unowned self] snapshot, verdict in self.metricFamilies(snapshot, verdict: verdict) })
        router.services = { [unowned self] in self.servicesDocument() }
        router.config = { [unowned self] in self.outputs.lazy.compactMap(\.liveConfig).first }
        var listenerLogger = logger
        listenerLogger[metadataKey: "module"] = "status"
        do {
            // The callback receiver's limits (connections, sizes, deadlines, per-client caps).
            statusServer = try HTTPServer(
                loop: loop, host: address.host, port: address.port, limits: .default, logger: listenerLogger
            ) {
                request in router.respond(to: request)
            }
            statusListenerAlert = nil
            logger.info(
                "status listener ready",
                metadata: ["address": "\(address)", "try": "curl http://\(address)/healthz"])
            if !address.isLoopback {
                logger.notice(
                    "the status listener is not on loopback: anyone who reaches \(address) sees the services and the config",
                    metadata: ["setting": "PROXYM_STATUS_ADDRESS"])
            }
        } catch {
            statusListenerAlert = "status listener off (cannot listen on \(address): \(error))"
            logger.error(
                "cannot start the status listener; running without it",
                metadata: ["address": "\(address)", "error": "\(error)", "setting": "PROXYM_STATUS_ADDRESS"])
            updateAlerts()
        }
    }

    /// The port the status listener bound (tests), nil when it is off.
    public var statusPort: UInt16? { statusServer?.port }

    /// Everything the status endpoints say, as it is now.
    public func snapshot() -> StatusSnapshot {
        updateAlerts()
        return StatusSnapshot(
            version: ProxymVersion.string, now: SourceRecord.moment(on: loop), startedAt: startedAt, ready: isReady,
            sources: sourceStates, serviceCount: status.serviceCount, skippedServices: status.skippedServices,
            refreshes: recentRefreshes.records, held: held, outputs: outputs.compactMap(\.observation),
            statusLine: status.line, alerts: statusListenerAlert.map { [$0] } ?? [])
    }

    /// /metrics: the daemon's own families, then the sources' and the outputs'.
    func metricFamilies(_ snapshot: StatusSnapshot, verdict: HealthVerdict) -> [MetricFamily] {
        StatusMetrics.families(
            snapshot, verdict: verdict, refresh: refreshMetrics, serverCount: serverCount, patience: Self.stalePatience,
            extra: sources.flatMap(\.metricFamilies) + outputs.flatMap(\.metricFamilies))
    }

    /// /api/v1/services: the last plan's services, and what the sources and the merge skipped.
    func servicesDocument() -> String {
        let merge = mergeProblems.map { entry in
            SkippedInput(
                source: entry.problem.source, item: entry.problem.serviceID,
                reason: (entry.problem.severity == .error ? "not routed (merge): " : "warning (merge): ") + entry.problem.reason)
        }
        return ServicesReport.render(
            services: plannedServices, skipped: sources.flatMap(\.skipped) + merge, httpPort: settings.haproxy.httpPort,
            time: WallClock.now().seconds)
    }

    /// One word for how a refresh ended.
    static func result(of outcomes: [ApplyOutcome], held: Bool) -> RefreshResult {
        if held { return .held }
        if outcomes.contains(where: { !$0.isSuccess }) { return .failed }
        if outcomes.contains(where: { if case .applied = $0 { return true } else { return false } }) { return .applied }
        return .unchanged
    }
}
