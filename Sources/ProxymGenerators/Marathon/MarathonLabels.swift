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
/// marathon-lb's, for users coming from it: `HAPROXY_GROUP` (comma-separated groups) and
/// `HAPROXY_<n>_VHOST` (comma-separated virtual hosts of port `n`). Other `HAPROXY_*` labels are
/// ignored; an unknown `proxym.*` label is reported (a typo should not silently do nothing).
///
/// A value that fails validation (a newline in a domain, a space in a vhost, an unknown protocol)
/// throws: it costs the app, never the config.
struct MarathonLabels {
    struct Port {
        var domains: [DomainName]?
        var vhost: [DomainName]?
        var applicationProtocol: ApplicationProtocol?
        var config: String?
    }

    var domains: [DomainName]?
    var ports: [Int: Port] = [:]

    /// Whether `HAPROXY_GROUP` (comma-separated, blanks around the commas allowed) lists `group`.
    static func hasGroup(_ labels: [String: String], _ group: Substring) -> Bool {
        guard let raw = labels["HAPROXY_GROUP"] else { return false }
        return raw.utf8.split(separator: UInt8(ascii: ",")).contains { Substring($0).trimmingBlanks() == group }
    }

    init(_ labels: [String: String], portCount: Int, warnings: inout [String]) throws(ValidationError) {
        guard !labels.isEmpty else { return }
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
            let utf8 = key.utf8
            if key == "proxym.domains" {
                domains = try list(value)
            } else if utf8.starts(with: "proxym.port.".utf8) {
                let rest = utf8.dropFirst("proxym.port.".utf8.count)
                guard let dot = rest.firstIndex(of: UInt8(ascii: ".")),
                    let n = Self.portIndex(Substring(rest[..<dot]))
                else {
                    warnings.append("\(field()): not proxym.port.<n>.<setting>; ignored")
                    continue
                }
                let setting = Substring(rest[rest.index(after: dot)...])
                guard n < portCount else {
                    warnings.append("\(field()): the app has no port \(n) (it has \(portCount)); ignored")
                    continue
                }
                switch setting {
                case "domains":
                    ports[n, default: Port()].domains = try list(value)
                case "protocol":
                    guard let proto = ApplicationProtocol(rawValue: Substring(value).trimmingBlanks().lowercased())
                    else {
                        throw ValidationError(field: field(), reason: "must be http or tcp", value: value)
                    }
                    ports[n, default: Port()].applicationProtocol = proto
                case "config":
                    ports[n, default: Port()].config = value
                default:
                    warnings.append("\(field()): unknown proxym label; ignored")
                }
            } else if utf8.starts(with: "proxym.".utf8) {
                warnings.append("\(field()): unknown proxym label; ignored")
            } else if utf8.starts(with: "HAPROXY_".utf8) && utf8.reversed().starts(with: "TSOHV_".utf8) {
                let middle = utf8.dropFirst("HAPROXY_".utf8.count).dropLast("_VHOST".utf8.count)
                guard let n = Self.portIndex(Substring(middle)) else { continue }
                guard n < portCount else {
                    warnings.append("\(field()): the app has no port \(n) (it has \(portCount)); ignored")
                    continue
                }
                ports[n, default: Port()].vhost = try list(value)
            }
        }
    }

    /// `0`, `1`, ... `9999`: digits only, no leading zero.
    static func portIndex(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 4, text.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else { return nil }
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
