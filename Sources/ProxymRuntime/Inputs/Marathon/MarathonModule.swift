import Logging
import ProxymCore
import ProxymGenerators
import ProxymJSON
import ProxymModel
import ProxymObserve

/// The Marathon module.
///
/// As a source it keeps its own state app by app (``MarathonKeptApps``): a whole snapshot,
/// `GET /v2/apps?embed=apps.tasks` (falling back to `/v2/apps` + `/v2/tasks` where that fails), at
/// start, on every (re)connect, on events that name no app, on SIGHUP and every resync interval; and
/// for an event that names an app, that app only, `GET /v2/apps/<id>?embed=app.tasks` (a 404 removes
/// it). Apps map to services: only running tasks, healthy ones for apps with health checks. Each
/// whole snapshot is compared with the state kept from events: a difference is a WARNING, and the
/// snapshot wins. It fetches on its own, asynchronously, one fetch at a time (a `RefreshScheduler`:
/// the first event after a quiet spell at once, what follows coalesced over the quiet period, events
/// during a fetch give one more fetch after it); its answer is applied at once by the daemon's
/// leading-edge refresh. With `PROXYM_MARATHON_INCREMENTAL=0` every event reads a whole snapshot,
/// after the quiet period (no leading edge: a whole snapshot is costly for Marathon's leader). A Marathon that is
/// down, slow, dripping or lying (an error, a truncated or invalid body, an empty app list right
/// after a leader election) costs nothing else: its last good services stay, every other source
/// goes on being applied, and it retries with backoff.
///
/// It learns of changes from Marathon's event bus: HTTP callbacks (Marathon 0.x-1.4) or Server-Sent
/// Events (`/v2/events`, 0.9+; the only way from 1.5), chosen by `PROXYM_MARATHON_EVENTS` (`auto`
/// asks `/v2/info`), plus a periodic whole resync as a safety net.
public final class MarathonModule: ServiceSource {
    public let name = "marathon"

    private let settings: Settings.Marathon
    let options: MarathonOptions
    let loop: EventLoop
    let logger: Logger
    private let client: HTTPClient
    let api: MarathonAPI
    private let record: SourceRecord

    /// The state kept app by app; `loaded` once a whole snapshot was applied.
    var kept: MarathonKeptApps
    private var loaded = false
    /// Apps named by events since the last fetch began, and whether something asked for everything.
    private var pendingApps: Set<String> = []
    var pendingWhole = false
    /// Apps named by events while a whole snapshot was being read (it may or may not show them yet).
    private var namedDuringSnapshot: Set<String>?
    /// More apps than this pending at once: read a whole snapshot instead.
    static let maxAppsPerFetch = 64
    /// App reads in flight at once.
    static let parallelAppReads = 4
    private var wholeReads = 0
    var appReads = 0
    private var differencesFound = 0
    /// Apps a whole read found different from the kept state, and since when. An event naming the
    /// app within `lateEventGrace` means its event was only on its way (no WARNING); otherwise the
    /// event was lost: one WARNING, counted. Either way the whole read won at once.
    private var suspects: [String: Instant] = [:]
    private var suspectTimer: EventLoop.TimerHandle?
    static let lateEventGrace: Duration = .seconds(2)
    /// What the last good snapshot weighed: the next reads' limits derive from it.
    var bodyLimits = BodyLimits()
    private var snapshotGuard = MarathonSnapshotGuard()
    var lastProblems: Set<String> = []

    let fetches: ScheduledRuns
    private var resyncTimer: EventLoop.TimerHandle?
    private var retryTimer: EventLoop.TimerHandle?
    private var retryBackoff = Backoff(initial: .seconds(1), cap: .seconds(60))
    private var events: MarathonEvents?
    var stopped = false

    /// `refresh`: how events coalesce into fetches (the quiet period and max delay of refreshes).
    public init(
        settings: Settings.Marathon, httpPort: UInt16, refresh: Settings.Refresh, loop: EventLoop, logger: Logger
    ) throws {
        self.settings = settings
        self.options = MarathonOptions(
            domainStrategy: settings.domainStrategy, httpPort: httpPort, group: settings.group,
            allowLabelConfig: settings.labelConfig, strict: settings.strict,
            bindVhostPorts: settings.bindVhostPorts)
        self.kept = MarathonKeptApps(options: options)
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "marathon"
        self.logger = logger
        self.client = try HTTPClient(loop: loop, logger: logger)
        self.api = MarathonAPI(settings: settings, client: client, logger: logger)
        self.record = SourceRecord(name: "marathon", loop: loop, logger: logger)
        self.fetches = ScheduledRuns(
            RefreshScheduler(
                quietPeriod: refresh.quietPeriod, maxDelay: refresh.maxDelay, leadingEdge: settings.incremental),
            loop: loop)
        fetches.start = { [weak self] batch in self?.fetch(batch) }
    }

    public var services: [Service] { record.services }
    public var state: SourceState { record.state }

    /// Apps and tasks the last read skipped, and why (for /api/v1/services).
    public var skipped: [SkippedInput] {
        lastProblems.sorted().map { SkippedInput(source: name, item: "", reason: $0) }
    }

    /// Events by type, and whether the event stream is connected (SSE mode only).
    public var metricFamilies: [MetricFamily] {
        var out = [
            MetricFamily(
                "proxym_marathon_reads_total", .counter,
                "Reads of Marathon: whole (every app) or app (one app, for an event that names it).",
                [.init(labels: [("kind", "whole")], value: Double(wholeReads)), .init(labels: [("kind", "app")], value: Double(appReads))]),
            .single(
                "proxym_marathon_resync_differences_total", .counter,
                "Apps a whole read found different from the state kept from events (each also a WARNING).",
                Double(differencesFound)),
        ]
        guard let events else { return out }
        out += [
            MetricFamily(
                "proxym_marathon_events_total", .counter, "Marathon events received (event stream or callbacks), by type.",
                events.eventCounts.sorted { $0.key < $1.key }.map { .init(labels: [("type", $0.key)], value: Double($0.value)) })
        ]
        if events.usesStream {
            out.append(
                .single(
                    "proxym_marathon_event_stream_connected", .gauge, "1 while Marathon's event stream is connected.",
                    events.streamConnected ? 1 : 0))
        }
        return out
    }

    // MARK: ServiceSource

    public func start(watching: Bool, update: @escaping (SourceUpdate) -> Void) throws {
        record.update = update
        if watching {
            scheduleResync()
            let events = MarathonEvents(settings: settings, api: api, client: client, loop: loop, logger: logger) {
                [weak self] reason, app in self?.requestFetch(reason, app: app)
            }
            self.events = events
            try events.start()
        }
        requestFetch(.startup, immediate: true)
    }

    public func resync(_ reason: RefreshReason) {
        requestFetch(reason, immediate: true)
    }

    public func stop(done: @escaping () -> Void) {
        stopped = true
        record.update = nil
        for timer in [resyncTimer, retryTimer, suspectTimer].compactMap({ $0 }) { loop.cancel(timer) }
        resyncTimer = nil
        retryTimer = nil
        fetches.cancel()
        guard let events else {
            client.close()
            done()
            return
        }
        events.stop { [client] in
            client.close()
            done()
        }
    }

    private func scheduleResync() {
        resyncTimer = loop.schedule(after: settings.resyncInterval) { [weak self] in
            guard let self else { return }
            self.requestFetch(RefreshReason("periodic Marathon resync"))
            self.events?.resync()
            self.scheduleResync()
        }
    }

    /// A failed fetch is retried with backoff (the last good services stay meanwhile).
    private func scheduleRetry(_ why: String) {
        guard !stopped, events != nil, retryTimer == nil else { return }
        let delay = retryBackoff.take()
        logger.notice("will ask Marathon again", metadata: ["in": "\(delay)"])
        retryTimer = loop.schedule(after: delay) { [weak self] in
            self?.retryTimer = nil
            self?.requestFetch(RefreshReason("retry Marathon (\(why))"), immediate: true)
        }
    }

    // MARK: Fetching, one at a time

    /// `app`: the app an event names (only that app is read again); `nil`: everything.
    private func requestFetch(_ reason: RefreshReason, app: String? = nil, immediate: Bool = false) {
        guard !stopped else { return }
        logger.debug("Marathon change noticed", metadata: ["reason": "\(reason)"])
        if let app { suspects[app] = nil }
        if let app, settings.incremental {
            pendingApps.insert(app)
            namedDuringSnapshot?.insert(app)
        } else {
            pendingWhole = true
        }
        fetches.request(reason, immediate: immediate)
    }

    private func fetch(_ batch: RefreshScheduler.Batch) {
        let begun = record.readBegan(batch.reasons, count: batch.requestCount)
        let apps = pendingApps
        let whole = pendingWhole || !loaded || batch.forcesFullResync || apps.count > Self.maxAppsPerFetch
        pendingApps = []
        pendingWhole = false
        let done: (Result<[Service]?, GeneratorFailure>) -> Void = { [weak self] result in
            guard let self, !self.stopped else { return }
            self.namedDuringSnapshot = nil
            switch result {
            case .success(let services):
                self.record.succeeded(
                    services ?? [], listChanged: services != nil, reasons: batch.reasons, count: batch.requestCount,
                    begun: begun)
            case .failure(let failure):
                self.record.failed(failure.message, reasons: batch.reasons, count: batch.requestCount, begun: begun)
            }
            self.fetches.finished()
        }
        if whole {
            // Apps pending now are read by this snapshot; those named while it is read may or may not be.
            // Either way their events explain a difference from the kept state (it never saw those
            // events applied): not a lost event.
            namedDuringSnapshot = apps
            generate(fullResync: batch.forcesFullResync) { result in done(result.map { Optional($0) }) }
        } else {
            readApps(apps.sorted(), completion: done)
        }
    }

    /// One whole snapshot, mapped (asynchronous; `completion` runs on the loop, exactly once).
    func generate(fullResync: Bool, completion: @escaping (Result<[Service], GeneratorFailure>) -> Void) {
        let started = loop.now
        fetchServices { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.scheduleRetry("fetch failed")
                completion(.failure(GeneratorFailure(error.message)))
            case .success(let fetched):
                if case .holdBack(let why) = self.snapshotGuard.check(appCount: fetched.appCount) {
                    self.scheduleRetry("empty app list")
                    completion(.failure(GeneratorFailure(why)))
                    return
                }
                let named = self.namedDuringSnapshot ?? []
                self.namedDuringSnapshot = nil
                let wasLoaded = self.loaded
                let differing = self.kept.replace(with: fetched.snapshot, ignoring: named)
                self.loaded = true
                self.wholeReads += 1
                if wasLoaded && !differing.isEmpty {
                    for app in differing where self.suspects[app] == nil { self.suspects[app] = self.loop.now }
                    self.checkSuspects()
                }
                self.logProblems(fetched.problems + fetched.snapshot.problems + self.kept.problems, fullResync: fullResync)
                let services = self.kept.services
                self.retryBackoff.reset()
                if let retryTimer = self.retryTimer {
                    self.loop.cancel(retryTimer)
                    self.retryTimer = nil
                }
                self.logger.debug(
                    "Marathon snapshot",
                    metadata: [
                        "apps": "\(fetched.appCount)", "services": "\(services.count)",
                        "took": "\(self.loop.now - started)", "server": "\(self.api.currentServer)",
                    ])
                completion(.success(services))
            }
        }
    }

    /// Says which differences no late event explained (see `suspects`), once their grace is over.
    private func checkSuspects() {
        if let suspectTimer { loop.cancel(suspectTimer) }
        suspectTimer = nil
        let now = loop.now
        let lost = suspects.filter { now - $0.value >= Self.lateEventGrace }.keys.sorted()
        if !lost.isEmpty {
            for app in lost { suspects[app] = nil }
            differencesFound += lost.count
            let shown = lost.prefix(10).joined(separator: ", ")
            let more = lost.count > 10 ? " and \(lost.count - 10) more" : ""
            logger.warning(
                "Marathon's full read differed from the state kept from events and no event for these apps followed within \(Self.lateEventGrace): an event was lost; the full read won",
                metadata: ["apps": "\(shown)\(more)", "count": "\(lost.count)"])
        }
        guard let oldest = suspects.values.min(), !stopped else { return }
        suspectTimer = loop.schedule(at: oldest + Self.lateEventGrace) { [weak self] in
            self?.suspectTimer = nil
            self?.checkSuspects()
        }
    }

    /// Problems are logged when they appear (and again on a full resync), not on every refresh.
    private func logProblems(_ problems: [String], fullResync: Bool) {
        let current = Set(problems)
        for problem in problems where fullResync || !lastProblems.contains(problem) {
            logger.warning("\(problem)")
        }
        lastProblems = current
    }
}
