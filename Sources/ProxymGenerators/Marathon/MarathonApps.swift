import ProxymJSON
import ProxymModel

/// Decodes Marathon's app and task bodies into a ``MarathonSnapshot``.
///
/// Only the fields proxym needs are read (into small structs); every other byte is skipped, though
/// still checked, by a strict pull cursor: a `/v2/apps?embed=apps.tasks` body of 5,000 apps is tens of
/// megabytes, and building a full JSON tree of it first would cost more than everything else a refresh
/// does. A body that is not JSON, or not the expected shape at the top, is a ``MarathonDecodeError``
/// (keep the last good services). A needed field with the wrong type costs only the app (or, in
/// `/v2/tasks`, the task) it is in: it is skipped and named in ``MarathonSnapshot/problems``
/// (`apps[3].tasks[1].ports: expected an array, got a string (app "/shop/web" skipped)`).
///
/// Keys are matched exactly, as Marathon writes them; unknown keys are ignored; `null` counts as absent;
/// when a key repeats, the last occurrence wins.
public enum MarathonApps {
    /// `GET /v2/apps?embed=apps.tasks` (`{"apps": [...]}`) or `GET /v2/apps/{id}` (`{"app": {...}}`).
    /// Without embedded tasks the apps simply have none.
    public static func decode(appsWithTasks bytes: [UInt8]) throws(MarathonDecodeError) -> MarathonSnapshot {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> MarathonSnapshot in try decode(appsWithTasks: raw) }
        }
        return try result.get()
    }

    public static func decode(
        appsWithTasks bytes: UnsafeRawBufferPointer
    ) throws(MarathonDecodeError)
        -> MarathonSnapshot
    {
        try MarathonBody.run(name: "/v2/apps", bytes: bytes) { (c: inout JSONCursor) throws(CursorError) in
            try appsDocument(&c)
        }
    }

    /// The fallback pair: `GET /v2/apps` and `GET /v2/tasks`, joined by app id in linear time. Tasks in
    /// the apps body (if any) are replaced by those of the tasks body.
    public static func decode(apps: [UInt8], tasks: [UInt8]) throws(MarathonDecodeError) -> MarathonSnapshot {
        let snapshot = try decode(appsWithTasks: apps)
        let decoded = try decode(tasks: tasks)
        return join(snapshot, tasks: decoded.tasks, taskProblems: decoded.problems)
    }

    /// `GET /v2/tasks` or `GET /v2/apps/{id}/tasks` (`{"tasks": [...]}`): the tasks, and a problem for
    /// each task that had to be left out.
    public static func decode(
        tasks bytes: [UInt8]
    ) throws(MarathonDecodeError) -> (
        tasks: [MarathonTask], problems: [String]
    ) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> ([MarathonTask], [String]) in
                try MarathonBody.run(name: "/v2/tasks", bytes: raw) { (c: inout JSONCursor) throws(CursorError) in
                    try tasksDocument(&c)
                }
            }
        }
        return try result.get()
    }

    /// Gives each app the tasks whose `appId` is its id (dictionary lookup, never a nested loop).
    public static func join(
        _ snapshot: MarathonSnapshot,
        tasks: [MarathonTask],
        taskProblems: [String] = []
    )
        -> MarathonSnapshot
    {
        var apps = snapshot.apps
        var problems = snapshot.problems + taskProblems
        var index: [String: Int] = [:]
        index.reserveCapacity(apps.count)
        for i in apps.indices {
            apps[i].tasks = []
            if index[apps[i].id] == nil { index[apps[i].id] = i }
        }
        var withoutAppID = 0
        var orphans = 0
        for task in tasks {
            guard let appID = task.appID else {
                withoutAppID += 1
                continue
            }
            guard let i = index[appID] else {
                orphans += 1
                continue
            }
            apps[i].tasks.append(task)
        }
        if withoutAppID > 0 {
            problems.append("/v2/tasks: \(withoutAppID) task(s) without appId ignored")
        }
        if orphans > 0 {
            problems.append(
                "/v2/tasks: \(orphans) task(s) of apps missing from /v2/apps ignored (changed between the two reads)"
            )
        }
        return MarathonSnapshot(apps: apps, problems: problems)
    }

    // MARK: Documents

    static func appsDocument(_ c: inout JSONCursor) throws(CursorError) -> MarathonSnapshot {
        try c.expectObject("")
        var apps: [MarathonApp] = []
        var problems: [String] = []
        var sawApps = false
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "apps") {
                guard try c.enterOptionalArray("apps") else { continue }
                sawApps = true
                var index = 0
                var firstApp = true
                while try c.nextElement(&firstApp) {
                    if let app = try recovering(&c, path: "apps[\(index)]", problems: &problems, decode: decodeApp) {
                        apps.append(app)
                    }
                    index += 1
                }
            } else if c.spanEquals(key, "app") {
                guard try c.peek() != .null else {
                    try c.readNull()
                    continue
                }
                sawApps = true
                if let app = try recovering(&c, path: "app", problems: &problems, decode: decodeApp) {
                    apps.append(app)
                }
            } else {
                try c.skipValue()
            }
        }
        guard sawApps else {
            throw .field(FieldError(path: "", message: "expected an object with \"apps\" (or \"app\")"))
        }
        return MarathonSnapshot(apps: apps, problems: problems)
    }

    static func tasksDocument(_ c: inout JSONCursor) throws(CursorError) -> ([MarathonTask], [String]) {
        try c.expectObject("")
        var tasks: [MarathonTask] = []
        var problems: [String] = []
        var sawTasks = false
        var first = true
        while let key = try c.nextKey(&first) {
            guard c.spanEquals(key, "tasks") else {
                try c.skipValue()
                continue
            }
            guard try c.enterOptionalArray("tasks") else { continue }
            sawTasks = true
            var index = 0
            var firstTask = true
            while try c.nextElement(&firstTask) {
                if let task = try recovering(&c, path: "tasks[\(index)]", problems: &problems, decode: decodeTask) {
                    tasks.append(task)
                }
                index += 1
            }
        }
        guard sawTasks else { throw .field(FieldError(path: "", message: "expected an object with \"tasks\"")) }
        return (tasks, problems)
    }

    /// Decodes one element; on a field error, skips the element whole and reports it instead.
    /// Syntax errors still end the document.
    static func recovering<T>(
        _ c: inout JSONCursor,
        path: @autoclosure () -> String,
        problems: inout [String],
        decode: (inout JSONCursor, inout String?) throws(CursorError) -> T
    ) throws(CursorError) -> T? {
        let mark = c.mark
        var id: String?
        do {
            return try decode(&c, &id)
        } catch {
            guard case .field(let field) = error else { throw error }
            c.reset(to: mark)
            try c.skipValue()
            let what = path().hasPrefix("apps") || path() == "app" ? "app" : "task"
            let name = id.map { " \"\(ValidationError.escaped($0))\"" } ?? ""
            problems.append("\(field.nested(under: path()).description) (\(what)\(name) skipped)")
            return nil
        }
    }

    // MARK: Apps

    private enum AppKey: Int {
        case id, labels, healthChecks, ports, portDefinitions, container, networks, ipAddress, tasks, deployments,
            readinessCheckResults
        static let names: [StaticString] = [
            "id", "labels", "healthChecks", "ports", "portDefinitions", "container", "networks", "ipAddress", "tasks",
            "deployments", "readinessCheckResults",
        ]
    }

    /// The app key `key` is, if any: by length and first byte, then one comparison (every app has
    /// dozens of keys, most of them of no interest).
    @inline(__always)
    private static func appKey(_ c: inout JSONCursor, _ key: StringSpan) -> AppKey? {
        if key.hasEscapes { return c.match(key, AppKey.names).flatMap(AppKey.init(rawValue:)) }
        switch key.count {
        case 2: return c.spanEquals(key, "id") ? .id : nil
        case 5:
            switch c.byte(key.start) {
            case UInt8(ascii: "p"): return c.spanEquals(key, "ports") ? .ports : nil
            case UInt8(ascii: "t"): return c.spanEquals(key, "tasks") ? .tasks : nil
            default: return nil
            }
        case 6: return c.spanEquals(key, "labels") ? .labels : nil
        case 8: return c.spanEquals(key, "networks") ? .networks : nil
        case 9:
            switch c.byte(key.start) {
            case UInt8(ascii: "c"): return c.spanEquals(key, "container") ? .container : nil
            case UInt8(ascii: "i"): return c.spanEquals(key, "ipAddress") ? .ipAddress : nil
            default: return nil
            }
        case 11: return c.spanEquals(key, "deployments") ? .deployments : nil
        case 12: return c.spanEquals(key, "healthChecks") ? .healthChecks : nil
        case 15: return c.spanEquals(key, "portDefinitions") ? .portDefinitions : nil
        case 21: return c.spanEquals(key, "readinessCheckResults") ? .readinessCheckResults : nil
        default: return nil
        }
    }

    static func decodeApp(_ c: inout JSONCursor, id seenID: inout String?) throws(CursorError) -> MarathonApp {
        try c.expectObject("")
        var app = MarathonApp(id: "")
        var hasID = false
        var portDefinitions: [MarathonApp.PortDefinition] = []
        var legacyPorts: [MarathonApp.PortDefinition] = []
        var container = ContainerFields()
        var lastNetworkMode: (mode: String, index: Int)?
        var hasIPAddress = false
        var first = true
        while let key = try c.nextKey(&first) {
            guard let known = appKey(&c, key) else {
                try c.skipValue()
                continue
            }
            switch known {
            case .id:
                guard let id = try c.optionalString("id") else {
                    throw .field(FieldError(path: "id", message: "must not be null"))
                }
                app.id = id
                hasID = true
                seenID = id
            case .labels:
                app.labels = try decodeLabels(&c)
            case .healthChecks:
                var checks: [MarathonApp.HealthCheck] = []
                try c.forEachObject("healthChecks") { (c: inout JSONCursor, index: Int) throws(CursorError) in
                    checks.append(try decodeHealthCheck(&c, index))
                }
                app.healthChecks = checks
                app.healthCheckCount = checks.count
            case .deployments:
                app.deploymentCount = 0
                if try c.enterOptionalArray("deployments") {
                    var firstDeployment = true
                    while try c.nextElement(&firstDeployment) {
                        try c.skipValue()
                        app.deploymentCount += 1
                    }
                }
            case .readinessCheckResults:
                var notReady: [String] = []
                try c.forEachObject("readinessCheckResults") { (c: inout JSONCursor, index: Int) throws(CursorError) in
                    var firstMember = true
                    var taskID: String?
                    var ready = true
                    while let key = try c.nextKey(&firstMember) {
                        if c.spanEquals(key, "taskId") {
                            taskID = try c.optionalString("readinessCheckResults[\(index)].taskId")
                        } else if c.spanEquals(key, "ready") {
                            ready = try c.optionalBool("readinessCheckResults[\(index)].ready") ?? false
                        } else {
                            try c.skipValue()
                        }
                    }
                    if let taskID, !ready { notReady.append(taskID) }
                }
                app.notReadyTasks = notReady
            case .ports:
                legacyPorts = try c.portList("ports").map { MarathonApp.PortDefinition(port: $0) }
            case .portDefinitions:
                portDefinitions = try c.objects("portDefinitions", decodePortDefinition(number: "port"))
            case .container:
                container = try decodeContainer(&c)
            case .networks:
                lastNetworkMode = nil
                try c.forEachObject("networks") { (c: inout JSONCursor, index: Int) throws(CursorError) in
                    var firstMember = true
                    while let key = try c.nextKey(&firstMember) {
                        guard c.spanEquals(key, "mode") else {
                            try c.skipValue()
                            continue
                        }
                        if let mode = try c.optionalString("mode") { lastNetworkMode = (mode, index) }
                    }
                }
            case .ipAddress:
                hasIPAddress = false
                app.discoveryPorts = []
                guard try c.enterOptionalObject("ipAddress") else { continue }
                hasIPAddress = true
                var firstMember = true
                while let key = try c.nextKey(&firstMember) {
                    guard c.spanEquals(key, "discovery") else {
                        try c.skipValue()
                        continue
                    }
                    guard try c.enterOptionalObject("ipAddress.discovery") else { continue }
                    var firstDiscovery = true
                    while let key = try c.nextKey(&firstDiscovery) {
                        if c.spanEquals(key, "ports") {
                            app.discoveryPorts = try c.objects(
                                "ipAddress.discovery.ports",
                                decodePortDefinition(number: "number")
                            )
                        } else {
                            try c.skipValue()
                        }
                    }
                }
            case .tasks:
                app.tasks = []
                guard try c.enterOptionalArray("tasks") else { continue }
                var index = 0
                var firstTask = true
                while try c.nextElement(&firstTask) {
                    var taskID: String?
                    do {
                        app.tasks.append(try decodeTask(&c, id: &taskID))
                    } catch {
                        guard case .field(let field) = error else { throw error }
                        throw .field(field.nested(under: "tasks[\(index)]"))
                    }
                    index += 1
                }
            }
        }
        guard hasID else { throw .field(FieldError(path: "id", message: "is required")) }
        app.portDefinitions = portDefinitions.isEmpty ? legacyPorts : portDefinitions
        app.portMappings = container.portMappings.isEmpty ? container.dockerPortMappings : container.portMappings
        if let (mode, index) = lastNetworkMode {
            switch mode {
            case "host": app.networkMode = .host
            case "container/bridge": app.networkMode = .bridge
            case "container": app.networkMode = .container
            default:
                throw .field(
                    FieldError(
                        path: "networks[\(index)].mode",
                        message: "unknown network mode \"\(ValidationError.escaped(mode))\""
                    )
                )
            }
        } else if container.dockerNetwork == "BRIDGE" {
            app.networkMode = .bridge
        } else if container.dockerNetwork == "USER" || hasIPAddress {
            app.networkMode = .container
        } else {
            app.networkMode = .host
        }
        return app
    }

    /// Keeps the labels proxym reads (`proxym.*`, `HAPROXY_*`); their values must be strings.
    static func decodeLabels(_ c: inout JSONCursor) throws(CursorError) -> [String: String] {
        var labels: [String: String] = [:]
        guard try c.enterOptionalObject("labels") else { return labels }
        var first = true
        while let key = try c.nextKey(&first) {
            let wanted =
                key.hasEscapes || c.spanHasPrefix(key, "proxym.") || c.spanHasPrefix(key, "HAPROXY_")
            guard wanted else {
                try c.skipValue()
                continue
            }
            let name = c.string(key)
            guard name.hasPrefix("proxym.") || name.hasPrefix("HAPROXY_") else {
                try c.skipValue()
                continue
            }
            switch try c.peek() {
            case .string: labels[name] = try c.readString()
            case .null: try c.readNull()
            case let kind:
                throw .field(
                    FieldError(
                        path: "labels.\(ValidationError.escaped(name))",
                        message: "expected a string, got \(kind.phrase)"
                    )
                )
            }
        }
        return labels
    }

    struct ContainerFields {
        var dockerNetwork: String?
        var dockerPortMappings: [MarathonApp.PortMapping] = []
        var portMappings: [MarathonApp.PortMapping] = []
    }

    static func decodeContainer(_ c: inout JSONCursor) throws(CursorError) -> ContainerFields {
        var fields = ContainerFields()
        guard try c.enterOptionalObject("container") else { return fields }
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "portMappings") {
                fields.portMappings = try c.objects("container.portMappings", decodePortMapping)
            } else if c.spanEquals(key, "docker") {
                fields.dockerNetwork = nil
                fields.dockerPortMappings = []
                guard try c.enterOptionalObject("container.docker") else { continue }
                var firstDocker = true
                while let key = try c.nextKey(&firstDocker) {
                    if c.spanEquals(key, "network") {
                        fields.dockerNetwork = try c.optionalString("container.docker.network")
                    } else if c.spanEquals(key, "portMappings") {
                        fields.dockerPortMappings = try c.objects("container.docker.portMappings", decodePortMapping)
                    } else {
                        try c.skipValue()
                    }
                }
            } else {
                try c.skipValue()
            }
        }
        return fields
    }

    /// The members of one port mapping object (the cursor is inside it).
    static func decodePortMapping(_ c: inout JSONCursor) throws(CursorError) -> MarathonApp.PortMapping {
        var mapping = MarathonApp.PortMapping()
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "containerPort") {
                mapping.containerPort = try c.optionalPort("containerPort")
            } else if c.spanEquals(key, "hostPort") {
                mapping.hostPort = try c.optionalPort("hostPort")
            } else if c.spanEquals(key, "servicePort") {
                mapping.servicePort = try c.optionalPort("servicePort")
            } else if c.spanEquals(key, "protocol") {
                mapping.protocol = try c.optionalString("protocol")
            } else {
                try c.skipValue()
            }
        }
        return mapping
    }

    /// A reader for `{"port": 80, "protocol": "tcp"}` (or `number` instead of `port`).
    static func decodePortDefinition(
        number field: StaticString
    ) -> (inout JSONCursor) throws(CursorError) ->
        MarathonApp
        .PortDefinition
    {
        { (c: inout JSONCursor) throws(CursorError) in
            var definition = MarathonApp.PortDefinition(port: nil)
            var first = true
            while let key = try c.nextKey(&first) {
                if c.spanEquals(key, field) {
                    definition.port = try c.optionalPort("\(field)")
                } else if c.spanEquals(key, "protocol") {
                    definition.protocol = try c.optionalString("protocol")
                } else {
                    try c.skipValue()
                }
            }
            return definition
        }
    }

    /// One entry of `healthChecks`: what haproxy's own check needs (marathon-lb's translation).
    static func decodeHealthCheck(_ c: inout JSONCursor, _ index: Int) throws(CursorError) -> MarathonApp.HealthCheck {
        var check = MarathonApp.HealthCheck()
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "protocol") {
                check.protocol = try c.optionalString("healthChecks[\(index)].protocol")
            } else if c.spanEquals(key, "path") {
                check.path = try c.optionalString("healthChecks[\(index)].path")
            } else if c.spanEquals(key, "portIndex") {
                check.portIndex = try c.optionalCount("healthChecks[\(index)].portIndex")
            } else if c.spanEquals(key, "port") {
                check.port = try c.optionalPort("healthChecks[\(index)].port")
            } else if c.spanEquals(key, "intervalSeconds") {
                check.intervalSeconds = try c.optionalCount("healthChecks[\(index)].intervalSeconds")
            } else if c.spanEquals(key, "timeoutSeconds") {
                check.timeoutSeconds = try c.optionalCount("healthChecks[\(index)].timeoutSeconds")
            } else if c.spanEquals(key, "maxConsecutiveFailures") {
                check.maxConsecutiveFailures = try c.optionalCount("healthChecks[\(index)].maxConsecutiveFailures")
            } else {
                try c.skipValue()
            }
        }
        return check
    }

    // MARK: Tasks

    private enum TaskKey: Int {
        case id, appId, host, ports, servicePorts, ipAddresses, state, healthCheckResults
        static let names: [StaticString] = [
            "id", "appId", "host", "ports", "servicePorts", "ipAddresses", "state", "healthCheckResults",
        ]
    }

    /// The task key `key` is, if any (see ``appKey(_:_:)``).
    @inline(__always)
    private static func taskKey(_ c: inout JSONCursor, _ key: StringSpan) -> TaskKey? {
        if key.hasEscapes { return c.match(key, TaskKey.names).flatMap(TaskKey.init(rawValue:)) }
        switch key.count {
        case 2: return c.spanEquals(key, "id") ? .id : nil
        case 4: return c.spanEquals(key, "host") ? .host : nil
        case 5:
            switch c.byte(key.start) {
            case UInt8(ascii: "a"): return c.spanEquals(key, "appId") ? .appId : nil
            case UInt8(ascii: "p"): return c.spanEquals(key, "ports") ? .ports : nil
            case UInt8(ascii: "s"): return c.spanEquals(key, "state") ? .state : nil
            default: return nil
            }
        case 11: return c.spanEquals(key, "ipAddresses") ? .ipAddresses : nil
        case 12: return c.spanEquals(key, "servicePorts") ? .servicePorts : nil
        case 18: return c.spanEquals(key, "healthCheckResults") ? .healthCheckResults : nil
        default: return nil
        }
    }

    static func decodeTask(_ c: inout JSONCursor, id seenID: inout String?) throws(CursorError) -> MarathonTask {
        try c.expectObject("")
        var task = MarathonTask(id: "")
        var hasID = false
        var first = true
        while let key = try c.nextKey(&first) {
            guard let known = taskKey(&c, key) else {
                try c.skipValue()
                continue
            }
            switch known {
            case .id:
                guard let id = try c.optionalString("id") else {
                    throw .field(FieldError(path: "id", message: "must not be null"))
                }
                task.id = id
                hasID = true
                seenID = id
            case .appId:
                task.appID = try c.optionalString("appId")
            case .host:
                task.host = try c.optionalString("host")
            case .ports:
                task.ports = try c.portList("ports")
            case .servicePorts:
                task.servicePorts = try c.portList("servicePorts")
            case .state:
                task.state = try c.optionalString("state")
            case .ipAddresses:
                task.ipAddresses = []
                try c.forEachObject("ipAddresses") { (c: inout JSONCursor, _: Int) throws(CursorError) in
                    var firstMember = true
                    var address: String?
                    while let key = try c.nextKey(&firstMember) {
                        if c.spanEquals(key, "ipAddress") {
                            address = try c.optionalString("ipAddress")
                        } else {
                            try c.skipValue()
                        }
                    }
                    if let address { task.ipAddresses.append(address) }
                }
            case .healthCheckResults:
                task.healthResults = []
                try c.forEachObject("healthCheckResults") { (c: inout JSONCursor, _: Int) throws(CursorError) in
                    var firstMember = true
                    var alive = false
                    while let key = try c.nextKey(&firstMember) {
                        if c.spanEquals(key, "alive") {
                            alive = try c.optionalBool("alive") ?? false
                        } else {
                            try c.skipValue()
                        }
                    }
                    task.healthResults.append(alive)
                }
            }
        }
        guard hasID else { throw .field(FieldError(path: "id", message: "is required")) }
        return task
    }
}
