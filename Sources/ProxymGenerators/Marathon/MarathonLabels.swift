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

    /// `HAPROXY_GROUP`'s groups, trimmed, empty ones dropped.
    static func groups(_ labels: [String: String]) -> [Substring] {
        guard let raw = labels["HAPROXY_GROUP"] else { return [] }
        return raw.split(separator: ",").map(trimmed).filter { !$0.isEmpty }
    }

    init(_ labels: [String: String], portCount: Int, warnings: inout [String]) throws(ValidationError) {
        guard !labels.isEmpty else { return }
        // Sorted, so that warnings and the first error come out the same way every time.
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            let field = "label " + ValidationError.escaped(key)
            if key == "proxym.domains" {
                domains = try Self.domainList(value, field: field)
            } else if key.hasPrefix("proxym.port.") {
                let rest = key.utf8.dropFirst("proxym.port.".utf8.count)
                guard let dot = rest.firstIndex(of: UInt8(ascii: ".")),
                    let n = Self.portIndex(Substring(rest[..<dot]))
                else {
                    warnings.append("\(field): not proxym.port.<n>.<setting>; ignored")
                    continue
                }
                let setting = Substring(rest[rest.index(after: dot)...])
                guard n < portCount else {
                    warnings.append("\(field): the app has no port \(n) (it has \(portCount)); ignored")
                    continue
                }
                switch setting {
                case "domains":
                    ports[n, default: Port()].domains = try Self.domainList(value, field: field)
                case "protocol":
                    guard let proto = ApplicationProtocol(rawValue: Self.trimmed(Substring(value)).lowercased())
                    else {
                        throw ValidationError(field: field, reason: "must be http or tcp", value: value)
                    }
                    ports[n, default: Port()].applicationProtocol = proto
                case "config":
                    ports[n, default: Port()].config = value
                default:
                    warnings.append("\(field): unknown proxym label; ignored")
                }
            } else if key.hasPrefix("proxym.") {
                warnings.append("\(field): unknown proxym label; ignored")
            } else if key.hasPrefix("HAPROXY_") && key.hasSuffix("_VHOST") {
                let middle = key.dropFirst("HAPROXY_".count).dropLast("_VHOST".count)
                guard let n = Self.portIndex(middle) else { continue }
                guard n < portCount else {
                    warnings.append("\(field): the app has no port \(n) (it has \(portCount)); ignored")
                    continue
                }
                ports[n, default: Port()].vhost = try Self.domainList(value, field: field)
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
    static func domainList(_ value: String, field: String) throws(ValidationError) -> [DomainName]? {
        var domains: [DomainName] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            let name = trimmed(part)
            if name.isEmpty { continue }
            do {
                domains.append(try DomainName(String(name), field: field))
            } catch {
                // Show the whole label value, as the user wrote it, not only the failing entry.
                var e = error
                e.value = ValidationError.escaped(value)
                throw e
            }
        }
        return domains.isEmpty ? nil : domains
    }

    /// Without surrounding spaces and tabs (nothing else: a newline must stay and be refused).
    static func trimmed(_ text: Substring) -> Substring {
        var t = text
        while let first = t.utf8.first, first == 0x20 || first == 0x09 { t = t.dropFirst() }
        while let last = t.utf8.last, last == 0x20 || last == 0x09 { t = t.dropLast() }
        return t
    }

    /// A label's raw HAProxy text as config lines: split at line breaks, control characters removed,
    /// blanks trimmed, empty lines dropped. Nothing in a returned line can start another line.
    static func configLines(_ raw: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            let line = trimmed(Substring(String(current)))
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
