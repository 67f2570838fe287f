import ProxymGenerators
import ProxymModel
import Testing

/// marathon-lb's per-port labels and proxym's own port keys, one documented behaviour per row: app in,
/// services (ports, protocol, backends) and warnings out.
@Suite("Marathon labels: marathon-lb's per-port labels, proxym's port keys")
struct MarathonLabelTableTests {
    /// Host networking, service ports 10000 and 10001, one task on 10.0.0.1:31000/31001.
    static func hostApp(_ id: String = "/shop/web", labels: [String: String], ports: [Int] = [10000, 10001]) -> MarathonApp {
        MarathonApp(
            id: id, labels: labels, portDefinitions: ports.map { .init(port: $0) },
            tasks: [MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000, 31001])])
    }

    /// Docker bridge: container ports 5000 and 8080 (host ports 31000/31001), service ports 42000/42001.
    static func bridgeApp(labels: [String: String]) -> MarathonApp {
        MarathonApp(
            id: "/registry", labels: labels, networkMode: .bridge,
            portMappings: [
                .init(containerPort: 5000, hostPort: 0, servicePort: 42000),
                .init(containerPort: 8080, hostPort: 0, servicePort: 42001),
            ],
            tasks: [MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000, 31001])])
    }

    static func ports(_ mapping: MarathonMapping) -> [String] {
        mapping.services.map { "\($0.id.rawValue) \($0.isHTTP(httpPort: 80) ? "http" : "tcp") \($0.servicePort)" }
    }

    // MARK: 14.5: proxym.port.<n>.* keyed as the original

    /// The original keyed `proxym.port.<n>` by the container port: `proxym.port.5000.protocol=http` on a
    /// bridge app mapping container port 5000 is port 0's; `8080` is port 1's; an index still works.
    @Test func proxymPortKeyedByContainerPort() {
        let mapping = mapped(
            MarathonSnapshot(apps: [
                Self.bridgeApp(labels: [
                    "proxym.port.5000.protocol": "http", "proxym.port.8080.domains": "admin.example.com",
                    "proxym.port.5000.domains": "registry.example.com",
                ])
            ]))
        #expect(Self.ports(mapping) == ["/registry http 42000", "/registry/port1 http 42001"])
        #expect(mapping.services.map { $0.domains.map(\.rawValue) } == [["registry.example.com"], ["admin.example.com"]])
        #expect(mapping.problems.isEmpty, "\(mapping.problems)")
    }

    /// An index wins over a port number: on a two-port app `proxym.port.1` is the second port even if
    /// some port's container port were 1. Host networking keys by the `portDefinitions` port (what the
    /// original used); a number nobody has is reported.
    @Test func indexFirstThenHostPortThenReported() {
        let mapping = mapped(
            MarathonSnapshot(apps: [
                Self.hostApp(labels: [
                    "proxym.port.1.protocol": "http", "proxym.port.10000.domains": "web.example.com",
                    "proxym.port.7777.protocol": "tcp",
                ])
            ]))
        #expect(Self.ports(mapping) == ["/shop/web http 10000", "/shop/web/port1 http 10001"])
        #expect(mapping.services[0].domains.map(\.rawValue) == ["web.example.com"])
        #expect(
            mapping.problems == [
                #"app "/shop/web": label proxym.port.7777.protocol: the app has no port 7777 (it has 2) and no port whose container or host port is 7777; ignored"#
            ])
    }

    /// IP-per-task with a mapping that has a host port: both its container port and its host port name it.
    @Test func containerModeKeysByContainerOrHostPort() {
        let app = MarathonApp(
            id: "/ipt", networkMode: .container,
            portMappings: [.init(containerPort: 80, servicePort: 10080), .init(containerPort: 9000, hostPort: 31555, servicePort: 10090)],
            tasks: [MarathonTask(id: "t", host: "10.0.0.1", ports: [31555], ipAddresses: ["172.16.0.5"])])
        var labelled = app
        labelled.labels = ["proxym.port.80.protocol": "http", "proxym.port.31555.protocol": "http"]
        #expect(Self.ports(mapped(MarathonSnapshot(apps: [labelled]))) == ["/ipt http 10080", "/ipt/port1 http 10090"])
    }

    // MARK: 14.2: MODE, PORT, GROUP, ENABLED

    /// `HAPROXY_{n}_MODE` (lowercased by marathon-lb too): http makes the port a virtual host, tcp a
    /// listener even with a vhost; proxym's own protocol label wins over it.
    @Test func mode() {
        let mapping = mapped(
            MarathonSnapshot(apps: [
                Self.hostApp(labels: ["HAPROXY_0_MODE": "HTTP", "HAPROXY_1_MODE": "tcp", "HAPROXY_1_VHOST": "one.example.com"]),
                Self.hostApp("/both", labels: ["HAPROXY_0_MODE": "http", "proxym.port.0.protocol": "tcp"], ports: [10002]),
            ]))
        #expect(Self.ports(mapping) == ["/shop/web http 10000", "/shop/web/port1 tcp 10001", "/both tcp 10002"])
        #expect(mapping.problems.isEmpty)
    }

    /// `HAPROXY_{n}_PORT` replaces the service port (marathon-lb: bind and names); the HTTP port rule
    /// follows the replaced port.
    @Test func servicePortOverride() {
        let mapping = mapped(
            MarathonSnapshot(apps: [Self.hostApp(labels: ["HAPROXY_0_PORT": "9000", "HAPROXY_1_PORT": " 80 "])]))
        #expect(Self.ports(mapping) == ["/shop/web tcp 9000", "/shop/web/port1 http 80"])
        #expect(mapping.services[0].hosts.map(\.description) == ["10.0.0.1:31000"])
    }

    /// Invalid values cost only that port, with a WARNING naming app, label and reason; the app's other
    /// port and the other apps stay.
    @Test(arguments: [
        (["HAPROXY_0_PORT": "http"], #"label HAPROXY_0_PORT: must be a port number between 1 and 65535 (got "http")"#),
        (["HAPROXY_0_PORT": "70000"], #"label HAPROXY_0_PORT: must be a port number between 1 and 65535 (got "70000")"#),
        (["HAPROXY_0_PORT": "0"], #"label HAPROXY_0_PORT: must be a port number between 1 and 65535 (got "0")"#),
        (["HAPROXY_0_MODE": "udp"], #"label HAPROXY_0_MODE: must be http or tcp (got "udp")"#),
        (["HAPROXY_0_ENABLED": "maybe"], #"label HAPROXY_0_ENABLED: must be true or false"#),
        (["HAPROXY_0_VHOST": "a.example.com b.example.com"], "label HAPROXY_0_VHOST: may only contain letters"),
        (["HAPROXY_0_VHOST": "-f /etc/passwd"], "label HAPROXY_0_VHOST: has a label that starts with '-'"),
        (["HAPROXY_0_VHOST": "a.example.com\nbind :22"], "label HAPROXY_0_VHOST: may only contain letters"),
        (["proxym.port.0.domains": "x.example.com#"], "label proxym.port.0.domains: may only contain letters"),
        (["proxym.port.10000.protocol": "ftp"], #"label proxym.port.10000.protocol: must be http or tcp (got "ftp")"#),
    ])
    func invalidValuesCostThePortOnly(_ labels: [String: String], _ reason: String) {
        let mapping = mapped(
            MarathonSnapshot(apps: [
                Self.hostApp("/before", labels: [:], ports: [9001]), Self.hostApp(labels: labels),
                Self.hostApp("/after", labels: [:], ports: [9002]),
            ]))
        #expect(mapping.services.map(\.id.rawValue) == ["/before", "/shop/web/port1", "/after"])
        #expect(mapping.skippedApps.isEmpty)
        #expect(mapping.problems.count == 1)
        #expect(
            mapping.problems.first?.hasPrefix(#"app "/shop/web": port 0 skipped: \#(reason)"#) == true, "\(mapping.problems)")
        #expect(mapping.problems.allSatisfy { !$0.contains("\n") })
    }

    /// marathon-lb: a non-empty `HAPROXY_{n}_GROUP` decides for its port alone, else the app's
    /// `HAPROXY_GROUP`; an app outside the group may still expose a port that is in it.
    @Test func perPortGroups() {
        let snapshot = MarathonSnapshot(apps: [
            Self.hostApp(labels: ["HAPROXY_GROUP": "internal", "HAPROXY_1_GROUP": "external"]),
            Self.hostApp("/ungrouped", labels: ["HAPROXY_0_GROUP": "external, internal"], ports: [10002, 10003]),
        ])
        func ids(_ group: String?) -> [String] {
            mapped(snapshot, options: MarathonOptions(group: group)).services.map(\.id.rawValue)
        }
        #expect(ids("internal") == ["/shop/web", "/ungrouped"])
        #expect(ids("external") == ["/shop/web/port1", "/ungrouped"])
        #expect(ids(nil) == ["/shop/web", "/shop/web/port1", "/ungrouped", "/ungrouped/port1"])
        #expect(ids("*") == ids(nil))
        #expect(ids("other") == [])
    }

    /// `HAPROXY_{n}_ENABLED`: without strict mode false hides the port; with `PROXYM_MARATHON_STRICT`
    /// only ports saying true are exposed (there is no app-wide switch, as in marathon-lb). marathon-lb's
    /// true words (`t`, `yes`, `y`, any case) are true; so are `1` and `on` (marathon-lb read them as
    /// false).
    @Test func enabledAndStrictMode() {
        let snapshot = MarathonSnapshot(apps: [
            Self.hostApp(labels: ["HAPROXY_0_ENABLED": "false"]),
            Self.hostApp("/opt-in", labels: ["HAPROXY_0_ENABLED": "YES", "HAPROXY_1_ENABLED": "1"], ports: [10002, 10003]),
            Self.hostApp("/plain", labels: [:], ports: [10004]),
        ])
        #expect(
            mapped(snapshot).services.map(\.id.rawValue) == ["/shop/web/port1", "/opt-in", "/opt-in/port1", "/plain"])
        #expect(
            mapped(snapshot, options: MarathonOptions(strict: true)).services.map(\.id.rawValue) == ["/opt-in", "/opt-in/port1"])
        let words = MarathonSnapshot(
            apps: ["true", "T", "y", "on", "1", "false", "F", "no", "off", "0"].enumerated().map { i, word in
                Self.hostApp("/w\(i)", labels: ["HAPROXY_0_ENABLED": word], ports: [11000 + i])
            })
        #expect(
            mapped(words, options: MarathonOptions(strict: true)).services.map(\.id.rawValue) == ["/w0", "/w1", "/w2", "/w3", "/w4"])
        #expect(mapped(words).services.map(\.id.rawValue) == ["/w0", "/w1", "/w2", "/w3", "/w4"])
    }

    // MARK: 14.3: readiness, health check definitions

    /// `readinessCheckResults` (embed=apps.readiness) and `deployments` are decoded; a task reported
    /// not ready is not routed, the others are; only the new keys are read.
    @Test func unreadyTasksAreNotRouted() throws {
        let body = #"""
            {"apps":[{"id":"/web","portDefinitions":[{"port":10000}],"deployments":[{"id":"d1"},{"id":"d2"}],
            "healthChecks":[{"protocol":"MESOS_HTTP","path":"/ping","portIndex":0,"intervalSeconds":3,"timeoutSeconds":2,
            "maxConsecutiveFailures":4,"gracePeriodSeconds":9,"ignoreHttp1xx":false},{"protocol":"COMMAND","command":{"value":"true"}}],
            "readinessCheckResults":[{"name":"r","taskId":"web.b","ready":false,"lastResponse":{"status":503,"contentType":"text/plain","body":"no"}},
            {"name":"r","taskId":"web.a","ready":true,"lastResponse":null}],
            "tasks":[{"id":"web.a","host":"10.0.0.1","ports":[31000],"healthCheckResults":[{"alive":true},{"alive":true}]},
            {"id":"web.b","host":"10.0.0.2","ports":[31001],"healthCheckResults":[{"alive":true},{"alive":true}]}]}]}
            """#
        let snapshot = try MarathonApps.decode(appsWithTasks: Array(body.utf8))
        let app = try #require(snapshot.apps.first)
        #expect(app.deploymentCount == 2)
        #expect(app.notReadyTasks == ["web.b"])
        #expect(
            app.healthChecks == [
                .init(protocol: "MESOS_HTTP", path: "/ping", portIndex: 0, intervalSeconds: 3, timeoutSeconds: 2, maxConsecutiveFailures: 4),
                .init(protocol: "COMMAND"),
            ])
        #expect(app.healthCheckCount == 2)
        #expect(mapped(snapshot).services.first?.hosts.map(\.description) == ["10.0.0.1:31000"])
    }

    /// Strict like the rest of the decoder: a count that is not a non-negative integer costs the app.
    @Test func badHealthCheckFieldsCostTheApp() throws {
        let body = #"{"apps":[{"id":"/bad","healthChecks":[{"intervalSeconds":"10"}]},{"id":"/good","healthChecks":[{"timeoutSeconds":-1}]}]}"#
        let snapshot = try MarathonApps.decode(appsWithTasks: Array(body.utf8))
        #expect(snapshot.apps.isEmpty)
        #expect(snapshot.problems.count == 2, "\(snapshot.problems)")
        #expect(snapshot.problems.first?.contains("healthChecks[0].intervalSeconds") == true, "\(snapshot.problems)")
    }

    // MARK: 14.2 / 13: routing and TLS labels into the model

    /// marathon-lb's labels and proxym's spellings fill ``ServiceRouting`` and ``ServiceTLS`` with
    /// validated values.
    @Test func routingLabelsFillTheModel() throws {
        let hash = "$6$saltsalt$" + String(repeating: "a", count: 86)
        let mapping = mapped(
            MarathonSnapshot(apps: [
                Self.hostApp(labels: [
                    "HAPROXY_0_VHOST": "shop.example.com", "HAPROXY_0_PATH": "/api /v2 -i", "HAPROXY_0_BACKEND_WEIGHT": "5",
                    "HAPROXY_0_STICKY": "true", "HAPROXY_0_BALANCE": "leastconn", "HAPROXY_0_BIND_ADDR": "127.0.0.2",
                    "HAPROXY_0_AUTH": "Shop:admin:\(hash)", "HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH": "/api",
                    "HAPROXY_0_REDIRECT_TO_HTTPS": "yes", "HAPROXY_0_USE_HSTS": "true", "HAPROXY_0_SSL_CERT": "shop.pem",
                    "proxym.port.1.path": "/admin", "proxym.port.1.sticky": "on", "proxym.port.1.balance": "hdr(X-User)",
                    "proxym.port.1.hsts": "300", "proxym.port.1.certificate": "admin.pem", "proxym.port.1.acme": "false",
                    "proxym.port.1.redirect-to-https": "1", "proxym.port.1.weight": "-1", "HAPROXY_1_VHOST": "admin.example.com",
                ])
            ]))
        #expect(mapping.services.count == 2, "\(mapping.problems)")
        let shop = try #require(mapping.services.first).routing
        #expect(shop.paths.map(\.rawValue) == ["/api", "/v2"])
        #expect(shop.weight == 5 && shop.sticky && shop.redirectToHttps)
        #expect(shop.balance == .leastconn)
        #expect(shop.bindAddress?.description == "127.0.0.2")
        #expect(shop.auth?.realm == "Shop" && shop.auth?.users.map(\.name) == ["admin"])
        #expect(shop.proxyPassPath?.rawValue == "/api")
        #expect(shop.appID == "/shop/web", "the app's first HTTP port answers to its id")
        #expect(mapping.services[0].tls.hstsMaxAge == 15_768_000 && mapping.services[0].tls.certificate == "shop.pem")
        let admin = mapping.services[1]
        #expect(admin.routing.paths.map(\.rawValue) == ["/admin"] && admin.routing.sticky && admin.routing.weight == -1)
        #expect(admin.routing.balance?.description == "hdr(X-User)" && admin.routing.redirectToHttps)
        #expect(admin.routing.appID == nil)
        #expect(admin.tls.hstsMaxAge == 300 && admin.tls.certificate == "admin.pem" && !admin.tls.acme)
        #expect(mapping.problems == [#"app "/shop/web": label HAPROXY_0_PATH: haproxy flag "-i" ignored (prefixes only, matched case-sensitively)"#])
        #expect(!mapping.problems.joined().contains(hash))
    }

    /// Each refused value costs its port with a WARNING naming the label; a password hash or a
    /// plain-text password is never shown.
    @Test(arguments: [
        (["HAPROXY_0_PATH": "api"], "label HAPROXY_0_PATH: must be a path starting with '/'"),
        (["HAPROXY_0_PATH": "/a\"b"], "label HAPROXY_0_PATH: must be a path starting with '/'"),
        (["HAPROXY_0_BACKEND_WEIGHT": "heavy"], "label HAPROXY_0_BACKEND_WEIGHT: must be an integer between -1000 and 1000"),
        (["HAPROXY_0_BALANCE": "roundrobin\n  server x 1.2.3.4:1"], "label HAPROXY_0_BALANCE: must be one of haproxy's algorithms"),
        (["HAPROXY_0_BALANCE": "fastest"], "label HAPROXY_0_BALANCE: must be one of haproxy's algorithms"),
        (["HAPROXY_0_BIND_ADDR": "lb.example.com"], "label HAPROXY_0_BIND_ADDR: must be an IPv4 or IPv6 address"),
        (["HAPROXY_0_AUTH": "realm:admin:secret123"], "label HAPROXY_0_AUTH: password of admin must be a crypt(3) hash"),
        (["HAPROXY_0_AUTH": "secret123"], "label HAPROXY_0_AUTH: must be realm:user:password-hash"),
        (["HAPROXY_0_SSL_CERT": "/etc/ssl/cert.pem"], "label HAPROXY_0_SSL_CERT: must be the name of a .pem file"),
        (["HAPROXY_0_SSL_CERT": "../../etc/shadow"], "label HAPROXY_0_SSL_CERT: must be the name of a .pem file"),
        (["HAPROXY_0_STICKY": "sometimes"], "label HAPROXY_0_STICKY: must be true or false"),
        (["proxym.port.0.hsts": "forever"], "label proxym.port.0.hsts: must be a max-age in seconds"),
    ])
    func refusedRoutingValuesCostThePort(_ labels: [String: String], _ reason: String) {
        let mapping = mapped(MarathonSnapshot(apps: [Self.hostApp(labels: labels)]))
        #expect(mapping.services.map(\.id.rawValue) == ["/shop/web/port1"])
        #expect(mapping.problems.first?.hasPrefix(#"app "/shop/web": port 0 skipped: \#(reason)"#) == true, "\(mapping.problems)")
        #expect(!mapping.problems.joined().contains("secret123"))
        #expect(mapping.problems.allSatisfy { !$0.contains("\n") })
    }

    // MARK: 14.3: Marathon health checks -> haproxy's check

    /// marathon-lb's choice: the first check with an explicit port or the port's index; HTTP kinds on an
    /// HTTP port check the path, anything on a TCP port connects; fall = maxConsecutiveFailures + 1;
    /// COMMAND is skipped; Marathon's defaults where absent.
    @Test func healthChecksBecomeHAProxyChecks() throws {
        var app = Self.hostApp(labels: ["HAPROXY_0_VHOST": "web.example.com"], ports: [10000, 10001, 10002])
        app.tasks = [MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000, 31001, 31002], healthResults: [true, true, true])]
        app.healthChecks = [
            .init(protocol: "COMMAND"),
            .init(protocol: "MESOS_HTTP", path: "/ping", portIndex: 0, intervalSeconds: 3, timeoutSeconds: 2, maxConsecutiveFailures: 0),
            .init(protocol: "HTTP", path: "/health", portIndex: 1, intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 3),
        ]
        app.healthCheckCount = 3
        let services = mapped(MarathonSnapshot(apps: [app])).services
        #expect(services.count == 3)
        let web = try #require(services[0].routing.healthCheck)
        #expect(web.kind == .http && web.path.rawValue == "/ping" && web.intervalSeconds == 3 && web.timeoutSeconds == 2)
        #expect(web.fall == 1 && web.rise == 2 && web.port == nil)
        let tcp = try #require(services[1].routing.healthCheck)
        #expect(tcp.kind == .tcp && tcp.intervalSeconds == 10 && tcp.timeoutSeconds == 5 && tcp.fall == 4)
        #expect(services[2].routing.healthCheck == nil)

        // An explicit port applies to every port; TCP kinds connect; defaults 60 s / 20 s / 3.
        app.healthChecks = [.init(protocol: "TCP", port: 8081)]
        app.healthCheckCount = 1
        app.tasks = [MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000, 31001, 31002], healthResults: [true])]
        let explicit = mapped(MarathonSnapshot(apps: [app])).services.compactMap(\.routing.healthCheck)
        #expect(explicit.count == 3)
        #expect(explicit.allSatisfy { $0.kind == .tcp && $0.port == 8081 && $0.intervalSeconds == 60 && $0.timeoutSeconds == 20 && $0.fall == 4 })
    }

    /// `PROXYM_MARATHON_BIND_VHOST_PORTS`: an HTTP port with a service port of its own also listens there.
    @Test func bindVhostPorts() {
        let snapshot = MarathonSnapshot(apps: [Self.hostApp(labels: ["HAPROXY_0_VHOST": "web.example.com"])])
        #expect(mapped(snapshot).services.map(\.routing.bindServicePort) == [false, false])
        #expect(mapped(snapshot, options: MarathonOptions(bindVhostPorts: true)).services.map(\.routing.bindServicePort) == [true, false])
    }
}
