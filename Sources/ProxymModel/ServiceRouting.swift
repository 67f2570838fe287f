/// How a service is routed and balanced beyond "its domains, its port": path prefixes under its
/// virtual hosts, rule weight, the redirect to HTTPS, sticky sessions, the balance algorithm, the
/// address of its own listener, basic auth, a path prefix stripped before the backend, haproxy's own
/// health check, and marathon-lb's port habits (its own service port bound for an HTTP app, the
/// `X-Marathon-App-Id` route).
///
/// Every value is validated by its type, never pasted raw: nothing here can add a line, a keyword or
/// an argument to the haproxy configuration that the renderer did not write itself. The default
/// (``none``) renders exactly what proxym rendered before these existed.
public struct ServiceRouting: Hashable, Sendable {
    /// Path prefixes under the service's virtual hosts (HTTP only): requests for one of its domains
    /// whose path starts with one of these go to it. Empty: the whole virtual host. Sorted, unique.
    public private(set) var paths: [PathPrefix]
    /// marathon-lb's `HAPROXY_{n}_BACKEND_WEIGHT`: rules of heavier services come first (see the
    /// renderer for the whole order). Default 0.
    public private(set) var weight: Int
    /// A 301 from plain HTTP to HTTPS for its domains (and paths), after the ACME challenge rule.
    public var redirectToHttps: Bool
    /// Sticky sessions with haproxy's dynamic cookies (HTTP only).
    public var sticky: Bool
    /// `balance <algorithm>`; nil: none written (haproxy's default, roundrobin, or what `config` says).
    public var balance: BalanceAlgorithm?
    /// The address the service's own listener binds (TCP listeners, and the service port of an HTTP
    /// service with ``bindServicePort``); nil: `PROXYM_HAPROXY_BIND_ADDRESS` (or all addresses).
    public private(set) var bindAddress: HostAddress?
    /// HTTP basic auth for the service (password hashes only).
    public var auth: BasicAuth?
    /// A prefix removed from the request path before it reaches the backend (`/api/users` with
    /// `/api` -> `/users`).
    public var proxyPassPath: PathPrefix?
    /// haproxy's own check of every server.
    public var healthCheck: HealthCheck?
    /// HTTP services: also listen on the service's own port (marathon-lb's habit, set by
    /// `PROXYM_MARATHON_BIND_VHOST_PORTS=1` for Marathon apps, `bindServicePort` in a service file).
    public var bindServicePort: Bool
    /// The Marathon app id (`/shop/web`) this HTTP service answers to on the app-id frontend
    /// (`X-Marathon-App-Id`); nil: not reachable that way.
    public private(set) var appID: String?

    public static let weightRange = -1000...1000
    /// More path prefixes than this on one service is a mistake, not a configuration.
    public static let maxPaths = 64

    public init(
        paths: [PathPrefix] = [], weight: Int = 0, redirectToHttps: Bool = false, sticky: Bool = false,
        balance: BalanceAlgorithm? = nil, bindAddress: HostAddress? = nil, auth: BasicAuth? = nil,
        proxyPassPath: PathPrefix? = nil, healthCheck: HealthCheck? = nil, bindServicePort: Bool = false,
        appID: String? = nil
    ) throws(ValidationError) {
        guard Self.weightRange.contains(weight) else {
            throw ValidationError(
                field: "weight", reason: "must be an integer between \(Self.weightRange.lowerBound) and \(Self.weightRange.upperBound)",
                value: String(weight))
        }
        guard paths.count <= Self.maxPaths else {
            throw ValidationError(field: "paths", reason: "must hold at most \(Self.maxPaths) prefixes", value: String(paths.count))
        }
        if let bindAddress, bindAddress.isHostname {
            throw ValidationError(field: "bindAddress", reason: "must be an IPv4 or IPv6 address", value: bindAddress.description)
        }
        if let appID { try Self.validateAppID(appID) }
        self.paths = Array(Set(paths)).sorted()
        self.weight = weight
        self.redirectToHttps = redirectToHttps
        self.sticky = sticky
        self.balance = balance
        self.bindAddress = bindAddress
        self.auth = auth
        self.proxyPassPath = proxyPassPath
        self.healthCheck = healthCheck
        self.bindServicePort = bindServicePort
        self.appID = appID
    }

    public init() {
        paths = []
        weight = 0
        redirectToHttps = false
        sticky = false
        balance = nil
        bindAddress = nil
        auth = nil
        proxyPassPath = nil
        healthCheck = nil
        bindServicePort = false
        appID = nil
    }

    public static let none = ServiceRouting()

    /// A Marathon app id: `/` then `[a-z0-9._-]` segments joined by `/` (Marathon's own rule, loosened
    /// to any case), at most 255 bytes.
    public static func validateAppID(_ id: String) throws(ValidationError) {
        let bytes = Array(id.utf8)
        let ok =
            bytes.first == UInt8(ascii: "/") && bytes.count <= 255
            && bytes.allSatisfy { ServiceTLS.isSafeFileNameByte($0) || $0 == UInt8(ascii: "/") }
        guard ok else {
            throw ValidationError(field: "appID", reason: "must be a Marathon app id (/group/app: letters, digits, '.', '_', '-')", value: id)
        }
    }
}

/// A path prefix for routing (`/api`) or rewriting: `/` then URI path characters only (RFC 3986
/// unreserved, sub-delims but `'`, `:`, `@`, `%`); no space, quote, backslash, `?` or `#`, at most
/// 1024 bytes. Routing matches it with `path_beg`, so `/api` also matches `/apiary` (as marathon-lb);
/// end it with `/` to match a directory only.
public struct PathPrefix: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ raw: String, field: String = "path") throws(ValidationError) {
        let bytes = Array(raw.utf8)
        guard bytes.first == UInt8(ascii: "/"), bytes.count <= 1024, bytes.allSatisfy(PathPrefix.isPathByte) else {
            throw ValidationError(
                field: field,
                reason: "must be a path starting with '/' (letters, digits and -._~!$&()*+,;=:@%/ only)", value: raw)
        }
        rawValue = raw
    }

    public var description: String { rawValue }
    public var byteCount: Int { rawValue.utf8.count }

    public static func < (lhs: PathPrefix, rhs: PathPrefix) -> Bool { lhs.rawValue < rhs.rawValue }

    static func isPathByte(_ byte: UInt8) -> Bool {
        if ServiceTLS.isSafeFileNameByte(byte) { return true }
        switch byte {
        case UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}

/// haproxy 2.6's load-balancing algorithms, nothing else (`balance` keyword).
public enum BalanceAlgorithm: Hashable, Sendable, CustomStringConvertible {
    case roundrobin, staticRR, leastconn, first, source, uri, random
    /// `hdr(<name>)`: by a request header.
    case header(String)
    /// `url_param <name>`.
    case urlParameter(String)
    /// `rdp-cookie` or `rdp-cookie(<name>)`.
    case rdpCookie(String?)

    /// Parses haproxy's spelling (`leastconn`, `static-rr`, `hdr(X-User)`, `url_param id`,
    /// `rdp-cookie(mstshash)`), case-insensitive for the keyword.
    public init(parsing raw: String, field: String = "balance") throws(ValidationError) {
        let text = String(raw.trimmingBlanks())
        let lower = text.lowercased()
        func fail() -> ValidationError {
            ValidationError(
                field: field,
                reason: "must be one of haproxy's algorithms: roundrobin, static-rr, leastconn, first, source, uri, random, hdr(<name>), url_param <name>, rdp-cookie[(<name>)]",
                value: raw)
        }
        func argument(_ s: Substring) throws(ValidationError) -> String {
            let name = String(s)
            guard !name.isEmpty, name.utf8.count <= 64,
                name.utf8.allSatisfy({ ServiceTLS.isSafeFileNameByte($0) })
            else { throw fail() }
            return name
        }
        switch lower {
        case "roundrobin": self = .roundrobin
        case "static-rr": self = .staticRR
        case "leastconn": self = .leastconn
        case "first": self = .first
        case "source": self = .source
        case "uri": self = .uri
        case "random": self = .random
        case "rdp-cookie": self = .rdpCookie(nil)
        default:
            if lower.hasPrefix("hdr(") && lower.hasSuffix(")") {
                self = .header(try argument(text.dropFirst(4).dropLast()))
            } else if lower.hasPrefix("rdp-cookie(") && lower.hasSuffix(")") {
                self = .rdpCookie(try argument(text.dropFirst(11).dropLast()))
            } else if lower.hasPrefix("url_param ") {
                self = .urlParameter(try argument(text.dropFirst(10).drop(while: { $0 == " " })))
            } else {
                throw fail()
            }
        }
    }

    /// The text after `balance `.
    public var description: String {
        switch self {
        case .roundrobin: return "roundrobin"
        case .staticRR: return "static-rr"
        case .leastconn: return "leastconn"
        case .first: return "first"
        case .source: return "source"
        case .uri: return "uri"
        case .random: return "random"
        case .header(let name): return "hdr(\(name))"
        case .urlParameter(let name): return "url_param \(name)"
        case .rdpCookie(let name?): return "rdp-cookie(\(name))"
        case .rdpCookie(nil): return "rdp-cookie"
        }
    }
}

/// HTTP basic auth: a realm and users with crypt(3) password hashes (`$5$...`, `$6$...`, `$2y$...`,
/// `$y$...`). Plain-text passwords are refused (haproxy's `insecure-password` is never written), and
/// a hash never appears in an error message or log line.
public struct BasicAuth: Hashable, Sendable {
    public struct User: Hashable, Sendable, Comparable {
        public let name: String
        public let passwordHash: String

        public init(name: String, passwordHash: String, field: String = "auth.users") throws(ValidationError) {
            guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy(ServiceTLS.isSafeFileNameByte) else {
                throw ValidationError(field: field, reason: "user name must be 1-64 letters, digits, '.', '_', '-'", value: name)
            }
            guard BasicAuth.isCryptHash(passwordHash) else {
                // The value is not echoed: it may be a plain-text password.
                throw ValidationError(
                    field: field,
                    reason: "password of \(name) must be a crypt(3) hash such as $6$salt$hash (mkpasswd -m sha-512); plain text is refused")
            }
            self.name = name
            self.passwordHash = passwordHash
        }

        public static func < (lhs: User, rhs: User) -> Bool { lhs.name < rhs.name }
    }

    /// Shown by browsers: printable ASCII without `"` or `\`, at most 64 bytes.
    public let realm: String
    /// Sorted by name, names unique.
    public let users: [User]

    public init(realm: String, users: [User], field: String = "auth") throws(ValidationError) {
        guard !realm.isEmpty, realm.utf8.count <= 64,
            realm.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "$") })
        else {
            throw ValidationError(field: field + ".realm", reason: "must be 1-64 printable characters without '\"', '\\' or '$'", value: realm)
        }
        guard !users.isEmpty, users.count <= 256 else {
            throw ValidationError(field: field + ".users", reason: "must name between 1 and 256 users")
        }
        let sorted = users.sorted()
        for i in sorted.indices.dropFirst() where sorted[i].name == sorted[i - 1].name {
            throw ValidationError(field: field + ".users", reason: "names a user twice", value: sorted[i].name)
        }
        self.realm = realm
        self.users = sorted
    }

    /// Modular crypt format: `$<id>$` then `[A-Za-z0-9./$=,+-]`, 20-512 bytes.
    public static func isCryptHash(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 512, bytes.first == UInt8(ascii: "$") else { return false }
        guard let second = bytes.dropFirst().firstIndex(of: UInt8(ascii: "$")), second > 1 else { return false }
        return bytes.allSatisfy { byte in
            ServiceTLS.isSafeFileNameByte(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "$")
                || byte == UInt8(ascii: "=") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+")
        }
    }
}

/// haproxy's own check of a service's servers (`check inter .. fall .. rise ..`, `timeout check`,
/// and for HTTP `option httpchk` + `http-check send meth GET uri <path>`).
public struct HealthCheck: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A GET of ``path``; 2xx/3xx is up.
        case http
        /// A TCP connect.
        case tcp
    }

    public let kind: Kind
    /// HTTP: the path (and query) requested; `/` by default.
    public let path: PathPrefix
    /// Check this port instead of each server's own (`port <n>` on the server lines); nil: the
    /// server's port.
    public let port: UInt16?
    public let intervalSeconds: Int
    public let timeoutSeconds: Int
    /// Consecutive failures that take a server out (Marathon: maxConsecutiveFailures + 1).
    public let fall: Int
    /// Consecutive successes that bring it back.
    public let rise: Int

    public static let secondsRange = 1...3600
    public static let countRange = 1...100

    public init(
        kind: Kind, path: PathPrefix? = nil, port: UInt16? = nil, intervalSeconds: Int = 2, timeoutSeconds: Int = 2,
        fall: Int = 3, rise: Int = 2, field: String = "healthCheck"
    ) throws(ValidationError) {
        for (name, value, range) in [
            ("intervalSeconds", intervalSeconds, Self.secondsRange), ("timeoutSeconds", timeoutSeconds, Self.secondsRange),
            ("fall", fall, Self.countRange), ("rise", rise, Self.countRange),
        ] where !range.contains(value) {
            throw ValidationError(
                field: field + "." + name, reason: "must be between \(range.lowerBound) and \(range.upperBound)", value: String(value))
        }
        self.kind = kind
        self.path = path ?? HealthCheck.rootPath
        self.port = port
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.fall = fall
        self.rise = rise
    }

    public static let rootPath = try! PathPrefix("/")
}
