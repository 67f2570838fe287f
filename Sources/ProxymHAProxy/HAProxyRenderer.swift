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
        var notes: [RenderNote] = []
        let plan = Plan(services, options: options, notes: &notes)
        let bindHost = options.bindAddress.map(ConfigText.bindHost)

        var out = ConfigText.globalConfig(options.globalConfig)
        if let socket = options.statsSocket { out = StatsSocketConfig.ensuring(socket, in: out) }
        appendHTTP(plan.http, options: options, bindHost: bindHost, to: &out)
        appendTCP(plan.tcp, slots: options.slots, bindHost: bindHost, to: &out)
        return Rendering(text: out, notes: notes)
    }

    /// The backends and TCP listen sections `render` writes, by their haproxy proxy names, with their
    /// hosts: what the Runtime API addresses.
    public static func sections(_ services: [Service], options: RenderOptions) -> [ServerSection] {
        var notes: [RenderNote] = []
        let plan = Plan(services, options: options, notes: &notes)
        return plan.http.map { ServerSection(name: $0.name + "_cluster", hosts: $0.service.hosts) }
            + plan.tcp.map { ServerSection(name: $0.name, hosts: $0.service.hosts) }
    }

    // MARK: - Sections

    private static func appendHTTP(
        _ services: [PlannedService],
        options: RenderOptions,
        bindHost: String?,
        to out: inout String
    ) {
        let httpPort = options.httpPort
        out += "\nfrontend http-in\n  bind \(bindHost ?? "*"):\(httpPort)\n"
        if options.idleCloseOnResponse { out += "  option idle-close-on-response\n" }

        var aclLines: [String] = []
        var useBackendLines: [String] = []
        for planned in services where !planned.domains.isEmpty {
            for domain in planned.domains {
                aclLines.append("  acl host_\(planned.name) hdr(host) -i \(aclPatterns(domain, httpPort: httpPort))")
            }
            useBackendLines.append("  use_backend \(planned.name)_cluster if host_\(planned.name)")
        }
        // The original wrote "\n" + acl lines joined by "\n" + "\n\n" + use_backend lines joined by
        // "\n" + "\n"; the same bytes, and nothing at all when there are no HTTP services.
        if !aclLines.isEmpty {
            out += "\n"
            for line in aclLines { out += line + "\n" }
        }
        if !useBackendLines.isEmpty {
            out += "\n"
            for line in useBackendLines { out += line + "\n" }
        }

        for planned in services {
            out += "\nbackend \(planned.name)_cluster\n"
            appendBody(planned, slots: options.slots?.sections[planned.name + "_cluster"], to: &out)
        }
    }

    private static func appendTCP(_ services: [PlannedService], slots: SlotTable?, bindHost: String?, to out: inout String) {
        for planned in services {
            out += "\nlisten \(planned.name)\n  bind \(bindHost ?? ""):\(planned.service.servicePort)\n  mode tcp\n"
            appendBody(planned, slots: slots?.sections[planned.name], to: &out)
        }
    }

    /// Option lines, a blank line, the server lines (one per host, or one per slot).
    private static func appendBody(_ planned: PlannedService, slots: [Slot]?, to out: inout String) {
        for line in planned.optionLines { out += "  " + line + "\n" }
        out += "\n"
        guard let slots else {
            for (index, host) in planned.service.hosts.enumerated() { appendServer(Slot.serverName(index), host, to: &out) }
            return
        }
        for (index, slot) in slots.enumerated() {
            if case .active(let host) = slot {
                appendServer(Slot.serverName(index), host, to: &out)
            } else {
                out += "  server \(Slot.serverName(index)) \(freeSlotAddress) check disabled\n"
            }
        }
    }

    private static func appendServer(_ name: String, _ host: Host, to out: inout String) {
        out += "  server \(name) \(host) check"
        if host.address.isHostname { out += " init-addr last,libc,none" }
        out += "\n"
    }

    /// The address of a free slot: a closed local port, so a slot enabled by mistake fails fast (503)
    /// instead of looping back into haproxy (port 0 would mean "the client's destination port").
    public static let freeSlotAddress = "127.0.0.1:1"

    /// `shop.example.com`, or `shop.example.com shop.example.com:8080` when the HTTP port is not 80.
    private static func aclPatterns(_ domain: DomainName, httpPort: UInt16) -> String {
        if httpPort == 80 || domain.hasPort { return domain.rawValue }
        return "\(domain.rawValue) \(domain.rawValue):\(httpPort)"
    }
}

/// A service that made it into the output, with everything derived from the options.
struct PlannedService {
    var service: Service
    /// `service.id.proxyName`.
    var name: String
    var optionLines: [String]
    /// HTTP only: the service's domains, then the extra domains, without repeats.
    var domains: [DomainName]
}

/// Which services are rendered where: sorted, UDP and conflicts removed, options resolved.
struct Plan {
    var http: [PlannedService] = []
    var tcp: [PlannedService] = []

    init(_ services: [Service], options: RenderOptions, notes: inout [RenderNote]) {
        // Proxy names in use; the value is the owner (nil = proxym's own frontend). Frontends and
        // backends may share a name in HAProxy, but one namespace is simpler to reason about.
        var names: [String: ServiceID?] = ["http-in": nil]
        // Ports bound so far (nil = the HTTP frontend).
        var ports: [UInt16: ServiceID?] = [options.httpPort: nil]

        for service in services.sorted(by: Plan.renderOrder) {
            func note(_ kind: RenderNote.Kind) {
                notes.append(RenderNote(serviceID: service.id, source: service.source, kind: kind))
            }
            guard service.transport == .tcp else {
                note(.udpSkipped)
                continue
            }
            let isHTTP = service.isHTTP(httpPort: options.httpPort)
            let name = service.id.proxyName
            let sectionName = isHTTP ? name + "_cluster" : name
            if let owner = names[sectionName] {
                note(.nameTaken(name: sectionName, by: owner))
                continue
            }
            if !isHTTP, let owner = ports[service.servicePort] {
                note(.portTaken(port: service.servicePort, by: owner))
                continue
            }
            names[sectionName] = .some(service.id)
            if !isHTTP { ports[service.servicePort] = .some(service.id) }

            let serviceOptions = options.serviceOptions[ServiceOptionsKey(for: service)] ?? ServiceOptions()
            var optionLines: [String] = []
            for line in ConfigText.optionLines(serviceOptions.configLines) {
                if ConfigText.opensSection(line) {
                    note(.optionLineDropped(line: line))
                } else {
                    optionLines.append(line)
                }
            }

            var domains: [DomainName] = []
            if isHTTP {
                var seen = Set<DomainName>()
                domains = (service.domains + serviceOptions.extraDomains).filter { seen.insert($0).inserted }
                if domains.isEmpty { note(.noDomains) }
            }
            if service.hosts.isEmpty { note(.noHosts) }

            let planned = PlannedService(service: service, name: name, optionLines: optionLines, domains: domains)
            if isHTTP { http.append(planned) } else { tcp.append(planned) }
        }
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
