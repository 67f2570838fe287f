import ProxymCore

/// Everything the status endpoints say, as one value the daemon assembles on request (from its
/// sources' `SourceState`s, its refresh history and its outputs) and pure code turns into JSON,
/// a health verdict, metrics and `proxym status` lines. Times are Unix seconds (wall clock);
/// durations seconds. Nothing here may carry a credential, a label's value or the environment.
public struct StatusSnapshot: Sendable, Equatable {
    public var version: String
    /// When the snapshot was taken.
    public var now: Moment
    /// When the daemon started (for uptime).
    public var startedAt: Moment
    /// The first refresh finished (READY=1 sent).
    public var ready: Bool
    public var sources: [SourceState]
    /// Services in the last plan, and how many the merge dropped.
    public var serviceCount: Int
    public var skippedServices: Int
    /// Oldest first.
    public var refreshes: [RefreshRecord]
    /// A refresh the safety guard holds back.
    public var held: Held?
    public var outputs: [OutputObservation]
    /// The STATUS= line systemd shows.
    public var statusLine: String
    /// Conditions outside any source or output (the status listener itself, ...), phrased for a person.
    public var alerts: [String]

    public struct Held: Sendable, Equatable {
        public var reason: String
        public var since: Moment
        public init(reason: String, since: Moment) {
            self.reason = reason
            self.since = since
        }
    }

    public init(
        version: String, now: Moment, startedAt: Moment, ready: Bool, sources: [SourceState], serviceCount: Int,
        skippedServices: Int, refreshes: [RefreshRecord], held: Held? = nil, outputs: [OutputObservation] = [],
        statusLine: String = "", alerts: [String] = []
    ) {
        self.version = version
        self.now = now
        self.startedAt = startedAt
        self.ready = ready
        self.sources = sources
        self.serviceCount = serviceCount
        self.skippedServices = skippedServices
        self.refreshes = refreshes
        self.held = held
        self.outputs = outputs
        self.statusLine = statusLine
        self.alerts = alerts
    }
}

/// What an output (the HAProxy module) says about itself for the status endpoints.
public struct OutputObservation: Sendable, Equatable {
    public var name: String
    /// `sf`, `master-worker`, `command`, `none`.
    public var method: String
    /// The haproxy processes it knows of (pid file, master's workers); empty when unknown.
    public var pids: [Int32]
    /// What is wrong outside any apply (haproxy down, restarting), nil when all is well.
    public var problem: String?
    /// Reloads (or starts) of haproxy by this process, and changes applied through the Runtime API alone.
    public var reloads: Int
    public var runtimeApplies: Int
    public var lastReload: Moment?
    /// The outcome of the last apply that did something (`applied, haproxy reloaded`, `FAILED: ...`).
    public var lastApplyOutcome: String?
    /// Applies failed in a row (0 after a success).
    public var consecutiveFailures: Int
    /// Size of the live config, bytes; nil before the first apply.
    public var configBytes: Int?
    /// Notes about its own inputs (certificates refused, ACME orders failing).
    public var notes: [String]

    public init(
        name: String, method: String, pids: [Int32] = [], problem: String? = nil, reloads: Int = 0,
        runtimeApplies: Int = 0, lastReload: Moment? = nil, lastApplyOutcome: String? = nil,
        consecutiveFailures: Int = 0, configBytes: Int? = nil, notes: [String] = []
    ) {
        self.name = name
        self.method = method
        self.pids = pids
        self.problem = problem
        self.reloads = reloads
        self.runtimeApplies = runtimeApplies
        self.lastReload = lastReload
        self.lastApplyOutcome = lastApplyOutcome
        self.consecutiveFailures = consecutiveFailures
        self.configBytes = configBytes
        self.notes = notes
    }
}
