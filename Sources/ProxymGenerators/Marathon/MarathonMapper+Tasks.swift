import ProxymModel

extension AppMapping {
    // MARK: Tasks

    /// A routable task's addresses, parsed once (not once per port).
    struct LiveTask {
        var ports: [Int]
        var hostAddress: HostAddress?
        var containerAddress: HostAddress?
    }

    /// The app's tasks that may get traffic: running, not called not ready by a readiness result
    /// (Marathon reports those while it deploys the app; marathon-lb routed to them), and, for an app
    /// with health checks, healthy (remembered in `nextHealth`).
    mutating func liveTasks(remembered: MarathonHealthMemory, nextHealth: inout [String: Bool]) -> [LiveTask] {
        var live: [LiveTask] = []
        live.reserveCapacity(app.tasks.count)
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
        return live
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
