/// What `systemctl status proxym` shows (sd_notify `STATUS=`): one line a person can read.
///
/// `12 services (file 12); last refresh 14:03:22: applied, haproxy reloaded`
/// `12 services (file 12, marathon 0); last refresh 14:03:22: unchanged; FAILING: marathon (connection refused) since 14:01:07, keeping 8 last good services`
/// `20 services (file 12, marathon 8); last refresh 14:03:22: applied, haproxy reloaded; STALE: marathon (no answer since 14:03:10), keeping 8 last good services`
public struct StatusReport: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        public var name: String
        public var serviceCount: Int
        /// Set while the source's last attempt failed.
        public var failure: String?
        public var failingSince: String?
        /// Inputs the source refused while still working, e.g. `2 invalid files: a.json, b.json`.
        public var note: String?
        /// Set while a read has been running for long (no answer since then), e.g. a hanging Marathon.
        public var staleSince: String?

        public init(
            name: String, serviceCount: Int, failure: String? = nil, failingSince: String? = nil, note: String? = nil,
            staleSince: String? = nil
        ) {
            self.name = name
            self.serviceCount = serviceCount
            self.failure = failure
            self.failingSince = failingSince
            self.note = note
            self.staleSince = staleSince
        }
    }

    public var serviceCount: Int
    public var sources: [Source]
    /// Wall-clock time of the last finished refresh, `HH:MM:SS`.
    public var lastRefresh: String?
    /// `applied, haproxy reloaded` / `unchanged` / `FAILED: haproxy -c rejected the config`.
    public var lastOutcome: String?
    /// Services dropped by the merge (conflicts) in the last refresh.
    public var skippedServices: Int
    /// Conditions outside any one refresh, each already phrased for a person: a refresh held by the
    /// safety guard, haproxy down, ... Shown after everything else.
    public var alerts: [String] = []

    public init(
        serviceCount: Int, sources: [Source], lastRefresh: String? = nil, lastOutcome: String? = nil,
        skippedServices: Int = 0
    ) {
        self.serviceCount = serviceCount
        self.sources = sources
        self.lastRefresh = lastRefresh
        self.lastOutcome = lastOutcome
        self.skippedServices = skippedServices
    }

    public var line: String {
        var parts: [String] = []
        let perSource = sources.map { "\($0.name) \($0.serviceCount)" }.joined(separator: ", ")
        parts.append("\(serviceCount) service\(serviceCount == 1 ? "" : "s")" + (perSource.isEmpty ? "" : " (\(perSource))"))
        if let lastRefresh {
            parts.append("last refresh \(lastRefresh)" + (lastOutcome.map { ": \($0)" } ?? ""))
        } else {
            parts.append("starting")
        }
        for source in sources {
            if let note = source.note { parts.append("\(source.name): \(note)") }
        }
        if skippedServices > 0 {
            parts.append("\(skippedServices) service\(skippedServices == 1 ? "" : "s") skipped (see log)")
        }
        for source in sources {
            guard let since = source.staleSince, source.failure == nil else { continue }
            var text = "STALE: \(source.name) (no answer since \(since))"
            if source.serviceCount > 0 {
                text += ", keeping \(source.serviceCount) last good service\(source.serviceCount == 1 ? "" : "s")"
            }
            parts.append(text)
        }
        for source in sources {
            guard let failure = source.failure else { continue }
            var text = "FAILING: \(source.name) (\(failure))"
            if let since = source.failingSince { text += " since \(since)" }
            if source.serviceCount > 0 {
                text += ", keeping \(source.serviceCount) last good service\(source.serviceCount == 1 ? "" : "s")"
            }
            parts.append(text)
        }
        parts += alerts
        return parts.joined(separator: "; ")
    }
}
