import ProxymGenerators
import ProxymModel
import Testing

/// The routing keys of a service file (`paths`, `weight`, `redirectToHttps`, `sticky`, `balance`,
/// `bindAddress`, `auth`, `proxyPassPath`, `healthCheck`, `bindServicePort`).
@Suite("Service file routing keys")
struct ServiceFileRoutingTests {
    static let hash = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ./"

    func decode(_ members: String) -> Result<ServiceFileDecoder.Decoded, ServiceFileError> {
        let json = #"{"id": "/web", "domain": "web.example.com", "servicePort": 80, "hosts": [], "# + members + "}"
        return ServiceFileDecoder.decode(Array(json.utf8), fileName: "web.json")
    }

    @Test func everyKey() throws {
        let decoded = try decode(
            #""paths": ["/api", "/api/v2", "/api"], "weight": 5, "redirectToHttps": true, "sticky": true, "balance": "hdr(X-User)", "#
                + #""bindAddress": "127.0.0.2", "proxyPassPath": "/api", "bindServicePort": true, "#
                + #""auth": {"realm": "shop staff", "users": [{"name": "bob", "passwordHash": "\#(Self.hash)"}, {"name": "ann", "passwordHash": "\#(Self.hash)"}]}, "#
                + #""healthCheck": {"protocol": "HTTP", "path": "/health", "port": 8081, "intervalSeconds": 5, "timeoutSeconds": 1, "fall": 4, "rise": 1}"#
        ).get()
        let routing = decoded.service.routing
        #expect(decoded.warnings == [])
        #expect(routing.paths.map(\.rawValue) == ["/api", "/api/v2"])
        #expect(routing.weight == 5)
        #expect(routing.redirectToHttps && routing.sticky && routing.bindServicePort)
        #expect(routing.balance == .header("X-User"))
        #expect(routing.bindAddress == (try HostAddress("127.0.0.2")))
        #expect(routing.proxyPassPath?.rawValue == "/api")
        #expect(routing.auth?.realm == "shop staff")
        #expect(routing.auth?.users.map(\.name) == ["ann", "bob"])
        let check = try #require(routing.healthCheck)
        #expect(check.kind == .http && check.path.rawValue == "/health" && check.port == 8081)
        #expect(check.intervalSeconds == 5 && check.timeoutSeconds == 1 && check.fall == 4 && check.rise == 1)
    }

    @Test func noKeyIsNoRouting() throws {
        #expect(try decode(#""sticky": null"#).get().service.routing == .none)
    }

    @Test func balanceAlgorithms() throws {
        for (text, expected) in [
            ("leastconn", BalanceAlgorithm.leastconn), ("static-rr", .staticRR), ("ROUNDROBIN", .roundrobin),
            ("url_param id", .urlParameter("id")), ("rdp-cookie", .rdpCookie(nil)), ("rdp-cookie(mstshash)", .rdpCookie("mstshash")),
        ] {
            #expect(try decode(#""balance": "\#(text)""#).get().service.routing.balance == expected)
        }
    }

    /// Each refused value names its field; a password is never echoed.
    @Test(arguments: [
        (#""paths": ["api"]"#, "paths[0]"),
        (#""paths": ["/a b"]"#, "paths[0]"),
        (#""paths": ["/a\nuse_backend x"]"#, "paths[0]"),
        (#""paths": "/api""#, "paths"),
        (#""weight": 1.5"#, "weight"),
        (#""weight": 100000"#, "weight"),
        (#""balance": "leastconn\n  server x 1.2.3.4:80""#, "balance"),
        (#""balance": "wrr""#, "balance"),
        (#""balance": "hdr(a b)""#, "balance"),
        (#""bindAddress": "example.com""#, "bindAddress"),
        (#""proxyPassPath": "/x y""#, "proxyPassPath"),
        (#""sticky": "yes""#, "sticky"),
        (#""auth": {"realm": "r\"", "users": [{"name": "a", "passwordHash": "$6$saltsalt$0123456789abcdefghij"}]}"#, "auth.realm"),
        (#""auth": {"realm": "r", "users": []}"#, "auth.users"),
        (#""auth": {"realm": "r", "users": [{"name": "a b", "passwordHash": "$6$saltsalt$0123456789abcdefghij"}]}"#, "auth.users[0]"),
        (#""healthCheck": {"protocol": "COMMAND"}"#, "healthCheck.protocol"),
        (#""healthCheck": {"protocol": "http", "fall": 0}"#, "healthCheck.fall"),
        (#""healthCheck": {"protocol": "http", "intervalSeconds": 99999}"#, "healthCheck.intervalSeconds"),
        (#""healthCheck": {"protocol": "tcp", "port": 0}"#, "healthCheck.port"),
    ])
    func refuses(_ members: String, _ field: String) {
        guard case .failure(let error) = decode(members) else {
            Issue.record("accepted \(members)")
            return
        }
        #expect(error.field == field, "\(error)")
    }

    @Test func plainTextPasswordIsRefusedAndNeverEchoed() {
        guard case .failure(let error) = decode(#""auth": {"realm": "r", "users": [{"name": "ann", "passwordHash": "hunter2-secret"}]}"#)
        else {
            Issue.record("a plain-text password was accepted")
            return
        }
        #expect(!"\(error)".contains("hunter2"))
        #expect("\(error)".contains("crypt(3)"))
    }

    @Test func pathsWithoutDomainWarn() throws {
        let json = #"{"id": "/web", "servicePort": 80, "hosts": [], "paths": ["/api"]}"#
        let decoded = try ServiceFileDecoder.decode(Array(json.utf8), fileName: "web.json").get()
        #expect(decoded.warnings.contains { $0.contains("no domain") })
    }
}
