import ProxymModel

/// Reading one label into ``MarathonLabels`` (the steps of its `init`).
extension MarathonLabels {
    /// One label being read.
    struct Label {
        let key: String
        let value: String

        /// What warnings and problems call it; built only when something is said about the label (this
        /// runs for every app).
        var field: String { "label " + ValidationError.escaped(key) }

        /// The value without the blanks around it.
        var text: Substring { Substring(value).trimmingBlanks() }

        /// The value as ``MarathonLabels/domainList(_:)`` reads it; an error names the label.
        func domains() throws(ValidationError) -> [DomainName]? {
            do {
                return try MarathonLabels.domainList(value)
            } catch {
                var e = error
                e.field = field
                throw e
            }
        }
    }

    static let booleanRefusal = "must be true or false (true, t, yes, y, 1, on / false, f, no, n, 0, off)"

    /// `proxym.port.<n>.<setting>`; `rest` is what follows `proxym.port.`.
    mutating func readProxymPortLabel(
        _ label: Label, rest: Substring.UTF8View, ports portNumbers: [PortNumbers], warnings: inout [String]
    ) {
        guard let dot = rest.firstIndex(of: UInt8(ascii: ".")),
            let number = Self.portIndex(Substring(rest[..<dot]))
        else {
            warnings.append("\(label.field): not proxym.port.<n>.<setting>; ignored")
            return
        }
        let setting = Substring(rest[rest.index(after: dot)...])
        guard let n = Self.port(keyed: number, in: portNumbers) else {
            warnings.append(
                "\(label.field): the app has no port \(number) (it has \(portNumbers.count)) and no port whose container or host port is \(number); ignored"
            )
            return
        }
        switch setting {
        case "domains": setDomains(\.domains, port: n, label)
        case "protocol": setProtocol(\.applicationProtocol, port: n, label)
        case "config":
            ports[n, default: Port()].config = label.value
        case "bind-address", "redirect-to-https", "sticky", "balance", "auth", "proxypass-path", "path", "weight",
            "hsts", "certificate", "tls-passthrough", "acme":
            readShared(setting, port: n, label, warnings: &warnings)
        default:
            warnings.append("\(label.field): unknown proxym label; ignored")
        }
    }

    /// marathon-lb's `HAPROXY_<n>_<NAME>`; `rest` is what follows `HAPROXY_`. App-wide `HAPROXY_<NAME>`
    /// labels other than `HAPROXY_GROUP` are ignored.
    mutating func readMarathonLBLabel(
        _ label: Label, rest: Substring.UTF8View, portCount: Int, warnings: inout [String]
    ) {
        guard let underscore = rest.firstIndex(of: UInt8(ascii: "_")),
            let n = Self.portIndex(Substring(rest[..<underscore]))
        else {
            if label.key == "HAPROXY_DEPLOYMENT_GROUP" {
                warnings.append(
                    "\(label.field): marathon-lb's zero-downtime deployments (zdd.py) are not supported; the app is routed on its own")
            }
            return
        }
        let name = Substring(rest[rest.index(after: underscore)...])
        guard Self.supportedPortLabels.contains(name) else {
            warnings.append("\(label.field): marathon-lb label not supported by proxym; ignored")
            return
        }
        guard n < portCount else {
            warnings.append("\(label.field): the app has no port \(n) (it has \(portCount)); ignored")
            return
        }
        switch name {
        case "VHOST": setDomains(\.vhost, port: n, label)
        case "MODE": setProtocol(\.mode, port: n, label)
        case "PORT":
            guard let port = Self.portIndex(label.text).flatMap({ (1...65535).contains($0) ? UInt16($0) : nil }) else {
                refuse(n, label, "must be a port number between 1 and 65535")
                return
            }
            ports[n, default: Port()].servicePort = port
        case "GROUP":
            ports[n, default: Port()].groups = Self.groupList(label.value)
        case "ENABLED": setBoolean(\.enabled, port: n, label)
        case "PATH": readShared("path", port: n, label, warnings: &warnings)
        case "BACKEND_WEIGHT": readShared("weight", port: n, label, warnings: &warnings)
        case "STICKY": readShared("sticky", port: n, label, warnings: &warnings)
        case "BALANCE": readShared("balance", port: n, label, warnings: &warnings)
        case "BIND_ADDR": readShared("bind-address", port: n, label, warnings: &warnings)
        case "AUTH": readShared("auth", port: n, label, warnings: &warnings)
        case "HTTP_BACKEND_PROXYPASS_PATH": readShared("proxypass-path", port: n, label, warnings: &warnings)
        case "REDIRECT_TO_HTTPS": readShared("redirect-to-https", port: n, label, warnings: &warnings)
        case "USE_HSTS":
            if let on = boolean(label, port: n) {
                ports[n, default: Port()].hstsMaxAge = on ? ServiceTLS.marathonLBHSTSMaxAge : nil
            }
        case "SSL_CERT": readShared("certificate", port: n, label, warnings: &warnings)
        default:
            break
        }
    }

    /// The settings both label families share (`name` is proxym's spelling; other names do nothing).
    private mutating func readShared(_ name: Substring, port n: Int, _ label: Label, warnings: inout [String]) {
        let text = label.text
        switch name {
        case "path":
            readPaths(label, port: n, warnings: &warnings)
        case "weight":
            guard let weight = Int(text), ServiceRouting.weightRange.contains(weight) else {
                refuse(
                    n, label,
                    "must be an integer between \(ServiceRouting.weightRange.lowerBound) and \(ServiceRouting.weightRange.upperBound)")
                return
            }
            ports[n, default: Port()].weight = weight
        case "redirect-to-https": setBoolean(\.redirectToHttps, port: n, label)
        case "sticky": setBoolean(\.sticky, port: n, label)
        case "tls-passthrough": setBoolean(\.tlsPassthrough, port: n, label)
        case "acme": setBoolean(\.acme, port: n, label)
        case "balance":
            do {
                ports[n, default: Port()].balance = try BalanceAlgorithm(parsing: label.value)
            } catch {
                refuse(n, label, error.reason)
            }
        case "bind-address":
            if text == "*" || text.isEmpty { return }
            guard let address = try? HostAddress(String(text)), !address.isHostname else {
                refuse(n, label, "must be an IPv4 or IPv6 address (or *)")
                return
            }
            ports[n, default: Port()].bindAddress = address
        case "auth":
            readAuth(label, port: n)
        case "proxypass-path":
            do {
                ports[n, default: Port()].proxyPassPath = try PathPrefix(String(text))
            } catch {
                refuse(n, label, error.reason)
            }
        case "hsts":
            guard let seconds = Int(text), ServiceTLS.hstsRange.contains(seconds) else {
                refuse(n, label, "must be a max-age in seconds between 0 and \(ServiceTLS.hstsRange.upperBound)")
                return
            }
            ports[n, default: Port()].hstsMaxAge = seconds
        case "certificate":
            guard ServiceTLS.isCertificateFileName(String(text)) else {
                refuse(
                    n, label,
                    "must be the name of a .pem file in the certificate directory (PROXYM_HAPROXY_TLS_CERTS_PATH), not a path")
                return
            }
            ports[n, default: Port()].certificate = String(text)
        default:
            return
        }
    }

    /// Path prefixes, separated by blanks or commas; haproxy flags (`-i`, which marathon-lb pasted into
    /// the ACL) are ignored with a warning.
    private mutating func readPaths(_ label: Label, port n: Int, warnings: inout [String]) {
        var prefixes: [PathPrefix] = []
        for word in label.value.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: ",") }) {
            let word = String(Substring(word))
            if word.hasPrefix("-") {
                // marathon-lb pasted the value into the ACL, so flags such as -i worked there.
                warnings.append(
                    "\(label.field): haproxy flag \"\(ValidationError.escaped(word))\" ignored (prefixes only, matched case-sensitively)")
                continue
            }
            do {
                prefixes.append(try PathPrefix(word, field: "path"))
            } catch {
                refuse(n, label, error.reason)
                return
            }
        }
        guard !prefixes.isEmpty, prefixes.count <= ServiceRouting.maxPaths else {
            refuse(n, label, "must be 1 to \(ServiceRouting.maxPaths) path prefixes starting with '/'")
            return
        }
        ports[n, default: Port()].paths = prefixes
    }

    /// `realm:user:hash`, split at the first two colons; the value is never shown.
    private mutating func readAuth(_ label: Label, port n: Int) {
        let parts = label.value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            refuse(n, label, "must be realm:user:password-hash", showValue: false)
            return
        }
        do {
            let user = try BasicAuth.User(name: String(parts[1]), passwordHash: String(parts[2]))
            ports[n, default: Port()].auth = try BasicAuth(realm: String(parts[0]), users: [user])
        } catch {
            refuse(n, label, error.reason, showValue: false)
        }
    }

    /// Sets `field` of port `n` to the label's host names (``MarathonLabels/domainList(_:)``); a bad one
    /// refuses the port.
    private mutating func setDomains(_ field: WritableKeyPath<Port, [DomainName]?>, port n: Int, _ label: Label) {
        do {
            ports[n, default: Port()][keyPath: field] = try Self.domainList(label.value)
        } catch {
            refuse(n, label, error.reason)
        }
    }

    /// Sets `field` of port `n` to the label's `http` or `tcp`; anything else refuses the port.
    private mutating func setProtocol(_ field: WritableKeyPath<Port, ApplicationProtocol?>, port n: Int, _ label: Label) {
        guard let value = ApplicationProtocol(rawValue: label.text.lowercased()) else {
            refuse(n, label, "must be http or tcp")
            return
        }
        ports[n, default: Port()][keyPath: field] = value
    }

    /// Sets `field` of port `n` to the label's boolean; anything else refuses the port.
    private mutating func setBoolean(_ field: WritableKeyPath<Port, Bool?>, port n: Int, _ label: Label) {
        if let on = boolean(label, port: n) { ports[n, default: Port()][keyPath: field] = on }
    }

    /// The label's boolean value (``MarathonLabels/boolean(_:)``); nil, and the port refused, when it is
    /// none.
    private mutating func boolean(_ label: Label, port n: Int) -> Bool? {
        guard let on = Self.boolean(label.text) else {
            refuse(n, label, Self.booleanRefusal)
            return nil
        }
        return on
    }

    /// Records a port label that cannot be used (the first one wins: labels come sorted).
    private mutating func refuse(_ n: Int, _ label: Label, _ reason: String, showValue: Bool = true) {
        if ports[n, default: Port()].problem == nil {
            ports[n, default: Port()].problem =
                showValue
                ? "\(label.field): \(reason) (got \"\(ValidationError.escaped(label.value))\")" : "\(label.field): \(reason)"
        }
    }
}
