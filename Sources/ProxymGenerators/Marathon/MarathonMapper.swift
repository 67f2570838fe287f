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
                    if let last = remembered.lastKnownHealth(ofTask: task.id) { nextHealth[task.id] = last }
                }
            }
        }

        public consuming func finish() -> (mapping: MarathonMapping, health: MarathonHealthMemory) {
            (mapping, MarathonHealthMemory(nextHealth))
        }
    }

    static func quoted(_ text: String) -> String { "\"" + ValidationError.escaped(text) + "\"" }
}

/// Where a port's backend is found on a task.
enum Backend {
    /// `task.host` and `task.ports[index]`.
    case hostPort(index: Int)
    /// `task.ipAddresses[0]` and `port`; else, if the mapping has a host port, `task.host` and
    /// `task.ports[hostPortIndex]`.
    case container(port: Int, hostPortIndex: Int?)
}

/// One app port to expose.
struct PortPlan {
    var index: Int
    var servicePort: Int?
    var transport: String?
    var backend: Backend
    /// What `proxym.port.<n>.*` may call it besides its index.
    var numbers = MarathonLabels.PortNumbers()
}

/// The mapping of one app; throws (a ``ValidationError``) when the app must be left out.
struct AppMapping {
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
        let labels = try readLabels(ports: plans)
        if plans.isEmpty { return }
        // Health first: it is per task, not per port, and it must be remembered even for tasks that
        // end up giving no backend.
        let live = liveTasks(remembered: remembered, nextHealth: &nextHealth)
        var earlierPorts = EarlierPorts()
        for plan in plans {
            if let service = try service(for: plan, labels: labels, appID: appID, live: live, earlierPorts: &earlierPorts) {
                mapping.services.append(service)
            }
        }
    }

    /// The app's labels; their warnings are reported whether or not they throw.
    private mutating func readLabels(ports plans: [PortPlan]) throws(ValidationError) -> MarathonLabels {
        var labelWarnings: [String] = []
        defer { for warning in labelWarnings { warnings.append("app \(name): \(warning)") } }
        return try MarathonLabels(app.labels, ports: plans.map(\.numbers), warnings: &labelWarnings)
    }

    /// What the ports mapped so far decided for the ones after them.
    private struct EarlierPorts {
        /// The domain strategy's domain for the app, computed by the first port that needs it.
        var strategyDomain: DomainName?
        /// marathon-lb reached only an app's first HTTP port by its id (X-Marathon-App-Id).
        var appIDTaken = false
    }

    /// How a port is served: decided from its plan and labels.
    private struct Serving {
        /// The port's own virtual host (its labels'), if any.
        var vhost: [DomainName]?
        var transport: TransportProtocol
        var applicationProtocol: ApplicationProtocol
        var servicePort: UInt16
        /// Whether the service port is the port's own (not the HTTP port a virtual host falls back to).
        var ownServicePort: Bool
    }

    /// Port `plan`'s service, or nil when the port is left out (reported).
    private mutating func service(
        for plan: PortPlan, labels: MarathonLabels, appID: ServiceID, live: [LiveTask], earlierPorts: inout EarlierPorts
    ) throws(ValidationError) -> Service? {
        let n = plan.index
        let portLabels = labels.ports[n]
        guard isServed(port: n, portLabels),
            let serving = serving(plan, portLabels, appDomains: labels.domains)
        else { return nil }
        let domains = try domains(serving.vhost ?? labels.domains, earlierPorts: &earlierPorts)
        let id = n == 0 ? appID : try ServiceID(app.id + "/port\(n)")
        var hosts: [Host] = []
        hosts.reserveCapacity(live.count)
        for task in live {
            if let host = backend(plan.backend, of: task) { hosts.append(host) }
        }
        var service = Service(
            id: id,
            domains: domains,
            transport: serving.transport,
            applicationProtocol: serving.applicationProtocol,
            servicePort: serving.servicePort,
            hosts: hosts,
            source: MarathonMapper.source
        )
        let http = serving.applicationProtocol == .http
        do {
            if let portLabels { service.tls = try portLabels.tls() }
            service.routing = try routing(
                portLabels, index: n, http: http,
                bindServicePort: http && options.bindVhostPorts && serving.ownServicePort,
                appID: http && !earlierPorts.appIDTaken ? app.id : nil)
        } catch {
            warnings.append("app \(name): port \(n) skipped: \(error)")
            return nil
        }
        if http { earlierPorts.appIDTaken = true }
        if let raw = portLabels?.config, let lines = configLines(raw, port: n) { service.configLines = lines }
        return service
    }

    /// Whether port `n` is for this LB (its group) and enabled, and its labels are usable (reported
    /// when not).
    private mutating func isServed(port n: Int, _ portLabels: MarathonLabels.Port?) -> Bool {
        if let group {
            let inGroup = portLabels?.groups.map { $0.contains(group) } ?? appInGroup
            if !inGroup { return false }
        }
        if options.strict ? portLabels?.enabled != true : portLabels?.enabled == false { return false }
        if let problem = portLabels?.problem {
            warnings.append("app \(name): port \(n) skipped: \(problem)")
            return false
        }
        return true
    }

    /// How the port is served, or nil when it cannot be (reported).
    private mutating func serving(
        _ plan: PortPlan, _ portLabels: MarathonLabels.Port?, appDomains: [DomainName]?
    ) -> Serving? {
        let n = plan.index
        let vhost = portLabels?.domains ?? (n == 0 ? appDomains : nil) ?? portLabels?.vhost
        guard let transport = transportProtocol(plan.transport) else {
            warnings.append(
                "app \(name): port \(n): unknown protocol \(MarathonMapper.quoted(plan.transport ?? "")); port skipped"
            )
            return nil
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
            return nil
        }
        return Serving(
            vhost: vhost, transport: transport, applicationProtocol: applicationProtocol, servicePort: servicePort,
            ownServicePort: planned != nil)
    }

    /// The port's domains: the ones its labels give, else the domain strategy's (one per app).
    private func domains(
        _ explicit: [DomainName]?, earlierPorts: inout EarlierPorts
    ) throws(ValidationError) -> [DomainName] {
        if let explicit { return explicit }
        if let domain = earlierPorts.strategyDomain { return [domain] }
        let domain = try options.domainStrategy.domain(forAppID: app.id)
        earlierPorts.strategyDomain = domain
        return [domain]
    }

    /// The lines of a `proxym.port.<n>.config` label that may go into the service's section; nil when
    /// such labels are not allowed (reported).
    private mutating func configLines(_ raw: String, port n: Int) -> [String]? {
        guard options.allowLabelConfig else {
            warnings.append(
                "app \(name): label proxym.port.\(n).config ignored (set PROXYM_MARATHON_LABEL_CONFIG=1 to allow raw HAProxy lines from labels)"
            )
            return nil
        }
        // Only lines that stay inside the service's own section, as haproxy reads them;
        // no environment variables (they would leak haproxy's environment to the app).
        let (accepted, dropped) = OptionLine.lines(of: raw, allowEnvironment: false)
        for line in dropped { warnings.append("app \(name): label proxym.port.\(n).config \(line.description)") }
        return accepted
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
}
