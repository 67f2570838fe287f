/// Synthetic apps for benchmarks (`--generate N --tasks M`): N apps of M running, healthy tasks each, in
/// the Marathon 1.5+ shape (`networks: [{mode: host}]`, `portDefinitions`, `state`, health checks with
/// results keyed by `instanceId`). Even-numbered apps are HTTP virtual hosts (`HAPROXY_0_VHOST`
/// `app-<i>.gen.example.com`), odd-numbered ones TCP listeners on `servicePortBase + i`.
struct Generator {
    var apps: Int
    var tasksPerApp: Int
    /// The agents' address (tasks use host networking).
    var taskHost = "127.0.0.1"
    /// Host ports handed to tasks in turn; empty = 31000, 31001, ...
    var taskPorts: [Int] = []
    var servicePortBase = 10000

    static func appID(_ i: Int) -> String { "/gen/app-\(i)" }
    static func vhost(_ i: Int) -> String { "app-\(i).gen.example.com" }

    /// `{"apps": [...]}` as `GET /v2/apps?embed=apps.tasks` would answer.
    func body() -> [UInt8] {
        var out = "{\"apps\":["
        out.reserveCapacity(apps * (900 + tasksPerApp * 600))
        for i in 0..<apps {
            if i > 0 { out += "," }
            out += app(i)
        }
        out += "]}"
        return Array(out.utf8)
    }

    func app(_ i: Int) -> String {
        let id = Self.appID(i)
        let version = "2024-01-01T00:00:00.000Z"
        var labels = "\"HAPROXY_GROUP\":\"external\""
        if i % 2 == 0 { labels += ",\"HAPROXY_0_VHOST\":\"\(Self.vhost(i))\"" }
        var tasks: [String] = []
        for j in 0..<tasksPerApp {
            let n = i * tasksPerApp + j
            let port = taskPorts.isEmpty ? 31000 + n % 30000 : taskPorts[n % taskPorts.count]
            let uuid = Self.uuid(n)
            let name = id.dropFirst().replacing("/", with: "_")
            tasks.append(
                """
                {"id":"\(name).instance-\(uuid)._app.1","appId":"\(id)","host":"\(taskHost)","ports":[\(port)],\
                "ipAddresses":[{"ipAddress":"\(taskHost)","protocol":"IPv4"}],"state":"TASK_RUNNING",\
                "stagedAt":"\(version)","startedAt":"\(version)","version":"\(version)",\
                "slaveId":"fake-agent-S\(n % 16)","localVolumes":[],"region":"primary","zone":"a","role":"*",\
                "healthCheckResults":[{"alive":true,"consecutiveFailures":0,"firstSuccess":"\(version)",\
                "lastFailure":null,"lastSuccess":"\(version)","lastFailureCause":null,\
                "instanceId":"\(name).marathon-\(uuid)"}]}
                """)
        }
        return """
            {"id":"\(id)","backoffFactor":1.15,"backoffSeconds":1,"cmd":"sleep 1000000","cpus":0.1,"disk":0,\
            "executor":"","instances":\(tasksPerApp),"labels":{\(labels)},"maxLaunchDelaySeconds":3600,"mem":32,\
            "gpus":0,"networks":[{"mode":"host"}],\
            "portDefinitions":[{"port":\(servicePortBase + i),"protocol":"tcp","name":"p0","labels":{}}],\
            "requirePorts":false,"healthChecks":[{"gracePeriodSeconds":15,"intervalSeconds":10,\
            "maxConsecutiveFailures":3,"path":"/","portIndex":0,"protocol":"MESOS_HTTP","timeoutSeconds":5,\
            "delaySeconds":15}],"upgradeStrategy":{"maximumOverCapacity":1,"minimumHealthCapacity":1},\
            "version":"\(version)","versionInfo":{"lastScalingAt":"\(version)","lastConfigChangeAt":"\(version)"},\
            "killSelection":"YOUNGEST_FIRST","unreachableStrategy":{"inactiveAfterSeconds":300,\
            "expungeAfterSeconds":600},"tasksStaged":0,"tasksRunning":\(tasksPerApp),"tasksHealthy":\(tasksPerApp),\
            "tasksUnhealthy":0,"deployments":[],"tasks":[\(tasks.joined(separator: ","))]}
            """
    }

    /// A stable, unique, uuid-shaped string for task `n`.
    static func uuid(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        let padded = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return "0badf00d-68a7-11e7-a229-\(padded)"
    }
}
