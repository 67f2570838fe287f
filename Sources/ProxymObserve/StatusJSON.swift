import ProxymCore

/// `GET /api/v1/status` and `GET /healthz`, rendered from a snapshot.
public enum StatusJSON {
    /// The status document (README "Status listener" lists its fields).
    public static func render(_ snapshot: StatusSnapshot, verdict: HealthVerdict, patience: Duration = .seconds(5))
        -> String
    {
        var out = JSONText()
        let now = snapshot.now
        out.object { o in
            o.field("version", snapshot.version)
            o.field("time", now.unixSeconds)
            o.field("startedAt", snapshot.startedAt.unixSeconds)
            o.field("uptimeSeconds", seconds(now.instant - snapshot.startedAt.instant))
            o.field("ready", snapshot.ready)
            o.field("healthy", verdict.healthy)
            o.field("problems", strings: verdict.reasons)
            o.field("warnings", strings: verdict.warnings)
            o.field("statusLine", snapshot.statusLine)
            o.field("services", snapshot.serviceCount)
            o.field("skippedServices", snapshot.skippedServices)
            o.key("sources")
            o.array { a in
                for source in snapshot.sources { a.object { sourceFields(source, now: now, patience: patience, &$0) } }
            }
            o.key("refreshes")
            o.array { a in
                for record in snapshot.refreshes.reversed() {
                    a.object { r in
                        r.field("trigger", record.trigger)
                        r.field("startedAt", record.startedAt.unixSeconds)
                        r.field("durationSeconds", seconds(record.duration))
                        r.field("result", record.result.rawValue)
                        r.field("outcome", record.outcome)
                        r.field("services", record.serviceCount)
                    }
                }
            }
            o.key("held")
            if let held = snapshot.held {
                o.object { h in
                    h.field("reason", held.reason)
                    h.field("since", held.since.unixSeconds)
                }
            } else {
                o.null()
            }
            o.key("outputs")
            o.array { a in
                for output in snapshot.outputs {
                    a.object { p in
                        p.field("name", output.name)
                        p.field("method", output.method)
                        p.key("pids")
                        p.array { list in for pid in output.pids { list.int(Int(pid)) } }
                        p.field("problem", output.problem)
                        p.field("reloads", output.reloads)
                        p.field("runtimeApplies", output.runtimeApplies)
                        p.field("lastReload", output.lastReload?.unixSeconds)
                        p.field("lastApplyOutcome", output.lastApplyOutcome)
                        p.field("consecutiveFailures", output.consecutiveFailures)
                        p.field("configBytes", output.configBytes.map(Int64.init))
                        p.field("notes", strings: output.notes)
                    }
                }
            }
        }
        return out.text + "\n"
    }

    static func sourceFields(_ source: SourceState, now: Moment, patience: Duration, _ s: inout JSONText) {
        let stale = source.staleSince(at: now.instant, patience: patience)
        let state: String
        switch source.health {
        case .starting: state = stale == nil ? "starting" : "stale"
        case .ok: state = stale == nil ? "ok" : "stale"
        case .failing: state = "failing"
        }
        s.field("name", source.name)
        s.field("state", state)
        s.field("services", source.serviceCount)
        s.field("lastSuccess", source.lastSuccess?.unixSeconds)
        s.field("lastError", source.failure?.error)
        s.field("failingSince", source.failure?.since.unixSeconds)
        s.field("readingSince", source.fetchingSince?.unixSeconds)
        s.field("staleSince", stale?.unixSeconds)
        s.field("stalenessSeconds", stale.map { seconds(now.instant - $0.instant) })
        s.field("note", source.note)
    }

    /// `/healthz`: `ok` or `unhealthy` and one reason a line (warnings after `note:`).
    public static func healthText(_ verdict: HealthVerdict) -> String {
        var lines = [verdict.healthy ? "ok" : "unhealthy"]
        lines += verdict.reasons
        lines += verdict.warnings.map { "note: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func seconds(_ duration: Duration) -> Double {
        let c = duration.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
