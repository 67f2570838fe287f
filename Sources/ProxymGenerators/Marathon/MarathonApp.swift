/// What proxym needs of one Marathon app, decoded from `/v2/apps` (with or without embedded tasks) or
/// `/v2/apps/{id}`. Everything else Marathon says about an app is skipped.
///
/// The values are Marathon's, unvalidated: ``MarathonMapper`` checks them through the model's types.
public struct MarathonApp: Sendable, Hashable {
    /// How the app's tasks are reached (marathon-api.md section 2, "Resolving backends", step 1).
    public enum NetworkMode: String, Sendable, Hashable {
        /// The agent's address and the task's host ports (`task.host` + `task.ports`).
        case host
        /// Docker `BRIDGE` / `container/bridge`: also the agent's address and host ports.
        case bridge = "container/bridge"
        /// IP-per-task (`USER`, `container`, non-null `ipAddress`): the task's own address and the
        /// container or discovery ports.
        case container
    }

    /// One entry of `container.portMappings` (1.5+) or `container.docker.portMappings` (up to 1.4).
    public struct PortMapping: Sendable, Hashable {
        public var containerPort: Int?
        /// `nil` when the field is absent: in container mode that means no host port is allocated.
        public var hostPort: Int?
        public var servicePort: Int?
        /// Marathon's transport: `tcp`, `udp` or `udp,tcp`; `nil` when absent (tcp).
        public var `protocol`: String?

        public init(containerPort: Int? = nil, hostPort: Int? = nil, servicePort: Int? = nil, protocol: String? = nil) {
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.servicePort = servicePort
            self.protocol = `protocol`
        }
    }

    /// A port number with its transport: an entry of `portDefinitions` (`port`), of the legacy `ports`
    /// list, or of `ipAddress.discovery.ports` (`number`).
    public struct PortDefinition: Sendable, Hashable {
        public var port: Int?
        public var `protocol`: String?

        public init(port: Int?, protocol: String? = nil) {
            self.port = port
            self.protocol = `protocol`
        }
    }

    public var id: String
    /// Only the labels proxym reads: keys starting with `proxym.` or `HAPROXY_`.
    public var labels: [String: String]
    /// Number of entries in `healthChecks`; 0 means `TASK_RUNNING` is the health signal.
    public var healthCheckCount: Int
    public var networkMode: NetworkMode
    /// `portDefinitions`, else the legacy `ports` (both list service ports; 0 = not assigned).
    public var portDefinitions: [PortDefinition]
    /// `container.portMappings` when non-empty, else `container.docker.portMappings`.
    public var portMappings: [PortMapping]
    /// `ipAddress.discovery.ports` (IP-per-task up to 1.4).
    public var discoveryPorts: [PortDefinition]
    public var tasks: [MarathonTask]

    public init(
        id: String,
        labels: [String: String] = [:],
        healthCheckCount: Int = 0,
        networkMode: NetworkMode = .host,
        portDefinitions: [PortDefinition] = [],
        portMappings: [PortMapping] = [],
        discoveryPorts: [PortDefinition] = [],
        tasks: [MarathonTask] = []
    ) {
        self.id = id
        self.labels = labels
        self.healthCheckCount = healthCheckCount
        self.networkMode = networkMode
        self.portDefinitions = portDefinitions
        self.portMappings = portMappings
        self.discoveryPorts = discoveryPorts
        self.tasks = tasks
    }
}

/// What proxym needs of one task, from an app's embedded `tasks` or from `/v2/tasks`.
public struct MarathonTask: Sendable, Hashable {
    public var id: String
    /// Present in `/v2/tasks` (and usually in embedded tasks too).
    public var appID: String?
    /// The agent's host name or address.
    public var host: String?
    /// Host ports, in the order of the app's ports that have one.
    public var ports: [Int]
    /// `/v2/tasks` only: the owning app's service ports.
    public var servicePorts: [Int]
    /// `ipAddresses[].ipAddress`, in order (IP-per-task: the first is the task's address).
    public var ipAddresses: [String]
    /// The Mesos state (`TASK_RUNNING`...); absent on some versions, which counts as running.
    public var state: String?
    /// `healthCheckResults[].alive`, in order; a result without `alive` counts as not alive.
    public var healthResults: [Bool]

    public init(
        id: String,
        appID: String? = nil,
        host: String? = nil,
        ports: [Int] = [],
        servicePorts: [Int] = [],
        ipAddresses: [String] = [],
        state: String? = nil,
        healthResults: [Bool] = []
    ) {
        self.id = id
        self.appID = appID
        self.host = host
        self.ports = ports
        self.servicePorts = servicePorts
        self.ipAddresses = ipAddresses
        self.state = state
        self.healthResults = healthResults
    }

    /// `TASK_RUNNING`, or no state at all (Marathon 1.0.x-1.1.1 and before 0.15.4 did not report it).
    public var isRunning: Bool { state == nil || state == "TASK_RUNNING" }
}

/// One consistent read of Marathon: the apps (each with its tasks) and what was wrong with the apps
/// or tasks that had to be left out.
public struct MarathonSnapshot: Sendable, Hashable {
    public var apps: [MarathonApp]
    /// One line per app or task left out, naming the JSON path (`apps[3].tasks[1].ports: ...`).
    public var problems: [String]

    public init(apps: [MarathonApp], problems: [String] = []) {
        self.apps = apps
        self.problems = problems
    }
}

/// Why a whole Marathon body is unusable (not JSON, or not the expected shape at the top). Problems
/// with single apps or tasks are not errors: they are reported in ``MarathonSnapshot/problems``.
public struct MarathonDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which body: `/v2/apps`, `/v2/tasks`, `/v2/info`...
    public var body: String
    public var message: String

    public init(body: String, message: String) {
        self.body = body
        self.message = message
    }

    public var description: String { "\(body): \(message)" }
}
