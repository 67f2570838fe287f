import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

// MARK: - Rendering: the options, then the text (original or slot layout)

extension HAProxyModule {
    /// What one apply would write, and how the servers are laid out.
    struct Candidate {
        var text: String
        /// Runtime API only.
        var slots: SlotTable?
        var skeleton: String?
        var sections: [ServerSection] = []
        /// A stats socket exposing the listeners (`-x` for sf reloads).
        var exposedSocket: String?
        /// The admin stats socket the Runtime API talks to.
        var statsSocket: String?
        /// HTTPS: the crt-list and certificates this text is to serve.
        var certificates: CertificateState?
        /// The vhost map `text` routes through (`PROXYM_HAPROXY_VHOST_MAP_THRESHOLD`), nil: none.
        var vhostMap: VHostMap?
        /// Known to differ from the live text (found where the render memo rewrote lines), so the
        /// whole texts need not be compared.
        var differsFromLive = false
    }

    /// The stats socket proxym uses, and whether it must add it to the global section.
    struct StatsSocketChoice: Equatable {
        var path: String
        var add: Bool
        var exposesListeners: Bool
        var isAdmin: Bool
    }

    func statsSocket(global: String) -> StatsSocketChoice {
        let declared = StatsSocketConfig.declared(in: global)
        if let wanted = settings.statsSocket {
            if let found = declared.first(where: { $0.path == wanted }) {
                return StatsSocketChoice(path: wanted, add: false, exposesListeners: found.exposesListeners, isAdmin: found.isAdmin)
            }
            return StatsSocketChoice(path: wanted, add: true, exposesListeners: true, isAdmin: true)
        }
        if let found = declared.first(where: \.isAdmin) {
            return StatsSocketChoice(path: found.path, add: false, exposesListeners: found.exposesListeners, isAdmin: true)
        }
        return StatsSocketChoice(path: settings.defaultStatsSocket, add: true, exposesListeners: true, isAdmin: true)
    }

    func options(_ services: [Service]) throws(GeneratorFailure) -> (RenderOptions, StatsSocketChoice?) {
        let inputs = try optionsLoader.load(optionsPath: settings.optionsPath, services: services)
        var globalConfig = inputs.globalConfig
        if let promex = settings.prometheusAddress {
            // After global.cfg's `defaults`, like every section proxym renders.
            globalConfig += PrometheusExporter.section(host: promex.host, port: promex.port)
        }
        var options = RenderOptions(
            globalConfig: globalConfig, httpPort: settings.httpPort, bindAddress: settings.bindAddress,
            serviceOptions: inputs.serviceOptions)
        options.appIDPort = settings.appIDPort
        if settings.vhostMapThreshold > 0 {
            options.vhostMap = VHostMapOptions(path: settings.vhostMapPath, threshold: settings.vhostMapThreshold)
        }
        if let port = tls.httpsPort {
            options.https = HTTPSOptions(
                port: port, crtList: tls.crtListPath, acmePort: tls.acme.enabled ? tls.acme.httpPort : nil)
        }
        guard settings.runtimeAPI || tls.enabled else {
            if case .masterWorker = settings.reloadMethod { options.idleCloseOnResponse = true }
            return (options, nil)
        }
        // Certificates change through the Runtime API too: HTTPS needs the admin socket as well.
        if settings.runtimeAPI {
            options.idleCloseOnResponse = true
        } else if case .masterWorker = settings.reloadMethod {
            options.idleCloseOnResponse = true
        }
        let socket = statsSocket(global: inputs.globalConfig)
        if socket.add { options.statsSocket = socket.path }
        if !socket.isAdmin && warnedSocket != socket.path {
            warnedSocket = socket.path
            logger.warning(
                "the stats socket global.cfg declares is not `level admin`: the Runtime API cannot change servers there, so every change reloads",
                metadata: ["socket": "\(socket.path)"])
        }
        return (options, socket)
    }

    /// Reads global.cfg and the per-service options directory, then renders (the original layout,
    /// or with `PROXYM_HAPROXY_RUNTIME_API` the slot layout for a fresh start).
    public func render(_ services: [Service]) throws(GeneratorFailure) -> String {
        try candidate(services, live: nil).text
    }

    /// `render`, plus the vhost map the text reads (nil: none).
    public func renderWithMap(_ services: [Service]) throws(GeneratorFailure) -> (text: String, vhostMap: VHostMap?) {
        let candidate = try candidate(services, live: nil)
        return (candidate.text, candidate.vhostMap)
    }

    func candidate(_ services: [Service], live: SlotTable?) throws(GeneratorFailure) -> Candidate {
        let (options, socket) = try self.options(services)
        guard settings.runtimeAPI else {
            let rendering = HAProxyRenderer.renderWithNotes(services, options: options)
            var candidate = Candidate(text: rendering.text)
            candidate.vhostMap = rendering.vhostMap
            return candidate
        }
        let sections = HAProxyRenderer.sections(services, options: options)
        let assignment = SlotPlanner.assign(
            live: live ?? SlotTable(), sections: sections, now: loop.now.nanoseconds, options: slotOptions)
        return slotted(assignment.table, services, sections: sections, options: options, socket: socket)
    }

    func slotted(
        _ table: SlotTable, _ services: [Service], sections: [ServerSection], options: RenderOptions,
        socket: StatsSocketChoice?
    ) -> Candidate {
        var options = options
        options.slots = table.skeleton
        let skeleton = HAProxyRenderer.render(services, options: options)
        options.slots = table
        let rendering = HAProxyRenderer.renderWithNotes(services, options: options)
        let exposed = socket.flatMap { $0.exposesListeners && $0.isAdmin ? $0.path : nil }
        return Candidate(
            text: rendering.text, slots: table, skeleton: skeleton, sections: sections, exposedSocket: exposed,
            statsSocket: socket?.path, vhostMap: rendering.vhostMap)
    }
}
