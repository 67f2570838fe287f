import ProxymModel

/// Issue 14's routing features in the rendered configuration (``ServiceRouting``). Nothing here writes
/// a byte for a service whose routing is `.none`, so the output without them is the original's.
///
/// Rule order in `http-in` and `https-in` (documented in README, "Path routing"): one `use_backend`
/// per service and path, sorted by
/// 1. weight, largest first (marathon-lb's `HAPROXY_{n}_BACKEND_WEIGHT`, default 0);
/// 2. path length, longest first; a rule without a path counts 0, so a vhost+path rule comes before
///    the vhost alone at the same weight;
/// 3. the service's render order (its id), then the path's text.
extension Plan {
    /// One `use_backend` line: a service of ``http`` and, for a vhost+path rule, its path prefix.
    struct Route {
        var http: Int
        var path: PathPrefix?
    }

    /// The `use_backend` rules of the shared frontends, in order (services with domains only).
    func routes() -> [Route] {
        var routes: [Route] = []
        routes.reserveCapacity(http.count)
        var ordered = false
        for index in http.indices where !http[index].domains.isEmpty {
            let routing = services[http[index].index].routing
            if routing.paths.isEmpty {
                routes.append(Route(http: index, path: nil))
            } else {
                ordered = true
                for path in routing.paths { routes.append(Route(http: index, path: path)) }
            }
            if routing.weight != 0 { ordered = true }
        }
        guard ordered else { return routes }
        return routes.sorted { a, b in
            let wa = services[http[a.http].index].routing.weight
            let wb = services[http[b.http].index].routing.weight
            if wa != wb { return wa > wb }
            let la = a.path?.byteCount ?? 0
            let lb = b.path?.byteCount ?? 0
            if la != lb { return la > lb }
            if a.http != b.http { return a.http < b.http }
            return (a.path?.rawValue ?? "") < (b.path?.rawValue ?? "")
        }
    }

    /// Whether any routed HTTP service redirects to HTTPS.
    var hasRedirect: Bool {
        http.contains { !$0.domains.isEmpty && services[$0.index].routing.redirectToHttps }
    }
}

extension HAProxyRenderer {
    /// ` if host_<name>[ { path_beg <path> }]`
    static func appendCondition<Output: ConfigOutput>(_ name: String, path: PathPrefix?, to out: inout Output) {
        out.append(" if host_")
        out.append(name)
        if let path {
            out.append(" { path_beg ")
            out.append(path.rawValue)
            out.append(" }")
        }
    }

    /// The redirect rules of `http-in`, one per route of a service with `redirectToHttps`, before any
    /// `use_backend` (haproxy runs http-request rules first anyway; written first it says so). The ACME
    /// challenge path is exempt.
    static func appendRedirects<Output: ConfigOutput>(
        _ plan: Plan, routes: [Plan.Route], frontend: RoutedFrontend, to out: inout Output
    ) {
        for route in routes {
            let planned = plan.http[route.http]
            guard plan.services[planned.index].routing.redirectToHttps else { continue }
            if let port = frontend.redirectPort, port != 443 {
                out.append("  http-request redirect location https://%[req.hdr(host),field(1,:)]:")
                out.append(decimal: UInt32(port))
                out.append("%[capture.req.uri] code 301")
            } else {
                out.append("  http-request redirect scheme https code 301")
            }
            appendCondition(planned.name, path: route.path, to: &out)
            if frontend.acme { out.append(" !proxym_acme") }
            out.append(byte: UInt8(ascii: "\n"))
        }
    }

    /// What a backend (or TCP listen section) gets from the service's routing, before its option lines.
    static func appendBackendRouting<Output: ConfigOutput>(
        _ planned: borrowing PlannedService, _ service: borrowing Service, isHTTP: Bool, to out: inout Output
    ) {
        let routing = service.routing
        if let balance = routing.balance {
            out.append("  balance ")
            out.append(balance.description)
            out.append(byte: UInt8(ascii: "\n"))
        }
        if isHTTP {
            if let auth = routing.auth {
                out.append("  http-request auth realm \"")
                out.append(auth.realm)
                out.append("\" unless { http_auth(")
                out.append(planned.name)
                out.append("_users) }\n")
            }
            if let prefix = routing.proxyPassPath, prefix.rawValue != "/" {
                // `/api` strips `/api` and `/api/...`, not `/apiary`.
                let bare = prefix.rawValue.hasSuffix("/") ? String(prefix.rawValue.dropLast()) : prefix.rawValue
                out.append("  http-request replace-path '^")
                out.append(regexEscaped(bare))
                out.append("/?(.*)$' '/\\1' if { path ")
                out.append(bare)
                out.append(" } || { path_beg ")
                out.append(bare)
                out.append("/ }\n")
            }
            if routing.sticky {
                out.append("  cookie proxym_server_id insert indirect nocache dynamic\n  dynamic-cookie-key ")
                out.append(planned.name)
                out.append(byte: UInt8(ascii: "\n"))
            }
        }
        if let check = routing.healthCheck {
            if check.kind == .http {
                out.append("  option httpchk\n  http-check send meth GET uri ")
                out.append(check.path.rawValue)
                if let domain = service.domain {
                    out.append(" ver HTTP/1.1 hdr Host ")
                    out.append(domain.rawValue)
                }
                out.append(byte: UInt8(ascii: "\n"))
            }
            out.append("  timeout check ")
            out.append(decimal: UInt32(check.timeoutSeconds))
            out.append("s\n")
        }
    }

    /// After ` check` on a server line: the health check's timing and port.
    static func appendCheckOptions<Output: ConfigOutput>(_ check: HealthCheck?, to out: inout Output) {
        guard let check else { return }
        out.append(" inter ")
        out.append(decimal: UInt32(check.intervalSeconds))
        out.append("s fall ")
        out.append(decimal: UInt32(check.fall))
        out.append(" rise ")
        out.append(decimal: UInt32(check.rise))
        if let port = check.port {
            out.append(" port ")
            out.append(decimal: UInt32(port))
        }
    }

    /// `userlist <name>_users` before the backend of a service with basic auth.
    static func appendUserlist<Output: ConfigOutput>(_ planned: borrowing PlannedService, _ service: borrowing Service, to out: inout Output) {
        guard let auth = service.routing.auth else { return }
        out.append("\nuserlist ")
        out.append(planned.name)
        out.append("_users\n")
        for user in auth.users {
            out.append("  user ")
            out.append(user.name)
            out.append(" password ")
            out.append(user.passwordHash)
            out.append(byte: UInt8(ascii: "\n"))
        }
    }

    /// An HTTP service that also listens on its own service port (`bindServicePort`).
    static func appendServicePortFrontend<Output: ConfigOutput>(
        _ planned: borrowing PlannedService, _ service: borrowing Service, bindHost: String?, to out: inout Output
    ) {
        guard planned.bindsServicePort else { return }
        out.append("\nfrontend ")
        out.append(planned.name)
        out.append("_port\n  bind ")
        if let address = service.routing.bindAddress {
            out.append(address.haproxyText)
        } else {
            out.append(bindHost ?? "*")
        }
        out.append(byte: UInt8(ascii: ":"))
        out.append(decimal: UInt32(service.servicePort))
        out.append("\n  mode http\n  default_backend ")
        out.append(planned.name)
        out.append("_cluster\n")
    }

    /// The app-id frontend (`PROXYM_HAPROXY_APPID_PORT`): `X-Marathon-App-Id: /app` -> its backend.
    static func appendAppIDFrontend<Output: ConfigOutput>(_ plan: Plan, port: UInt16, bindHost: String?, to out: inout Output) {
        out.append("\nfrontend proxym_appid\n  bind ")
        out.append(bindHost ?? "*")
        out.append(byte: UInt8(ascii: ":"))
        out.append(decimal: UInt32(port))
        out.append("\n  mode http\n")
        var seen = Set<String>()
        for planned in plan.http {
            guard let id = plan.services[planned.index].routing.appID, seen.insert(id).inserted else { continue }
            out.append("  use_backend ")
            out.append(planned.name)
            out.append("_cluster if { req.hdr(x-marathon-app-id) -m str ")
            out.append(id)
            out.append(" }\n")
        }
    }

    /// A path as a regular expression matching itself (`.`, `(`, `)`, `*`, `+`, `$` escaped).
    static func regexEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if ".()*+$".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
