import ProxymModel

/// A service that made it into the output, with everything derived from the options.
struct PlannedService {
    /// The service's place in ``Plan/services``.
    var index: Int
    /// `service.id.proxyName`.
    var name: String
    var optionLines: [String]
    /// HTTP only: the service's domains, then the extra domains, without repeats.
    var domains: [DomainName]
    /// HTTPS only: `Strict-Transport-Security` max-age on its HTTPS answers.
    var hstsMaxAge: Int? = nil
    /// HTTP only: also listens on its service port (`bindServicePort`, the port was free).
    var bindsServicePort = false
    /// HTTP only: its domains are routed through the vhost map (``Plan/planVHostMap(options:notes:)``).
    var mapped = false
}

/// Which services are rendered where: sorted, UDP and conflicts removed, options resolved.
struct Plan {
    /// Every service, in render order; the planned ones point into it.
    let services: [Service]
    var http: [PlannedService] = []
    var tcp: [PlannedService] = []
    /// HTTPS: passthrough routes, ACME opt-outs (``planTLS(options:notes:)``).
    var tls = PlannedTLS()
    /// The map the frontends route plain virtual hosts through (nil: acl rules only).
    var vhostMap: VHostMap?

    init(_ services: [Service], options: RenderOptions, notes: inout [RenderNote]) {
        // Proxy names in use; the value is the owner (nil = proxym's own frontend). Frontends and
        // backends may share a name in HAProxy, but one namespace is simpler to reason about.
        var names: [String: ServiceID?] = ["http-in": nil]
        names.reserveCapacity(services.count + 1)
        // Ports bound so far (nil = the HTTP frontend).
        var ports: [UInt16: ServiceID?] = [options.httpPort: nil]
        ports.reserveCapacity(services.count + 1)
        Plan.reserveTLS(options, names: &names, ports: &ports)
        if let port = options.appIDPort {
            ports[port] = .some(nil)
            names["proxym_appid"] = .some(nil)
        }
        let hasServiceOptions = !options.serviceOptions.isEmpty
        // The merge step hands them over sorted already: checking is linear, sorting is not.
        self.services =
            services.withUnsafeBufferPointer { buffer in
                buffer.indices.dropFirst().allSatisfy { !Plan.renderOrder(buffer[$0], buffer[$0 - 1]) }
            }
            ? services : services.sorted(by: Plan.renderOrder)

        // Through a buffer of a local copy of the array (no element copies): `self.services[index]`
        // would copy every service, `plan` being mutating.
        let sorted = self.services
        sorted.withUnsafeBufferPointer { buffer in
            for index in buffer.indices {
                plan(
                    buffer[index], index: index, options: options, hasServiceOptions: hasServiceOptions,
                    names: &names, ports: &ports, notes: &notes)
            }
        }
        planTLS(options: options, notes: &notes)
        if options.vhostMap != nil { planVHostMap(options: options, notes: &notes) }
    }

    /// Plans one service (borrowed: no copy of it is made for the plan).
    private mutating func plan(
        _ service: borrowing Service, index: Int, options: RenderOptions, hasServiceOptions: Bool,
        names: inout [String: ServiceID?], ports: inout [UInt16: ServiceID?], notes: inout [RenderNote]
    ) {
        func note(_ kind: RenderNote.Kind) {
            notes.append(RenderNote(serviceID: service.id, source: service.source, kind: kind))
        }
        guard service.transport == .tcp else {
            note(.udpSkipped)
            return
        }
        let isHTTP = service.isHTTP(httpPort: options.httpPort)
        let name = service.id.proxyName
        let sectionName = isHTTP ? name + "_cluster" : name
        if let owner = names[sectionName] {
            note(.nameTaken(name: sectionName, by: owner))
            return
        }
        if !isHTTP, let owner = ports[service.servicePort] {
            note(.portTaken(port: service.servicePort, by: owner))
            return
        }
        names[sectionName] = .some(service.id)
        if !isHTTP { ports[service.servicePort] = .some(service.id) }

        let serviceOptions =
            hasServiceOptions
            ? options.serviceOptions[ServiceOptionsKey(domain: service.domain?.rawValue ?? "", servicePort: service.servicePort)]
                ?? ServiceOptions() : ServiceOptions()
        // The operator's options file first, then the lines the service brought itself (a label).
        // Callers check lines where they know the file and line number; this is the last guard.
        var optionLines: [String] = []
        let given = service.configLines.isEmpty ? serviceOptions.configLines : serviceOptions.configLines + service.configLines
        for line in given.isEmpty ? [] : ConfigText.optionLines(given) {
            switch OptionLine.check(line, allowEnvironment: true) {
            case nil: continue
            case .success(let kept)?: optionLines.append(kept)
            case .failure(let rejection)?: note(.optionLineDropped(line: line, reason: "\(rejection)"))
            }
        }

        var domains: [DomainName] = []
        if isHTTP {
            if serviceOptions.extraDomains.isEmpty {
                domains = service.domains  // unique already (Service keeps first occurrences)
            } else {
                var seen = Set<DomainName>()
                domains = (service.domains + serviceOptions.extraDomains).filter { seen.insert($0).inserted }
            }
            if domains.isEmpty { note(.noDomains) }
        }
        if service.hosts.isEmpty { note(.noHosts) }

        var planned = PlannedService(index: index, name: name, optionLines: optionLines, domains: domains)
        if isHTTP && service.routing.bindServicePort && service.servicePort != options.httpPort {
            if let owner = ports[service.servicePort] {
                note(.routingIgnored(reason: "its service port \(service.servicePort) is already bound by \(owner.map { "service \($0)" } ?? "proxym")"))
            } else if let owner = names[name + "_port"] {
                note(.nameTaken(name: name + "_port", by: owner))
            } else {
                ports[service.servicePort] = .some(service.id)
                names[name + "_port"] = .some(service.id)
                planned.bindsServicePort = true
            }
        }
        if !isHTTP {
            let routing = service.routing
            if !routing.paths.isEmpty || routing.redirectToHttps || routing.sticky || routing.auth != nil
                || routing.proxyPassPath != nil
            {
                note(.routingIgnored(reason: "paths, redirectToHttps, sticky, auth and proxyPassPath apply to HTTP services only"))
            }
        }
        if isHTTP { http.append(planned) } else { tcp.append(planned) }
    }

    /// `option idle-close-on-response` in the HTTP frontend.
    static let idleCloseLine: StaticString = "  option idle-close-on-response\n"

    /// The exact length of the text `HAProxyRenderer` writes for this plan after the global config:
    /// line by line what `appendHTTP`, `appendTCP` and `appendBody` write.
    func textSize(options: RenderOptions, bindHost: String?) -> Int {
        let httpPort = options.httpPort
        let portDigits = ConfigSize.digits(UInt32(httpPort))
        // "\nfrontend http-in\n  bind " + host + ":" + port + "\n"
        var size = 25 + (bindHost?.utf8.count ?? 1) + 1 + portDigits + 1
        if options.idleCloseOnResponse { size += Plan.idleCloseLine.utf8CodeUnitCount }
        // The routing rules and the HTTPS parts, counted by running their writers.
        size += ConfigCounter.size {
            HAProxyRenderer.appendRouting(self, frontend: .http(port: httpPort, https: options.https), to: &$0)
        }
        if let https = options.https {
            size += ConfigCounter.size { HAProxyRenderer.appendHTTPFrontendTLS(self, https: https, to: &$0) }
            size += ConfigCounter.size {
                HAProxyRenderer.appendHTTPSFrontends(
                    self, https: https, bindHost: bindHost, idleClose: options.idleCloseOnResponse, to: &$0)
            }
            size += ConfigCounter.size { HAProxyRenderer.appendTLSSections(self, https: https, to: &$0) }
        }
        if let port = options.appIDPort {
            size += ConfigCounter.size { HAProxyRenderer.appendAppIDFrontend(self, port: port, bindHost: bindHost, to: &$0) }
        }
        for planned in http {
            let name = planned.name.utf8.count
            // "\nbackend " + name + "_cluster\n"
            size += 9 + name + 9 + bodySize(planned, isHTTP: true, slots: options.slots?.sections[planned.name + "_cluster"])
            if services[planned.index].routing != .none {
                size += ConfigCounter.size {
                    HAProxyRenderer.appendServicePortFrontend(planned, services[planned.index], bindHost: bindHost, to: &$0)
                    HAProxyRenderer.appendUserlist(planned, services[planned.index], to: &$0)
                }
            }
        }
        for planned in tcp {
            // "\nlisten " + name + "\n  bind " + host + ":" + port + "\n  mode tcp\n"
            let port = ConfigSize.digits(UInt32(services[planned.index].servicePort))
            let host = services[planned.index].routing.bindAddress.map { $0.haproxyText.utf8.count } ?? (bindHost?.utf8.count ?? 0)
            size += 8 + planned.name.utf8.count + 8 + host + 1 + port + 12
                + bodySize(planned, isHTTP: false, slots: options.slots?.sections[planned.name])
        }
        return size
    }

    private func bodySize(_ planned: PlannedService, isHTTP: Bool, slots: [Slot]?) -> Int {
        var size = 1  // the blank line
        let service = services[planned.index]
        let checkSize: Int
        if service.routing != .none {
            size += ConfigCounter.size { HAProxyRenderer.appendBackendRouting(planned, service, isHTTP: isHTTP, to: &$0) }
            checkSize = ConfigCounter.size { HAProxyRenderer.appendCheckOptions(service.routing.healthCheck, to: &$0) }
        } else {
            checkSize = 0
        }
        if let maxAge = planned.hstsMaxAge { size += ConfigCounter.size { HAProxyRenderer.appendHSTS(maxAge, to: &$0) } }
        for line in planned.optionLines { size += 2 + line.utf8.count + 1 }
        // "  server node" + n + " " + host + " check" + [" init-addr last,libc,none"] + "\n"
        func server(_ number: UInt32, _ host: Host) -> Int {
            13 + ConfigSize.digits(number) + 1 + ConfigSize.host(host) + 6 + checkSize + (host.address.isHostname ? 25 : 0) + 1
        }
        var number: UInt32 = 1
        guard let slots else {
            for host in services[planned.index].hosts {
                size += server(number, host)
                number += 1
            }
            return size
        }
        for slot in slots {
            if case .active(let host) = slot {
                size += server(number, host)
            } else {
                // "  server node" + n + " " + free address + " check disabled\n"
                size += 13 + ConfigSize.digits(number) + 1 + HAProxyRenderer.freeSlotAddress.utf8.count + 16 + checkSize
            }
            number += 1
        }
        return size
    }

    /// By id, then by every other field, so equal ids (from two generators) still have one order.
    static func renderOrder(_ a: Service, _ b: Service) -> Bool {
        if a.id != b.id { return a.id < b.id }
        if a.servicePort != b.servicePort { return a.servicePort < b.servicePort }
        if a.transport != b.transport { return a.transport.rawValue < b.transport.rawValue }
        let aProtocol = a.applicationProtocol?.rawValue ?? ""
        let bProtocol = b.applicationProtocol?.rawValue ?? ""
        if aProtocol != bProtocol { return aProtocol < bProtocol }
        if a.source != b.source { return a.source < b.source }
        if a.domains != b.domains { return a.domains.lexicographicallyPrecedes(b.domains) }
        return a.hosts.lexicographicallyPrecedes(b.hosts)
    }
}
