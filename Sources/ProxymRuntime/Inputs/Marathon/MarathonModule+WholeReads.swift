import Logging
import ProxymCore
import ProxymGenerators
import ProxymJSON
import ProxymModel
import ProxymObserve

// MARK: - Whole reads: /v2/apps with tasks embedded, or /v2/apps + /v2/tasks, within body limits

extension MarathonModule {
    /// One read of Marathon, mapped app by app (the kept state is replaced by it if it is used).
    struct Fetched {
        var appCount: Int
        /// Apps (or tasks) the decoder left out.
        var problems: [String]
        var snapshot: MarathonKeptApps.Snapshot
    }

    /// The apps with their tasks, and the readiness results of apps being deployed (a task that
    /// reports not ready is not routed).
    public static let appsPath = "/v2/apps?embed=apps.tasks&embed=apps.readiness"

    /// `/v2/apps?embed=apps.tasks`, decoded and mapped app by app while it arrives (the body and the
    /// decoded apps are never held whole); else `/v2/apps` + `/v2/tasks`.
    func fetchServices(completion: @escaping (Result<Fetched, MarathonAPI.Failure>) -> Void) {
        let limits = bodyLimits
        var decoder = MarathonAppsStream(limits: JSONLimits(maxBytes: limits.streamedBody), maxAppBytes: limits.app)
        var builder = kept.snapshot()
        var decodeError: MarathonDecodeError?
        api.stream(
            Self.appsPath, wants: { $0 == 200 },
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
                    let fetched = Fetched(appCount: decoder.appCount, problems: decoder.problems, snapshot: builder)
                    self.bodyLimits.learn(bodyBytes: decoder.byteCount, largestApp: decoder.largestAppBytes)
                    // The transfer holding these closures outlives this call: let go of the decoder's
                    // buffer and the snapshot now, not after the whole refresh.
                    decoder = MarathonAppsStream()
                    builder = MarathonKeptApps(options: self.options).snapshot()
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
    func fetchSeparately(completion: @escaping (Result<Fetched, MarathonAPI.Failure>) -> Void) {
        fetchSnapshotSeparately { [weak self] result in
            guard let self else { return }
            completion(
                result.map { snapshot in
                    var builder = self.kept.snapshot()
                    for app in snapshot.apps { builder.add(app) }
                    return Fetched(appCount: snapshot.apps.count, problems: snapshot.problems, snapshot: builder)
                })
        }
    }

    func fetchSnapshotSeparately(completion: @escaping (Result<MarathonSnapshot, MarathonAPI.Failure>) -> Void) {
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
}
