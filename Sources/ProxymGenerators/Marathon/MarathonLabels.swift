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
        // Sorted, so that warnings and the first error come out the same way every time.
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            let label = Label(key: key, value: value)
            let utf8 = key.utf8
            if key == "proxym.domains" {
                domains = try label.domains()
            } else if utf8.starts(with: "proxym.port.".utf8) {
                readProxymPortLabel(
                    label, rest: utf8.dropFirst("proxym.port.".utf8.count), ports: portNumbers, warnings: &warnings)
            } else if utf8.starts(with: "proxym.".utf8) {
                warnings.append("\(label.field): unknown proxym label; ignored")
            } else if utf8.starts(with: "HAPROXY_".utf8) {
                readMarathonLBLabel(
                    label, rest: utf8.dropFirst("HAPROXY_".utf8.count), portCount: portNumbers.count, warnings: &warnings)
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
