import ProxymModel

extension AppMapping {
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
}
