import ProxymJSON
import ProxymModel

/// Turns the bytes of one service file into a validated ``Service``.
///
/// The format is the original proxym's, read the way its Go decoder read it (keys matched without
/// regard to ASCII case, unknown keys ignored, `null` meaning "not given"):
///
/// ```json
/// {"id": "/redis", "domain": "redis.example.com", "protocol": "tcp", "servicePort": 6379,
///  "hosts": [{"ip": "10.10.10.10", "port": 31001}]}
/// ```
///
/// plus what later versions of the original and we accept on top:
/// - `domains`: more host names, after `domain`; the primary one is `domain`, else the first of these;
/// - `applicationProtocol`: `"http"` or `"tcp"`; absent means the HTTP-port rule decides later;
/// - `transportProtocol`: another name for `protocol` (they must agree when both are given);
/// - `port`: the service port when `servicePort` is absent (or `0`, as the original's `ListenPort()`).
///
/// Strict where it matters: `id`, service port and `hosts` are required; a wrong JSON type for a known
/// key, a fractional port, an unknown protocol or anything the model refuses (a newline in a domain,
/// `;` in an id) makes the whole file an error naming the field. An empty string in `domain` or the
/// protocol fields counts as not given, as it did for the original (Go's zero value).
public enum ServiceFileDecoder {
    /// Files larger than this are refused without being parsed (1 MiB; a service file is ~200 bytes).
    public static let maxFileBytes = 1 << 20

    /// A decoded file: its service and what was odd but harmless (unknown keys, repeated keys...).
    public struct Decoded: Sendable, Hashable {
        public var service: Service
        public var warnings: [String]

        public init(service: Service, warnings: [String]) {
            self.service = service
            self.warnings = warnings
        }
    }

    public static func decode(_ bytes: [UInt8], fileName: String) -> Result<Decoded, ServiceFileError> {
        bytes.withUnsafeBytes { decode($0, fileName: fileName) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, fileName: String) -> Result<Decoded, ServiceFileError> {
        if let error = checkFileName(fileName) ?? checkSize(bytes.count, fileName: fileName) {
            return .failure(error)
        }
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes, limits: limits)
        } catch {
            return .failure(ServiceFileError(file: fileName, field: nil, reason: "invalid JSON: \(error)"))
        }
        var decoding = Decoding(file: fileName)
        return Result { () throws(ServiceFileError) -> Decoded in
            let service = try decoding.service(from: value)
            return Decoded(service: service, warnings: decoding.warnings)
        }
    }

    static let limits = JSONLimits(maxDepth: 32, maxBytes: maxFileBytes)

    /// The service's `source`: `file:<fileName>`.
    public static func source(fileName: String) -> String { "file:" + fileName }

    /// Names reach logs and the `source` of a service, so one with control characters is refused.
    static func checkFileName(_ fileName: String) -> ServiceFileError? {
        guard fileName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return ServiceFileError(file: fileName, field: nil, reason: "file name contains control characters")
    }

    static func checkSize(_ size: Int, fileName: String) -> ServiceFileError? {
        guard size > maxFileBytes else { return nil }
        return ServiceFileError(
            file: fileName, field: nil, reason: "file is \(size) bytes, the limit is \(maxFileBytes)")
    }
}

/// One file's decoding: the file name for errors and the warnings gathered so far.
struct Decoding {
    let file: String
    var warnings: [String] = []

    init(file: String) {
        self.file = file
    }

    /// Canonical spellings of the keys a service object may have, indexed by `rawValue`.
    enum Key: Int {
        case id, domain, domains, `protocol`, transportProtocol, applicationProtocol, servicePort, port, hosts
        case hsts, certificate, tlsPassthrough, acme
        case paths, weight, redirectToHttps, sticky, balance, bindAddress, auth, proxyPassPath, healthCheck
        case bindServicePort

        static let names = [
            "id", "domain", "domains", "protocol", "transportProtocol", "applicationProtocol", "servicePort", "port",
            "hosts", "hsts", "certificate", "tlsPassthrough", "acme",
            "paths", "weight", "redirectToHttps", "sticky", "balance", "bindAddress", "auth", "proxyPassPath",
            "healthCheck", "bindServicePort",
        ]
    }

    enum HostKey: Int {
        case ip, port
        static let names = ["ip", "port"]
    }

    mutating func service(from value: JSONValue) throws(ServiceFileError) -> Service {
        guard case .object(let object) = value else {
            throw ServiceFileError(
                file: file, field: nil, reason: "must hold one JSON object (a service), not \(a(value.typeName))")
        }
        let fields = KnownFields(object, keys: Key.names, context: nil, warnings: &warnings)

        let idText = try requiredString(fields[Key.id.rawValue], field: "id")
        let id = try validated { () throws(ValidationError) in try ServiceID(idText) }

        var domains: [DomainName] = []
        if let text = try optionalString(fields[Key.domain.rawValue], field: "domain"), !text.isEmpty {
            domains.append(try validated { () throws(ValidationError) in try DomainName(text, field: "domain") })
        }
        if let list = try optionalArray(fields[Key.domains.rawValue], field: "domains", of: "strings") {
            for (index, element) in list.enumerated() {
                let field = "domains[\(index)]"
                guard case .string(let text) = element else {
                    throw typeError(field, expected: "a string", got: element)
                }
                domains.append(try validated { () throws(ValidationError) in try DomainName(text, field: field) })
            }
        }

        let transport = try transportProtocol(fields)

        var application: ApplicationProtocol?
        if let text = try optionalString(fields[Key.applicationProtocol.rawValue], field: "applicationProtocol"),
            !text.isEmpty
        {
            if JSONObject.asciiCaseInsensitiveEquals(text, "http") {
                application = .http
            } else if JSONObject.asciiCaseInsensitiveEquals(text, "tcp") {
                application = .tcp
            } else {
                throw ServiceFileError(
                    file: file, field: "applicationProtocol", reason: "must be \"http\" or \"tcp\"", value: text)
            }
        }
        if application == .http && domains.isEmpty {
            warnings.append("applicationProtocol is \"http\" but no domain is given, so no request can reach it")
        }

        let servicePort = try servicePort(fields)

        let hosts = try hosts(fields[Key.hosts.rawValue])

        var service = Service(
            id: id, domains: domains, transport: transport, applicationProtocol: application,
            servicePort: servicePort, hosts: hosts, source: ServiceFileDecoder.source(fileName: file))
        service.tls = try tls(fields)
        service.routing = try routing(fields)
        if !service.routing.paths.isEmpty && domains.isEmpty {
            warnings.append("paths are given but no domain: a path routes only under a virtual host")
        }
        return service
    }

    enum AuthKey: Int {
        case realm, users
        static let names = ["realm", "users"]
    }

    enum UserKey: Int {
        case name, passwordHash
        static let names = ["name", "passwordHash"]
    }

    enum CheckKey: Int {
        case `protocol`, path, port, intervalSeconds, timeoutSeconds, fall, rise
        static let names = ["protocol", "path", "port", "intervalSeconds", "timeoutSeconds", "fall", "rise"]
    }

    /// `paths`, `weight`, `redirectToHttps`, `sticky`, `balance`, `bindAddress`, `auth`,
    /// `proxyPassPath`, `healthCheck`, `bindServicePort` (README, "Service files").
    mutating func routing(_ fields: KnownFields) throws(ServiceFileError) -> ServiceRouting {
        var paths: [PathPrefix] = []
        if let list = try optionalArray(fields[Key.paths.rawValue], field: "paths", of: "strings") {
            for (index, element) in list.enumerated() {
                let field = "paths[\(index)]"
                guard case .string(let text) = element else { throw typeError(field, expected: "a string", got: element) }
                paths.append(try validated { () throws(ValidationError) in try PathPrefix(text, field: field) })
            }
        }
        let weight = try optionalInt(fields[Key.weight.rawValue], field: "weight") ?? 0
        let redirect = try optionalBool(fields[Key.redirectToHttps.rawValue], field: "redirectToHttps") ?? false
        let sticky = try optionalBool(fields[Key.sticky.rawValue], field: "sticky") ?? false
        var balance: BalanceAlgorithm?
        if let text = try optionalString(fields[Key.balance.rawValue], field: "balance"), !text.isEmpty {
            balance = try validated { () throws(ValidationError) in try BalanceAlgorithm(parsing: text) }
        }
        var bindAddress: HostAddress?
        if let text = try optionalString(fields[Key.bindAddress.rawValue], field: "bindAddress"), !text.isEmpty {
            bindAddress = try validated { () throws(ValidationError) in try HostAddress(text, field: "bindAddress") }
        }
        var proxyPass: PathPrefix?
        if let text = try optionalString(fields[Key.proxyPassPath.rawValue], field: "proxyPassPath"), !text.isEmpty {
            proxyPass = try validated { () throws(ValidationError) in try PathPrefix(text, field: "proxyPassPath") }
        }
        let auth = try self.auth(fields[Key.auth.rawValue])
        let check = try healthCheck(fields[Key.healthCheck.rawValue])
        let bindServicePort = try optionalBool(fields[Key.bindServicePort.rawValue], field: "bindServicePort") ?? false
        return try validated { () throws(ValidationError) in
            try ServiceRouting(
                paths: paths, weight: weight, redirectToHttps: redirect, sticky: sticky, balance: balance,
                bindAddress: bindAddress, auth: auth, proxyPassPath: proxyPass, healthCheck: check,
                bindServicePort: bindServicePort)
        }
    }

    /// `{"realm": "shop", "users": [{"name": "ann", "passwordHash": "$6$..."}]}`
    mutating func auth(_ value: JSONValue?) throws(ServiceFileError) -> BasicAuth? {
        guard let value, !value.isNull else { return nil }
        guard case .object(let object) = value else { throw typeError("auth", expected: "an object", got: value) }
        let fields = KnownFields(object, keys: AuthKey.names, context: "auth", warnings: &warnings)
        let realm = try requiredString(fields[AuthKey.realm.rawValue], field: "auth.realm")
        guard let list = try optionalArray(fields[AuthKey.users.rawValue], field: "auth.users", of: "objects") else {
            throw ServiceFileError(file: file, field: "auth.users", reason: "is required")
        }
        var users: [BasicAuth.User] = []
        for (index, item) in list.enumerated() {
            let field = "auth.users[\(index)]"
            guard case .object(let userObject) = item else { throw typeError(field, expected: "an object", got: item) }
            let userFields = KnownFields(userObject, keys: UserKey.names, context: field, warnings: &warnings)
            let name = try requiredString(userFields[UserKey.name.rawValue], field: field + ".name")
            // Not through `requiredString`: a wrong type would echo the value, and it may be a password.
            guard case .string(let hash)? = userFields[UserKey.passwordHash.rawValue] else {
                throw ServiceFileError(file: file, field: field + ".passwordHash", reason: "is required (a crypt(3) hash string)")
            }
            users.append(try validated { () throws(ValidationError) in try BasicAuth.User(name: name, passwordHash: hash, field: field) })
        }
        return try validated { () throws(ValidationError) in try BasicAuth(realm: realm, users: users) }
    }

    /// `{"protocol": "http", "path": "/health", "port": 8081, "intervalSeconds": 5, "timeoutSeconds": 2,
    /// "fall": 3, "rise": 2}`; only `protocol` is required.
    mutating func healthCheck(_ value: JSONValue?) throws(ServiceFileError) -> HealthCheck? {
        guard let value, !value.isNull else { return nil }
        guard case .object(let object) = value else { throw typeError("healthCheck", expected: "an object", got: value) }
        let fields = KnownFields(object, keys: CheckKey.names, context: "healthCheck", warnings: &warnings)
        let protocolText = try requiredString(fields[CheckKey.protocol.rawValue], field: "healthCheck.protocol")
        guard let kind = HealthCheck.Kind.allCases.first(where: { JSONObject.asciiCaseInsensitiveEquals($0.rawValue, protocolText) })
        else {
            throw ServiceFileError(file: file, field: "healthCheck.protocol", reason: "must be \"http\" or \"tcp\"", value: protocolText)
        }
        var path: PathPrefix?
        if let text = try optionalString(fields[CheckKey.path.rawValue], field: "healthCheck.path"), !text.isEmpty {
            path = try validated { () throws(ValidationError) in try PathPrefix(text, field: "healthCheck.path") }
        }
        let port: UInt16? =
            try fields[CheckKey.port.rawValue].flatMap { $0.isNull ? nil : $0 }.map { (v) throws(ServiceFileError) in
                try self.port(v, field: "healthCheck.port")
            }
        let interval = try optionalInt(fields[CheckKey.intervalSeconds.rawValue], field: "healthCheck.intervalSeconds") ?? 2
        let timeout = try optionalInt(fields[CheckKey.timeoutSeconds.rawValue], field: "healthCheck.timeoutSeconds") ?? 2
        let fall = try optionalInt(fields[CheckKey.fall.rawValue], field: "healthCheck.fall") ?? 3
        let rise = try optionalInt(fields[CheckKey.rise.rawValue], field: "healthCheck.rise") ?? 2
        if kind == .tcp && path != nil { warnings.append("healthCheck.path is ignored for a tcp check") }
        return try validated { () throws(ValidationError) in
            try HealthCheck(
                kind: kind, path: path, port: port, intervalSeconds: interval, timeoutSeconds: timeout, fall: fall, rise: rise)
        }
    }

    /// `hsts` (max-age seconds, or `true` for marathon-lb's 15768000), `certificate` (a file name of the
    /// certificate directory), `tlsPassthrough`, `acme` (`false`: no automatic certificate).
    func tls(_ fields: KnownFields) throws(ServiceFileError) -> ServiceTLS {
        var hsts: Int?
        switch fields[Key.hsts.rawValue] {
        case nil, .null?, .bool(false)?:
            hsts = nil
        case .bool(true)?:
            hsts = ServiceTLS.marathonLBHSTSMaxAge
        case .number(let number)? where number.isIntegerLiteral:
            guard let value = number.int else {
                throw ServiceFileError(file: file, field: "hsts", reason: "is out of range", value: number.text)
            }
            hsts = value
        case let value?:
            throw typeError("hsts", expected: "a max-age in seconds (or true)", got: value)
        }
        let certificate = try optionalString(fields[Key.certificate.rawValue], field: "certificate")
        let passthrough = try optionalBool(fields[Key.tlsPassthrough.rawValue], field: "tlsPassthrough") ?? false
        let acme = try optionalBool(fields[Key.acme.rawValue], field: "acme") ?? true
        return try validated { () throws(ValidationError) in
            try ServiceTLS(
                hstsMaxAge: hsts, certificate: certificate?.isEmpty == true ? nil : certificate, passthrough: passthrough,
                acme: acme)
        }
    }

    /// `servicePort: must be an integer, not a string (got "80")`
    func typeError(_ field: String, expected: String, got value: JSONValue) -> ServiceFileError {
        let shown: String?
        switch value {
        case .string(let s): shown = s
        case .number(let n): shown = n.text
        case .bool(let b): shown = b ? "true" : "false"
        case .null, .array, .object: shown = nil
        }
        return ServiceFileError(
            file: file, field: field, reason: "must be \(expected), not \(a(value.typeName))", value: shown)
    }
}

/// `a string`, `an array`, `null`.
private func a(_ typeName: String) -> String {
    switch typeName {
    case "null": return "null"
    case "array", "object": return "an " + typeName
    default: return "a " + typeName
    }
}
