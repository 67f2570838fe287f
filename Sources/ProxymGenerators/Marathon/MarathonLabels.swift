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
        /// The first label of this port that could not be used, and why: the port is left out.
        var problem: String?
    }

    var domains: [DomainName]?
    var ports: [Int: Port] = [:]

    /// marathon-lb's per-port labels proxym reads; any other `HAPROXY_<n>_*` is reported as not supported.
    static let supportedPortLabels: Set<Substring> = ["VHOST", "MODE", "PORT", "GROUP", "ENABLED"]

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
            func refuse(_ n: Int, _ reason: String) {
                if ports[n, default: Port()].problem == nil {
                    ports[n, default: Port()].problem =
                        "\(field()): \(reason) (got \"\(ValidationError.escaped(value))\")"
                }
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

    /// A label's raw HAProxy text as config lines: split at line breaks, control characters removed,
    /// blanks trimmed, empty lines dropped. Nothing in a returned line can start another line.
    static func configLines(_ raw: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            let line = Substring(String(current)).trimmingBlanks()
            if !line.isEmpty { lines.append(String(line)) }
            current = String.UnicodeScalarView()
        }
        for scalar in raw.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0x2028, 0x2029: flush()
            case 0x09: current.append(" ")
            case 0x00..<0x20, 0x7F..<0xA0: continue
            default: current.append(scalar)
            }
        }
        flush()
        return lines
    }
}
