/// The benchmark's own inputs, deterministic (the same N always gives the same bytes), so runs on
/// different days and branches compare.

/// `N` Marathon apps x `M` tasks in the shape Marathon 1.5+ answers `GET /v2/apps?embed=apps.tasks`:
/// labels (`HAPROXY_GROUP`, a vhost on every other app, labels proxym does not read), one health check
/// with a result per task, and two networking styles in turn:
/// - apps `i % 4 < 2`: host networking (`networks: [{mode: host}]`, `portDefinitions`);
/// - apps `i % 4 >= 2`: Docker bridge (`networks: [{mode: container/bridge}]`,
///   `container.portMappings` with container, host and service ports).
///
/// Even apps are HTTP virtual hosts (`HAPROXY_0_VHOST`), odd ones TCP listeners on `10000 + i`:
/// half HTTP, half TCP, as the issue's marathon-lb figures were measured.
struct MarathonAppsGenerator {
    var apps: Int
    var tasksPerApp: Int

    static let version = "2024-01-01T00:00:00.000Z"

    static func appID(_ i: Int) -> String { "/bench/app-\(i)" }
    static func vhost(_ i: Int) -> String { "app-\(i).bench.example.com" }
    static func servicePort(_ i: Int) -> Int { 10000 + i }
    static func isBridge(_ i: Int) -> Bool { i % 4 >= 2 }

    /// The agent (`task.host`) task `n` runs on: 64 agents, IP literals.
    static func agent(_ n: Int) -> String { "10.1.\(n % 64 / 8).\(n % 8 + 1)" }

    /// `{"apps": [...]}`.
    func body() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(apps * (1800 + tasksPerApp * 900))
        out += #"{"apps":["#.utf8
        for i in 0..<apps {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Self.app(i, tasks: tasksPerApp).utf8
        }
        out += "]}".utf8
        return out
    }

    /// App `i` with `tasks` running, healthy tasks (a scale event changes `tasks`). Task `j` of app `i`
    /// is the same task (id, agent, port) whatever the count, as in Marathon.
    static func app(_ i: Int, tasks: Int) -> String {
        let id = appID(i)
        let v = version
        var labels = #""HAPROXY_GROUP":"external","owner":"team-\#(i % 7)","costCenter":"cc-\#(i % 13)""#
        if i % 2 == 0 { labels += #","HAPROXY_0_VHOST":"\#(vhost(i))""# }
        var taskList: [String] = []
        taskList.reserveCapacity(tasks)
        for j in 0..<tasks { taskList.append(task(app: i, index: j)) }
        let networking: String
        if isBridge(i) {
            networking = """
                "networks":[{"mode":"container/bridge","name":"default"}],\
                "container":{"type":"DOCKER","docker":{"image":"registry.example.com/app:\(i % 5)",\
                "forcePullImage":false,"parameters":[],"privileged":false},"volumes":[],\
                "portMappings":[{"containerPort":8080,"hostPort":0,"labels":{},"name":"http",\
                "protocol":"tcp","servicePort":\(servicePort(i))}]},"portDefinitions":[],
                """
        } else {
            networking = """
                "networks":[{"mode":"host"}],\
                "portDefinitions":[{"port":\(servicePort(i)),"protocol":"tcp","name":"p0","labels":{}}],
                """
        }
        return """
            {"id":"\(id)","backoffFactor":1.15,"backoffSeconds":1,"cmd":"/app/run --port $PORT0","cpus":0.1,\
            "disk":0,"env":{"LOG_LEVEL":"info","APP_INDEX":"\(i)"},"executor":"","instances":\(tasks),\
            "labels":{\(labels)},"maxLaunchDelaySeconds":3600,"mem":128,"gpus":0,\(networking)\
            "requirePorts":false,"healthChecks":[{"gracePeriodSeconds":15,"intervalSeconds":10,\
            "maxConsecutiveFailures":3,"path":"/health","portIndex":0,"protocol":"MESOS_HTTP","ipProtocol":"IPv4",\
            "timeoutSeconds":5,"delaySeconds":15}],"upgradeStrategy":{"maximumOverCapacity":1,\
            "minimumHealthCapacity":1},"version":"\(v)","versionInfo":{"lastScalingAt":"\(v)",\
            "lastConfigChangeAt":"\(v)"},"killSelection":"YOUNGEST_FIRST","unreachableStrategy":\
            {"inactiveAfterSeconds":0,"expungeAfterSeconds":0},"tasksStaged":0,"tasksRunning":\(tasks),\
            "tasksHealthy":\(tasks),"tasksUnhealthy":0,"deployments":[],"tasks":[\(taskList.joined(separator: ","))]}
            """
    }

    static func taskID(app i: Int, index j: Int) -> String {
        "bench_app-\(i).instance-\(uuid(i * 64 + j))._app.1"
    }

    static func hostPort(app i: Int, index j: Int) -> Int { 31000 + (i * 7 + j) % 30000 }

    static func task(app i: Int, index j: Int) -> String {
        let n = i * 64 + j
        let v = version
        let name = "bench_app-\(i)"
        let ip = isBridge(i) ? "172.17.\(n % 200).\(j % 250 + 2)" : agent(n)
        return """
            {"id":"\(taskID(app: i, index: j))","appId":"\(appID(i))","host":"\(agent(n))",\
            "ports":[\(hostPort(app: i, index: j))],"ipAddresses":[{"ipAddress":"\(ip)","protocol":"IPv4"}],\
            "state":"TASK_RUNNING","stagedAt":"\(v)","startedAt":"\(v)","version":"\(v)",\
            "slaveId":"bench-agent-S\(n % 64)","localVolumes":[],"region":"primary","zone":"zone-\(n % 3)",\
            "role":"*","healthCheckResults":[{"alive":true,"consecutiveFailures":0,"firstSuccess":"\(v)",\
            "lastFailure":null,"lastSuccess":"\(v)","lastFailureCause":null,\
            "instanceId":"\(name).marathon-\(uuid(n))"}]}
            """
    }

    /// What Marathon sends when a task starts (the scale event).
    static func statusUpdateEvent(app i: Int, index j: Int) -> String {
        """
        {"eventType":"status_update_event","timestamp":"\(version)","slaveId":"bench-agent-S\((i * 64 + j) % 64)",\
        "taskId":"\(taskID(app: i, index: j))","taskStatus":"TASK_RUNNING","message":"","appId":"\(appID(i))",\
        "host":"\(agent(i * 64 + j))","ipAddresses":[{"ipAddress":"\(agent(i * 64 + j))","protocol":"IPv4"}],\
        "ports":[\(hostPort(app: i, index: j))],"version":"\(version)"}
        """
    }

    /// A stable, unique, uuid-shaped string.
    static func uuid(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return "0badf00d-68a7-11e7-a229-" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}

/// `N` service files (the File module's format), three hosts each; even services are HTTP virtual
/// hosts on the HTTP port (80), odd ones TCP listeners on `20000 + i`. About 250 bytes a file.
struct ServiceFilesGenerator {
    var count: Int

    static func fileName(_ i: Int) -> String { "svc-\(i).json" }

    /// File `i`; `revision` changes one host's port (an edit).
    static func contents(_ i: Int, revision: Int = 0) -> String {
        let port = i % 2 == 0 ? 80 : 20000 + i
        var hosts: [String] = []
        for j in 0..<3 {
            let n = i * 3 + j
            let hostPort = 31000 + (n + (j == 0 ? revision : 0)) % 30000
            hosts.append(#"{"ip":"10.2.\#(n % 250).\#(j + 1)","port":\#(hostPort)}"#)
        }
        return """
            {"id":"/files/svc-\(i)","domain":"svc-\(i).files.example.com","protocol":"tcp",\
            "servicePort":\(port),"hosts":[\(hosts.joined(separator: ","))]}

            """
    }
}
