import Logging
import ProxymCore
import ProxymGenerators
import ProxymJSON
import ProxymModel
import ProxymObserve

/// The Marathon module.
///
/// As a source it keeps the services of its last good snapshot, `GET /v2/apps?embed=apps.tasks`
/// (falling back to `/v2/apps` + `/v2/tasks` where that fails), mapped to services: only running
/// tasks, healthy ones for apps with health checks. It fetches on its own, asynchronously, one fetch
/// at a time: events are coalesced over the quiet period (Marathon sends them in bursts, and every
/// fetch is a whole snapshot, costly for Marathon's leader at scale, so here there is no leading
/// edge), events during a fetch give one more fetch after it (a `RefreshScheduler`); its answer is
/// applied at once by the daemon's leading-edge refresh. A Marathon that is
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
    private let options: MarathonOptions
    private let loop: EventLoop
    private let logger: Logger
    private let client: HTTPClient
    let api: MarathonAPI
    private let record: SourceRecord

    private var health = MarathonHealthMemory()
    /// What the last good snapshot weighed: the next reads' limits derive from it.
    private var bodyLimits = BodyLimits()
    private var snapshotGuard = MarathonSnapshotGuard()
    private var lastProblems: Set<String> = []

    private let fetches: ScheduledRuns
    private var resyncTimer: EventLoop.TimerHandle?
    private var retryTimer: EventLoop.TimerHandle?
    private var retryBackoff = Backoff(initial: .seconds(1), cap: .seconds(60))
    private var events: MarathonEvents?
    private var stopped = false

    /// `refresh`: how events coalesce into fetches (the quiet period and max delay of refreshes).
    public init(
        settings: Settings.Marathon, httpPort: UInt16, refresh: Settings.Refresh, loop: EventLoop, logger: Logger
    ) throws {
        self.settings = settings
        self.options = MarathonOptions(
            domainStrategy: settings.domainStrategy, httpPort: httpPort, group: settings.group,
            allowLabelConfig: settings.labelConfig, strict: settings.strict)
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "marathon"
        self.logger = logger
        self.client = try HTTPClient(loop: loop, logger: logger)
        self.api = MarathonAPI(settings: settings, client: client, logger: logger)
        self.record = SourceRecord(name: "marathon", loop: loop, logger: logger)
        self.fetches = ScheduledRuns(
            RefreshScheduler(quietPeriod: refresh.quietPeriod, maxDelay: refresh.maxDelay, leadingEdge: false), loop: loop)
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
        guard let events else { return [] }
        var out = [
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
                [weak self] reason in self?.requestFetch(reason)
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
        for timer in [resyncTimer, retryTimer].compactMap({ $0 }) { loop.cancel(timer) }
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

    private func requestFetch(_ reason: RefreshReason, immediate: Bool = false) {
        guard !stopped else { return }
        logger.debug("Marathon change noticed", metadata: ["reason": "\(reason)"])
        fetches.request(reason, immediate: immediate)
    }

    private func fetch(_ batch: RefreshScheduler.Batch) {
        let begun = record.readBegan(batch.reasons, count: batch.requestCount)
        generate(fullResync: batch.forcesFullResync) { [weak self] result in
            guard let self, !self.stopped else { return }
            switch result {
            case .success(let services):
                self.record.succeeded(
                    services, listChanged: true, reasons: batch.reasons, count: batch.requestCount, begun: begun)
            case .failure(let failure):
                self.record.failed(failure.message, reasons: batch.reasons, count: batch.requestCount, begun: begun)
            }
            self.fetches.finished()
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
                self.health = fetched.health
                let mapping = fetched.mapping
                self.logProblems(fetched.problems + mapping.problems, fullResync: fullResync)
                var services = mapping.services
                if !mapping.configLines.isEmpty {
                    for index in services.indices {
                        services[index].configLines = mapping.configLines[services[index].id] ?? []
                    }
                }
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

    /// One read of Marathon, mapped: the services and the health memory to keep if it is used.
    struct Fetched {
        var appCount: Int
        /// Apps (or tasks) the decoder left out.
        var problems: [String]
        var mapping: MarathonMapping
        var health: MarathonHealthMemory
    }

    /// `/v2/apps?embed=apps.tasks`, decoded and mapped app by app while it arrives (the body and the
    /// decoded apps are never held whole); else `/v2/apps` + `/v2/tasks`.
    private func fetchServices(completion: @escaping (Result<Fetched, MarathonAPI.Failure>) -> Void) {
        let limits = bodyLimits
        var decoder = MarathonAppsStream(limits: JSONLimits(maxBytes: limits.streamedBody), maxAppBytes: limits.app)
        var builder = MarathonMapper.Builder(options: options, health: health)
        var decodeError: MarathonDecodeError?
        api.stream(
            "/v2/apps?embed=apps.tasks", wants: { $0 == 200 },
            onData: { bytes in
                do throws(MarathonDecodeError) {
                    try decoder.feed(bytes) { builder.add($0) }
                    return true
                } catch {
                    decodeError = error
                    return false
                }
            },
            completion: { [weak self] result in
                guard let self else { return }
                switch result {
                case .failure(let failure) where failure.reachedServer:
                    // A 5xx from every server, or a body cut short or too slow: the big embedded body may
                    // be what fails (Marathon serialising thousands of tasks), so ask for the two halves.
                    self.logger.warning(
                        "Marathon's /v2/apps?embed=apps.tasks failed; trying /v2/apps + /v2/tasks",
                        metadata: ["error": "\(failure.message)"])
                    self.fetchSeparately(completion: completion)
                case .failure(let failure):
                    completion(.failure(failure))
                case .success(let end) where end.status == 200:
                    if decodeError == nil {
                        do throws(MarathonDecodeError) {
                            try decoder.finish { builder.add($0) }
                        } catch {
                            decodeError = error
                        }
                    }
                    if let decodeError {
                        self.logger.warning(
                            "Marathon's /v2/apps?embed=apps.tasks was unusable; trying /v2/apps + /v2/tasks",
                            metadata: ["error": "\(decodeError)"])
                        self.fetchSeparately(completion: completion)
                        return
                    }
                    let (mapping, health) = builder.finish()
                    let fetched = Fetched(
                        appCount: decoder.appCount, problems: decoder.problems, mapping: mapping, health: health)
                    self.bodyLimits.learn(bodyBytes: decoder.byteCount, largestApp: decoder.largestAppBytes)
                    // The transfer holding these closures outlives this call: let go of the decoder's
                    // buffer and the old health memory now, not after the whole refresh.
                    decoder = MarathonAppsStream()
                    builder = MarathonMapper.Builder(options: self.options, health: MarathonHealthMemory())
                    completion(.success(fetched))
                case .success(let end):
                    self.logger.warning(
                        "Marathon's /v2/apps?embed=apps.tasks failed; trying /v2/apps + /v2/tasks",
                        metadata: ["status": "\(end.status)", "body": "\(Self.excerpt(end.excerpt))"])
                    self.fetchSeparately(completion: completion)
                }
            })
    }

    /// The fallback pair, decoded whole, mapped like the stream.
    private func fetchSeparately(completion: @escaping (Result<Fetched, MarathonAPI.Failure>) -> Void) {
        fetchSnapshotSeparately { [weak self] result in
            guard let self else { return }
            completion(
                result.map { snapshot in
                    var builder = MarathonMapper.Builder(
                        options: self.options, health: self.health, expectedApps: snapshot.apps.count)
                    for app in snapshot.apps { builder.add(app) }
                    let (mapping, health) = builder.finish()
                    return Fetched(
                        appCount: snapshot.apps.count, problems: snapshot.problems, mapping: mapping, health: health)
                })
        }
    }

    private func fetchSnapshotSeparately(completion: @escaping (Result<MarathonSnapshot, MarathonAPI.Failure>) -> Void) {
        // Each half is held whole: bounded by what the last good snapshot weighed.
        let limit = bodyLimits.bufferedHalf
        api.send(.get, "/v2/apps", maxBodySize: limit) { [weak self] apps in
            guard let self else { return }
            guard case .success(let appsResponse) = apps, appsResponse.status == 200 else {
                completion(.failure(Self.describe(apps, "/v2/apps")))
                return
            }
            self.api.send(.get, "/v2/tasks", maxBodySize: limit) { [weak self] tasks in
                guard case .success(let tasksResponse) = tasks, tasksResponse.status == 200 else {
                    completion(.failure(Self.describe(tasks, "/v2/tasks")))
                    return
                }
                do {
                    let snapshot = try MarathonApps.decode(apps: appsResponse.body, tasks: tasksResponse.body)
                    self?.bodyLimits.learn(bodyBytes: appsResponse.body.count + tasksResponse.body.count, largestApp: nil)
                    completion(.success(snapshot))
                } catch {
                    completion(.failure(MarathonAPI.Failure(message: "invalid answer from Marathon: \(error)")))
                }
            }
        }
    }

    /// Limits of Marathon's answers, derived from the last good snapshot (`growth` times what it
    /// weighed), with floors for the first read (and for a Marathon that grows fast):
    /// - the streamed `/v2/apps?embed=apps.tasks` body: at least 64 MiB in all (it costs time, not
    ///   memory: only the app still arriving is held), and at least 8 MiB for that one app;
    /// - the `/v2/apps` + `/v2/tasks` fallback, each held whole: at least 8 MiB each.
    /// Whatever Marathon sends (an endless body, one endless app), proxym holds a few times these.
    struct BodyLimits {
        static let growth = 4
        static let streamedFloor = 64 << 20
        static let appFloor = 8 << 20
        static let bufferedFloor = 8 << 20

        private var lastBody = 0
        private var lastLargestApp = 0

        var streamedBody: Int { max(Self.streamedFloor, Self.growth * lastBody) }
        var app: Int { max(Self.appFloor, Self.growth * lastLargestApp) }
        var bufferedHalf: Int { max(Self.bufferedFloor, Self.growth * lastBody) }

        /// A good snapshot weighed `bodyBytes` (its largest app `largestApp`, when known).
        mutating func learn(bodyBytes: Int, largestApp: Int?) {
            lastBody = bodyBytes
            if let largestApp { lastLargestApp = largestApp }
        }
    }

    private static func describe(_ result: Result<HTTPClient.Response, MarathonAPI.Failure>, _ path: String)
        -> MarathonAPI.Failure
    {
        switch result {
        case .failure(let failure): return failure
        case .success(let response):
            return MarathonAPI.Failure(message: "\(path): HTTP \(response.status) \(excerpt(response.body))")
        }
    }

    /// The first bytes of a body, printable, for a log line.
    static func excerpt(_ body: [UInt8], limit: Int = 200) -> String {
        ValidationError.escaped(String(decoding: body.prefix(limit), as: UTF8.self), limit: limit)
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
