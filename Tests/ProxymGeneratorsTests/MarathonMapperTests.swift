import ProxymGenerators
import ProxymModel
import Testing

/// Each fixture mapped with the default options (IdToDomainReverse, HTTP port 80, no group, no label
/// config) and fresh health memory; expected services written from reading the fixture.
@Suite("Marathon mapping: fixtures")
struct MarathonMapperFixtureTests {
    func mapFixture(_ file: String, options: MarathonOptions = MarathonOptions()) throws -> MarathonMapping {
        mapped(try MarathonApps.decode(appsWithTasks: MarathonFixtures.bytes(file)), options: options)
    }

    func mapDefinition(_ file: String) throws -> MarathonMapping {
        mapped(
            try MarathonApps.decode(
                appsWithTasks: MarathonFixtures.appsBody(wrapping: MarathonFixtures.bytes("app-definitions/" + file))
            )
        )
    }

    /// BRIDGE with a tcp mapping (service port 9000) and a udp one without `servicePort` (it falls back
    /// to legacy `ports[1]`). One health check: the task without a result is not routed; the udp port has
    /// no host port on the task, so no backend.
    @Test func consulBridgeTcpUdp() throws {
        let mapping = try mapFixture(
            "apps/v2-apps-embed-tasks__marathon-consul__docker-BRIDGE-tcp-udp-one-task-without-hc-results__m0.x.json"
        )
        #expect(
            mapping.services == [
                marathonService(
                    "/bridged-webapp",
                    domains: ["bridged-webapp"],
                    port: 9000,
                    hosts: [("192.168.2.114", 31315)]
                ),
                marathonService("/bridged-webapp/port1", domains: ["bridged-webapp"], transport: .udp, port: 10001),
            ]
        )
        #expect(mapping.problems.isEmpty && mapping.skippedApps.isEmpty && mapping.configLines.isEmpty)
    }

    /// 1.5 `container/bridge`, MESOS_HTTP checks with results keyed by `instanceId`: all three tasks on
    /// the agent's address and host ports (not the 172.17 container addresses).
    @Test func marathonLBMesosHTTPHealthChecks() throws {
        let mapping = try mapFixture(
            "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-mesos-http-healthchecks__m1.5.json"
        )
        #expect(
            mapping.services == [
                marathonService(
                    "/nginx-green",
                    domains: ["nginx-green"],
                    port: 10000,
                    hosts: [("10.0.6.25", 16916), ("10.0.6.25", 31184), ("10.0.6.25", 23336)]
                )
            ]
        )
        #expect(
            mapping.problems == [
                #"app "/nginx-green": label HAPROXY_DEPLOYMENT_GROUP: marathon-lb's zero-downtime deployments (zdd.py) are not supported; the app is routed on its own"#
            ])
    }

    /// `HAPROXY_0_VHOST` makes the port an HTTP virtual host; it keeps its service port 10101.
    @Test func marathonLBVhost() throws {
        let mapping = try mapFixture(
            "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-networks-haproxy-vhost__m1.5.json"
        )
        #expect(
            mapping.services == [
                marathonService(
                    "/pywebserver",
                    domains: ["myvhost.com"],
                    app: .http,
                    port: 10101,
                    hosts: [("10.0.2.148", 1565)]
                )
            ]
        )
        #expect(mapping.problems.isEmpty)
    }

    /// Blue/green pair: `HAPROXY_0_PORT=10000` on both, so both ask for 10000 (the merge keeps the first
    /// and reports the other); zdd.py's deployment group is reported as not supported.
    @Test func marathonLBZeroDowntimePair() throws {
        let mapping = try mapFixture(
            "apps/v2-apps-embed-tasks__marathon-lb__docker-BRIDGE-haproxy-labels-http-healthchecks__m0.15.json"
        )
        #expect(
            mapping.services == [
                marathonService(
                    "/nginx-green",
                    domains: ["nginx-green"],
                    port: 10000,
                    hosts: [("10.0.6.25", 16916), ("10.0.6.25", 31184), ("10.0.6.25", 23336)]
                ),
                marathonService("/nginx-blue", domains: ["nginx-blue"], port: 10000, hosts: [("10.0.1.147", 25724)]),
            ]
        )
        #expect(
            mapping.problems == ["/nginx-green", "/nginx-blue"].map {
                #"app "\#($0)": label HAPROXY_DEPLOYMENT_GROUP: marathon-lb's zero-downtime deployments (zdd.py) are not supported; the app is routed on its own"#
            }
        )
    }

    /// Two checks, one result per task: not healthy (bamboo agrees), so four services without hosts.
    @Test func appByIDWithFewerResultsThanChecks() throws {
        let mapping = try mapFixture("apps/v2-apps-id__marathon-consul__host-4-ports-2-healthchecks__m0.15.json")
        #expect(
            mapping.services == [
                marathonService("/myapp", domains: ["myapp"], port: 10002),
                marathonService("/myapp/port1", domains: ["myapp"], port: 1),
                marathonService("/myapp/port2", domains: ["myapp"], port: 2),
                marathonService("/myapp/port3", domains: ["myapp"], port: 3),
            ]
        )
    }

    @Test func docsHostLegacyPorts() throws {
        let mapping = try mapFixture("apps/v2-apps__marathon-docs-raml__host-legacy-ports__m1.4.json")
        #expect(
            mapping.services == [
                marathonService("/myapp", domains: ["myapp"], port: 10013),
                marathonService("/myapp/port1", domains: ["myapp"], port: 10015),
            ]
        )
    }

    @Test func httpPortRuleOfTheOriginal() throws {
        let mapping = try mapFixture(
            "apps/v2-apps-embed-tasks__marathon-lb__docker-BRIDGE-haproxy-labels-http-healthchecks__m0.15.json",
            options: MarathonOptions(httpPort: 10000)
        )
        // Both say HAPROXY_0_PORT=10000.
        #expect(mapping.services.map(\.applicationProtocol) == [.http, .http])
    }

    // MARK: App definitions (no tasks yet)

    @Test func kitchenSinkDefinition() throws {
        let mapping = try mapDefinition("app__marathon-docs-raml__ipAddress-discovery-BRIDGE-portMappings__m1.4.json")
        #expect(mapping.services == [marathonService("/foo", domains: ["foo"], port: 10019)])
        #expect(mapping.problems.isEmpty)
    }

    /// marathon-lb CI apps: no service port assigned by Marathon (`port: 0` / no `servicePort`) but a
    /// vhost, so each is an HTTP virtual host; `HAPROXY_0_PORT` gives the service port marathon-lb used.
    @Test(arguments: [
        ("app__marathon-lb-ci__docker-HOST-portDefinitions.json", "/nginx-docker-host", "nginx-docker-host.test", 10300),
        ("app__marathon-lb-ci__docker-container-bridge__m1.5.json", "/nginx-docker-bridge", "nginx-docker-bridge.test", 10100),
        (
            "app__marathon-lb-ci__docker-ip-per-container-ipAddress-networkName__m1.4-style.json", "/nginx-docker-ippc",
            "nginx-docker-ippc.test", 10200
        ),
    ])
    func vhostDefinitionsWithoutServicePorts(_ file: String, _ id: String, _ vhost: String, _ port: UInt16) throws {
        let mapping = try mapDefinition(file)
        #expect(mapping.services == [marathonService(id, domains: [vhost], app: .http, port: port)])
        #expect(mapping.problems.isEmpty)
    }

    /// A `container` network without mappings or discovery ports has nothing to expose; its vhost label
    /// names a port that does not exist (marathon-lb's CI worked around it with a raw server line,
    /// which proxym never reads).
    @Test func ucrDefinitionWithoutPorts() throws {
        let mapping = try mapDefinition("app__marathon-lb-ci__ucr-container-network-dcos__m1.5.json")
        #expect(mapping.services.isEmpty)
        #expect(
            mapping.problems == [
                #"app "/nginx-ucr-ippc": label HAPROXY_0_BACKEND_SERVER_OPTIONS: marathon-lb label not supported by proxym; ignored"#,
                #"app "/nginx-ucr-ippc": label HAPROXY_0_ENABLED: the app has no port 0 (it has 0); ignored"#,
                #"app "/nginx-ucr-ippc": label HAPROXY_0_PORT: the app has no port 0 (it has 0); ignored"#,
                #"app "/nginx-ucr-ippc": label HAPROXY_0_VHOST: the app has no port 0 (it has 0); ignored"#,
            ]
        )
    }

    /// IP-per-task: the task's own address and the container port; while it has none, the agent and a
    /// host port if the mapping has one; otherwise no backend.
    @Test func ipPerTaskBackends() throws {
        var snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.appsBody(
                wrapping: MarathonFixtures.bytes(
                    "app-definitions/app__marathon-lb-ci__docker-ip-per-container-ipAddress-networkName__m1.4-style.json"
                )
            )
        )
        snapshot.apps[0].tasks = [
            MarathonTask(id: "t1", host: "agent-1.mesos", ports: [], ipAddresses: ["9.0.0.5"], state: "TASK_RUNNING"),
            MarathonTask(id: "t2", host: "agent-2.mesos", ports: [], ipAddresses: ["fd00::7"]),
            MarathonTask(id: "t3", host: "agent-3.mesos", ports: [31000]),  // no address yet, no host port mapping
        ]
        #expect(
            mapped(snapshot).services == [
                marathonService(
                    "/nginx-docker-ippc",
                    domains: ["nginx-docker-ippc.test"],
                    app: .http,
                    port: 10200,
                    hosts: [("9.0.0.5", 80), ("fd00::7", 80)]
                )
            ]
        )
        // With a host port in the mapping, a task without its own address is reached through the agent.
        snapshot.apps[0].portMappings = [
            MarathonApp.PortMapping(containerPort: 53, protocol: "udp"),
            MarathonApp.PortMapping(containerPort: 80, hostPort: 0, servicePort: 10200),
        ]
        let services = mapped(snapshot).services
        #expect(services.map(\.id.rawValue) == ["/nginx-docker-ippc", "/nginx-docker-ippc/port1"])
        #expect(services.first?.hosts.map(\.description) == ["9.0.0.5:53", "[fd00::7]:53"])
        #expect(services.last?.hosts.map(\.description) == ["9.0.0.5:80", "[fd00::7]:80", "agent-3.mesos:31000"])
    }

    @Test func discoveryPortsOfIPPerTask() throws {
        let snapshot = MarathonSnapshot(apps: [
            MarathonApp(
                id: "/dns",
                labels: ["HAPROXY_1_VHOST": "dns-admin.example.com"],
                networkMode: .container,
                discoveryPorts: [.init(port: 53, protocol: "udp"), .init(port: 8080, protocol: "tcp")],
                tasks: [MarathonTask(id: "t", ipAddresses: ["10.9.0.1"])]
            )
        ])
        let mapping = mapped(snapshot)
        #expect(
            mapping.services == [
                marathonService(
                    "/dns/port1",
                    domains: ["dns-admin.example.com"],
                    app: .http,
                    port: 80,
                    hosts: [("10.9.0.1", 8080)]
                )
            ]
        )
        #expect(
            mapping.problems == [
                #"app "/dns": port 0 has no service port; skipped (give it a virtual host with HAPROXY_0_VHOST or proxym.port.0.domains to serve it over HTTP)"#
            ]
        )
    }

    // MARK: /v2/apps + /v2/tasks

    func joined(_ appsJSON: String, tasksFile: String) throws -> MarathonSnapshot {
        try MarathonApps.decode(apps: Array(appsJSON.utf8), tasks: MarathonFixtures.bytes("tasks/" + tasksFile))
    }

    /// `/v2/apps` here is hand-written; the registry's mapping has no service port, which the tasks'
    /// `servicePorts` then give.
    @Test(arguments: [
        "v2-tasks__marathon-docs-raml__m0.15-1.5.json",
        "v2-tasks__marathon-docs-raml__state-region-zone-role__m1.10.json",
    ])
    func tasksJoinedWithApps(_ file: String) throws {
        let snapshot = try joined(
            #"""
            {"apps": [
              {"id": "/frontend-foosball", "portDefinitions": [{"port": 10019, "protocol": "tcp"}]},
              {"id": "/tools/docker/registry", "container": {"type": "DOCKER", "docker": {"network": "BRIDGE",
                "portMappings": [{"containerPort": 5000, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}}}
            ]}
            """#,
            tasksFile: file
        )
        let mapping = mapped(snapshot)
        #expect(
            mapping.services == [
                marathonService(
                    "/frontend-foosball",
                    domains: ["frontend-foosball"],
                    port: 10019,
                    hosts: [("srv4.example.com", 31292)]
                ),
                marathonService(
                    "/tools/docker/registry",
                    domains: ["registry.docker.tools"],
                    port: 5000,
                    hosts: [("srv2.example.com", 31721)]
                ),
            ]
        )
        #expect(mapping.problems.isEmpty && snapshot.problems.isEmpty)
    }

    @Test func stagingTaskIsNotRouted() throws {
        let snapshot = try joined(
            #"{"apps": [{"id": "/minecraft/survival-world", "portDefinitions": [{"port": 25565}]}]}"#,
            tasksFile: "v2-apps-id-tasks__marathon-docs-raml__m1.10.json"
        )
        #expect(
            mapped(snapshot).services == [
                marathonService("/minecraft/survival-world", domains: ["survival-world.minecraft"], port: 25565)
            ]
        )
    }

    @Test(arguments: [
        "v2-tasks__marathon-consul__one-with-hc-one-without__m0.15.json",
        "v2-tasks__marathon-consul__task-id-with-incarnation__m1.9.json",
    ])
    func tasksWithAndWithoutResults(_ file: String) throws {
        let checked = try joined(
            #"{"apps": [{"id": "/test", "ports": [10000], "healthChecks": [{"protocol": "HTTP"}]}]}"#,
            tasksFile: file
        )
        #expect(
            mapped(checked).services == [
                marathonService("/test", domains: ["test"], port: 10000, hosts: [("192.168.2.114", 31315)])
            ]
        )
        let unchecked = try joined(#"{"apps": [{"id": "/test", "ports": [10000]}]}"#, tasksFile: file)
        #expect(
            mapped(unchecked).services == [
                marathonService(
                    "/test",
                    domains: ["test"],
                    port: 10000,
                    hosts: [("192.168.2.114", 31315), ("192.168.2.114", 31797)]
                )
            ]
        )
    }

    @Test func bridgedWebappTasks() throws {
        let snapshot = try joined(
            #"""
            {"apps": [{"id": "/bridged-webapp", "healthChecks": [{"protocol": "HTTP", "portIndex": 0}],
              "container": {"docker": {"network": "BRIDGE", "portMappings": [{"containerPort": 8080, "hostPort": 0, "servicePort": 9000, "protocol": "tcp"}]}}}]}
            """#,
            tasksFile: "v2-tasks__marathon-docs__bridged-webapp-servicePorts-healthCheckResults__m0.7-1.3.json"
        )
        #expect(
            mapped(snapshot).services == [
                marathonService(
                    "/bridged-webapp",
                    domains: ["bridged-webapp"],
                    port: 9000,
                    hosts: [("10.141.141.10", 31000), ("10.141.141.10", 31001)]
                )
            ]
        )
    }
}

@Suite("Marathon mapping: rules")
struct MarathonMapperRuleTests {
    static func app(
        _ id: String = "/shop/web",
        labels: [String: String] = [:],
        ports: [Int] = [10000],
        tasks: [MarathonTask] = [MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000, 31001, 31002])]
    ) -> MarathonApp {
        MarathonApp(id: id, labels: labels, portDefinitions: ports.map { .init(port: $0) }, tasks: tasks)
    }

    @Test func domainStrategies() throws {
        let snapshot = MarathonSnapshot(apps: [Self.app("/com/example/webapp"), Self.app("/x/webapp2", ports: [10001])])
        #expect(
            mapped(snapshot).services.map { $0.domains.map(\.rawValue) } == [["webapp.example.com"], ["webapp2.x"]]
        )
        let suffix = MarathonOptions(domainStrategy: .lastPartOfIdAndSuffix(try DomainName("example.com")))
        #expect(
            mapped(snapshot, options: suffix).services.map { $0.domains.map(\.rawValue) }
                == [["webapp.example.com"], ["webapp2.example.com"]]
        )
    }

    @Test func labelDomainsAndVirtualHosts() throws {
        let snapshot = MarathonSnapshot(apps: [
            Self.app(
                labels: ["proxym.domains": "shop.example.com, www.shop.example.com"],
                ports: [10000, 10001, 10002]
            ),
            Self.app(
                "/api",
                labels: ["HAPROXY_0_VHOST": "api.example.com", "HAPROXY_2_VHOST": "admin.example.com,"],
                ports: [10010, 10011, 10012]
            ),
            Self.app(
                "/both",
                labels: [
                    "proxym.domains": "both.example.com", "HAPROXY_0_VHOST": "ignored.example.com",
                    "proxym.port.1.domains": "one.example.com", "proxym.port.2.protocol": "HTTP",
                    "proxym.port.0.protocol": "tcp",
                ],
                ports: [10020, 10021, 10022]
            ),
        ])
        let mapping = mapped(snapshot)
        let hosts = [("10.0.0.1", 31000)]
        #expect(
            mapping.services == [
                // proxym.domains: the vhost of port 0 and the domains of every port.
                marathonService(
                    "/shop/web",
                    domains: ["shop.example.com", "www.shop.example.com"],
                    app: .http,
                    port: 10000,
                    hosts: hosts
                ),
                marathonService(
                    "/shop/web/port1",
                    domains: ["shop.example.com", "www.shop.example.com"],
                    port: 10001,
                    hosts: [("10.0.0.1", 31001)]
                ),
                marathonService(
                    "/shop/web/port2",
                    domains: ["shop.example.com", "www.shop.example.com"],
                    port: 10002,
                    hosts: [("10.0.0.1", 31002)]
                ),
                marathonService("/api", domains: ["api.example.com"], app: .http, port: 10010, hosts: hosts),
                marathonService("/api/port1", domains: ["api"], port: 10011, hosts: [("10.0.0.1", 31001)]),
                marathonService(
                    "/api/port2",
                    domains: ["admin.example.com"],
                    app: .http,
                    port: 10012,
                    hosts: [("10.0.0.1", 31002)]
                ),
                // proxym's labels win over marathon-lb's; an explicit protocol wins over the vhost rule.
                marathonService("/both", domains: ["both.example.com"], port: 10020, hosts: hosts),
                marathonService(
                    "/both/port1",
                    domains: ["one.example.com"],
                    app: .http,
                    port: 10021,
                    hosts: [("10.0.0.1", 31001)]
                ),
                marathonService(
                    "/both/port2",
                    domains: ["both.example.com"],
                    app: .http,
                    port: 10022,
                    hosts: [("10.0.0.1", 31002)]
                ),
            ]
        )
        #expect(mapping.problems.isEmpty)
    }

    @Test(arguments: [
        (["proxym.domains": "a.example.com\nbind :22"], #"label proxym.domains: may only contain letters"#),
        (["proxym.domains": "a.example.com,\nb.example.com"], "label proxym.domains: may only contain letters"),
    ])
    func hostileLabelsCostTheirAppOnly(_ labels: [String: String], _ reason: String) throws {
        let snapshot = MarathonSnapshot(apps: [
            Self.app("/good-before"), Self.app("/evil", labels: labels, ports: [10001]),
            Self.app("/good-after", ports: [10002]),
        ])
        let mapping = mapped(snapshot)
        #expect(mapping.services.map(\.id.rawValue) == ["/good-before", "/good-after"])
        #expect(mapping.skippedApps == ["/evil"])
        #expect(mapping.problems.count == 1)
        #expect(mapping.problems.first?.hasPrefix(#"app "/evil": skipped: \#(reason)"#) == true, "\(mapping.problems)")
        #expect(mapping.problems.allSatisfy { !$0.contains("\n") })
    }

    @Test(arguments: [
        ("/shop;evil", "id: may only contain letters, digits"), ("/", "id: has no name after '/'"),
        ("/a//b", "id: has an empty path segment"), ("/" + String(repeating: "a", count: 300), "id: longer than 255"),
        ("/" + String(repeating: "a", count: 64), "domain derived from the app id: has a label longer than 63"),
    ])
    func hostileIDsCostTheirAppOnly(_ id: String, _ reason: String) {
        let mapping = mapped(MarathonSnapshot(apps: [Self.app(id), Self.app("/ok", ports: [10001])]))
        #expect(mapping.services.map(\.id.rawValue) == ["/ok"])
        #expect(mapping.skippedApps == [id])
        #expect(
            mapping.problems.count == 1 && mapping.problems[0].contains("skipped: " + reason),
            "\(mapping.problems)"
        )
    }

    @Test func longIDWhosePortIDIsTooLong() {
        let id = "/" + String(repeating: "a", count: 250)
        let app = MarathonApp(
            id: id,
            labels: ["proxym.domains": "long.example.com"],
            portDefinitions: [.init(port: 1), .init(port: 2)]
        )
        let mapping = mapped(MarathonSnapshot(apps: [app]))
        #expect(mapping.services.isEmpty && mapping.skippedApps == [id])
    }

    @Test func hostileTaskAddressesCostTheirTaskOnly() {
        let snapshot = MarathonSnapshot(apps: [
            Self.app(tasks: [
                MarathonTask(id: "t1", host: "10.0.0.1", ports: [31000]),
                MarathonTask(id: "t2", host: "10.0.0.2:31000", ports: [31001]),
                MarathonTask(id: "t3", host: "agent 3\nserver x", ports: [31002]),
                MarathonTask(id: "t4", host: "Agent-4.Mesos", ports: [31003]),
                MarathonTask(id: "t5", host: nil, ports: [31004]),
                MarathonTask(id: "t6", host: "10.0.0.6", ports: []),
                MarathonTask(id: "t7", host: "10.0.0.7", ports: [0]),
            ])
        ])
        let mapping = mapped(snapshot)
        #expect(mapping.services.first?.hosts.map(\.description) == ["10.0.0.1:31000", "agent-4.mesos:31003"])
        #expect(
            mapping.problems == [
                #"app "/shop/web": task "t2": host: must be an address without a port (got "10.0.0.2:31000"); task skipped"#,
                #"app "/shop/web": task "t3": host: is neither an IP address nor a host name (got "agent 3\nserver x"); task skipped"#,
            ]
        )
    }

    @Test func groupFilter() {
        let snapshot = MarathonSnapshot(apps: [
            Self.app("/ext", labels: ["HAPROXY_GROUP": "external"]),
            Self.app("/both", labels: ["HAPROXY_GROUP": "internal, external"], ports: [10001]),
            Self.app("/int", labels: ["HAPROXY_GROUP": "internal"], ports: [10002]),
            Self.app("/none", ports: [10003]),
        ])
        func ids(_ group: String?) -> [String] {
            mapped(snapshot, options: MarathonOptions(group: group)).services.map(\.id.rawValue)
        }
        #expect(ids(nil) == ["/ext", "/both", "/int", "/none"])
        #expect(ids("*") == ["/ext", "/both", "/int", "/none"])
        #expect(ids("external") == ["/ext", "/both"])
        #expect(ids("internal") == ["/both", "/int"])
        #expect(ids("extern") == [])
    }

    @Test func labelConfigIsGated() {
        let raw =
            "option httpchk GET /health\n  http-check expect status 200\r\n\u{7}timeout\tserver 5s\n\n\u{85}x\u{2028}y"
        let snapshot = MarathonSnapshot(apps: [
            Self.app(labels: ["proxym.port.1.config": raw], ports: [10000, 10001]),
            Self.app("/blank", labels: ["proxym.port.0.config": " \n\t\n"], ports: [10002]),
        ])
        let off = mapped(snapshot)
        #expect(off.configLines.isEmpty)
        #expect(
            off.problems == [
                #"app "/shop/web": label proxym.port.1.config ignored (set PROXYM_MARATHON_LABEL_CONFIG=1 to allow raw HAProxy lines from labels)"#,
                #"app "/blank": label proxym.port.0.config ignored (set PROXYM_MARATHON_LABEL_CONFIG=1 to allow raw HAProxy lines from labels)"#,
            ]
        )
        let on = mapped(snapshot, options: MarathonOptions(allowLabelConfig: true))
        #expect(on.problems.isEmpty)
        #expect(
            on.configLines == [
                try! ServiceID("/shop/web/port1"): [
                    "option httpchk GET /health", "http-check expect status 200", "timeout server 5s", "x", "y",
                ]
            ]
        )
        #expect(on.services == off.services)
    }

    @Test func labelWarnings() {
        let snapshot = MarathonSnapshot(apps: [
            Self.app(labels: [
                "proxym.domain": "typo.example.com", "proxym.port.5.protocol": "http", "proxym.port.x.protocol": "http",
                "proxym.port.0.colour": "red", "HAPROXY_3_VHOST": "three.example.com", "HAPROXY_0_BIND_OPTIONS": "accept-proxy",
                "HAPROXY_01_VHOST": "ignored", "proxym.port.00.domains": "zero.example.com",
            ])
        ])
        let mapping = mapped(snapshot)
        #expect(mapping.services.count == 1 && mapping.skippedApps.isEmpty)
        #expect(
            mapping.problems == [
                #"app "/shop/web": label HAPROXY_0_BIND_OPTIONS: marathon-lb label not supported by proxym; ignored"#,
                #"app "/shop/web": label HAPROXY_3_VHOST: the app has no port 3 (it has 1); ignored"#,
                #"app "/shop/web": label proxym.domain: unknown proxym label; ignored"#,
                #"app "/shop/web": label proxym.port.0.colour: unknown proxym label; ignored"#,
                #"app "/shop/web": label proxym.port.00.domains: not proxym.port.<n>.<setting>; ignored"#,
                #"app "/shop/web": label proxym.port.5.protocol: the app has no port 5 (it has 1) and no port whose container or host port is 5; ignored"#,
                #"app "/shop/web": label proxym.port.x.protocol: not proxym.port.<n>.<setting>; ignored"#,
            ]
        )
    }

    @Test func transportProtocols() {
        let app = MarathonApp(
            id: "/p",
            networkMode: .bridge,
            portMappings: [
                .init(containerPort: 1, servicePort: 10001, protocol: "tcp"),
                .init(containerPort: 2, servicePort: 10002, protocol: "udp"),
                .init(containerPort: 3, servicePort: 10003, protocol: "udp,tcp"),
                .init(containerPort: 4, servicePort: 10004),
                .init(containerPort: 5, servicePort: 10005, protocol: "sctp"),
            ]
        )
        let mapping = mapped(MarathonSnapshot(apps: [app]))
        #expect(mapping.services.map(\.transport) == [.tcp, .udp, .tcp, .tcp])
        #expect(mapping.problems == [#"app "/p": port 4: unknown protocol "sctp"; port skipped"#])
    }

    @Test func duplicateAppIDsKeepTheFirst() {
        let mapping = mapped(MarathonSnapshot(apps: [Self.app("/a"), Self.app("/a", ports: [10001])]))
        #expect(mapping.services.map(\.servicePort) == [10000])
        #expect(mapping.problems == [#"app "/a": listed twice; the first is used"#])
    }

    @Test func appsWithoutPortsGiveNothing() {
        let mapping = mapped(MarathonSnapshot(apps: [Self.app("/worker", ports: [])]))
        #expect(mapping.services.isEmpty && mapping.problems.isEmpty)
    }

    @Test func bigSyntheticBodyMapsEveryApp() throws {
        let snapshot = try MarathonApps.decode(appsWithTasks: SyntheticMarathon.body(apps: 300, tasksPerApp: 3))
        let mapping = mapped(snapshot)
        #expect(mapping.services.count == 300)
        #expect(mapping.services[7].domains.map(\.rawValue) == ["app-7.team-7.example.com"])
        #expect(mapping.services[7].hosts.map(\.description) == ["10.0.7.1:20021", "10.0.7.2:20022", "10.0.7.3:20023"])
        #expect(Set(mapping.services.map(\.id)).count == 300)
    }
}
