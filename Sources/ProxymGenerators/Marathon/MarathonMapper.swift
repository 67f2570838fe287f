import ProxymModel

/// Turns a ``MarathonSnapshot`` into services, in time linear in apps + tasks.
///
/// Per app (after the `HAPROXY_GROUP` filter, when a group is set):
/// - **Ports** follow the app's network mode (marathon-api.md section 2, "Resolving backends"):
///   host mode: `portDefinitions` (or legacy `ports`), backends `task.host:task.ports[i]`;
///   bridge: the port mappings, backends `task.host:task.ports[i]`;
///   container (IP-per-task): the port mappings (else `ipAddress.discovery.ports`), backends
///   `task.ipAddresses[0]:containerPort`, or, for a task without an address yet whose mapping has a host
///   port, `task.host` and that host port (counted among the mappings that have one). A task without
///   address or port gives no backend.
/// - **Service port** of port `i`: the mapping's `servicePort`, else `portDefinitions[i]`/`ports[i]`,
///   else a task's `servicePorts[i]` (0 = none). A port without one is served only as an HTTP virtual
///   host, on the HTTP port; otherwise it is left out (reported).
/// - **Tasks**: only running ones (``MarathonTask/isRunning``) that no readiness result calls not
///   ready (``MarathonApp/notReadyTasks``, reported during a deployment); for an app with health checks
///   only those whose every check has a result and all are alive, with ``MarathonHealthMemory``
///   bridging a leader change.
/// - **Domains**: `proxym.port.<n>.domains`, else (port 0) `proxym.domains`, else `HAPROXY_<n>_VHOST`
///   is the port's virtual host; without one, the domains are `proxym.domains`, else the domain
///   strategy's.
/// - **How it is served**: `proxym.port.<n>.protocol` (`http`/`tcp`); else HTTP when the port has a
///   virtual host or its service port is the HTTP port (the original's rule); else a TCP listener on
///   its service port. Transport (tcp/udp) is the mapping's or definition's `protocol`.
/// - **Ids**: port 0 keeps the app id (`/shop/web`), as the original did; port `n >= 1` is
///   `<app id>/port<n>` (`/shop/web/port1`). Marathon ids never contain `_` and an app id is never
///   also a group, so these names and their HAProxy names (`shop_web_port1`) cannot collide with
///   another app's. (The original gave every port the app id, so a second port overwrote the first.)
///
/// Everything goes through the model's validating types. A hostile id or label costs that app only
/// (reported in ``MarathonMapping/problems`` and ``MarathonMapping/skippedApps``); a hostile task
/// address costs that task only.
public enum MarathonMapper {
    /// The `source` of every Marathon service.
    public static let source = "marathon"

    public static func services(
        from snapshot: MarathonSnapshot,
        options: MarathonOptions,
        health: inout MarathonHealthMemory
    ) -> MarathonMapping {
        var builder = Builder(options: options, health: health, expectedApps: snapshot.apps.count)
        for app in snapshot.apps { builder.add(app) }
        let (mapping, next) = builder.finish()
        health = next
        return mapping
    }

    /// The same mapping one app at a time, for apps decoded while the body arrives
    /// (``MarathonAppsStream``): no snapshot is ever held whole. `finish()` gives the mapping and the
    /// health memory to keep; `health` itself is left alone, so a mapping that is thrown away (the
    /// body turned out to be unusable) changes nothing.
    public struct Builder {
        private let options: MarathonOptions
        private let group: Substring?
        private let remembered: MarathonHealthMemory
        private var mapping = MarathonMapping()
        private var nextHealth: [String: Bool] = [:]
        private var seen: Set<String>

        public init(options: MarathonOptions, health: MarathonHealthMemory, expectedApps: Int = 0) {
            self.options = options
            self.group = options.group.flatMap { $0 == "*" || $0.isEmpty ? nil : Substring($0) }
            self.remembered = health
            nextHealth.reserveCapacity(health.count)
            seen = Set(minimumCapacity: expectedApps)
        }

        public mutating func add(_ app: MarathonApp) {
            guard seen.insert(app.id).inserted else {
                mapping.problems.append("app \(quoted(app.id)): listed twice; the first is used")
                return
            }
            // The app's groups decide unless a port has groups of its own (HAPROXY_<n>_GROUP).
            var appInGroup = true
            if let group {
                appInGroup = MarathonLabels.hasGroup(app.labels, group)
                if !appInGroup && !MarathonLabels.hasPortGroups(app.labels) { return }
            }
            var appMapping = AppMapping(app: app, options: options, group: group, appInGroup: appInGroup)
            let servicesBefore = mapping.services.count
            do {
                try appMapping.map(into: &mapping, remembered: remembered, nextHealth: &nextHealth)
            } catch {
                // Nothing of a skipped app stays, but what was said about it.
                mapping.services.removeSubrange(servicesBefore...)
                mapping.problems.append("app \(quoted(app.id)): skipped: \(error)")
                mapping.skippedApps.append(app.id)
                // Its tasks keep what was known of their health, for when the app is fixed.
                for task in app.tasks {
                    if let last = remembered.lastHealth[task.id] { nextHealth[task.id] = last }
                }
            }
        }

        public consuming func finish() -> (mapping: MarathonMapping, health: MarathonHealthMemory) {
            var health = MarathonHealthMemory()
            health.lastHealth = nextHealth
            return (mapping, health)
        }
    }

    static func quoted(_ text: String) -> String { "\"" + ValidationError.escaped(text) + "\"" }
}

/// Where a port's backend is found on a task.
private enum Backend {
    /// `task.host` and `task.ports[index]`.
    case hostPort(index: Int)
    /// `task.ipAddresses[0]` and `port`; else, if the mapping has a host port, `task.host` and
    /// `task.ports[hostPortIndex]`.
    case container(port: Int, hostPortIndex: Int?)
}

/// One app port to expose.
private struct PortPlan {
    var index: Int
    var servicePort: Int?
    var transport: String?
    var backend: Backend
    /// What `proxym.port.<n>.*` may call it besides its index.
    var numbers = MarathonLabels.PortNumbers()
}

/// The mapping of one app; throws (a ``ValidationError``) when the app must be left out.
private struct AppMapping {
    let app: MarathonApp
    let options: MarathonOptions
    /// The LB's group (`nil`: every app), and whether the app's `HAPROXY_GROUP` lists it.
    let group: Substring?
    let appInGroup: Bool
    /// Where warnings go (the mapping's problems), set for the duration of ``map(into:remembered:nextHealth:)``.
    var warnings: [String] = []

    init(app: MarathonApp, options: MarathonOptions, group: Substring? = nil, appInGroup: Bool = true) {
        self.app = app
        self.options = options
        self.group = group
        self.appInGroup = appInGroup
    }

    var name: String { MarathonMapper.quoted(app.id) }

    /// Appends the app's services (and config lines, and warnings) to `mapping`; on a throw, the caller
    /// removes the services appended so far.
    mutating func map(
        into mapping: inout MarathonMapping,
        remembered: MarathonHealthMemory,
        nextHealth: inout [String: Bool]
    ) throws(ValidationError) {
        swap(&warnings, &mapping.problems)
        defer { swap(&warnings, &mapping.problems) }
        let appID = try ServiceID(app.id)
        let plans = portPlans()
        var labelWarnings: [String] = []
        let labels: MarathonLabels
        do {
            labels = try MarathonLabels(app.labels, ports: plans.map(\.numbers), warnings: &labelWarnings)
        } catch {
            for warning in labelWarnings { warnings.append("app \(name): \(warning)") }
            throw error
        }
        for warning in labelWarnings { warnings.append("app \(name): \(warning)") }
        if plans.isEmpty { return }

        // Health first: it is per task, not per port, and it must be remembered even for tasks that
        // end up giving no backend.
        var live: [LiveTask] = []
        live.reserveCapacity(app.tasks.count)
        // Marathon reports readiness results while it deploys the app: a task that says not ready
        // (yet) gets no traffic (marathon-lb routed to it).
        let notReady = Set(app.notReadyTasks)
        for task in app.tasks where task.isRunning {
            if !notReady.isEmpty && notReady.contains(task.id) { continue }
            if app.healthCheckCount > 0 {
                let healthy = MarathonHealthMemory.evaluate(
                    task: task,
                    checks: app.healthCheckCount,
                    remembered: remembered,
                    next: &nextHealth
                )
                guard healthy else { continue }
            }
            live.append(liveTask(task))
        }

        var strategyDomain: DomainName?
        // marathon-lb reached only an app's first HTTP port by its id (X-Marathon-App-Id).
        var appIDTaken = false
        for plan in plans {
            let n = plan.index
            let portLabels = labels.ports[n]
            if let group {
                let inGroup = portLabels?.groups.map { $0.contains(group) } ?? appInGroup
                if !inGroup { continue }
            }
            if options.strict ? portLabels?.enabled != true : portLabels?.enabled == false { continue }
            if let problem = portLabels?.problem {
                warnings.append("app \(name): port \(n) skipped: \(problem)")
                continue
            }
            let vhost = portLabels?.domains ?? (n == 0 ? labels.domains : nil) ?? portLabels?.vhost
            guard let transport = transportProtocol(plan.transport) else {
                warnings.append(
                    "app \(name): port \(n): unknown protocol \(MarathonMapper.quoted(plan.transport ?? "")); port skipped"
                )
                continue
            }
            let planned = portLabels?.servicePort.map(Int.init) ?? plan.servicePort
            let applicationProtocol: ApplicationProtocol
            if let explicit = portLabels?.applicationProtocol ?? portLabels?.mode {
                applicationProtocol = explicit
            } else if vhost != nil || planned == Int(options.httpPort) {
                applicationProtocol = .http
            } else {
                applicationProtocol = .tcp
            }
            guard
                let servicePort = planned.map(UInt16.init)
                    ?? (applicationProtocol == .http ? options.httpPort : nil)
            else {
                warnings.append(
                    "app \(name): port \(n) has no service port; skipped (give it a virtual host with "
                        + "HAPROXY_\(n)_VHOST or proxym.port.\(n).domains to serve it over HTTP)"
                )
                continue
            }
            let domains: [DomainName]
            if let explicit = vhost ?? labels.domains {
                domains = explicit
            } else {
                if strategyDomain == nil { strategyDomain = try options.domainStrategy.domain(forAppID: app.id) }
                domains = [strategyDomain!]
            }
            let id = n == 0 ? appID : try ServiceID(app.id + "/port\(n)")
            var hosts: [Host] = []
            hosts.reserveCapacity(live.count)
            for task in live {
                if let host = backend(plan.backend, of: task) { hosts.append(host) }
            }
            var service = Service(
                id: id,
                domains: domains,
                transport: transport,
                applicationProtocol: applicationProtocol,
                servicePort: servicePort,
                hosts: hosts,
                source: MarathonMapper.source
            )
            let http = applicationProtocol == .http
            do {
                if let portLabels { service.tls = try portLabels.tls() }
                service.routing = try routing(
                    portLabels, index: n, http: http,
                    bindServicePort: http && options.bindVhostPorts && planned != nil,
                    appID: http && !appIDTaken ? app.id : nil)
            } catch {
                warnings.append("app \(name): port \(n) skipped: \(error)")
                continue
            }
            if http { appIDTaken = true }
            if let raw = portLabels?.config {
                if options.allowLabelConfig {
                    // Only lines that stay inside the service's own section, as haproxy reads them;
                    // no environment variables (they would leak haproxy's environment to the app).
                    let (accepted, dropped) = OptionLine.lines(of: raw, allowEnvironment: false)
                    service.configLines = accepted
                    for line in dropped { warnings.append("app \(name): label proxym.port.\(n).config \(line.description)") }
                } else {
                    warnings.append(
                        "app \(name): label proxym.port.\(n).config ignored (set PROXYM_MARATHON_LABEL_CONFIG=1 to allow raw HAProxy lines from labels)"
                    )
                }
            }
            mapping.services.append(service)
        }
    }

    // MARK: Routing

    /// The port's routing: its labels, and haproxy's own check from the app's Marathon health check.
    mutating func routing(
        _ labels: MarathonLabels.Port?, index n: Int, http: Bool, bindServicePort: Bool, appID: String?
    ) throws(ValidationError) -> ServiceRouting {
        let check = healthCheck(forPort: n, http: http)
        guard labels != nil || check != nil || bindServicePort || appID != nil else { return .none }
        let l = labels ?? MarathonLabels.Port()
        return try ServiceRouting(
            paths: l.paths ?? [], weight: l.weight ?? 0, redirectToHttps: l.redirectToHttps ?? false,
            sticky: l.sticky ?? false, balance: l.balance, bindAddress: l.bindAddress, auth: l.auth,
            proxyPassPath: l.proxyPassPath, healthCheck: check, bindServicePort: bindServicePort, appID: appID)
    }

    /// marathon-lb's translation: the first Marathon check with an explicit `port` or whose `portIndex`
    /// (0 when absent) is `n`; `COMMAND` checks are Marathon's business. HTTP, HTTPS, MESOS_HTTP(S)
    /// give an HTTP check of the path on an HTTP port (HTTPS is checked in plain HTTP, as marathon-lb
    /// did), a TCP connect otherwise; `fall` is maxConsecutiveFailures + 1, `rise` haproxy's 2;
    /// Marathon's defaults (60 s, 20 s, 3) where a field is absent; values are clamped to what the model
    /// accepts. A path the model refuses costs the check (reported), not the port.
    mutating func healthCheck(forPort n: Int, http: Bool) -> HealthCheck? {
        guard
            let check = app.healthChecks.first(where: {
                ($0.protocol ?? "HTTP").uppercased() != "COMMAND" && ($0.port.map { $0 > 0 } == true || ($0.portIndex ?? 0) == n)
            })
        else { return nil }
        let proto = (check.protocol ?? "HTTP").uppercased()
        let httpKind = ["HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"].contains(proto)
        func clamp(_ value: Int, _ range: ClosedRange<Int>) -> Int { min(max(value, range.lowerBound), range.upperBound) }
        var path: PathPrefix?
        if httpKind && http {
            do {
                path = try PathPrefix(check.path.map { $0.isEmpty ? "/" : $0 } ?? "/", field: "healthChecks.path")
            } catch {
                warnings.append("app \(name): port \(n): Marathon health check not used by haproxy: \(error)")
                return nil
            }
        }
        return try? HealthCheck(
            kind: path != nil ? .http : .tcp, path: path,
            port: check.port.flatMap { $0 > 0 && $0 <= 65535 ? UInt16($0) : nil },
            intervalSeconds: clamp(check.intervalSeconds ?? 60, HealthCheck.secondsRange),
            timeoutSeconds: clamp(check.timeoutSeconds ?? 20, HealthCheck.secondsRange),
            fall: clamp((check.maxConsecutiveFailures ?? 3) + 1, HealthCheck.countRange), rise: 2)
    }

    // MARK: Ports

    /// The app's ports in order, per its network mode.
    mutating func portPlans() -> [PortPlan] {
        let mappings = app.portMappings
        switch app.networkMode {
        case .host:
            return hostPlans()
        case .bridge:
            guard !mappings.isEmpty else { return hostPlans() }
            return mappings.enumerated().map { i, m in
                PortPlan(
                    index: i,
                    servicePort: servicePort(i, explicit: m.servicePort),
                    transport: m.protocol,
                    backend: .hostPort(index: i),
                    numbers: .init(containerPort: m.containerPort, hostPort: m.hostPort)
                )
            }
        case .container:
            guard mappings.isEmpty else { return containerMappingPlans() }
            return app.discoveryPorts.enumerated().map { i, d in
                if (d.port ?? 0) == 0 {
                    warnings.append("app \(name): discovery port \(i) has no number; it reaches no task")
                }
                return PortPlan(
                    index: i,
                    servicePort: servicePort(i, explicit: nil),
                    transport: d.protocol,
                    backend: .container(port: d.port ?? 0, hostPortIndex: nil),
                    numbers: .init(containerPort: d.port)
                )
            }
        }
    }

    /// Host networking (or a bridge without mappings): service ports from the definitions, backends from
    /// `task.ports` by index.
    func hostPlans() -> [PortPlan] {
        app.portDefinitions.indices.map { i in
            PortPlan(
                index: i,
                servicePort: servicePort(i, explicit: nil),
                transport: app.portDefinitions[i].protocol,
                backend: .hostPort(index: i),
                // The original keyed host-networking ports by this port (the service port, which is also
                // the host port with requirePorts).
                numbers: .init(hostPort: app.portDefinitions[i].port)
            )
        }
    }

    /// IP-per-task with port mappings: `task.ports` lists only the host ports of mappings that have
    /// one, so those are counted separately (marathon-api.md section 2, "Caution").
    mutating func containerMappingPlans() -> [PortPlan] {
        var plans: [PortPlan] = []
        var hostPorts = 0
        for (i, m) in app.portMappings.enumerated() {
            var hostPortIndex: Int?
            if m.hostPort != nil {
                hostPortIndex = hostPorts
                hostPorts += 1
            }
            let backend: Backend
            if let port = m.containerPort, port > 0 {
                backend = .container(port: port, hostPortIndex: hostPortIndex)
            } else if let hostPortIndex {
                backend = .hostPort(index: hostPortIndex)
            } else {
                warnings.append(
                    "app \(name): port mapping \(i) has neither container port nor host port; it reaches no task"
                )
                backend = .container(port: 0, hostPortIndex: nil)
            }
            plans.append(
                PortPlan(
                    index: i,
                    servicePort: servicePort(i, explicit: m.servicePort),
                    transport: m.protocol,
                    backend: backend,
                    numbers: .init(containerPort: m.containerPort, hostPort: m.hostPort)
                )
            )
        }
        return plans
    }

    /// Port `i`'s service port: `explicit` (a mapping's), else `portDefinitions[i]`/`ports[i]`, else a
    /// task's `servicePorts[i]` (from `/v2/tasks`); 0 means none.
    func servicePort(_ i: Int, explicit: Int?) -> Int? {
        if let explicit, explicit > 0 { return explicit }
        if i < app.portDefinitions.count, let port = app.portDefinitions[i].port, port > 0 { return port }
        for task in app.tasks where i < task.servicePorts.count && task.servicePorts[i] > 0 {
            return task.servicePorts[i]
        }
        return nil
    }

    func transportProtocol(_ text: String?) -> TransportProtocol? {
        guard let text, !text.isEmpty else { return .tcp }
        switch text.lowercased() {
        case "tcp", "udp,tcp", "tcp,udp": return .tcp
        case "udp": return .udp
        default: return nil
        }
    }

    // MARK: Tasks

    /// A routable task's addresses, parsed once (not once per port).
    struct LiveTask {
        var ports: [Int]
        var hostAddress: HostAddress?
        var containerAddress: HostAddress?
    }

    /// Parses the addresses the app's mode needs: the task's own for IP-per-task (the agent's only as a
    /// fallback while it has none), else the agent's. A bad one costs this task only.
    mutating func liveTask(_ task: MarathonTask) -> LiveTask {
        var live = LiveTask(ports: task.ports)
        if app.networkMode == .container, let ip = task.ipAddresses.first {
            do {
                live.containerAddress = try HostAddress.backend(ip, field: "ipAddresses[0].ipAddress")
            } catch {
                warnings.append("app \(name): task \(MarathonMapper.quoted(task.id)): \(error); task skipped")
                return live
            }
        }
        if let host = task.host, !host.isEmpty {
            do {
                live.hostAddress = try HostAddress.backend(host, field: "host")
            } catch  where live.containerAddress == nil {
                warnings.append("app \(name): task \(MarathonMapper.quoted(task.id)): \(error); task skipped")
            } catch {
                // Only a fallback here; the task's own address is what routes.
            }
        }
        return live
    }

    func backend(_ backend: Backend, of live: LiveTask) -> Host? {
        func hostPort(_ k: Int) -> Host? {
            guard let address = live.hostAddress, k < live.ports.count else { return nil }
            let port = live.ports[k]
            guard port > 0 else { return nil }
            return Host(address: address, port: UInt16(port))
        }
        switch backend {
        case .hostPort(let k):
            return hostPort(k)
        case .container(let port, let hostPortIndex):
            if let address = live.containerAddress {
                guard port > 0 else { return nil }
                return Host(address: address, port: UInt16(port))
            }
            return hostPortIndex.flatMap(hostPort)
        }
    }
}
