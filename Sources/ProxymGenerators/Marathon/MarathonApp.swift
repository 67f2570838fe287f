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

    /// One entry of `healthChecks`, as Marathon wrote it (validated by the mapper).
    public struct HealthCheck: Sendable, Hashable {
        /// `HTTP`, `HTTPS`, `TCP`, `COMMAND`, `MESOS_HTTP`, `MESOS_HTTPS`, `MESOS_TCP`; absent: `HTTP`.
        public var `protocol`: String?
        public var path: String?
        public var portIndex: Int?
        /// An explicit port to check (then it applies to every port of the app, as in marathon-lb).
        public var port: Int?
        public var intervalSeconds: Int?
        public var timeoutSeconds: Int?
        public var maxConsecutiveFailures: Int?

        public init(
            protocol: String? = nil, path: String? = nil, portIndex: Int? = nil, port: Int? = nil,
            intervalSeconds: Int? = nil, timeoutSeconds: Int? = nil, maxConsecutiveFailures: Int? = nil
        ) {
            self.protocol = `protocol`
            self.path = path
            self.portIndex = portIndex
            self.port = port
            self.intervalSeconds = intervalSeconds
            self.timeoutSeconds = timeoutSeconds
            self.maxConsecutiveFailures = maxConsecutiveFailures
        }
    }

    public var id: String
    /// Only the labels proxym reads: keys starting with `proxym.` or `HAPROXY_`.
    public var labels: [String: String]
    /// Number of entries in `healthChecks`; 0 means `TASK_RUNNING` is the health signal.
    public var healthCheckCount: Int
    /// The entries of `healthChecks` (decoded ones; `healthCheckCount` may be set alone).
    public var healthChecks: [HealthCheck] = []
    /// Number of entries in `deployments`: the app is being deployed when it is not 0.
    public var deploymentCount: Int = 0
    /// Ids of tasks whose readiness check says not ready (`readinessCheckResults` with `ready: false`,
    /// from `embed=apps.readiness`; Marathon reports them during deployments).
    public var notReadyTasks: [String] = []
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
