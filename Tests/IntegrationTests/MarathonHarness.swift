import ProxymPosix
import ProxymTestSupport
import Testing

/// Every Marathon end-to-end test, one at a time (`.serialized` reaches the nested suites): each runs
/// proxym, haproxy, backends and one or two fake Marathons, and the "within a second" checks should not
/// compete with each other for the two cores.
@Suite(
    .serialized, .enabled(if: haveHAProxy, "needs haproxy (CI installs it)"), .timeLimit(.minutes(3)))
struct MarathonEndToEndTests {}

/// `proxym-fake-marathon` as a child: real HTTP on 127.0.0.1, driven through its `/_fake/` endpoints.
final class FakeMarathon {
    let name: String
    let directory: String
    private(set) var port: UInt16
    private(set) var child: LoggedChild
    private let arguments: [String]
    private var launches = 1

    /// - Parameters:
    ///   - arguments: extra options, e.g. `["--version", "1.10.0"]`.
    ///   - port: 0 for any; a fixed one to come back on the same address after `kill()`.
    init(name: String = "marathon", directory: String, arguments: [String] = [], port: UInt16 = 0) throws {
        self.name = name
        self.directory = directory
        self.arguments = arguments
        (child, self.port) = try Self.launch(
            name: name, directory: directory, arguments: arguments, port: port, logPath: directory + "/fake-\(name).log")
    }

    private static func launch(name: String, directory: String, arguments: [String], port: UInt16, logPath: String)
        throws -> (LoggedChild, UInt16)
    {
        let child = try LoggedChild(
            executable: Binaries.fakeMarathon,
            arguments: ["--host", "127.0.0.1", "--port", String(port)] + arguments,
            environment: [:], logPath: logPath)
        var bound: UInt16?
        _ = waitUntil(timeout: .seconds(10)) {
            guard let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let colon = line.lastIndex(of: ":")
            else { return child.hasExited }
            bound = UInt16(line[line.index(after: colon)...])
            return bound != nil
        }
        let port = try #require(bound, "fake Marathon \(name) did not start: \(child.log)")
        return (child, port)
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var log: String { child.log }

    /// SIGKILL, so that its address refuses connections.
    func kill() { child.kill() }

    /// Starts it again on the same port (with `extra` options, e.g. `--apps-file`).
    func restart(_ extra: [String] = []) throws {
        child.kill()
        launches += 1
        (child, port) = try Self.launch(
            name: name, directory: directory, arguments: arguments + extra, port: port,
            logPath: directory + "/fake-\(name)-\(launches).log")
    }

    deinit { child.kill() }

    // MARK: control

    /// A control request; fails the test unless it answers 200.
    @discardableResult
    func control(_ method: String, _ path: String, body: String = "", sourceLocation: SourceLocation = #_sourceLocation)
        throws -> String
    {
        let response = try #require(
            httpRequest(port: port, method: method, path: path, body: Array(body.utf8), timeout: .seconds(10)),
            "fake \(name): \(method) \(path) got no answer", sourceLocation: sourceLocation)
        let text = String(decoding: response.body, as: UTF8.self)
        try #require(response.status == 200, "fake \(name): \(method) \(path): \(response.status) \(text)", sourceLocation: sourceLocation)
        return text
    }

    func setApps(_ apps: [String]) throws {
        try control("PUT", "/_fake/apps", body: MarathonJSON.apps(apps))
    }

    func putApp(_ app: String) throws {
        try control("PUT", "/_fake/apps/x", body: app)
    }

    /// Pushes an event to every stream and callback; `json` defaults to a minimal body of that type.
    func push(_ type: String, _ json: String = "") throws {
        try control("POST", "/_fake/event?type=\(type)", body: json)
    }

    func statusUpdate(appID: String, taskID: String = "t1", status: String = "TASK_RUNNING") throws {
        try push(
            "status_update_event",
            """
            {"eventType":"status_update_event","timestamp":"2024-01-01T00:00:00.000Z","slaveId":"S1",\
            "taskId":"\(taskID)","taskStatus":"\(status)","appId":"\(appID)","host":"127.0.0.1","ports":[1],\
            "version":"2024-01-01T00:00:00.000Z"}
            """)
    }

    func down() throws { try control("POST", "/_fake/down") }
    func up() throws { try control("POST", "/_fake/up") }
    func fail(_ endpoint: String, _ mode: String) throws {
        try control("POST", "/_fake/fail?endpoint=\(endpoint)&mode=\(mode)")
    }
    func clearFailures() throws { try control("DELETE", "/_fake/fail") }
    func redirect(to target: FakeMarathon, status: Int = 307) throws {
        try control("POST", "/_fake/redirect?to=\(target.url)&status=\(status)")
    }
    func requireBasicAuth(_ userPassword: String) throws { try control("POST", "/_fake/auth?basic=\(userPassword)") }
    func requireToken(_ token: String) throws { try control("POST", "/_fake/auth?token=\(token)") }

    struct LoggedRequest: CustomStringConvertible {
        var method: String
        var target: String
        var authorization: String?
        var accept: String?
        var description: String { "\(method) \(target) auth=\(authorization ?? "-")" }
    }

    /// Every /v2 request it got, in order.
    var requests: [LoggedRequest] {
        guard let text = try? control("GET", "/_fake/requests") else { return [] }
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return LoggedRequest(
                method: f[0], target: f.count > 1 ? f[1] : "", authorization: f.count > 2 && f[2] != "-" ? f[2] : nil,
                accept: f.count > 3 && f[3] != "-" ? f[3] : nil)
        }
    }

    func clearRequests() throws { try control("DELETE", "/_fake/requests") }

    /// Registered callback URLs.
    var callbacks: [String] {
        guard let text = try? control("GET", "/_fake/callbacks") else { return [] }
        return text.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }

    /// Callback lines with their delivery counts (`URL ok=N failed=N last=...`).
    var callbackDeliveries: String { (try? control("GET", "/_fake/callbacks")) ?? "" }

    /// Waits (up to `timeout`) until exactly one event stream is open.
    func waitForOneStream(timeout: Duration = .seconds(5)) -> Bool {
        waitUntil(timeout: timeout) { openStreams == 1 }
    }

    var openStreams: Int {
        guard let text = try? control("GET", "/_fake/streams") else { return -1 }
        return Int(text.split(separator: "\n").first ?? "") ?? -1
    }
}

/// The set-up the Marathon end-to-end tests share: in a temporary directory, a sandbox with backends
/// blue and green (they live as long as it) and a fake Marathon of `version` (`arguments`: more of its
/// options). The sandbox is torn down after `body`.
func withFakeMarathon<R>(
    version: String, arguments: [String] = [],
    _ body: (_ sandbox: Sandbox, _ marathon: FakeMarathon, _ blue: Backend, _ green: Backend) throws -> R
) throws -> R {
    try Binaries.require()
    return try withTemporaryDirectory { dir in
        let (sandbox, blue, green) = try Sandbox.withBlueAndGreen(in: dir)
        let marathon = try FakeMarathon(directory: dir, arguments: ["--version", version] + arguments)
        let result = try body(sandbox, marathon, blue, green)
        sandbox.tearDown()
        return result
    }
}

/// Marathon payloads, written the way Marathon writes them (the shapes of the recorded payloads in Tests/Fixtures/marathon).
enum MarathonJSON {
    enum Shape {
        /// 0.x-1.4: host networking with the legacy `ports` plus `portDefinitions`, no `networks`.
        case v1_4
        /// 1.5+: `networks: [{mode: host}]`, `portDefinitions` only.
        case v1_5
    }

    struct Task {
        var port: UInt16
        /// nil: no health results at all.
        var alive: Bool? = true
        var state: String? = "TASK_RUNNING"
        var id: String? = nil

        init(_ backend: Backend, alive: Bool? = true, state: String? = "TASK_RUNNING") {
            port = backend.port
            self.alive = alive
            self.state = state
        }

        init(port: UInt16, alive: Bool? = true, state: String? = "TASK_RUNNING") {
            self.port = port
            self.alive = alive
            self.state = state
        }
    }

    static func apps(_ apps: [String]) -> String { "{\"apps\":[\(apps.joined(separator: ","))]}" }

    /// One app with its tasks embedded. `healthChecks` > 0 adds that many checks; each task then
    /// carries one result per check (`alive`).
    ///
    /// `notReady` (task ids) makes the app one being deployed (one deployment) whose readiness results
    /// (`readinessCheckResults`, as `embed=apps.readiness` gives them) say those tasks are not ready and
    /// the others are. `checks` replaces the generated health checks with these JSON objects (each task
    /// then carries one result per check).
    static func app(
        _ id: String, servicePort: Int = 10000, tasks: [Task], labels: [String: String] = [:], healthChecks: Int = 0,
        checks: [String] = [], notReady: Set<String> = [], shape: Shape = .v1_5
    ) -> String {
        let healthChecks = checks.isEmpty ? healthChecks : checks.count
        let labelText = labels.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            .joined(separator: ",")
        let checkTexts = checks.isEmpty ? (0..<healthChecks).map { _ in
            #"{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":5,"intervalSeconds":10,"timeoutSeconds":5,"maxConsecutiveFailures":3}"#
        } : checks
        let checks = checkTexts.joined(separator: ",")
        let name = id.dropFirst().replacing("/", with: "_")
        let taskTexts = tasks.enumerated().map { i, task in
            let taskID = task.id ?? "\(name).\(task.port)-\(i)"
            var fields = [
                "\"id\":\(quoted(taskID))", "\"appId\":\(quoted(id))", "\"host\":\"127.0.0.1\"",
                "\"ports\":[\(task.port)]", "\"stagedAt\":\"2024-01-01T00:00:00.000Z\"",
                "\"startedAt\":\"2024-01-01T00:00:01.000Z\"", "\"version\":\"2024-01-01T00:00:00.000Z\"",
                "\"slaveId\":\"agent-S1\"", "\"ipAddresses\":[{\"ipAddress\":\"127.0.0.1\",\"protocol\":\"IPv4\"}]",
            ]
            if let state = task.state { fields.append("\"state\":\(quoted(state))") }
            if let alive = task.alive, healthChecks > 0 {
                let key = shape == .v1_4 ? "taskId" : "instanceId"
                let result =
                    "{\"alive\":\(alive),\"consecutiveFailures\":\(alive ? 0 : 3),\"firstSuccess\":null,\"lastFailure\":null,\"lastSuccess\":null,\"\(key)\":\(quoted(taskID))}"
                fields.append("\"healthCheckResults\":[\(Array(repeating: result, count: healthChecks).joined(separator: ","))]")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        var deployment = #""deployments":[]"#
        if !notReady.isEmpty {
            let results = tasks.enumerated().map { i, task in
                let taskID = task.id ?? "\(name).\(task.port)-\(i)"
                return #"{"name":"ready","taskId":\#(quoted(taskID)),"ready":\#(!notReady.contains(taskID)),"lastResponse":null}"#
            }
            deployment =
                #""deployments":[{"id":"5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}],"readinessCheckResults":[\#(results.joined(separator: ","))]"#
        }
        let ports: String
        switch shape {
        case .v1_4:
            ports =
                "\"ports\":[\(servicePort)],\"portDefinitions\":[{\"port\":\(servicePort),\"protocol\":\"tcp\",\"labels\":{}}],\"container\":null,\"ipAddress\":null"
        case .v1_5:
            ports =
                "\"networks\":[{\"mode\":\"host\"}],\"portDefinitions\":[{\"port\":\(servicePort),\"protocol\":\"tcp\",\"name\":\"p0\",\"labels\":{}}]"
        }
        return """
            {"id":\(quoted(id)),"cmd":"python3 -m http.server $PORT0","instances":\(tasks.count),"cpus":0.1,"mem":32,\
            \(ports),"requirePorts":false,"labels":{\(labelText)},"healthChecks":[\(checks)],\
            "version":"2024-01-01T00:00:00.000Z","tasksRunning":\(tasks.count),"tasksHealthy":\(tasks.count),\
            "tasksStaged":0,"tasksUnhealthy":0,\(deployment),"tasks":[\(taskTexts.joined(separator: ","))]}
            """
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension Sandbox {
    /// The Marathon module on, against `servers`, on top of the usual environment (the File module
    /// stays on with an empty directory).
    func marathonEnvironment(
        servers: [String], events: String, callbackPort: UInt16? = nil, _ extra: [String: String] = [:]
    ) -> [String: String] {
        var env = [
            "PROXYM_MARATHON_ENABLED": "1",
            "PROXYM_MARATHON_SERVERS": servers.joined(separator: ","),
            "PROXYM_MARATHON_EVENTS": events,
        ]
        if let callbackPort {
            env["PROXYM_MARATHON_HTTP_HOST"] = "127.0.0.1"
            env["PROXYM_MARATHON_HTTP_PORT"] = String(callbackPort)
        }
        env.merge(extra) { _, new in new }
        return env
    }

    /// Starts proxym with Marathon and waits for READY=1.
    @discardableResult
    func startWithMarathon(
        servers: [String], events: String, callbackPort: UInt16? = nil, _ extra: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> LoggedChild {
        let proxym = try start(marathonEnvironment(servers: servers, events: events, callbackPort: callbackPort, extra))
        try #require(notify.waitFor { $0.contains("READY=1") }, "no READY=1; log:\n\(proxym.log)", sourceLocation: sourceLocation)
        return proxym
    }

    /// Polls until `host` is answered by `name`; returns how long that took from `since` (nil on
    /// timeout).
    func waitForBackend(
        _ name: String, host: String, since: UInt64 = MonotonicClock.nanoseconds(), timeout: Duration = .seconds(5)
    ) -> Duration? {
        let switched = waitUntil(timeout: timeout, poll: .milliseconds(5)) { bodyFor(host: host) == name }
        guard switched else { return nil }
        return .nanoseconds(Int64(MonotonicClock.nanoseconds() - since))
    }

    /// Runs `event`, then polls until `host` is answered by `name`: the time from just before `event`
    /// (nil on timeout).
    func waitForBackend(
        _ name: String, host: String, timeout: Duration = .seconds(5), after event: () throws -> Void
    ) throws -> Duration? {
        let started = MonotonicClock.nanoseconds()
        try event()
        return waitForBackend(name, host: host, since: started, timeout: timeout)
    }

    /// Runs `event`, then waits (up to `timeout`) until `count` requests to `host` reach exactly
    /// `names`: whether they did, and the time from just before `event`.
    func served(
        by names: Set<String>, host: String, requests count: Int, timeout: Duration = .seconds(3),
        after event: () throws -> Void
    ) throws -> (done: Bool, latency: Duration) {
        let started = MonotonicClock.nanoseconds()
        try event()
        let done = waitUntil(timeout: timeout, poll: .milliseconds(5)) {
            backendsServing(host, requests: count) == names
        }
        return (done, .nanoseconds(Int64(MonotonicClock.nanoseconds() - started)))
    }

    /// The backend names `count` requests to `host` reached.
    func backendsServing(_ host: String, requests count: Int = 12) -> Set<String> {
        var names = Set<String>()
        for _ in 0..<count {
            if let name = bodyFor(host: host) { names.insert(name) } else { names.insert("(none)") }
        }
        return names
    }
}

/// Sends raw bytes to 127.0.0.1:`port` and reads until the server closes (or `timeout`).
func rawExchange(port: UInt16, _ bytes: [UInt8], timeout: Duration = .seconds(5)) -> [UInt8]? {
    guard let socket = try? Socket.connectTCP(host: "127.0.0.1", port: port, timeout: timeout) else { return nil }
    guard (try? Socket.sendAll(socket.rawValue, bytes)) != nil else { return nil }
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout.components.seconds) * 1_000_000_000
    var received: [UInt8] = []
    while MonotonicClock.nanoseconds() < deadline {
        var entries = [Poll.Entry(fd: socket.rawValue, events: .in)]
        guard (try? Poll.wait(&entries, timeout: .milliseconds(100))) != nil else { return received }
        switch try? socket.read(maxBytes: 64 * 1024) {
        case .ready(let chunk)? where chunk.isEmpty: return received
        case .ready(let chunk)?: received += chunk
        case .wouldBlock?: continue
        case nil: return received
        }
    }
    return received
}

/// The status code of the first response in `bytes`.
func statusCode(_ bytes: [UInt8]?) -> Int? {
    guard let bytes else { return nil }
    let text = String(decoding: bytes.prefix(64), as: UTF8.self)
    let parts = text.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
    return Int(parts[1])
}

/// `milliseconds` with one decimal, for printed figures.
func ms(_ duration: Duration) -> String {
    let tenths = (duration.components.seconds * 10_000) + duration.components.attoseconds / 100_000_000_000_000
    return "\(tenths / 10).\(tenths % 10) ms"
}
