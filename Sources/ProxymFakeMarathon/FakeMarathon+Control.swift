import ProxymHTTP
import ProxymJSON
import ProxymPosix
import ProxymRuntime

extension FakeMarathon {
    // MARK: Callback subscriptions (before 1.5)

    func subscriptions(
        _ request: HTTPRequest, query: [(String, String)], info: FakeServer.Info
    ) -> FakeServer.Reply {
        guard hasCallbacks else {
            // Removed in 1.5.0.
            return json(404, #"{"message":"HTTP 404 Not Found"}"#)
        }
        let url = queryValue("callbackUrl", in: query)
        let clientIP = info.peer.split(separator: ":").dropLast().joined(separator: ":")
        switch request.method {
        case .get:
            return json(
                200, "{\"callbackUrls\":[\(callbacks.map(jsonString).joined(separator: ","))]}")
        case .post, .delete:
            guard let url, !url.isEmpty else {
                return json(400, #"{"message":"callbackUrl is required"}"#)
            }
            let subscribing = request.method == .post
            if subscribing {
                if !callbacks.contains(url) { callbacks.append(url) }
            } else {
                callbacks.removeAll { $0 == url }
            }
            let type = subscribing ? "subscribe_event" : "unsubscribe_event"
            let body =
                "{\"callbackUrl\":\(jsonString(url)),\"clientIp\":\(jsonString(clientIP)),\"eventType\":\"\(type)\",\"timestamp\":\"\(timestamp())\"}"
            log("\(subscribing ? "subscribed" : "unsubscribed") \(url)")
            publish(type: type, body: Array(body.utf8))
            return json(200, body)
        default:
            return methodNotAllowed()
        }
    }

    // MARK: Control endpoints (/_fake/...)

    func control(_ request: HTTPRequest, path: String) -> FakeServer.Reply {
        let query = queryItems(request.query)
        func value(_ name: String) -> String? { queryValue(name, in: query) }
        let reply =
            appsControl(request, path: path)
            ?? eventsControl(request, path: path, value: value)
            ?? faultsControl(request.method, path: path, value: value)
            ?? observationsControl(request.method, path: path)
        return reply ?? text(404, "unknown control endpoint \(request.method) \(path)\n")
    }

    /// `/_fake/apps[/<id>]`: the apps served (nil: not one of these endpoints).
    private func appsControl(_ request: HTTPRequest, path: String) -> FakeServer.Reply? {
        switch (request.method, path) {
        case (.put, "/_fake/apps"):
            do {
                let count = try store.replaceAll(with: request.body)
                _ = store.bodies()  // rendered now, not on the next GET: a benchmark times proxym, not us
                log("apps set: \(count) apps, \(store.taskCount) tasks")
                return text(200, "\(count) apps\n")
            } catch {
                return text(400, "\(error)\n")
            }
        case (.get, "/_fake/apps"):
            return json(200, store.bodies().embedded)
        case (.put, _) where path.hasPrefix("/_fake/apps/"):
            do {
                let id = try store.put(app: request.body)
                _ = store.bodies()
                log("app set: \(id)")
                return text(200, "\(id)\n")
            } catch {
                return text(400, "\(error)\n")
            }
        case (.delete, _) where path.hasPrefix("/_fake/apps/"):
            let id = percentDecoded(path.dropFirst("/_fake/apps".count))
            let removed = store.remove(id: id)
            _ = store.bodies()
            return removed ? text(200, "removed \(id)\n") : text(404, "no app \(id)\n")
        default:
            return nil
        }
    }

    /// `/_fake/event`, `/_fake/down`, `/_fake/up`, `/_fake/drop-streams`: events and their streams (nil:
    /// not one of these endpoints).
    private func eventsControl(
        _ request: HTTPRequest, path: String, value: (String) -> String?
    ) -> FakeServer.Reply? {
        switch (request.method, path) {
        case (.post, "/_fake/event"):
            var type = value("type")
            if type == nil, let parsed = try? JSONReader.parse(request.body) {
                type = parsed.objectValue?["eventType"]?.stringValue
            }
            guard let type, !type.isEmpty else { return text(400, "give ?type= or a body with eventType\n") }
            let body =
                request.body.isEmpty
                ? Array("{\"eventType\":\(jsonString(type)),\"timestamp\":\"\(timestamp())\"}".utf8) : request.body
            let (streams, callbacks) = publish(type: type, body: body)
            if !options.quiet { log("event \(type) -> \(streams) streams, \(callbacks) callbacks") }
            return text(200, "\(streams) streams, \(callbacks) callbacks\n")
        case (.post, "/_fake/down"):
            down = true
            dropStreams()
            log("down")
            return text(200, "down\n")
        case (.post, "/_fake/up"):
            down = false
            log("up")
            return text(200, "up\n")
        case (.post, "/_fake/drop-streams"):
            let count = streams.count
            dropStreams()
            return text(200, "dropped \(count)\n")
        default:
            return nil
        }
    }

    /// `/_fake/fail`, `/_fake/redirect`, `/_fake/auth`, `/_fake/version`: how the API misbehaves or
    /// what it demands (nil: not one of these endpoints).
    private func faultsControl(
        _ method: HTTPMethod, path: String, value: (String) -> String?
    ) -> FakeServer.Reply? {
        switch (method, path) {
        case (.post, "/_fake/fail"), (.put, "/_fake/fail"):
            guard let endpoint = value("endpoint"), let mode = value("mode") else {
                return text(400, "give ?endpoint=<apps.tasks|apps|app|tasks|info|leader|events|eventSubscriptions|*>&mode=<status|truncated|cut|invalid|hang|drip|endless>\n")
            }
            failures[endpoint] = mode
            log("failing \(endpoint): \(mode)")
            return text(200, "failing \(endpoint): \(mode)\n")
        case (.delete, "/_fake/fail"):
            if let endpoint = value("endpoint") { failures[endpoint] = nil } else { failures.removeAll() }
            return text(200, "ok\n")
        case (.post, "/_fake/redirect"):
            guard let to = value("to") else { return text(400, "give ?to=<base URL>[&status=302|307]\n") }
            let base = to.hasSuffix("/") ? String(to.dropLast()) : to
            redirect = (base, Int(value("status") ?? "") ?? 307)
            log("redirecting /v2 to \(base) (\(redirect!.status))")
            return text(200, "ok\n")
        case (.delete, "/_fake/redirect"):
            redirect = nil
            return text(200, "ok\n")
        case (.post, "/_fake/auth"):
            if let basic = value("basic") {
                requiredAuthorization = "Basic " + base64(Array(basic.utf8))
                challenge = "Basic realm=\"Mesosphere\""
            } else if let token = value("token") {
                requiredAuthorization = "token=" + token
                challenge = "token=\"acsjwt\""
            } else {
                return text(400, "give ?basic=user:password or ?token=T\n")
            }
            return text(200, "ok\n")
        case (.delete, "/_fake/auth"):
            requiredAuthorization = nil
            challenge = nil
            return text(200, "ok\n")
        case (.post, "/_fake/version"):
            guard let version = value("version") else { return text(400, "give ?version=\n") }
            options.version = version
            return text(200, "ok\n")
        default:
            return nil
        }
    }

    /// `/_fake/served`, `/_fake/requests`, `/_fake/callbacks`, `/_fake/streams`: what the fake saw and
    /// did (nil: not one of these endpoints).
    private func observationsControl(_ method: HTTPMethod, path: String) -> FakeServer.Reply? {
        switch (method, path) {
        case (.get, "/_fake/served"):
            return text(200, "requests=\(served.requests) body_bytes=\(served.bodyBytes)\n")
        case (.delete, "/_fake/served"):
            served = (0, 0)
            return text(200, "ok\n")
        case (.get, "/_fake/requests"):
            return text(200, requestLog.map { $0 + "\n" }.joined())
        case (.delete, "/_fake/requests"):
            requestLog.removeAll()
            return text(200, "ok\n")
        case (.get, "/_fake/callbacks"):
            let lines = callbacks.map { url in
                let d = deliveries[url] ?? (0, 0, "-")
                return "\(url)\tok=\(d.ok)\tfailed=\(d.failed)\tlast=\(d.last)\n"
            }
            return text(200, lines.joined())
        case (.get, "/_fake/streams"):
            return text(200, "\(streams.count)\n" + streams.values.map { $0.peer + "\n" }.joined())
        default:
            return nil
        }
    }

    func dropStreams() {
        for stream in Array(streams.values) { stream.close() }
        streams.removeAll()
    }
}
