import ProxymJSON

/// The apps the fake serves, each with its embedded tasks, exactly as a test gave them (the shape of
/// `GET /v2/apps?embed=apps.tasks`), and the bodies derived from them: `/v2/apps` (no tasks),
/// `/v2/tasks` (every task with its `appId` and the app's `servicePorts`), `/v2/apps/{id}`.
///
/// Bodies are rendered once per change, on first use.
struct AppStore {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Bodies {
        var embedded: [UInt8]
        var appsOnly: [UInt8]
        var tasks: [UInt8]
        var runningTasks: [UInt8]
    }

    private(set) var apps: [JSONObject] = []
    private var cached: Bodies?

    var taskCount: Int { apps.reduce(0) { $0 + ($1["tasks"]?.arrayValue?.count ?? 0) } }

    /// `{"apps": [...]}`; every app needs a string `id`.
    mutating func replaceAll(with body: [UInt8]) throws -> Int {
        let value: JSONValue
        do {
            value = try JSONReader.parse(body, limits: JSONLimits(maxDepth: 128, maxBytes: 1 << 30))
        } catch {
            throw Failure(description: "invalid JSON: \(error)")
        }
        guard let list = value.objectValue?["apps"]?.arrayValue else {
            throw Failure(description: "expected {\"apps\": [...]}")
        }
        var apps: [JSONObject] = []
        for (i, item) in list.enumerated() {
            guard let app = item.objectValue, app["id"]?.stringValue != nil else {
                throw Failure(description: "apps[\(i)] is not an object with a string id")
            }
            apps.append(app)
        }
        self.apps = apps
        cached = nil
        return apps.count
    }

    /// Adds or replaces (same `id`) one app.
    mutating func put(app body: [UInt8]) throws -> String {
        guard let app = (try? JSONReader.parse(body))?.objectValue, let id = app["id"]?.stringValue else {
            throw Failure(description: "expected one app object with a string id")
        }
        if let index = apps.firstIndex(where: { $0["id"]?.stringValue == id }) {
            apps[index] = app
        } else {
            apps.append(app)
        }
        cached = nil
        return id
    }

    mutating func remove(id: String) -> Bool {
        let before = apps.count
        apps.removeAll { $0["id"]?.stringValue == id }
        cached = nil
        return apps.count != before
    }

    func app(id: String) -> JSONObject? {
        apps.first { $0["id"]?.stringValue == id }
    }

    mutating func bodies() -> Bodies {
        if let cached { return cached }
        var tasks: [JSONValue] = []
        var running: [JSONValue] = []
        for app in apps {
            let id = app["id"]?.stringValue ?? ""
            let servicePorts = JSONValue.array(Self.servicePorts(of: app).map(number))
            for task in app["tasks"]?.arrayValue ?? [] {
                guard var object = task.objectValue else { continue }
                if object["appId"] == nil { object.set("appId", .string(id)) }
                object.set("servicePorts", servicePorts)
                tasks.append(.object(object))
                let state = object["state"]?.stringValue
                if state == nil || state == "TASK_RUNNING" { running.append(.object(object)) }
            }
        }
        let bodies = Bodies(
            embedded: jsonBytes(.object(JSONObject([.init(key: "apps", value: .array(apps.map { .object($0) }))]))),
            appsOnly: jsonBytes(
                .object(JSONObject([.init(key: "apps", value: .array(apps.map { .object($0.removing("tasks")) }))]))),
            tasks: jsonBytes(.object(JSONObject([.init(key: "tasks", value: .array(tasks))]))),
            runningTasks: jsonBytes(.object(JSONObject([.init(key: "tasks", value: .array(running))]))))
        cached = bodies
        return bodies
    }

    /// The app's service ports, as Marathon reports them in `/v2/tasks`: `container.portMappings`
    /// (1.5+), else `container.docker.portMappings` (up to 1.4), else `portDefinitions`, else the
    /// legacy `ports`.
    static func servicePorts(of app: JSONObject) -> [Int] {
        func ints(_ list: [JSONValue]?, _ key: String?) -> [Int]? {
            guard let list, !list.isEmpty else { return nil }
            return list.map { item in
                let value: JSONValue? = if let key { item.objectValue?[key] } else { item }
                return value?.numberValue?.int ?? 0
            }
        }
        let container = app["container"]?.objectValue
        return ints(container?["portMappings"]?.arrayValue, "servicePort")
            ?? ints(container?["docker"]?.objectValue?["portMappings"]?.arrayValue, "servicePort")
            ?? ints(app["portDefinitions"]?.arrayValue, "port")
            ?? ints(app["ports"]?.arrayValue, nil)
            ?? []
    }
}
