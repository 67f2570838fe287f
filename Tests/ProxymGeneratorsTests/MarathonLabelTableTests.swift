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
}
