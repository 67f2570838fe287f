import ProxymModel

/// The shared HTTPS frontend (`PROXYM_HAPROXY_HTTPS_PORT`).
public struct HTTPSOptions: Sendable, Hashable {
    public var port: UInt16
    /// The crt-list the HTTPS bind reads (proxym's own file: the default certificate first).
    public var crtList: String
    /// ACME: the port on 127.0.0.1 where the client answers HTTP-01 challenges (nil: no ACME).
    public var acmePort: UInt16?

    public init(port: UInt16, crtList: String, acmePort: UInt16? = nil) {
        self.port = port
        self.crtList = crtList
        self.acmePort = acmePort
    }
}

/// A shared frontend that routes by virtual host: the HTTP frontend (`http-in`) and the HTTPS one
/// (`https-in`). ``HAProxyRenderer/appendRouting(_:frontend:to:)`` writes the same rules into each,
/// from the same plan, so both serve the same virtual hosts and backends.
struct RoutedFrontend {
    /// The port clients address: a Host header may carry it (`shop.example.com:8080`), so each host
    /// acl also matches `<domain>:<port>` when it is not `standardPort`.
    var port: UInt16
    /// 80 for HTTP, 443 for HTTPS.
    var standardPort: UInt16
    /// HTTP: services with `redirectToHttps` are redirected here (443 when no HTTPS frontend: TLS ends
    /// in front of proxym).
    var redirects = false
    var redirectPort: UInt16? = nil
    /// HTTP with ACME: the challenge path is exempt from redirects (and its `use_backend` follows them).
    var acme = false

    static func http(port: UInt16, https: HTTPSOptions?) -> RoutedFrontend {
        RoutedFrontend(
            port: port, standardPort: 80, redirects: true, redirectPort: https?.port, acme: https?.acmePort != nil)
    }

    static func https(port: UInt16) -> RoutedFrontend {
        RoutedFrontend(port: port, standardPort: 443)
    }
}

/// What the plan says about HTTPS beyond the virtual hosts both frontends share.
struct PlannedTLS {
    /// TCP services reached on the HTTPS port by SNI: index into ``Plan/tcp``, and the lower-case names.
    var passthrough: [(tcp: Int, names: [String])] = []
    /// Domains whose `/.well-known/acme-challenge/` stays with their own backend (ACME opt-out).
    var acmeOptOut: [String] = []
}

extension Plan {
    /// The names and the port the HTTPS parts take, so no service can take them.
    static func reserveTLS(_ options: RenderOptions, names: inout [String: ServiceID?], ports: inout [UInt16: ServiceID?]) {
        guard let https = options.https else { return }
        ports[https.port] = .some(nil)
        for name in [HAProxyRenderer.httpsFrontend, HAProxyRenderer.sniFrontend, HAProxyRenderer.terminatorBackend, HAProxyRenderer.acmeBackend] {
            names[name] = .some(nil)
        }
    }

    /// HSTS per HTTP service, passthrough routes, ACME opt-outs; notes for wishes that cannot be met.
    mutating func planTLS(options: RenderOptions, notes: inout [RenderNote]) {
        guard options.https != nil else { return }
        var terminated = Set<String>()
        for index in http.indices {
            let service = services[http[index].index]
            http[index].hstsMaxAge = service.tls.hstsMaxAge
            for domain in http[index].domains { terminated.insert(Plan.hostName(domain)) }
            if !service.tls.acme { tls.acmeOptOut += http[index].domains.map(Plan.hostName) }
            if service.tls.passthrough {
                notes.append(RenderNote(serviceID: service.id, source: service.source, kind: .passthroughIgnored(reason: "it is an HTTP service")))
            }
        }
        tls.acmeOptOut = Array(Set(tls.acmeOptOut)).sorted()
        var claimed = Set<String>()
        for index in tcp.indices {
            let service = services[tcp[index].index]
            guard service.tls.passthrough else { continue }
            var names: [String] = []
            for domain in service.domains {
                let name = Plan.hostName(domain)
                if terminated.contains(name) || claimed.contains(name) {
                    notes.append(
                        RenderNote(
                            serviceID: service.id, source: service.source,
                            kind: .passthroughIgnored(reason: "\(name) is already served on the HTTPS port")))
                    continue
                }
                if !names.contains(name) { names.append(name) }
            }
            claimed.formUnion(names)
            if names.isEmpty {
                if service.domains.isEmpty {
                    notes.append(
                        RenderNote(serviceID: service.id, source: service.source, kind: .passthroughIgnored(reason: "it has no domain")))
                }
                continue
            }
            tls.passthrough.append((index, names))
        }
    }

    /// A domain as SNI and `Host` carry it: lower case, without port.
    static func hostName(_ domain: DomainName) -> String {
        (domain.rawValue.split(separator: ":").first.map(String.init) ?? domain.rawValue).lowercased()
    }
}

extension HAProxyRenderer {
    static let httpsFrontend = "https-in"
    static let sniFrontend = "https-sni"
    static let terminatorBackend = "proxym_https"
    static let acmeBackend = "proxym_acme"

    /// The routing rules of one shared frontend: the host acls, a blank line, the `use_backend`
    /// rules (the original's bytes on the HTTP frontend; nothing when no HTTP service has a domain).
    static func appendRouting<Output: ConfigOutput>(_ plan: Plan, frontend: RoutedFrontend, to out: inout Output) {
        guard plan.http.contains(where: { !$0.domains.isEmpty }) else { return }
        let routes = plan.routes()
        out.append(byte: UInt8(ascii: "\n"))
        for planned in plan.http where !planned.domains.isEmpty && !planned.mapped {
            for domain in planned.domains {
                out.append("  acl host_")
                out.append(planned.name)
                out.append(" hdr(host) -i ")
                appendHostPatterns(domain, frontend: frontend, to: &out)
                out.append(byte: UInt8(ascii: "\n"))
            }
        }
        out.append(byte: UInt8(ascii: "\n"))
        if frontend.redirects && plan.hasRedirect {
            appendRedirects(plan, routes: routes, frontend: frontend, to: &out)
            if frontend.acme { appendACMEUseBackend(plan, to: &out) }
        }
        for route in routes {
            let planned = plan.http[route.http]
            if planned.mapped { continue }
            out.append("  use_backend ")
            out.append(planned.name)
            out.append("_cluster")
            appendCondition(planned.name, path: route.path, to: &out)
            out.append(byte: UInt8(ascii: "\n"))
        }
        if let map = plan.vhostMap { appendMapUseBackend(map, to: &out) }
    }

    /// `shop.example.com`, or `shop.example.com shop.example.com:8080` when the frontend's port is not
    /// the scheme's standard one.
    static func appendHostPatterns<Output: ConfigOutput>(
        _ domain: DomainName, frontend: RoutedFrontend, to out: inout Output
    ) {
        out.append(domain.rawValue)
        if frontend.port == frontend.standardPort || domain.hasPort { return }
        out.append(byte: UInt8(ascii: " "))
        out.append(domain.rawValue)
        out.append(byte: UInt8(ascii: ":"))
        out.append(decimal: UInt32(frontend.port))
    }

    /// The HTTP frontend's lines for HTTPS, before any routing rule: `X-Forwarded-Proto: http` (what a
    /// client sent is replaced), and with ACME the challenge path to the client, ahead of every
    /// redirect and virtual host (http-request rules run before use_backend ones; the redirect rules
    /// exempt the path).
    static func appendHTTPFrontendTLS<Output: ConfigOutput>(_ plan: Plan, https: HTTPSOptions, to out: inout Output) {
        out.append("  http-request set-header X-Forwarded-Proto http\n")
        guard https.acmePort != nil else { return }
        out.append("  acl proxym_acme path_beg /.well-known/acme-challenge/\n")
        // With redirects, after them (an http-request rule after a use_backend draws a warning).
        if !plan.hasRedirect { appendACMEUseBackend(plan, to: &out) }
    }

    /// `use_backend proxym_acme` for the challenge path (ACME opt-outs excepted).
    static func appendACMEUseBackend<Output: ConfigOutput>(_ plan: Plan, to out: inout Output) {
        if !plan.tls.acmeOptOut.isEmpty {
            out.append("  acl proxym_acme_optout req.hdr(host),field(1,:),lower -m str")
            for domain in plan.tls.acmeOptOut {
                out.append(byte: UInt8(ascii: " "))
                out.append(domain)
            }
            out.append(byte: UInt8(ascii: "\n"))
            out.append("  use_backend proxym_acme if proxym_acme !proxym_acme_optout\n")
        } else {
            out.append("  use_backend proxym_acme if proxym_acme\n")
        }
    }

    /// `frontend https-in`: TLS terminated with the crt-list, HTTP/2, the same routing as HTTP. With
    /// passthrough services, a TCP frontend on the port reads the SNI first (without decrypting) and
    /// sends their names to their sections, the rest to `https-in` over an abstract socket with the
    /// PROXY protocol (the client's address survives; `abns@` works under Debian's chroot and across
    /// reloads).
    static func appendHTTPSFrontends<Output: ConfigOutput>(
        _ plan: Plan, https: HTTPSOptions, bindHost: String?, idleClose: Bool, to out: inout Output
    ) {
        let passthrough = !plan.tls.passthrough.isEmpty
        out.append("\nfrontend https-in\n  bind ")
        if passthrough {
            appendTerminatorSocket(https, to: &out)
            out.append(" accept-proxy")
        } else {
            out.append(bindHost ?? "*")
            out.append(byte: UInt8(ascii: ":"))
            out.append(decimal: UInt32(https.port))
        }
        out.append(" ssl crt-list ")
        out.append(https.crtList)
        out.append(" alpn h2,http/1.1\n")
        if idleClose { out.append(Plan.idleCloseLine) }
        out.append("  http-request set-header X-Forwarded-Proto https\n")
        appendRouting(plan, frontend: .https(port: https.port), to: &out)
        guard passthrough else { return }

        out.append("\nfrontend https-sni\n  mode tcp\n  bind ")
        out.append(bindHost ?? "*")
        out.append(byte: UInt8(ascii: ":"))
        out.append(decimal: UInt32(https.port))
        out.append("\n  tcp-request inspect-delay 5s\n  tcp-request content accept if { req.ssl_hello_type 1 }\n")
        for (index, names) in plan.tls.passthrough {
            out.append("  use_backend ")
            out.append(plan.tcp[index].name)
            out.append(" if { req.ssl_sni -i")
            for name in names {
                out.append(byte: UInt8(ascii: " "))
                out.append(name)
            }
            out.append(" }\n")
        }
        out.append("  default_backend proxym_https\n")
    }

    /// `abns@proxym-https-<port>`: unique per HTTPS port on the machine.
    private static func appendTerminatorSocket<Output: ConfigOutput>(_ https: HTTPSOptions, to out: inout Output) {
        out.append("abns@proxym-https-")
        out.append(decimal: UInt32(https.port))
    }

    /// The backends of proxym's own: to the TLS terminator (passthrough), to the ACME client.
    static func appendTLSSections<Output: ConfigOutput>(_ plan: Plan, https: HTTPSOptions, to out: inout Output) {
        if !plan.tls.passthrough.isEmpty {
            out.append("\nbackend proxym_https\n  mode tcp\n  server https ")
            appendTerminatorSocket(https, to: &out)
            out.append(" send-proxy-v2\n")
        }
        if let port = https.acmePort {
            out.append("\nbackend proxym_acme\n  mode http\n  server acme 127.0.0.1:")
            out.append(decimal: UInt32(port))
            out.append(byte: UInt8(ascii: "\n"))
        }
    }

    /// HSTS on the service's HTTPS answers only (a header over plain HTTP means nothing to browsers).
    static func appendHSTS<Output: ConfigOutput>(_ maxAge: Int, to out: inout Output) {
        out.append("  http-response set-header Strict-Transport-Security \"max-age=")
        out.append(decimal: UInt32(clamping: maxAge))
        out.append("\" if { ssl_fc }\n")
    }
}
