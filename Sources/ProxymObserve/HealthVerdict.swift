import ProxymCore

/// `/healthz` and `proxym status`'s exit status: healthy while the loop runs and the last apply is
/// good; unhealthy, with every reason, when the daemon has not finished its first refresh, a source
/// has been stale (failing, or a read running) for longer than `staleAfter`, an output is down
/// (haproxy died), or applies keep failing.
public struct HealthVerdict: Sendable, Equatable {
    public var healthy: Bool { reasons.isEmpty }
    /// Each phrased for a person, e.g. `marathon: stale for 3m (connection refused)`.
    public var reasons: [String]
    /// Not unhealthy but worth saying (a held refresh, a source stale for less than the threshold).
    public var warnings: [String]

    /// Applies failing this many times in a row make the daemon unhealthy (one failure is retried).
    public static let failedAppliesLimit = 2

    public init(reasons: [String], warnings: [String] = []) {
        self.reasons = reasons
        self.warnings = warnings
    }

    public static func evaluate(_ snapshot: StatusSnapshot, staleAfter: Duration, patience: Duration = .seconds(5))
        -> HealthVerdict
    {
        var reasons: [String] = []
        var warnings: [String] = []
        if !snapshot.ready { reasons.append("starting: the first refresh has not finished") }
        for source in snapshot.sources {
            if let note = source.note { warnings.append("\(source.name): \(note)") }
            guard let since = source.staleSince(at: snapshot.now.instant, patience: patience) else {
                if !source.hasAnswered && snapshot.ready { warnings.append("\(source.name): no answer yet") }
                continue
            }
            let age = snapshot.now.instant - since.instant
            var text = "\(source.name): stale for \(Self.format(age))"
            if let failure = source.failure { text += " (\(failure.error))" } else { text += " (a read is still running)" }
            if age > staleAfter { reasons.append(text) } else { warnings.append(text) }
        }
        for output in snapshot.outputs {
            if let problem = output.problem { reasons.append("\(output.name): \(problem)") }
            if output.consecutiveFailures >= failedAppliesLimit {
                reasons.append(
                    "\(output.name): the last \(output.consecutiveFailures) applies failed"
                        + (output.lastApplyOutcome.map { " (\($0))" } ?? ""))
            } else if output.consecutiveFailures > 0 {
                warnings.append("\(output.name): the last apply failed" + (output.lastApplyOutcome.map { " (\($0))" } ?? ""))
            }
        }
        if let held = snapshot.held { warnings.append("refresh held by the safety guard: \(held.reason)") }
        warnings += snapshot.alerts
        return HealthVerdict(reasons: reasons, warnings: warnings)
    }

    /// `45s`, `3m 20s`, `2h 5m`, `1d 3h`: how long, for a person.
    public static func format(_ duration: Duration) -> String {
        let seconds = max(0, duration.components.seconds)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" + (seconds % 60 == 0 ? "" : " \(seconds % 60)s") }
        if seconds < 86_400 { return "\(seconds / 3600)h" + (seconds % 3600 / 60 == 0 ? "" : " \(seconds % 3600 / 60)m") }
        return "\(seconds / 86_400)d" + (seconds % 86_400 / 3600 == 0 ? "" : " \(seconds % 86_400 / 3600)h")
    }
}
