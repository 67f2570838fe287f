import ProxymModel

/// Turns services into an HAProxy configuration: a pure, deterministic function.
///
/// The layout is the original proxym's (Go), byte for byte where it was right:
///
/// ```
/// <global.cfg>
///
/// frontend http-in
///   bind *:80
///
///   acl host_one_webapp hdr(host) -i one.app.local
///   acl host_two_webapp hdr(host) -i two.app.local
///
///   use_backend one_webapp_cluster if host_one_webapp
///   use_backend two_webapp_cluster if host_two_webapp
///
/// backend one_webapp_cluster
///   balance leastconn
///
///   server node1 10.10.10.11:31002 check
///
/// listen redis
///   bind :41000
///   mode tcp
///   option tcplog
///
///   server node1 10.10.10.10:31001 check
/// ```
///
/// Where it differs, on purpose (each one has a test in `HAProxyRendererTests`):
/// 1. `bind <bindAddress or *>:<httpPort>` instead of a hard-coded `*:80`; TCP services bind
///    `<bindAddress>:<port>`. IPv6 bind addresses are written `[addr]`.
/// 2. The `frontend http-in` block is always rendered, without acl/use_backend lines when there is no
///    HTTP service: `haproxy -c` exits 2 ("no listener") for a file without any listener, and removing
///    the last service must still give a valid file.
/// 3. With an HTTP port other than 80 every acl line also matches `<domain>:<httpPort>`, because clients
///    send the port in the Host header (`acl host_x hdr(host) -i shop.example.com shop.example.com:8080`);
///    not for a domain that already carries a port.
/// 4. A server given by host name gets ` init-addr last,libc,none`, so one name that does not resolve
///    cannot make HAProxy reject the whole file (the server starts disabled instead). IPv6 servers are
///    written `[addr]:port`.
/// 5. Free text cannot smuggle in control characters: option lines lose `\r` and every other control
///    character (tab becomes a space) and are trimmed; the global config keeps only newline and tab.
///    An option line that would open a new section (`listen x`) is left out (see `RenderNote`).
/// 6. Deterministic: services sorted by id (ties broken by every other field), hosts sorted by the
///    model, no timestamps; the same services in any order give the same text.
/// 7. TCP services use `listen <name>` plus a `bind` line. The original wrote `listen <name> :<port>`,
///    which HAProxy 2.6 rejects ("please use the 'bind' keyword for listening addresses").
/// 8. Services that would make HAProxy reject the file or misroute traffic are left out and reported in
///    `Rendering.notes`: two ids mangling to the same section name, a TCP port bound twice (HAProxy's
///    SO_REUSEPORT would let both bind and split the connections). The first in id order wins.
/// 9. Extra domains repeating a service's own domain are not written twice.
///
/// A service without hosts is still rendered, with no `server` lines: HTTP requests for its domains get
/// a 503 from HAProxy and TCP connections are closed, instead of falling through to another backend or
/// the port disappearing while the service is scaled to zero (the original behaved the same way).
/// An HTTP service without any domain gets its backend but no acl/use_backend lines (an acl with no
/// pattern is an error in HAProxy; the original wrote one with an empty pattern).
/// UDP services are skipped, as in the original.
public enum HAProxyRenderer {
    /// The configuration text for `services`.
    public static func render(_ services: [Service], options: RenderOptions) -> String {
        renderWithNotes(services, options: options).text
    }

    /// The configuration text plus notes about services that were left out or look wrong, for logs.
    public static func renderWithNotes(_ services: [Service], options: RenderOptions) -> Rendering {
        renderWithNotes(services, options: options, sizeError: 0)
    }

    /// `sizeError` makes the computed size wrong on purpose (tests of the fallback).
    static func renderWithNotes(_ services: [Service], options: RenderOptions, sizeError: Int) -> Rendering {
        renderRecording(services, options: options, sizeError: sizeError, recording: false).rendering
    }

    /// The whole render; with `recording`, also where each service's server lines are (nil when the
    /// text had to be written by the fallback) and the services in render order.
    static func renderRecording(_ services: [Service], options: RenderOptions, sizeError: Int = 0, recording: Bool)
        -> (rendering: Rendering, ordered: [Service], servers: [Range<Int>?]?)
    {
        var notes: [RenderNote] = []
        let plan = Plan(services, options: options, notes: &notes)
        let bindHost = options.bindAddress.map(ConfigText.bindHost)
        let global = globalText(options)
        // The text's size is computed first, then the text written straight into its own buffer:
        // no String per line, no growing buffer, no copy at the end.
        let size = max(global.utf8.count + plan.textSize(options: options, bindHost: bindHost) + sizeError, 0)
        var complete = true
        var servers: [Range<Int>?]?
        let text = String(unsafeUninitializedCapacity: size) { buffer in
            guard buffer.count > 0 else {
                complete = false
                return 0
            }
            var out = ConfigWriter(buffer, recordingServersOf: recording ? plan.services.count : nil)
            write(plan, global: global, options: options, bindHost: bindHost, to: &out)
            complete = !out.overflowed
            servers = out.servers
            return complete ? out.count : 0
        }
        if complete { return (Rendering(text: text, notes: notes, vhostMap: plan.vhostMap), plan.services, servers) }
        // Not expected (the tests compare the size with the text); the text must be right anyway.
        var out = ConfigBuffer(reservingCapacity: size * 2)
        write(plan, global: global, options: options, bindHost: bindHost, to: &out)
        return (Rendering(text: out.text, notes: notes, vhostMap: plan.vhostMap), plan.services, nil)
    }

    /// Whether `textSize` gives the exact size of the text (for tests).
    static func sizeIsExact(_ services: [Service], options: RenderOptions) -> Bool {
        var notes: [RenderNote] = []
        let plan = Plan(services, options: options, notes: &notes)
        let bindHost = options.bindAddress.map(ConfigText.bindHost)
        let global = globalText(options)
        var out = ConfigBuffer(reservingCapacity: 0)
        write(plan, global: global, options: options, bindHost: bindHost, to: &out)
        return out.bytes.count == global.utf8.count + plan.textSize(options: options, bindHost: bindHost)
    }

    /// The backends and TCP listen sections `render` writes, by their haproxy proxy names, with their
    /// hosts: what the Runtime API addresses.
    public static func sections(_ services: [Service], options: RenderOptions) -> [ServerSection] {
        var notes: [RenderNote] = []
        let plan = Plan(services, options: options, notes: &notes)
        return plan.http.map { ServerSection(name: $0.name + "_cluster", hosts: plan.services[$0.index].hosts) }
            + plan.tcp.map { ServerSection(name: $0.name, hosts: plan.services[$0.index].hosts) }
    }

    /// The global config as written: sanitized, with the stats socket the options ask for.
    private static func globalText(_ options: RenderOptions) -> String {
        let global = ConfigText.globalConfig(options.globalConfig)
        guard let socket = options.statsSocket else { return global }
        return StatsSocketConfig.ensuring(socket, in: global)
    }

    private static func write<Output: ConfigOutput>(
        _ plan: Plan, global: String, options: RenderOptions, bindHost: String?, to out: inout Output
    ) {
        out.append(global)
        appendHTTP(plan, options: options, bindHost: bindHost, to: &out)
        appendTCP(plan, slots: options.slots, bindHost: bindHost, to: &out)
        if let https = options.https { appendTLSSections(plan, https: https, to: &out) }
    }

    // MARK: - Sections

    // Every line written here is counted by `Plan.textSize` (keep them in step).

    private static func appendHTTP<Output: ConfigOutput>(
        _ plan: Plan, options: RenderOptions, bindHost: String?, to out: inout Output
    ) {
        let services = plan.http
        let httpPort = options.httpPort
        out.append("\nfrontend http-in\n  bind ")
        out.append(bindHost ?? "*")
        out.append(byte: UInt8(ascii: ":"))
        out.append(decimal: UInt32(httpPort))
        out.append(byte: UInt8(ascii: "\n"))
        if options.idleCloseOnResponse { out.append(Plan.idleCloseLine) }
        if let https = options.https { appendHTTPFrontendTLS(plan, https: https, to: &out) }

        // The original wrote "\n" + acl lines joined by "\n" + "\n\n" + use_backend lines joined by
        // "\n" + "\n"; `appendRouting` writes the same bytes, and nothing at all when there are no HTTP
        // services.
        appendRouting(plan, frontend: .http(port: httpPort, https: options.https), to: &out)
        if let https = options.https {
            appendHTTPSFrontends(plan, https: https, bindHost: bindHost, idleClose: options.idleCloseOnResponse, to: &out)
        }

        if let port = options.appIDPort { appendAppIDFrontend(plan, port: port, bindHost: bindHost, to: &out) }
        for planned in services {
            appendServicePortFrontend(planned, plan.services[planned.index], bindHost: bindHost, to: &out)
            appendUserlist(planned, plan.services[planned.index], to: &out)
            out.append("\nbackend ")
            out.append(planned.name)
            out.append("_cluster\n")
            appendBody(
                planned, plan.services[planned.index], isHTTP: true, slots: options.slots?.sections[planned.name + "_cluster"],
                to: &out)
        }
    }

    private static func appendTCP<Output: ConfigOutput>(_ plan: Plan, slots: SlotTable?, bindHost: String?, to out: inout Output) {
        for planned in plan.tcp {
            out.append("\nlisten ")
            out.append(planned.name)
            out.append("\n  bind ")
            if let address = plan.services[planned.index].routing.bindAddress {
                out.append(address.haproxyText)
            } else if let bindHost {
                out.append(bindHost)
            }
            out.append(byte: UInt8(ascii: ":"))
            out.append(decimal: UInt32(plan.services[planned.index].servicePort))
            out.append("\n  mode tcp\n")
            appendBody(planned, plan.services[planned.index], isHTTP: false, slots: slots?.sections[planned.name], to: &out)
        }
    }

    /// Option lines, a blank line, the server lines (one per host, or one per slot).
    private static func appendBody<Output: ConfigOutput>(
        _ planned: borrowing PlannedService, _ service: borrowing Service, isHTTP: Bool, slots: [Slot]?, to out: inout Output
    ) {
        if service.routing != .none { appendBackendRouting(planned, service, isHTTP: isHTTP, to: &out) }
        if let maxAge = planned.hstsMaxAge { appendHSTS(maxAge, to: &out) }
        for line in planned.optionLines {
            out.append("  ")
            out.append(line)
            out.append(byte: UInt8(ascii: "\n"))
        }
        out.append(byte: UInt8(ascii: "\n"))
        guard let slots else {
            let start = out.position
            appendServers(service, to: &out)
            out.serverLines(of: planned.index, at: start..<out.position)
            return
        }
        var number: UInt32 = 1
        for slot in slots {
            if case .active(let host) = slot {
                appendServer(number, host, check: service.routing.healthCheck, to: &out)
            } else {
                out.append("  server node")
                out.append(decimal: number)
                out.append(byte: UInt8(ascii: " "))
                out.append(freeSlotAddress)
                out.append(" check")
                appendCheckOptions(service.routing.healthCheck, to: &out)
                out.append(" disabled\n")
            }
            number += 1
        }
    }

    /// One server line per host (the original layout, no slots).
    static func appendServers<Output: ConfigOutput>(_ service: borrowing Service, to out: inout Output) {
        var number: UInt32 = 1
        for host in service.hosts {
            appendServer(number, host, check: service.routing.healthCheck, to: &out)
            number += 1
        }
    }

    /// `  server node<number> <host> check[ init-addr last,libc,none]` (the name is
    /// ``Slot/serverName(_:)`` of `number - 1`).
    private static func appendServer<Output: ConfigOutput>(
        _ number: UInt32, _ host: Host, check: HealthCheck?, to out: inout Output
    ) {
        out.append("  server node")
        out.append(decimal: number)
        out.append(byte: UInt8(ascii: " "))
        out.append(host: host)
        out.append(" check")
        appendCheckOptions(check, to: &out)
        if host.address.isHostname { out.append(" init-addr last,libc,none") }
        out.append(byte: UInt8(ascii: "\n"))
    }

    /// The address of a free slot: a closed local port, so a slot enabled by mistake fails fast (503)
    /// instead of looping back into haproxy (port 0 would mean "the client's destination port").
    public static let freeSlotAddress = "127.0.0.1:1"

}

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
