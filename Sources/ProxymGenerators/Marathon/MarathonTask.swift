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
