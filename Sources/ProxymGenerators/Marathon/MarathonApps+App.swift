import ProxymJSON
import ProxymModel

extension MarathonApps {
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
                app.id = try requiredID(&c, seen: &seenID)
                hasID = true
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
                app.deploymentCount = try countDeployments(&c)
            case .readinessCheckResults:
                app.notReadyTasks = try decodeNotReadyTasks(&c)
            case .ports:
                legacyPorts = try c.portList("ports").map { MarathonApp.PortDefinition(port: $0) }
            case .portDefinitions:
                portDefinitions = try c.objects("portDefinitions", decodePortDefinition(number: "port"))
            case .container:
                container = try decodeContainer(&c)
            case .networks:
                lastNetworkMode = try decodeLastNetworkMode(&c)
            case .ipAddress:
                app.discoveryPorts = []
                hasIPAddress = try decodeIPAddress(&c, discoveryPorts: &app.discoveryPorts)
            case .tasks:
                app.tasks = try decodeEmbeddedTasks(&c)
            }
        }
        guard hasID else { throw missingID }
        app.portDefinitions = portDefinitions.isEmpty ? legacyPorts : portDefinitions
        app.portMappings = container.portMappings.isEmpty ? container.dockerPortMappings : container.portMappings
        app.networkMode = try networkMode(lastNetworkMode, container: container, hasIPAddress: hasIPAddress)
        return app
    }

    /// The length of `deployments` (0 when absent or `null`).
    private static func countDeployments(_ c: inout JSONCursor) throws(CursorError) -> Int {
        var count = 0
        if try c.enterOptionalArray("deployments") {
            var firstDeployment = true
            while try c.nextElement(&firstDeployment) {
                try c.skipValue()
                count += 1
            }
        }
        return count
    }

    /// The ids of the tasks `readinessCheckResults` says are not ready.
    private static func decodeNotReadyTasks(_ c: inout JSONCursor) throws(CursorError) -> [String] {
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
        return notReady
    }

    /// The last `mode` given in `networks`, and the index of its network.
    private static func decodeLastNetworkMode(
        _ c: inout JSONCursor
    ) throws(CursorError) -> (mode: String, index: Int)? {
        var lastNetworkMode: (mode: String, index: Int)?
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
        return lastNetworkMode
    }

    /// Reads `ipAddress`, setting `discoveryPorts` from its `discovery.ports`; whether it was an object
    /// (not absent or `null`).
    private static func decodeIPAddress(
        _ c: inout JSONCursor,
        discoveryPorts: inout [MarathonApp.PortDefinition]
    ) throws(CursorError) -> Bool {
        guard try c.enterOptionalObject("ipAddress") else { return false }
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
                    discoveryPorts = try c.objects(
                        "ipAddress.discovery.ports",
                        decodePortDefinition(number: "number")
                    )
                } else {
                    try c.skipValue()
                }
            }
        }
        return true
    }

    /// The app's embedded `tasks`; a task's field error is named under `tasks[i]` and costs the app.
    private static func decodeEmbeddedTasks(_ c: inout JSONCursor) throws(CursorError) -> [MarathonTask] {
        var tasks: [MarathonTask] = []
        guard try c.enterOptionalArray("tasks") else { return tasks }
        var index = 0
        var firstTask = true
        while try c.nextElement(&firstTask) {
            var taskID: String?
            do {
                tasks.append(try decodeTask(&c, id: &taskID))
            } catch {
                guard case .field(let field) = error else { throw error }
                throw .field(field.nested(under: "tasks[\(index)]"))
            }
            index += 1
        }
        return tasks
    }

    /// The app's network mode: the last `networks` mode, else what `container.docker.network` and
    /// `ipAddress` imply.
    private static func networkMode(
        _ lastNetworkMode: (mode: String, index: Int)?,
        container: ContainerFields,
        hasIPAddress: Bool
    ) throws(CursorError) -> MarathonApp.NetworkMode {
        if let (mode, index) = lastNetworkMode {
            switch mode {
            case "host": return .host
            case "container/bridge": return .bridge
            case "container": return .container
            default:
                throw .field(
                    FieldError(
                        path: "networks[\(index)].mode",
                        message: "unknown network mode \"\(ValidationError.escaped(mode))\""
                    )
                )
            }
        } else if container.dockerNetwork == "BRIDGE" {
            return .bridge
        } else if container.dockerNetwork == "USER" || hasIPAddress {
            return .container
        } else {
            return .host
        }
    }
}
