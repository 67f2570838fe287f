import ProxymHTTP
import ProxymJSON
import ProxymPosix
import ProxymRuntime

/// The fake Marathon: Marathon's REST endpoints and event bus over real HTTP, and `/_fake/` control
/// endpoints for tests (see README section in main.swift).
final class FakeMarathon {
    struct Options {
        var host = "127.0.0.1"
        var port: UInt16 = 0
        var version = "1.4.13"
        var heartbeat: Duration = .seconds(10)
        var sseDataOnly = false
        var httpEndpoints: [String] = []
        var quiet = false
        var appsFile: String?
        var generator: Generator?
    }

    private let loop: EventLoop
    var options: Options
    private var server: FakeServer!
    private let client: HTTPClient

    var store = AppStore()
    var down = false
    /// Endpoint key (`apps.tasks`, `apps`, `app`, `tasks`, `info`, `leader`, `events`,
    /// `eventSubscriptions`, or `*`) -> mode (`500`, `truncated`, `invalid`, `cut`, `hang`).
    var failures: [String: String] = [:]
    var redirect: (base: String, status: Int)?
    /// The exact `Authorization` value required on /v2, and the challenge sent with a 401.
    var requiredAuthorization: String?
    var challenge: String?

    var requestLog: [String] = []
    var callbacks: [String] = []
    var deliveries: [String: (ok: Int, failed: Int, last: String)] = [:]
    var streams: [ObjectIdentifier: FakeServer.Stream] = [:]
    private var eventsPushed = 0
    /// Answers to /v2 requests (the event stream excepted) and their body bytes, since the last reset.
    var served = (requests: 0, bodyBytes: 0)

    init(loop: EventLoop, options: Options) throws {
        self.loop = loop
        self.options = options
        client = try HTTPClient(loop: loop, userAgent: "fake-marathon")
        callbacks = options.httpEndpoints
        if let generator = options.generator {
            _ = try store.replaceAll(with: generator.body())
        }
        if let appsFile = options.appsFile {
            _ = try store.replaceAll(with: FileSystem.readFile(appsFile, limit: 1 << 30))
        }
        _ = store.bodies()
        server = try FakeServer(
            loop: loop, host: options.host, port: options.port,
            limits: HTTPLimits(maxRequestLineLength: 64 << 10, maxBodyLength: 1 << 30)
        ) { [unowned self] request, info in
            self.handle(request, info)
        }
        scheduleHeartbeat()
    }

    var port: UInt16 { server.port }
    var leader: String { "\(options.host):\(server.port)" }

    var hasCallbacks: Bool {
        let parts = options.version.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        let major = parts.first ?? 0
        let minor = parts.count > 1 ? parts[1] : 0
        return (major, minor) < (1, 5)
    }

    // MARK: Routing

    private func handle(_ request: HTTPRequest, _ info: FakeServer.Info) -> FakeServer.Reply {
        let path = String(request.path)
        if path.hasPrefix("/_fake/") { return control(request, path: path) }
        let reply = answer(request, path: path, info: info)
        served.requests += 1
        if case .response(let response) = reply { served.bodyBytes += response.body.count }
        return reply
    }

    private func answer(_ request: HTTPRequest, path: String, info: FakeServer.Info) -> FakeServer.Reply {
        let authorization = request.headers["Authorization"] ?? "-"
        let accept = request.headers["Accept"] ?? "-"
        requestLog.append("\(request.method)\t\(request.target)\t\(authorization)\t\(accept)")
        if !options.quiet { log("\(request.method) \(request.target) from \(info.peer)") }

        guard path == "/v2" || path.hasPrefix("/v2/") else { return json(404, #"{"message":"Not Found"}"#) }
        if down { return json(503, #"{"message":"fake Marathon is down"}"#) }
        if let redirect {
            return .response(
                HTTPResponse(
                    status: HTTPStatus(code: redirect.status), headers: ["Location": redirect.base + request.target],
                    text: "see the leader\n"))
        }
        if let requiredAuthorization, request.headers["Authorization"] != requiredAuthorization {
            var headers: HTTPHeaders = [:]
            if let challenge { headers.add(name: "WWW-Authenticate", value: challenge) }
            return .response(
                HTTPResponse(
                    status: HTTPStatus(code: 401), headers: headers.merged(["Content-Type": "application/json"]),
                    body: Array(#"{"message":"Unauthorized"}"#.utf8)))
        }
        let query = queryItems(request.query)
        let key = Self.endpointKey(path: path, query: query)
        if let mode = failures[key] ?? failures["*"] {
            if let failed = failure(mode, normal: { self.route(request, path: path, query: query, info: info) }) {
                return failed
            }
        }
        return route(request, path: path, query: query, info: info)
    }

    static func endpointKey(path: String, query: [(String, String)]) -> String {
        switch path {
        case "/v2/apps", "/v2/apps/":
            let embedsTasks = query.contains { $0.0 == "embed" && $0.1.hasSuffix(".tasks") }
            return embedsTasks ? "apps.tasks" : "apps"
        case "/v2/tasks": return "tasks"
        case "/v2/info": return "info"
        case "/v2/leader": return "leader"
        case "/v2/events": return "events"
        case "/v2/eventSubscriptions": return "eventSubscriptions"
        default: return path.hasPrefix("/v2/apps/") ? "app" : path
        }
    }

    /// A scripted failure, or nil for a mode that does not apply.
    private func failure(_ mode: String, normal: () -> FakeServer.Reply) -> FakeServer.Reply? {
        switch mode {
        case "hang":
            return .silence
        case "drip":
            // The real answer, one byte a second (a Marathon or a proxy that stalls mid-answer).
            guard case .response(let response) = normal() else { return nil }
            var head = response.serialized(keepAlive: false, omitBody: true)
            // No Content-Length: the body ends when the connection closes.
            let text = String(decoding: head, as: UTF8.self)
            head = Array(
                text.split(separator: "\r\n", omittingEmptySubsequences: false)
                    .filter { !$0.lowercased().hasPrefix("content-length:") }.joined(separator: "\r\n").utf8)
            let body = response.body
            return .stream(head: head) { [weak self] stream in self?.drip(body, offset: 0, to: stream) }
        case "endless":
            // A 200 whose JSON never ends: one app (or task) whose label value goes on forever, as
            // fast as the reader takes it (a broken proxy looping, or a hostile Marathon).
            let head = Array(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".utf8)
            return .stream(head: head) { [weak self] stream in
                stream.send(Array(#"{"apps":[{"id":"/endless","tasks":[],"labels":{"x":""#.utf8))
                self?.endless(to: stream)
            }
        case "invalid":
            return .response(
                HTTPResponse(
                    status: .ok, headers: ["Content-Type": "application/json"],
                    body: Array("<html><body>Gateway hiccup</body></html>\n".utf8)))
        case "truncated", "cut":
            guard case .response(let response) = normal() else { return nil }
            let half = Array(response.body.prefix(max(1, response.body.count / 2)))
            if mode == "truncated" {
                // A complete HTTP answer whose JSON stops in the middle.
                return .response(HTTPResponse(status: response.status, headers: response.headers, body: half))
            }
            // The connection drops in the middle of the body (Content-Length promises more).
            var full = response.serialized(keepAlive: false)
            full.removeLast(response.body.count - half.count)
            return .raw(full)
        default:
            guard let code = Int(mode), (100...599).contains(code) else { return nil }
            return json(code, #"{"message":"scripted failure"}"#)
        }
    }

    private static let endlessPiece = [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 10)

    private func endless(to stream: FakeServer.Stream) {
        guard stream.isOpen else { return }
        // One piece whenever the last one is taken: as fast as the reader reads (up to 64 MiB/s),
        // without holding more here or copying what is queued.
        if stream.queuedBytes == 0 { stream.send(Self.endlessPiece) }
        loop.schedule(after: .milliseconds(1)) { [weak self] in self?.endless(to: stream) }
    }

    private func drip(_ body: [UInt8], offset: Int, to stream: FakeServer.Stream) {
        guard stream.isOpen else { return }
        guard offset < body.count else {
            stream.close()
            return
        }
        stream.send([body[offset]])
        loop.schedule(after: .seconds(1)) { [weak self] in self?.drip(body, offset: offset + 1, to: stream) }
    }

    private func route(
        _ request: HTTPRequest, path: String, query: [(String, String)], info: FakeServer.Info
    ) -> FakeServer.Reply {
        let method = request.method
        switch path {
        case "/v2/apps", "/v2/apps/":
            guard method == .get else { return methodNotAllowed() }
            let embedsTasks = query.contains { $0.0 == "embed" && $0.1.hasSuffix(".tasks") }
            let bodies = store.bodies()
            return json(200, embedsTasks ? bodies.embedded : bodies.appsOnly)
        case "/v2/tasks":
            guard method == .get else { return methodNotAllowed() }
            let running = query.contains { $0.0 == "status" && $0.1 == "running" }
            let bodies = store.bodies()
            return json(200, running ? bodies.runningTasks : bodies.tasks)
        case "/v2/info":
            return json(
                200,
                """
                {"name":"marathon","version":\(jsonString(options.version)),"buildref":"fake","elected":true,\
                "leader":\(jsonString(leader)),"frameworkId":"fake-framework-0000",\
                "marathon_config":{"hostname":\(jsonString(options.host)),"local_port_min":10000,\
                "local_port_max":20000,"ha":true},"http_config":{"http_port":\(server.port)}}
                """)
        case "/v2/leader":
            return json(200, "{\"leader\":\(jsonString(leader))}")
        case "/v2/events":
            return events(request, query: query, info: info)
        case "/v2/eventSubscriptions":
            return subscriptions(request, query: query, info: info)
        default:
            if path.hasPrefix("/v2/apps/") {
                let id = percentDecoded(path.dropFirst("/v2/apps".count))
                guard let app = store.app(id: id) else {
                    return json(404, "{\"message\":\(jsonString("App '\(id)' does not exist"))}")
                }
                return json(200, jsonBytes(.object(JSONObject([.init(key: "app", value: .object(app))]))))
            }
            return json(404, #"{"message":"Not Found"}"#)
        }
    }

    // MARK: Event stream

    private func events(_ request: HTTPRequest, query: [(String, String)], info: FakeServer.Info) -> FakeServer.Reply {
        // Jetty's EventSourceServlet: only this exact Accept value gets the stream.
        guard request.method == .get, request.headers.values(for: "Accept").contains("text/event-stream") else {
            return json(405, #"{"message":"HTTP 405 Method Not Allowed"}"#)
        }
        let filter = Set(query.filter { $0.0 == "event_type" }.map(\.1))
        let head = Array(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=UTF-8\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
                .utf8)
        return .stream(head: head) { [weak self] stream in
            guard let self else { return }
            stream.accepts = { filter.isEmpty || filter.contains($0) }
            let id = ObjectIdentifier(stream)
            let peer = stream.peer
            self.streams[id] = stream
            stream.onClose = { [weak self] in
                self?.streams[id] = nil
                if !(self?.options.quiet ?? true) { log("event stream closed (\(peer))") }
            }
            let address = info.peer.split(separator: ":").dropLast().joined(separator: ":")
            self.publish(
                type: "event_stream_attached",
                body: Array(
                    "{\"remoteAddress\":\(jsonString(address)),\"eventType\":\"event_stream_attached\",\"timestamp\":\"\(timestamp())\"}"
                        .utf8),
                callbacks: false)
        }
    }

    private func frame(type: String, json: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        if !options.sseDataOnly { out += "event: \(type)\r\n".utf8 }
        // One data line per line of the payload (a compacted JSON object is one line).
        for line in json.split(separator: 0x0A, omittingEmptySubsequences: true) {
            out += "data: ".utf8
            out += line.last == 0x0D ? line.dropLast() : line
            out += "\r\n".utf8
        }
        out += "\r\n".utf8
        return out
    }

    private func scheduleHeartbeat() {
        loop.schedule(after: options.heartbeat) { [weak self] in
            guard let self else { return }
            for stream in self.streams.values { stream.send([0x0D, 0x0A]) }
            self.scheduleHeartbeat()
        }
    }

    /// Sends an event to every stream whose filter takes it and, with `callbacks`, POSTs it to every
    /// registered callback URL (Marathon before 1.5). Returns (streams, callbacks) reached.
    @discardableResult
    func publish(type: String, body: [UInt8], callbacks toCallbacks: Bool = true) -> (Int, Int) {
        guard !down else { return (0, 0) }
        eventsPushed += 1
        // Compact, so that a pretty-printed fixture becomes one data line.
        let compact = (try? JSONReader.parse(body)).map(jsonBytes) ?? body
        let framed = frame(type: type, json: compact)
        var reached = 0
        for stream in streams.values where stream.accepts(type) {
            stream.send(framed)
            reached += 1
        }
        guard toCallbacks, hasCallbacks else { return (reached, 0) }
        for url in callbacks { post(compact, to: url, type: type) }
        return (reached, callbacks.count)
    }

    private func post(_ body: [UInt8], to url: String, type: String) {
        var request = HTTPClient.Request(.post, url, headers: ["Content-Type": "application/json"], body: body)
        request.timeout = .seconds(10)  // Marathon's --http_event_callback_slow_consumer_timeout
        request.connectTimeout = .seconds(2)
        client.send(request) { [weak self] result in
            guard let self else { return }
            var entry = self.deliveries[url] ?? (0, 0, "-")
            switch result {
            case .success(let response) where response.isSuccess:
                entry.ok += 1
                entry.last = "\(response.status)"
            case .success(let response):
                entry.failed += 1
                entry.last = "\(response.status)"
                log("callback \(url) answered \(response.status) to \(type)")
            case .failure(let failure):
                entry.failed += 1
                entry.last = "\(failure.kind)"
                log("callback \(url) failed for \(type): \(failure.message)")
            }
            self.deliveries[url] = entry
        }
    }

    // MARK: Responses

    func json(_ status: Int, _ body: String) -> FakeServer.Reply { json(status, Array(body.utf8)) }

    func json(_ status: Int, _ body: [UInt8]) -> FakeServer.Reply {
        var headers: HTTPHeaders = ["Content-Type": "application/json; qs=2"]
        if !down { headers.add(name: "X-Marathon-Leader", value: "http://\(leader)") }
        return .response(HTTPResponse(status: HTTPStatus(code: status), headers: headers, body: body))
    }

    func text(_ status: Int, _ body: String) -> FakeServer.Reply {
        .response(HTTPResponse(status: HTTPStatus(code: status), text: body))
    }

    func methodNotAllowed() -> FakeServer.Reply {
        json(405, #"{"message":"HTTP 405 Method Not Allowed"}"#)
    }
}

extension HTTPHeaders {
    fileprivate func merged(_ other: HTTPHeaders) -> HTTPHeaders {
        var result = self
        for field in other { result.add(name: field.name, value: field.value) }
        return result
    }
}
