import ProxymGenerators
import ProxymJSON
import ProxymTestSupport
import Testing

@Suite("Marathon decoding: fixtures")
struct MarathonDecodeFixtureTests {
    typealias App = MarathonApp
    typealias Mapping = MarathonApp.PortMapping
    typealias Definition = MarathonApp.PortDefinition

    @Test func consulBridgeTcpUdp() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-embed-tasks__marathon-consul__docker-BRIDGE-tcp-udp-one-task-without-hc-results__m0.x.json"
            )
        )
        #expect(snapshot.problems.isEmpty)
        #expect(
            snapshot.apps.map(\.withoutNewFields) == [
                App(
                    id: "/bridged-webapp",
                    healthCheckCount: 1,
                    networkMode: .bridge,
                    portDefinitions: [Definition(port: 10000), Definition(port: 10001)],
                    portMappings: [
                        Mapping(containerPort: 8080, hostPort: 0, servicePort: 9000, protocol: "tcp"),
                        Mapping(containerPort: 161, hostPort: 0, protocol: "udp"),
                    ],
                    tasks: [
                        MarathonTask(
                            id: "test.47de43bd-1a81-11e5-bdb6-e6cb6734eaf8",
                            appID: "/test",
                            host: "192.168.2.114",
                            ports: [31315],
                            healthResults: [true]
                        ),
                        MarathonTask(
                            id: "test.4453212c-1a81-11e5-bdb6-e6cb6734eaf8",
                            appID: "/test",
                            host: "192.168.2.114",
                            ports: [31797]
                        ),
                    ]
                )
            ]
        )
    }

    @Test func marathonLBMesosHTTPHealthChecks() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-mesos-http-healthchecks__m1.5.json"
            )
        )
        #expect(snapshot.problems.isEmpty)
        let labels = [
            "HAPROXY_DEPLOYMENT_GROUP": "nginx", "HAPROXY_GROUP": "external", "HAPROXY_DEPLOYMENT_COLOUR": "green",
            "HAPROXY_DEPLOYMENT_TARGET_INSTANCES": "20", "HAPROXY_DEPLOYMENT_STARTED_AT": "2016-02-01T14:13:42.499089",
            "HAPROXY_DEPLOYMENT_ALT_PORT": "10001", "HAPROXY_0_PORT": "10000", "HAPROXY_APP_ID": "nginx",
        ]
        func task(_ id: String, _ ip: String, _ port: Int) -> MarathonTask {
            MarathonTask(
                id: "nginx-green.\(id)-68a7-11e7-a229-e6a514ca0c21",
                appID: "/nginx-green",
                host: "10.0.6.25",
                ports: [port],
                ipAddresses: [ip],
                state: "TASK_RUNNING",
                healthResults: [true]
            )
        }
        #expect(
            snapshot.apps.map(\.withoutNewFields) == [
                App(
                    id: "/nginx-green",
                    labels: labels,
                    healthCheckCount: 1,
                    networkMode: .bridge,
                    portMappings: [Mapping(containerPort: 8080, hostPort: 0, servicePort: 10000, protocol: "tcp")],
                    tasks: [
                        task("01da9a15", "172.17.0.2", 16916), task("01dc95e6", "172.17.0.2", 31184),
                        task("01bf22d4", "172.17.0.3", 23336),
                    ]
                )
            ]
        )
    }

    @Test func marathonLBContainerBridgeVhost() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-networks-haproxy-vhost__m1.5.json"
            )
        )
        #expect(snapshot.problems.isEmpty)
        #expect(
            snapshot.apps == [
                App(
                    id: "/pywebserver",
                    labels: ["HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "myvhost.com"],
                    networkMode: .bridge,
                    portMappings: [Mapping(containerPort: 80, hostPort: 0, servicePort: 10101, protocol: "tcp")],
                    tasks: [
                        MarathonTask(
                            id: "pywebserver.8cad6a69-6ca8-11e7-beb2-0e2beceebfcc",
                            appID: "/pywebserver",
                            host: "10.0.2.148",
                            ports: [1565],
                            ipAddresses: ["172.17.0.2"],
                            state: "TASK_RUNNING"
                        )
                    ]
                )
            ]
        )
    }

    @Test func marathonLBDockerBridgeZDD() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-embed-tasks__marathon-lb__docker-BRIDGE-haproxy-labels-http-healthchecks__m0.15.json"
            )
        )
        #expect(snapshot.problems.isEmpty)
        #expect(snapshot.apps.map(\.id) == ["/nginx-green", "/nginx-blue"])
        let green = snapshot.apps[0]
        #expect(green.networkMode == .bridge && green.healthCheckCount == 1)
        #expect(green.portDefinitions == [Definition(port: 10000)])
        #expect(green.portMappings == [Mapping(containerPort: 8080, hostPort: 0, servicePort: 10000, protocol: "tcp")])
        #expect(green.labels["HAPROXY_DEPLOYMENT_COLOUR"] == "green" && green.labels.count == 8)
        #expect(green.tasks.map(\.ports) == [[16916], [31184], [23336]])
        #expect(green.tasks.map(\.ipAddresses) == [["172.17.1.72"], ["172.17.1.71"], ["172.17.1.73"]])
        #expect(green.tasks.allSatisfy { $0.state == nil && $0.healthResults == [true] && $0.host == "10.0.6.25" })
        let blue = snapshot.apps[1]
        #expect(blue.portDefinitions == [Definition(port: 10001)])  // from the legacy `ports`
        #expect(blue.tasks.map(\.id) == ["nginx-blue.3a58a46a-c937-11e5-9836-026ee08d9f6f"])
        #expect(blue.tasks.map(\.ports) == [[25724]])
    }

    @Test func appByIDWrapper() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-id__marathon-consul__host-4-ports-2-healthchecks__m0.15.json"
            )
        )
        #expect(snapshot.problems.isEmpty)
        #expect(
            snapshot.apps.map(\.withoutNewFields) == [
                App(
                    id: "/myapp",
                    healthCheckCount: 2,
                    networkMode: .host,
                    portDefinitions: [10002, 1, 2, 3].map { Definition(port: $0) },
                    tasks: [
                        MarathonTask(
                            id: "myapp.cc49ccc1-9812-11e5-a06e-56847afe9799",
                            appID: "/myapp",
                            host: "10.141.141.10",
                            ports: [31678, 31679, 31680, 31681],
                            healthResults: [true]
                        ),
                        MarathonTask(
                            id: "myapp.c8b449f0-9812-11e5-a06e-56847afe9799",
                            appID: "/myapp",
                            host: "10.141.141.10",
                            ports: [31307, 31308, 31309, 31310],
                            healthResults: [true]
                        ),
                    ]
                )
            ]
        )
    }

    @Test func docsHostLegacyPortsWithoutTasks() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes("apps/v2-apps__marathon-docs-raml__host-legacy-ports__m1.4.json")
        )
        #expect(snapshot.problems.isEmpty)
        #expect(
            snapshot.apps.map(\.withoutNewFields) == [
                App(
                    id: "/myapp",
                    networkMode: .host,
                    portDefinitions: [Definition(port: 10013), Definition(port: 10015)]
                )
            ]
        )
    }

    // MARK: App definitions (request bodies), wrapped as the single app of a /v2/apps body

    func definition(_ file: String) throws -> MarathonApp {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.appsBody(wrapping: MarathonFixtures.bytes("app-definitions/" + file))
        )
        #expect(snapshot.problems.isEmpty)
        return try #require(snapshot.apps.first)
    }

    @Test func kitchenSinkDefinitionIsBridgeDespiteIPAddress() throws {
        let app = try definition("app__marathon-docs-raml__ipAddress-discovery-BRIDGE-portMappings__m1.4.json")
        #expect(
            app.withoutNewFields
                == App(
                    id: "/foo",
                    healthCheckCount: 1,
                    networkMode: .bridge,
                    portDefinitions: [Definition(port: 0, protocol: "tcp")],
                    portMappings: [Mapping(containerPort: 80, hostPort: 0, servicePort: 10019, protocol: "tcp")],
                    discoveryPorts: [Definition(port: 8080, protocol: "tcp")]
                )
        )
    }

    @Test func dockerHostDefinition() throws {
        let app = try definition("app__marathon-lb-ci__docker-HOST-portDefinitions.json")
        #expect(app.networkMode == .host)
        #expect(app.portDefinitions == [Definition(port: 0, protocol: "tcp")])
        #expect(app.labels["HAPROXY_0_VHOST"] == "nginx-docker-host.test" && app.labels.count == 4)
    }

    @Test func containerBridgeDefinition() throws {
        let app = try definition("app__marathon-lb-ci__docker-container-bridge__m1.5.json")
        #expect(app.networkMode == .bridge)
        #expect(app.portMappings == [Mapping(containerPort: 80, hostPort: 0, protocol: "tcp")])
    }

    @Test func ipPerContainerDefinition() throws {
        let app = try definition("app__marathon-lb-ci__docker-ip-per-container-ipAddress-networkName__m1.4-style.json")
        #expect(app.networkMode == .container)
        #expect(app.portMappings == [Mapping(containerPort: 80)])
        #expect(app.discoveryPorts.isEmpty)
    }

    @Test func ucrContainerNetworkDefinition() throws {
        let app = try definition("app__marathon-lb-ci__ucr-container-network-dcos__m1.5.json")
        #expect(app.networkMode == .container)
        #expect(app.portMappings.isEmpty && app.portDefinitions.isEmpty && app.discoveryPorts.isEmpty)
        // A label with a raw newline in it is kept as data; it is never used (not a label proxym reads).
        #expect(app.labels["HAPROXY_0_BACKEND_SERVER_OPTIONS"]?.contains("\n") == true)
    }

    // MARK: /v2/tasks

    @Test func tasksWithServicePorts() throws {
        for file in [
            "tasks/v2-tasks__marathon-docs-raml__m0.15-1.5.json",
            "tasks/v2-tasks__marathon-docs-raml__state-region-zone-role__m1.10.json",
        ] {
            let (tasks, problems) = try MarathonApps.decode(tasks: MarathonFixtures.bytes(file))
            #expect(problems.isEmpty)
            let state: String? = file.contains("state") ? "TASK_RUNNING" : nil
            #expect(
                tasks == [
                    MarathonTask(
                        id: "frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b",
                        appID: "/frontend-foosball",
                        host: "srv4.example.com",
                        ports: [31292],
                        servicePorts: [10019],
                        state: state
                    ),
                    MarathonTask(
                        id: "tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed",
                        appID: "/tools/docker/registry",
                        host: "srv2.example.com",
                        ports: [31721],
                        servicePorts: [5000],
                        state: state
                    ),
                ],
                "\(file)"
            )
        }
    }

    @Test func tasksOfOneAppStaging() throws {
        let (tasks, problems) = try MarathonApps.decode(
            tasks: MarathonFixtures.bytes("tasks/v2-apps-id-tasks__marathon-docs-raml__m1.10.json")
        )
        #expect(problems.isEmpty)
        #expect(
            tasks == [
                MarathonTask(
                    id: "minecraft_survival-world.instance-564bd685-4c30-11e5-98c1-be5b2935a987",
                    appID: "/minecraft/survival-world",
                    host: "srv7.hw.ca1.mesosphere.com",
                    ports: [31756],
                    state: "TASK_STAGING"
                )
            ]
        )
        #expect(!tasks[0].isRunning)
    }

    @Test func tasksWithAndWithoutHealthResults() throws {
        for (file, suffix) in [
            ("tasks/v2-tasks__marathon-consul__one-with-hc-one-without__m0.15.json", ""),
            ("tasks/v2-tasks__marathon-consul__task-id-with-incarnation__m1.9.json", "._app.1"),
        ] {
            let (tasks, problems) = try MarathonApps.decode(tasks: MarathonFixtures.bytes(file))
            #expect(problems.isEmpty)
            #expect(
                tasks == [
                    MarathonTask(
                        id: "test.47de43bd-1a81-11e5-bdb6-e6cb6734eaf8" + suffix,
                        appID: "/test",
                        host: "192.168.2.114",
                        ports: [31315],
                        healthResults: [true]
                    ),
                    MarathonTask(
                        id: "test.4453212c-1a81-11e5-bdb6-e6cb6734eaf8" + suffix,
                        appID: "/test",
                        host: "192.168.2.114",
                        ports: [31797]
                    ),
                ],
                "\(file)"
            )
        }
    }

    @Test func tasksOfBridgedWebapp() throws {
        let (tasks, problems) = try MarathonApps.decode(
            tasks: MarathonFixtures.bytes(
                "tasks/v2-tasks__marathon-docs__bridged-webapp-servicePorts-healthCheckResults__m0.7-1.3.json"
            )
        )
        #expect(problems.isEmpty)
        #expect(
            tasks.map(\.id) == [
                "bridged-webapp.eb76c51f-4b4a-11e4-ae49-56847afe9799",
                "bridged-webapp.ef0b5d91-4b4a-11e4-ae49-56847afe9799",
            ]
        )
        #expect(tasks.map(\.ports) == [[31000], [31001]])
        #expect(
            tasks.allSatisfy { $0.servicePorts == [9000] && $0.healthResults == [true] && $0.host == "10.141.141.10" }
        )
    }

    /// The deprecated `Accept: text/plain` form is never requested; fed to the decoder it is refused.
    @Test func textPlainTasksAreNotJSON() throws {
        let bytes = try MarathonFixtures.bytes("tasks/v2-tasks__marathon-docs__text-plain__m1.3.txt")
        #expect {
            _ = try MarathonApps.decode(tasks: bytes)
        } throws: { error in
            "\(error)".hasPrefix("/v2/tasks: invalid JSON: line 1, column 1:")
        }
    }

    /// Every file in the folders about apps and tasks is decoded by a test above (a new fixture without
    /// a test fails here).
    @Test func everyAppAndTaskFixtureIsCovered() throws {
        let covered: Set<String> = [
            "apps/v2-apps-embed-tasks__marathon-consul__docker-BRIDGE-tcp-udp-one-task-without-hc-results__m0.x.json",
            "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-mesos-http-healthchecks__m1.5.json",
            "apps/v2-apps-embed-tasks__marathon-lb__container-bridge-networks-haproxy-vhost__m1.5.json",
            "apps/v2-apps-embed-tasks__marathon-lb__docker-BRIDGE-haproxy-labels-http-healthchecks__m0.15.json",
            "apps/v2-apps-id__marathon-consul__host-4-ports-2-healthchecks__m0.15.json",
            "apps/v2-apps__marathon-docs-raml__host-legacy-ports__m1.4.json",
            "app-definitions/app__marathon-docs-raml__ipAddress-discovery-BRIDGE-portMappings__m1.4.json",
            "app-definitions/app__marathon-lb-ci__docker-HOST-portDefinitions.json",
            "app-definitions/app__marathon-lb-ci__docker-container-bridge__m1.5.json",
            "app-definitions/app__marathon-lb-ci__docker-ip-per-container-ipAddress-networkName__m1.4-style.json",
            "app-definitions/app__marathon-lb-ci__ucr-container-network-dcos__m1.5.json",
            "tasks/v2-apps-id-tasks__marathon-docs-raml__m1.10.json",
            "tasks/v2-tasks__marathon-consul__one-with-hc-one-without__m0.15.json",
            "tasks/v2-tasks__marathon-consul__task-id-with-incarnation__m1.9.json",
            "tasks/v2-tasks__marathon-docs-raml__m0.15-1.5.json",
            "tasks/v2-tasks__marathon-docs-raml__state-region-zone-role__m1.10.json",
            "tasks/v2-tasks__marathon-docs__bridged-webapp-servicePorts-healthCheckResults__m0.7-1.3.json",
            "tasks/v2-tasks__marathon-docs__text-plain__m1.3.txt",
        ]
        var present: Set<String> = []
        for folder in ["apps", "app-definitions", "tasks"] {
            for file in try MarathonFixtures.files(in: folder) { present.insert(folder + "/" + file) }
        }
        #expect(present == covered)
    }
}

@Suite("Marathon decoding: errors and recovery")
struct MarathonDecodeErrorTests {
    func decode(_ json: String) throws -> MarathonSnapshot {
        try MarathonApps.decode(appsWithTasks: Array(json.utf8))
    }

    @Test func oneBadAppCostsOnlyThatApp() throws {
        let snapshot = try decode(
            #"""
            {"apps": [
              {"id": "/a", "ports": [10000], "tasks": [{"id": "a.1", "host": "h", "ports": [31000]}]},
              {"id": "/b", "tasks": [{"id": "b.1", "ports": [31000]}, {"id": "b.2", "ports": "31001"}]},
              {"id": "/c", "ports": [10002]}
            ]}
            """#
        )
        #expect(snapshot.apps.map(\.id) == ["/a", "/c"])
        #expect(
            snapshot.problems == [
                #"apps[1].tasks[1].ports: expected an array, got a string (app "/b" skipped)"#
            ]
        )
    }

    @Test(arguments: [
        (#"{"apps": [42]}"#, #"apps[0]: expected an object, got a number (app skipped)"#),
        (#"{"apps": [{"ports": [1]}]}"#, #"apps[0].id: is required (app skipped)"#),
        (#"{"apps": [{"id": null}]}"#, #"apps[0].id: must not be null (app skipped)"#),
        (#"{"apps": [{"id": 7}]}"#, #"apps[0].id: expected a string, got a number (app skipped)"#),
        (
            #"{"apps": [{"id": "/x", "container": {"docker": {"portMappings": [{"servicePort": 70000}]}}}]}"#,
            #"apps[0].container.docker.portMappings[0].servicePort: expected a port number (0-65535), got 70000 (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "portDefinitions": [{"port": 80.5}]}]}"#,
            #"apps[0].portDefinitions[0].port: expected a port number (0-65535), got 80.5 (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "ports": [80, null]}]}"#,
            #"apps[0].ports[1]: expected a port number, got null (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "networks": [{"mode": "host"}, {"mode": "overlay"}]}]}"#,
            #"apps[0].networks[1].mode: unknown network mode "overlay" (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "networks": [null, {"mode": "overlay"}]}]}"#,
            #"apps[0].networks[1].mode: unknown network mode "overlay" (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "networks": [{}, "host"]}]}"#,
            #"apps[0].networks[1]: expected an object, got a string (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "labels": {"HAPROXY_GROUP": ["a"]}}]}"#,
            #"apps[0].labels.HAPROXY_GROUP: expected a string, got an array (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "healthChecks": {}}]}"#,
            #"apps[0].healthChecks: expected an array, got an object (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "tasks": [{"id": "t", "healthCheckResults": [{"alive": "yes"}]}]}]}"#,
            #"apps[0].tasks[0].healthCheckResults[0].alive: expected a boolean, got a string (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "tasks": [{"id": "t", "ipAddresses": [{"ipAddress": 10}]}]}]}"#,
            #"apps[0].tasks[0].ipAddresses[0].ipAddress: expected a string, got a number (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "tasks": [{"host": "h"}]}]}"#,
            #"apps[0].tasks[0].id: is required (app "/x" skipped)"#
        ),
        (
            #"{"apps": [{"id": "/x", "ipAddress": {"discovery": {"ports": [{"number": -1}]}}}]}"#,
            #"apps[0].ipAddress.discovery.ports[0].number: expected a port number (0-65535), got -1 (app "/x" skipped)"#
        ),
        (#"{"app": {"id": "/x", "tasks": 3}}"#, #"app.tasks: expected an array, got a number (app "/x" skipped)"#),
    ])
    func fieldErrorsNameTheirPath(_ json: String, _ problem: String) throws {
        let snapshot = try decode(json)
        #expect(snapshot.apps.isEmpty)
        #expect(snapshot.problems == [problem])
    }

    @Test(arguments: [
        ("", "/v2/apps: invalid JSON: line 1, column 1: unexpected end of input, expected a JSON value"),
        (
            #"{"apps": [{"id": "/a"}, {"id": "/b""#,
            "/v2/apps: invalid JSON: line 1, column 36: unexpected end of input, expected ',' or '}'"
        ),
        (#"{"apps": [{"id": "/a", "ports": [1,]}]}"#, "/v2/apps: invalid JSON: line 1, column 36: trailing comma"),
        // The bad app is skipped, but the syntax error after its bad field still ends the body.
        (
            #"{"apps": [{"id": "/a", "ports": "x", "y": tru}]}"#,
            "/v2/apps: invalid JSON: line 1, column 43: invalid literal, expected 'true'"
        ),
        (#"["apps"]"#, "/v2/apps: expected an object, got an array"),
        (#"{"message": "There is no leader"}"#, #"/v2/apps: expected an object with "apps" (or "app")"#),
        (#"{"apps": {}}"#, "/v2/apps: apps: expected an array, got an object"),
        (
            #"{"apps": []} x"#,
            "/v2/apps: invalid JSON: line 1, column 14: unexpected character 'x' after the JSON value"
        ),
        (#"{"apps": [] // none"#, "/v2/apps: invalid JSON: line 1, column 13: expected ',' or '}' after object member"),
    ])
    func wholeBodyErrors(_ json: String, _ prefix: String) {
        #expect {
            _ = try decode(json)
        } throws: { error in
            "\(error)".hasPrefix(prefix)
        }
    }

    @Test func nullMeansAbsentAndUnknownKeysAreIgnored() throws {
        let snapshot = try decode(
            #"""
            {"apps": [{"id": "/x", "labels": null, "ports": null, "portDefinitions": null, "container": null,
              "networks": null, "ipAddress": null, "healthChecks": null, "tasks": null, "whatever": {"deep": [1, {}]},
              "labels2": {"HAPROXY_GROUP": 1}}],
             "extra": true}
            """#
        )
        #expect(snapshot.apps == [MarathonApp(id: "/x")])
        #expect(snapshot.problems.isEmpty)
    }

    @Test func lastRepeatedKeyWinsAndEscapedKeysMatch() throws {
        let snapshot = try decode(
            #"{"apps": [{"id": "/first", "\u0069d": "/x\u00e9\ud83d\ude00", "labels": {"proxym.domains": "a", "\u0070roxym.domains": "b", "other": 1}}]}"#
        )
        #expect(snapshot.apps.map(\.id) == ["/x\u{e9}\u{1F600}"])
        #expect(snapshot.apps.first?.labels == ["proxym.domains": "b"])
    }

    @Test func networkModeRules() throws {
        func mode(_ fields: String) throws -> MarathonApp.NetworkMode? {
            try decode(#"{"apps": [{"id": "/x", \#(fields)}]}"#).apps.first?.networkMode
        }
        #expect(try mode(#""networks": []"#) == .host)
        // A null mode is absent; the member after it is still read.
        #expect(
            try mode(#""networks": [{"mode": null, "name": "x"}, {"name": "y", "mode": "container"}]"#) == .container
        )
        #expect(
            try mode(#""networks": [{"mode": "container", "name": "a"}, {"mode": null}], "ports": [1]"#) == .container
        )
        #expect(try mode(#""networks": [{"mode": "container", "name": "a"}, {"mode": "container/bridge"}]"#) == .bridge)
        #expect(try mode(#""networks": [{"mode": "host"}], "ipAddress": {}"#) == .host)
        #expect(try mode(#""container": {"docker": {"network": "BRIDGE"}}, "ipAddress": {}"#) == .bridge)
        #expect(try mode(#""container": {"docker": {"network": "USER"}}"#) == .container)
        #expect(try mode(#""container": {"docker": {"network": "HOST"}}"#) == .host)
        #expect(try mode(#""ipAddress": {"networkName": "dcos"}"#) == .container)
        #expect(try mode(#""ipAddress": null"#) == .host)
    }

    @Test func containerPortMappingsWinOverDockerOnes() throws {
        let app = try #require(
            try decode(
                #"{"apps": [{"id": "/x", "container": {"portMappings": [{"containerPort": 1}], "docker": {"portMappings": [{"containerPort": 2}]}}}]}"#
            ).apps.first
        )
        #expect(app.portMappings == [MarathonApp.PortMapping(containerPort: 1)])
        let legacy = try #require(
            try decode(
                #"{"apps": [{"id": "/x", "container": {"portMappings": [], "docker": {"portMappings": [{"containerPort": 2}]}}}]}"#
            ).apps.first
        )
        #expect(legacy.portMappings == [MarathonApp.PortMapping(containerPort: 2)])
    }

    @Test func badTasksInV2TasksCostOnlyThemselves() throws {
        let (tasks, problems) = try MarathonApps.decode(
            tasks: Array(
                #"{"tasks": [{"id": "a", "appId": "/a", "ports": [1]}, {"id": "b", "servicePorts": {}}, 5, {"id": "c"}]}"#
                    .utf8
            )
        )
        #expect(tasks.map(\.id) == ["a", "c"])
        #expect(
            problems == [
                #"tasks[1].servicePorts: expected an array, got an object (task "b" skipped)"#,
                "tasks[2]: expected an object, got a number (task skipped)",
            ]
        )
    }

    @Test func joinIsByAppIDAndReportsLeftovers() throws {
        let apps = Array(
            #"{"apps": [{"id": "/a", "ports": [10000], "tasks": [{"id": "stale"}]}, {"id": "/b", "ports": [10001]}]}"#
                .utf8
        )
        let tasks = Array(
            #"{"tasks": [{"id": "a.1", "appId": "/a"}, {"id": "b.1", "appId": "/b"}, {"id": "a.2", "appId": "/a"}, {"id": "z.1", "appId": "/z"}, {"id": "n"}]}"#
                .utf8
        )
        let snapshot = try MarathonApps.decode(apps: apps, tasks: tasks)
        #expect(snapshot.apps.map { $0.tasks.map(\.id) } == [["a.1", "a.2"], ["b.1"]])
        #expect(
            snapshot.problems == [
                "/v2/tasks: 1 task(s) without appId ignored",
                "/v2/tasks: 1 task(s) of apps missing from /v2/apps ignored (changed between the two reads)",
            ]
        )
        #expect {
            _ = try MarathonApps.decode(apps: apps, tasks: Array(#"{"tasks": ["#.utf8))
        } throws: { error in
            "\(error)".hasPrefix("/v2/tasks: invalid JSON")
        }
    }
}

/// The pull cursor must accept exactly what `JSONReader` accepts: checked on every fixture and on
/// thousands of deterministic mutations of them.
@Suite("Marathon decoding: strictness equals JSONReader's")
struct MarathonCursorStrictnessTests {
    /// `nil` when the cursor found the bytes valid JSON, else its message.
    func cursorVerdict(_ bytes: [UInt8]) -> String? {
        do {
            _ = try MarathonApps.decode(appsWithTasks: bytes)
            return nil
        } catch {
            return error.message.hasPrefix("invalid JSON") ? error.message : nil
        }
    }

    func readerAccepts(_ bytes: [UInt8]) -> Bool { (try? JSONReader.parse(bytes)) != nil }

    static func allJSONFixtures() throws -> [String] {
        var files: [String] = []
        for folder in ["apps", "app-definitions", "tasks", "events", "misc", "event-subscriptions"] {
            for file in try MarathonFixtures.files(in: folder) where file.hasSuffix(".json") {
                files.append(folder + "/" + file)
            }
        }
        return files
    }

    @Test func fixturesAndTheirMutations() throws {
        var rng = SplitMix64(seed: 0x5EED)
        var compared = 0
        let specials =
            Array(#"{}[],:"\/ubfnrt0123456789-+.eE"#.utf8) + [
                0x00, 0x1F, 0x7F, 0x80, 0xC0, 0xE0, 0xED, 0xF4, 0xF5, 0xFF,
            ]
        for file in try Self.allJSONFixtures() {
            let original = try MarathonFixtures.bytes(file)
            #expect(cursorVerdict(original) == nil, "\(file)")
            #expect(readerAccepts(original), "\(file)")
            for _ in 0..<150 {
                var m = original
                switch rng.next() % 4 {
                case 0: m.removeSubrange(Int(rng.next() % UInt64(m.count))...)
                case 1: m[Int(rng.next() % UInt64(m.count))] = specials[Int(rng.next() % UInt64(specials.count))]
                case 2:
                    m.insert(specials[Int(rng.next() % UInt64(specials.count))], at: Int(rng.next() % UInt64(m.count)))
                default: m.remove(at: Int(rng.next() % UInt64(m.count)))
                }
                let reader = readerAccepts(m)
                let cursor = cursorVerdict(m)
                #expect(
                    reader == (cursor == nil),
                    "\(file): reader \(reader), cursor \(cursor ?? "valid") on \(String(decoding: m, as: UTF8.self).prefix(300))"
                )
                compared += 1
            }
        }
        #expect(compared > 5_000)
    }

    @Test(arguments: [
        #""plain""#, #""caf\u00e9""#, #""\ud83d\ude00 and \u20AC""#, #""\"\\\/\b\f\n\r\t""#,
        #""é€😀 in raw UTF-8, longer than eight bytes""#,
        #""a long ASCII run that crosses several eight-byte words before an escape\n""#, #""\ud800""#, #""\udc00x""#,
        #""\ud83d\u0041""#, "\"tab\there\"", "\"\u{7F} delete is fine\"", "\"bad \u{1} control\"", #""\x""#,
        #""\u12G4""#,
        "\"\u{FEFF}bom inside\"",
    ])
    func stringsDecodeLikeJSONReader(_ literal: String) throws {
        let body = Array(#"{"apps": [{"id": \#(literal)}]}"#.utf8)
        let reader = try? JSONReader.parse(body)
        let expected = reader?.objectValue?["apps"]?.arrayValue?.first?.objectValue?["id"]?.stringValue
        let decoded = try? MarathonApps.decode(appsWithTasks: body)
        #expect(decoded?.apps.first?.id == expected)
        #expect((decoded == nil) == (reader == nil))
    }

    @Test func invalidUTF8AndDepth() {
        let bad: [[UInt8]] = [
            Array(#"{"apps": [{"id": ""#.utf8) + [0xC0, 0xAF] + Array(#""}]}"#.utf8),
            Array(#"{"apps": [{"id": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}]}"#.utf8),
            Array(#"{"apps": [{"id": "/x", "deep": "#.utf8) + Array(repeating: UInt8(ascii: "["), count: 70)
                + Array(repeating: UInt8(ascii: "]"), count: 70) + Array("}]}".utf8),
        ]
        for body in bad {
            #expect(!readerAccepts(body))
            #expect(cursorVerdict(body) != nil)
        }
        let bom = [0xEF, 0xBB, 0xBF] + Array(#"{"apps": []}"#.utf8)
        #expect(readerAccepts(bom) && cursorVerdict(bom) == nil)
    }
}


extension MarathonApp {
    /// Without the health check definitions, deployments and readiness (decoded since issue 14; the
    /// fixtures here were written for ports, labels and tasks; MarathonLabelTableTests checks them).
    var withoutNewFields: MarathonApp {
        var copy = self
        copy.healthChecks = []
        copy.deploymentCount = 0
        copy.notReadyTasks = []
        return copy
    }
}
