import ProxymJSON
import ProxymModel

extension MarathonApps {
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
                task.id = try requiredID(&c, seen: &seenID)
                hasID = true
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
        guard hasID else { throw missingID }
        return task
    }
}
