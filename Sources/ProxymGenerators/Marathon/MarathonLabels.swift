import ProxymModel

/// The labels of one app that steer proxym, parsed and validated.
///
/// proxym's own labels:
/// - `proxym.domains`: comma-separated host names; the app's domains (instead of the domain strategy's)
///   for every port, and the virtual host of port 0;
/// - `proxym.port.<n>.domains`: the virtual host(s) of port `n` (wins over everything else for it);
/// - `proxym.port.<n>.protocol`: `http` or `tcp`, how port `n` is served;
/// - `proxym.port.<n>.config`: raw HAProxy lines for port `n`'s backend (only with
///   `PROXYM_MARATHON_LABEL_CONFIG=1`).
///
/// `<n>` in `proxym.port.<n>.*` is keyed as the original proxym keyed it, and as a port index too: `n`
/// is the port index when the app has that many ports (`proxym.port.0.*` is its first port), else the
/// port whose container port is `n` (bridge or IP-per-task), else whose host port is `n` (a mapping's
/// `hostPort`; in host networking the `portDefinitions` port, which the original used), the first such
/// port when several match. An `n` that is neither is reported and ignored.
///
/// marathon-lb's, for users coming from it (`<n>` is always the port index, as marathon-lb reads it):
/// `HAPROXY_GROUP` (comma-separated groups), `HAPROXY_<n>_VHOST` (comma-separated virtual hosts),
/// `HAPROXY_<n>_MODE` (`http`/`tcp`, like `proxym.port.<n>.protocol`, which wins), `HAPROXY_<n>_PORT`
/// (the service port proxym uses instead of Marathon's), `HAPROXY_<n>_GROUP` (the port's own groups,
/// instead of the app's), `HAPROXY_<n>_ENABLED` (a boolean; with `PROXYM_MARATHON_STRICT` only ports
/// that say true are exposed, without it false hides the port). Other `HAPROXY_<n>_*` labels are
/// reported as not supported; an unknown `proxym.*` label is reported (a typo should not silently do
/// nothing).
///
/// A bad value of an app-wide label (`proxym.domains`) throws: it costs the app, never the config. A
/// bad value of a port's label costs that port only: ``Port/problem`` says which label and why, and the
/// mapper leaves the port out with that warning.
struct MarathonLabels {
    struct Port {
        var domains: [DomainName]?
        var vhost: [DomainName]?
        /// `proxym.port.<n>.protocol`.
        var applicationProtocol: ApplicationProtocol?
        /// `HAPROXY_<n>_MODE`.
        var mode: ApplicationProtocol?
        /// `HAPROXY_<n>_PORT`.
        var servicePort: UInt16?
        /// `HAPROXY_<n>_GROUP`, split on commas, blanks trimmed, empty entries dropped.
        var groups: [Substring]?
        /// `HAPROXY_<n>_ENABLED`.
        var enabled: Bool?
        var config: String?
        /// `HAPROXY_<n>_PATH` / `proxym.port.<n>.path`.
        var paths: [PathPrefix]?
        /// `HAPROXY_<n>_BACKEND_WEIGHT` / `proxym.port.<n>.weight`.
        var weight: Int?
        var redirectToHttps: Bool?
        var sticky: Bool?
        var balance: BalanceAlgorithm?
        /// `HAPROXY_<n>_BIND_ADDR`; `*` (marathon-lb's default) is no address of its own.
        var bindAddress: HostAddress?
        var auth: BasicAuth?
        var proxyPassPath: PathPrefix?
        /// `HAPROXY_<n>_USE_HSTS` (marathon-lb's max-age) / `proxym.port.<n>.hsts` (seconds).
        var hstsMaxAge: Int?
        /// `HAPROXY_<n>_SSL_CERT` / `proxym.port.<n>.certificate`: a file name of the certificate directory.
        var certificate: String?
        var tlsPassthrough: Bool?
        var acme: Bool?
        /// The first label of this port that could not be used, and why: the port is left out.
        var problem: String?

        /// The port's TLS wishes as the model's type (validated there too).
        func tls() throws(ValidationError) -> ServiceTLS {
            if hstsMaxAge == nil && certificate == nil && tlsPassthrough == nil && acme == nil { return .none }
            return try ServiceTLS(
                hstsMaxAge: hstsMaxAge, certificate: certificate, passthrough: tlsPassthrough ?? false, acme: acme ?? true)
        }
    }

    var domains: [DomainName]?
    var ports: [Int: Port] = [:]

    /// marathon-lb's per-port labels proxym reads; any other `HAPROXY_<n>_*` is reported as not supported.
    static let supportedPortLabels: Set<Substring> = [
        "VHOST", "MODE", "PORT", "GROUP", "ENABLED", "PATH", "BACKEND_WEIGHT", "STICKY", "BALANCE", "BIND_ADDR", "AUTH",
        "HTTP_BACKEND_PROXYPASS_PATH", "REDIRECT_TO_HTTPS", "USE_HSTS", "SSL_CERT",
    ]

    /// Whether `HAPROXY_GROUP` (comma-separated, blanks around the commas allowed) lists `group`.
    static func hasGroup(_ labels: [String: String], _ group: Substring) -> Bool {
        guard let raw = labels["HAPROXY_GROUP"] else { return false }
        return groupList(raw).contains(group)
    }

    /// Whether some label is a per-port group (`HAPROXY_<n>_GROUP`): only then may an app outside the
    /// LB's group still have ports in it.
    static func hasPortGroups(_ labels: [String: String]) -> Bool {
        labels.keys.contains { $0.utf8.starts(with: "HAPROXY_".utf8) && $0.utf8.reversed().starts(with: "PUORG_".utf8) && $0 != "HAPROXY_GROUP" }
    }

    static func groupList(_ raw: String) -> [Substring] {
        raw.utf8.split(separator: UInt8(ascii: ",")).map { Substring($0).trimmingBlanks() }.filter { !$0.isEmpty }
    }

    /// The numbers an app's port answers to in `proxym.port.<n>.*` besides its index: its container
    /// port, its host port (see the type's documentation).
    struct PortNumbers {
        var containerPort: Int?
        var hostPort: Int?
    }

    init(_ labels: [String: String], ports portNumbers: [PortNumbers], warnings: inout [String]) throws(ValidationError) {
        guard !labels.isEmpty else { return }
        let portCount = portNumbers.count
        // Sorted, so that warnings and the first error come out the same way every time.
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            // Built only when something is said about the label (this runs for every app).
            func field() -> String { "label " + ValidationError.escaped(key) }
            func list(_ value: String) throws(ValidationError) -> [DomainName]? {
                do {
                    return try Self.domainList(value)
                } catch {
                    var e = error
                    e.field = field()
                    throw e
                }
            }
            /// Records a port label that cannot be used (the first one wins: labels come sorted).
            func refuse(_ n: Int, _ reason: String, showValue: Bool = true) {
                if ports[n, default: Port()].problem == nil {
                    ports[n, default: Port()].problem =
                        showValue ? "\(field()): \(reason) (got \"\(ValidationError.escaped(value))\")" : "\(field()): \(reason)"
                }
            }
            /// The settings both label families share (`name` is proxym's spelling); false when `name`
            /// is none of them.
            func shared(_ n: Int, _ name: Substring) -> Bool {
                let text = Substring(value).trimmingBlanks()
                func flag(_ set: (inout Port, Bool) -> Void) {
                    guard let on = Self.boolean(text) else {
                        refuse(n, "must be true or false (true, t, yes, y, 1, on / false, f, no, n, 0, off)")
                        return
                    }
                    set(&ports[n, default: Port()], on)
                }
                switch name {
                case "path":
                    var prefixes: [PathPrefix] = []
                    for word in value.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: ",") }) {
                        let word = String(Substring(word))
                        if word.hasPrefix("-") {
                            // marathon-lb pasted the value into the ACL, so flags such as -i worked there.
                            warnings.append("\(field()): haproxy flag \"\(ValidationError.escaped(word))\" ignored (prefixes only, matched case-sensitively)")
                            continue
                        }
                        do {
                            prefixes.append(try PathPrefix(word, field: "path"))
                        } catch {
                            refuse(n, error.reason)
                            return true
                        }
                    }
                    guard !prefixes.isEmpty, prefixes.count <= ServiceRouting.maxPaths else {
                        refuse(n, "must be 1 to \(ServiceRouting.maxPaths) path prefixes starting with '/'")
                        return true
                    }
                    ports[n, default: Port()].paths = prefixes
                case "weight":
                    guard let weight = Int(text), ServiceRouting.weightRange.contains(weight) else {
                        refuse(n, "must be an integer between \(ServiceRouting.weightRange.lowerBound) and \(ServiceRouting.weightRange.upperBound)")
                        return true
                    }
                    ports[n, default: Port()].weight = weight
                case "redirect-to-https": flag { $0.redirectToHttps = $1 }
                case "sticky": flag { $0.sticky = $1 }
                case "tls-passthrough": flag { $0.tlsPassthrough = $1 }
                case "acme": flag { $0.acme = $1 }
                case "balance":
                    do {
                        ports[n, default: Port()].balance = try BalanceAlgorithm(parsing: value)
                    } catch {
                        refuse(n, error.reason)
                    }
                case "bind-address":
                    if text == "*" || text.isEmpty { return true }
                    guard let address = try? HostAddress(String(text)), !address.isHostname else {
                        refuse(n, "must be an IPv4 or IPv6 address (or *)")
                        return true
                    }
                    ports[n, default: Port()].bindAddress = address
                case "auth":
                    // realm:user:hash, split at the first two colons; the value is never shown.
                    let parts = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                    guard parts.count == 3 else {
                        refuse(n, "must be realm:user:password-hash", showValue: false)
                        return true
                    }
                    do {
                        let user = try BasicAuth.User(name: String(parts[1]), passwordHash: String(parts[2]))
                        ports[n, default: Port()].auth = try BasicAuth(realm: String(parts[0]), users: [user])
                    } catch {
                        refuse(n, error.reason, showValue: false)
                    }
                case "proxypass-path":
                    do {
                        ports[n, default: Port()].proxyPassPath = try PathPrefix(String(text))
                    } catch {
                        refuse(n, error.reason)
                    }
                case "hsts":
                    guard let seconds = Int(text), ServiceTLS.hstsRange.contains(seconds) else {
                        refuse(n, "must be a max-age in seconds between 0 and \(ServiceTLS.hstsRange.upperBound)")
                        return true
                    }
                    ports[n, default: Port()].hstsMaxAge = seconds
                case "certificate":
                    guard ServiceTLS.isCertificateFileName(String(text)) else {
                        refuse(
                            n,
                            "must be the name of a .pem file in the certificate directory (PROXYM_HAPROXY_TLS_CERTS_PATH), not a path")
                        return true
                    }
                    ports[n, default: Port()].certificate = String(text)
                default:
                    return false
                }
                return true
            }
            let utf8 = key.utf8
            if key == "proxym.domains" {
                domains = try list(value)
            } else if utf8.starts(with: "proxym.port.".utf8) {
                let rest = utf8.dropFirst("proxym.port.".utf8.count)
                guard let dot = rest.firstIndex(of: UInt8(ascii: ".")),
                    let number = Self.portIndex(Substring(rest[..<dot]))
                else {
                    warnings.append("\(field()): not proxym.port.<n>.<setting>; ignored")
                    continue
                }
                let setting = Substring(rest[rest.index(after: dot)...])
                guard let n = Self.port(keyed: number, in: portNumbers) else {
                    warnings.append(
                        "\(field()): the app has no port \(number) (it has \(portCount)) and no port whose container or host port is \(number); ignored"
                    )
                    continue
                }
                switch setting {
                case "domains":
                    do {
                        ports[n, default: Port()].domains = try Self.domainList(value)
                    } catch {
                        refuse(n, error.reason)
                    }
                case "protocol":
                    guard let proto = ApplicationProtocol(rawValue: Substring(value).trimmingBlanks().lowercased())
                    else {
                        refuse(n, "must be http or tcp")
                        continue
                    }
                    ports[n, default: Port()].applicationProtocol = proto
                case "config":
                    ports[n, default: Port()].config = value
                case "bind-address", "redirect-to-https", "sticky", "balance", "auth", "proxypass-path", "path", "weight",
                    "hsts", "certificate", "tls-passthrough", "acme":
                    _ = shared(n, setting)
                default:
                    warnings.append("\(field()): unknown proxym label; ignored")
                }
            } else if utf8.starts(with: "proxym.".utf8) {
                warnings.append("\(field()): unknown proxym label; ignored")
            } else if utf8.starts(with: "HAPROXY_".utf8) {
                // HAPROXY_<n>_<NAME>; app-wide HAPROXY_<NAME> labels other than HAPROXY_GROUP are ignored.
                let rest = utf8.dropFirst("HAPROXY_".utf8.count)
                guard let underscore = rest.firstIndex(of: UInt8(ascii: "_")),
                    let n = Self.portIndex(Substring(rest[..<underscore]))
                else {
                    if key == "HAPROXY_DEPLOYMENT_GROUP" {
                        warnings.append(
                            "\(field()): marathon-lb's zero-downtime deployments (zdd.py) are not supported; the app is routed on its own")
                    }
                    continue
                }
                let name = Substring(rest[rest.index(after: underscore)...])
                guard Self.supportedPortLabels.contains(name) else {
                    warnings.append("\(field()): marathon-lb label not supported by proxym; ignored")
                    continue
                }
                guard n < portCount else {
                    warnings.append("\(field()): the app has no port \(n) (it has \(portCount)); ignored")
                    continue
                }
                let text = Substring(value).trimmingBlanks()
                switch name {
                case "VHOST":
                    do {
                        ports[n, default: Port()].vhost = try Self.domainList(value)
                    } catch {
                        refuse(n, error.reason)
                    }
                case "MODE":
                    guard let mode = ApplicationProtocol(rawValue: text.lowercased()) else {
                        refuse(n, "must be http or tcp")
                        continue
                    }
                    ports[n, default: Port()].mode = mode
                case "PORT":
                    guard let port = Self.portIndex(text).flatMap({ (1...65535).contains($0) ? UInt16($0) : nil }) else {
                        refuse(n, "must be a port number between 1 and 65535")
                        continue
                    }
                    ports[n, default: Port()].servicePort = port
                case "GROUP":
                    ports[n, default: Port()].groups = Self.groupList(value)
                case "ENABLED":
                    guard let enabled = Self.boolean(text) else {
                        refuse(n, "must be true or false (true, t, yes, y, 1, on / false, f, no, n, 0, off)")
                        continue
                    }
                    ports[n, default: Port()].enabled = enabled
                case "PATH": _ = shared(n, "path")
                case "BACKEND_WEIGHT": _ = shared(n, "weight")
                case "STICKY": _ = shared(n, "sticky")
                case "BALANCE": _ = shared(n, "balance")
                case "BIND_ADDR": _ = shared(n, "bind-address")
                case "AUTH": _ = shared(n, "auth")
                case "HTTP_BACKEND_PROXYPASS_PATH": _ = shared(n, "proxypass-path")
                case "REDIRECT_TO_HTTPS": _ = shared(n, "redirect-to-https")
                case "USE_HSTS":
                    guard let on = Self.boolean(text) else {
                        refuse(n, "must be true or false (true, t, yes, y, 1, on / false, f, no, n, 0, off)")
                        continue
                    }
                    ports[n, default: Port()].hstsMaxAge = on ? ServiceTLS.marathonLBHSTSMaxAge : nil
                case "SSL_CERT": _ = shared(n, "certificate")
                default:
                    break
                }
            }
        }
    }

    /// The port index `proxym.port.<number>.*` means: `number` itself when the app has that many ports,
    /// else the first port whose container port is `number`, else the first whose host port is.
    static func port(keyed number: Int, in ports: [PortNumbers]) -> Int? {
        if number < ports.count { return number }
        if let i = ports.firstIndex(where: { $0.containerPort == number }) { return i }
        return ports.firstIndex(where: { $0.hostPort == number })
    }

    /// The one boolean parser of labels: marathon-lb's true values (`true`, `t`, `yes`, `y`, any case)
    /// and `1`/`on`; false values the same way; anything else is `nil` (refused, where marathon-lb read
    /// every other value as false).
    static func boolean(_ text: Substring) -> Bool? {
        switch text.lowercased() {
        case "true", "t", "yes", "y", "1", "on": return true
        case "false", "f", "no", "n", "0", "off": return false
        default: return nil
        }
    }

    /// `0`, `1`, ... `99999`: digits only, no leading zero (a port index, or a port number).
    static func portIndex(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else { return nil }
        guard text.utf8.count == 1 || text.utf8.first != UInt8(ascii: "0") else { return nil }
        return Int(text)
    }

    /// Comma-separated host names, each validated; blanks around the commas are allowed, empty entries
    /// are dropped; `nil` when nothing is left (an empty label counts as absent).
    static func domainList(_ value: String) throws(ValidationError) -> [DomainName]? {
        var domains: [DomainName] = []
        for part in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let name = Substring(part).trimmingBlanks()
            if name.isEmpty { continue }
            do {
                domains.append(try DomainName(String(name), field: "label"))
            } catch {
                // Show the whole label value, as the user wrote it, not only the failing entry.
                var e = error
                e.value = ValidationError.escaped(value)
                throw e
            }
        }
        return domains.isEmpty ? nil : domains
    }
}
