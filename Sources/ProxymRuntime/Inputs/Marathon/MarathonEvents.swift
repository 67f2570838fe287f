import Logging
import ProxymCore
import ProxymGenerators
import ProxymHTTP
import ProxymPosix

/// Learns from Marathon's event bus that something changed: by HTTP callbacks (Marathon 0.x-1.4,
/// registered with `POST /v2/eventSubscriptions`) or by Server-Sent Events (`GET /v2/events`, 0.9+,
/// the only way from 1.5). Events say *when* to refresh, and which app when they name one (the
/// Marathon source then re-reads that app only).
final class MarathonEvents {
    /// The event types worth a refresh (filters for `/v2/events`, and the callback check).
    static let types = MarathonEvent.refreshingTypes.sorted()

    private let settings: Settings.Marathon
    private let api: MarathonAPI
    private let client: HTTPClient
    private let loop: EventLoop
    private let logger: Logger
    /// A refreshing event: its reason, and the app it names (`nil`: re-read everything).
    private let notify: (RefreshReason, String?) -> Void

    private var stopped = false
    private var version: MarathonVersion?
    private var infoBackoff = Backoff()
    private var retryTimer: EventLoop.TimerHandle?

    // Callback mode
    private var server: HTTPServer?
    private var registered = false
    private var registerBackoff = Backoff()

    // SSE mode
    private var stream: HTTPClient.Transfer?
    private var streamBackoff = Backoff(initial: .seconds(1), cap: .seconds(30))
    private var parser = SSEParser()
    private(set) var streamConnected = false
    /// Events received, by type (for /metrics); the types are Marathon's, a bounded set, but at most
    /// `maxEventTypes` are kept apart (the rest count as `other`).
    private(set) var eventCounts: [String: Int] = [:]
    static let maxEventTypes = 64
    /// Deployments whose apps are remembered (plan id -> apps), oldest forgotten first.
    private var deploymentApps: [String: [String]] = [:]
    private var deploymentOrder: [String] = []
    static let maxDeployments = 64
    /// Whether the event stream is in use (vs callbacks), for /metrics.
    private(set) var usesStream = false

    /// No byte (not even Marathon's 10 s heartbeat) for this long means the stream is dead.
    static let heartbeatTimeout: Duration = .seconds(30)

    init(
        settings: Settings.Marathon, api: MarathonAPI, client: HTTPClient, loop: EventLoop, logger: Logger,
        notify: @escaping (RefreshReason, String?) -> Void
    ) {
        self.settings = settings
        self.api = api
        self.client = client
        self.loop = loop
        self.logger = logger
        self.notify = notify
    }

    /// Starts the configured mode. Callback mode binds its port here, so a port in use stops proxym
    /// with a clear error rather than silently receiving nothing.
    func start() throws {
        switch settings.events {
        case .callback:
            try startCallbacks()
        case .sse:
            askVersion { [weak self] in self?.connectStream() }
        case .auto:
            askVersion { [weak self] in self?.chooseMode() }
        }
    }

    func stop(done: @escaping () -> Void) {
        stopped = true
        if let retryTimer { loop.cancel(retryTimer) }
        retryTimer = nil
        stream?.cancel()
        stream = nil
        server?.close()
        server = nil
        guard registered, let callbackURL = settings.callbackURL else {
            done()
            return
        }
        // Unregister, briefly: a Marathon that is down must not hold up the stop.
        var request = api.makeRequest(.delete, server: api.current, path: Self.subscriptionPath(callbackURL))
        request.timeout = .seconds(2)
        request.connectTimeout = .seconds(1)
        client.send(request) { [logger] result in
            switch result {
            case .success(let response) where response.isSuccess:
                logger.info("callback unregistered from Marathon", metadata: ["url": "\(callbackURL)"])
            case .success(let response):
                logger.warning("Marathon refused to unregister the callback", metadata: ["status": "\(response.status)"])
            case .failure(let failure):
                logger.warning("could not unregister the callback", metadata: ["error": "\(failure.message)"])
            }
            done()
        }
    }

    // MARK: Version

    /// `/v2/info`, retried with backoff while Marathon cannot be reached.
    private func askVersion(then next: @escaping () -> Void) {
        api.send(.get, "/v2/info") { [weak self] result in
            guard let self, !self.stopped else { return }
            if case .success(let response) = result, response.status == 200,
                let info = try? MarathonInfo.decode(response.body)
            {
                self.version = info.version
                self.logger.info("Marathon", metadata: ["version": "\(info.version)", "server": "\(self.api.currentServer)"])
                next()
                return
            }
            let why: String
            switch result {
            case .failure(let failure): why = failure.message
            case .success(let response): why = "HTTP \(response.status) \(MarathonModule.excerpt(response.body))"
            }
            if self.settings.events == .sse {
                // SSE works without knowing the version (only the event filters need it).
                self.logger.warning("cannot read Marathon's version; streaming all events", metadata: ["error": "\(why)"])
                next()
                return
            }
            let delay = self.infoBackoff.take()
            self.logger.warning("cannot read Marathon's version", metadata: ["error": "\(why)", "retry_in": "\(delay)"])
            self.retry(after: delay) { self.askVersion(then: next) }
        }
    }

    private func chooseMode() {
        if let version, version.hasEventCallbacks, settings.callbackURL != nil {
            do {
                try startCallbacks()
            } catch {
                logger.error("cannot receive Marathon callbacks; using the event stream instead", metadata: ["error": "\(error)"])
                connectStream()
            }
        } else {
            connectStream()
        }
    }

    private func retry(after delay: Duration, _ action: @escaping () -> Void) {
        if let retryTimer { loop.cancel(retryTimer) }
        retryTimer = loop.schedule(after: delay) { [weak self] in
            guard let self, !self.stopped else { return }
            self.retryTimer = nil
            action()
        }
    }

    /// Called on every periodic resync: in callback mode, register again (harmless for Marathon), in
    /// case it lost its subscription list; otherwise callbacks would stop until proxym restarts.
    func resync() {
        guard server != nil, registered, retryTimer == nil else { return }
        register()
    }

    // MARK: Callbacks

    private func startCallbacks() throws {
        guard let callbackURL = settings.callbackURL else {
            throw GeneratorFailure(
                "Marathon callbacks need an address Marathon can reach: set PROXYM_MARATHON_HTTP_HOST to this host's address, or PROXYM_MARATHON_CALLBACK_URL"
            )
        }
        let endpoint = settings.endpoint
        let logger = self.logger
        server = try HTTPServer(
            loop: loop, host: settings.bindAddress, port: settings.httpPort, limits: .default, logger: logger
        ) {
            [weak self] request in
            guard request.path == endpoint else {
                return HTTPResponse(status: .notFound, text: "not found\n")
            }
            guard request.method == .post else {
                return HTTPResponse.methodNotAllowed(allowing: [.post])
            }
            // Answer at once (Marathon backs off from slow receivers); the refresh runs later.
            self?.received(body: request.body, via: "callback")
            return HTTPResponse(status: .ok, text: "ok\n")
        }
        logger.info(
            "receiving Marathon callbacks",
            metadata: ["listen": "\(settings.bindAddress ?? "*"):\(server!.port)", "url": "\(callbackURL)"])
        register()
    }

    /// `POST /v2/eventSubscriptions?callbackUrl=...`, retried with backoff until Marathon accepts.
    private func register() {
        guard let callbackURL = settings.callbackURL, !stopped else { return }
        api.send(.post, Self.subscriptionPath(callbackURL)) { [weak self] result in
            guard let self, !self.stopped else { return }
            switch result {
            case .success(let response) where response.isSuccess:
                self.registered = true
                self.registerBackoff.reset()
                self.logger.notice("callback registered with Marathon", metadata: ["url": "\(callbackURL)"])
                // Events before the registration were missed: resync once.
                self.notify(RefreshReason("Marathon callback registered"), nil)
            case .success(let response):
                let delay = self.registerBackoff.take()
                let hint =
                    response.status == 404
                    ? "Marathon 1.5+ has no callbacks: set PROXYM_MARATHON_EVENTS=sse (or auto)"
                    : "is Marathon started with --event_subscriber http_callback?"
                self.logger.error(
                    "Marathon refused the callback registration",
                    metadata: [
                        "status": "\(response.status)", "body": "\(MarathonModule.excerpt(response.body))",
                        "hint": "\(hint)", "retry_in": "\(delay)",
                    ])
                self.retry(after: delay) { self.register() }
            case .failure(let failure):
                let delay = self.registerBackoff.take()
                self.logger.error(
                    "cannot register the callback with Marathon",
                    metadata: ["error": "\(failure.message)", "retry_in": "\(delay)"])
                self.retry(after: delay) { self.register() }
            }
        }
    }

    static func subscriptionPath(_ callbackURL: String) -> String {
        "/v2/eventSubscriptions?callbackUrl=" + percentEncoded(callbackURL)
    }

    /// RFC 3986 query component encoding (unreserved characters stay).
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }

    // MARK: Event stream

    private func connectStream() {
        guard !stopped else { return }
        usesStream = true
        var path = "/v2/events"
        if version?.hasEventTypeFilters ?? false {
            path += "?" + Self.types.map { "event_type=\($0)" }.joined(separator: "&")
        }
        var request = api.makeRequest(.get, server: api.current, path: path)
        request.headers = ["Accept": "text/event-stream"]
        request.timeout = nil
        request.idleTimeout = Self.heartbeatTimeout
        request.acceptEncoding = false
        parser = SSEParser()
        streamConnected = false
        let server = api.currentServer
        logger.debug("connecting to Marathon's event stream", metadata: ["server": "\(server)"])
        stream = client.stream(
            request,
            onHeaders: { [weak self] status, _ in
                guard let self else { return }
                guard status == 200 else {
                    self.streamFailed("HTTP \(status)", serverFault: status >= 500)
                    return
                }
                self.streamConnected = true
                self.streamBackoff.reset()
                self.logger.notice("Marathon event stream connected", metadata: ["server": "\(server)"])
                // Whatever happened while we were not listening: resync.
                self.notify(RefreshReason("Marathon event stream connected"), nil)
            },
            onData: { [weak self] bytes in self?.streamData(bytes) },
            completion: { [weak self] result in
                guard let self, !self.stopped else { return }
                self.stream = nil
                switch result {
                case .success:
                    self.streamFailed("the stream ended", serverFault: !self.streamConnected)
                case .failure(let failure):
                    self.streamFailed(failure.message, serverFault: failure.isServerUnreachable)
                }
            })
    }

    private func streamData(_ bytes: [UInt8]) {
        parser.feed(bytes)
        do {
            while let event = try parser.next() {
                // Marathon before 0.11 sent data lines only; several JSON objects may share one event.
                for line in event.data.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
                    received(body: Array(line.utf8), via: "event stream", name: event.event)
                }
            }
        } catch {
            streamFailed("\(error)", serverFault: false)
        }
    }

    private func streamFailed(_ why: String, serverFault: Bool) {
        stream?.cancel()
        stream = nil
        guard !stopped else { return }
        if serverFault && settings.servers.count > 1 { api.rotate() }
        let delay = streamBackoff.take()
        logger.warning("Marathon event stream lost; reconnecting", metadata: ["error": "\(why)", "in": "\(delay)"])
        retry(after: delay) { [weak self] in self?.connectStream() }
    }

    // MARK: Both

    /// A deployment's events: a step that succeeded re-reads the apps of that step; the end of a
    /// deployment (success or failure) re-reads the apps of its whole plan, remembered from its
    /// earlier events. A plan not seen (an event lost, proxym started meanwhile) or an action that
    /// names no plain app: everything is read.
    private func deployment(_ type: String, _ parsed: MarathonEvent.Parsed) {
        if let id = parsed.deploymentID, let apps = parsed.planApps, !apps.isEmpty {
            if deploymentApps.updateValue(apps, forKey: id) == nil { deploymentOrder.append(id) }
            if deploymentOrder.count > Self.maxDeployments {
                deploymentApps[deploymentOrder.removeFirst()] = nil
            }
        }
        let apps: [String]?
        switch type {
        case "deployment_step_success":
            apps = parsed.stepApps
        case "deployment_success", "deployment_failed":
            apps = parsed.deploymentID.flatMap { id in
                deploymentOrder.removeAll { $0 == id }
                return deploymentApps.removeValue(forKey: id)
            }
        default:
            // deployment_info: nothing has changed yet; its plan is remembered.
            logger.debug("Marathon event ignored", metadata: ["type": "\(type)"])
            return
        }
        if let apps, !apps.isEmpty {
            for app in apps { notify(RefreshReason("Marathon \(type) (\(app))"), app) }
        } else {
            notify(RefreshReason("Marathon \(type)"), nil)
        }
    }

    private func received(body: [UInt8], via: String, name: String? = nil) {
        let parsed = MarathonEvent.parse(fromJSON: body)
        guard let type = parsed.type ?? name else {
            logger.debug("Marathon event without a type ignored", metadata: ["via": "\(via)"])
            return
        }
        let known = eventCounts[type] != nil || eventCounts.count < Self.maxEventTypes
        let label = known && type.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 >= 0x61 && $0 <= 0x7A) }) ? type : "other"
        eventCounts[label, default: 0] += 1
        if MarathonEvent.deploymentTypes.contains(type) {
            deployment(type, parsed)
        } else if MarathonEvent.triggersRefresh(type) {
            if let app = parsed.appID {
                notify(RefreshReason("Marathon \(type) (\(app))"), app)
            } else {
                notify(RefreshReason("Marathon \(type)"), nil)
            }
        } else {
            logger.debug("Marathon event ignored", metadata: ["type": "\(type)", "via": "\(via)"])
        }
    }
}
