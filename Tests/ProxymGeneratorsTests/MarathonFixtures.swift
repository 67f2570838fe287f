import FoundationEssentials
import ProxymGenerators
import ProxymModel
import Testing
import ProxymTestBuilders

/// The recorded Marathon payloads in the repository (`Tests/Fixtures/marathon`; SOURCES.md there says
/// where each was recorded), found relative to this file. A missing file fails the test that needs it.
enum MarathonFixtures {
    static let directory: String = {
        // <root>/Tests/ProxymGeneratorsTests/MarathonFixtures.swift -> <root>/Tests/Fixtures/marathon
        var path = Substring(#filePath)
        for _ in 0..<2 { path = path[..<path.lastIndex(of: "/")!] }
        return String(path) + "/Fixtures/marathon"
    }()

    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "fixture \(path) is missing (the tests read Tests/Fixtures/marathon in the repository)"
        }
    }

    /// The bytes of `<folder>/<file>`.
    static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = directory + "/" + relativePath
        guard let data = FileManager.default.contents(atPath: path) else { throw Missing(path: path) }
        return [UInt8](data)
    }

    /// The file names in one fixture folder, sorted.
    static func files(in folder: String) throws -> [String] {
        let path = directory + "/" + folder
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
        guard !names.isEmpty else { throw Missing(path: path) }
        return names.sorted()
    }

    /// An app definition (a POST body) as the single app of a `/v2/apps` response.
    static func appsBody(wrapping definition: [UInt8]) -> [UInt8] {
        Array(#"{"apps":["#.utf8) + definition + Array("]}".utf8)
    }
}

/// An expected Marathon service; the tables below are literals, so a typo in them fails loudly.
func marathonService(
    _ id: String,
    domains: [String],
    transport: TransportProtocol = .tcp,
    app: ApplicationProtocol = .tcp,
    port: UInt16,
    hosts: [(String, Int)] = []
) -> Service {
    try! makeService(id, domains: domains, port: port, hosts: hosts, transport: transport, protocol: app, source: "marathon")
}

extension Service {
    /// The service without its routing (app id, haproxy check from Marathon's health checks), for the
    /// fixture tests about ports, domains and backends; MarathonLabelTableTests checks the routing.
    var withoutRouting: Service {
        var copy = self
        copy.routing = .none
        return copy
    }
}

/// Maps with fresh health memory and default options unless given.
func mapped(
    _ snapshot: MarathonSnapshot,
    options: MarathonOptions = MarathonOptions()
) -> MarathonMapping {
    var memory = MarathonHealthMemory()
    return MarathonMapper.services(from: snapshot, options: options, health: &memory)
}

/// A `/v2/apps?embed=apps.tasks` body shaped like a real Marathon 1.5+ response (the fields of
/// marathon-lb's `marathon15_apps.json` capture and more), `tasksPerApp` healthy running tasks per app:
/// about 3.4 kB per app with three tasks.
enum SyntheticMarathon {
    static func body(apps: Int, tasksPerApp: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(apps * (1_700 + tasksPerApp * 620))
        out += Array(#"{"apps":["#.utf8)
        for i in 0..<apps {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let id = "/team-\(i % 50)/app-\(i)"
            var tasks: [String] = []
            for t in 0..<tasksPerApp {
                let uuid = "\(String(i, radix: 16))\(t)a7-68a7-11e7-a229-e6a514ca0c21"
                tasks.append(
                    #"{"ipAddresses":[{"ipAddress":"172.17.\#(t).\#(i % 250)","protocol":"IPv4"}],"stagedAt":"2017-07-14T15:13:35.804Z","state":"TASK_RUNNING","ports":[\#(20_000 + (i * 3 + t) % 10_000)],"startedAt":"2017-07-14T15:13:58.326Z","version":"2017-07-14T15:13:34.402Z","id":"team-\#(i % 50)_app-\#(i).\#(uuid)","appId":"\#(id)","slaveId":"c28a2184-c702-482c-91c8-5af9318434d4-S\#(t)","host":"10.0.\#(i % 200).\#(t + 1)","healthCheckResults":[{"alive":true,"consecutiveFailures":0,"firstSuccess":"2017-07-14T15:14:18.395Z","lastFailure":null,"lastSuccess":"2017-07-14T15:14:18.395Z","lastFailureCause":null,"instanceId":"team-\#(i % 50)_app-\#(i).marathon-\#(uuid)"}]}"#
                )
            }
            let app =
                #"{"id":"\#(id)","acceptedResourceRoles":["*","slave_public"],"backoffFactor":1.15,"backoffSeconds":1,"cmd":"echo \"host $HOST and port $PORT\" > index.html && python -m http.server 8080","constraints":[["hostname","GROUP_BY","3"]],"container":{"type":"DOCKER","docker":{"forcePullImage":false,"image":"registry.example.com/team-\#(i % 50)/app:1.\#(i % 17).3","parameters":[{"key":"log-driver","value":"journald"}],"privileged":false},"volumes":[],"portMappings":[{"containerPort":8080,"hostPort":0,"labels":{},"name":"http","protocol":"tcp","servicePort":\#(10_000 + i)}]},"cpus":0.25,"disk":0,"env":{"JAVA_OPTS":"-Xmx256m -Dfile.encoding=UTF-8","ENVIRONMENT":"production","TEAM":"team-\#(i % 50)"},"executor":"","fetch":[{"uri":"https://artifacts.example.com/app-\#(i).tgz","extract":true,"executable":false,"cache":false}],"healthChecks":[{"gracePeriodSeconds":15,"intervalSeconds":3,"maxConsecutiveFailures":10,"path":"/health","portIndex":0,"protocol":"MESOS_HTTP","timeoutSeconds":15,"delaySeconds":15}],"instances":\#(tasksPerApp),"labels":{"HAPROXY_GROUP":"external","HAPROXY_0_VHOST":"app-\#(i).team-\#(i % 50).example.com","owner":"team-\#(i % 50)","cost-center":"cc-\#(i % 7)"},"maxLaunchDelaySeconds":3600,"mem":256,"gpus":0,"networks":[{"mode":"container/bridge"}],"requirePorts":false,"upgradeStrategy":{"maximumOverCapacity":1,"minimumHealthCapacity":1},"version":"2017-07-14T15:13:34.402Z","versionInfo":{"lastScalingAt":"2017-07-14T15:13:34.402Z","lastConfigChangeAt":"2017-07-14T15:13:34.402Z"},"killSelection":"YOUNGEST_FIRST","unreachableStrategy":{"inactiveAfterSeconds":300,"expungeAfterSeconds":600},"tasksStaged":0,"tasksRunning":\#(tasksPerApp),"tasksHealthy":\#(tasksPerApp),"tasksUnhealthy":0,"deployments":[],"tasks":[\#(tasks.joined(separator: ","))]}"#
            out += Array(app.utf8)
        }
        out += Array("]}".utf8)
        return out
    }
}
