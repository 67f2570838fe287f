import ProxymModel

extension AppMapping {
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
