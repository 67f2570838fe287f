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
