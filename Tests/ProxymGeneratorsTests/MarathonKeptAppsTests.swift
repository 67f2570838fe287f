import ProxymGenerators
import ProxymModel
import ProxymTestSupport
import Testing

/// The Marathon source's state kept app by app: any sequence of events applied one app at a time
/// (each as `GET /v2/apps/<id>?embed=app.tasks` would answer it, real JSON through the real decoder)
/// equals whole snapshots read after every change (`/v2/apps?embed=apps.tasks`, through the streaming
/// decoder in random pieces), and equals a fresh snapshot whenever history cannot matter; a lost event
/// is what the next whole snapshot reports.
@Suite("Marathon kept apps")
struct MarathonKeptAppsTests {
    /// A small Marathon: apps with ports, labels, health checks and tasks, as JSON.
    struct Model {
        struct Task {
            var id: String
            var host: String
            var ports: [Int]
            var state: String
            /// `nil`: the app's checks all pass; otherwise these results (fewer than the checks after a
            /// leader change, `false` for a failing one).
            var results: [Bool]?
        }

        struct App {
            var id: String
            var servicePorts: [Int]
            var checks: Int
            var labels: [String: String]
            var tasks: [Task]
        }

        var apps: [String: App] = [:]
        var taskCounter = 0

        func json(_ app: App) -> String {
            let labels = app.labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
            let checks = Array(repeating: #"{"protocol":"HTTP","path":"/"}"#, count: app.checks).joined(separator: ",")
            let ports = app.servicePorts.map { "{\"port\":\($0),\"protocol\":\"tcp\"}" }.joined(separator: ",")
            let tasks = app.tasks.map { task -> String in
                let results = (task.results ?? Array(repeating: true, count: app.checks))
                    .map { "{\"alive\":\($0)}" }.joined(separator: ",")
                return """
                    {"id":"\(task.id)","appId":"\(app.id)","host":"\(task.host)","ports":[\(task.ports.map(String.init).joined(separator: ","))],\
                    "state":"\(task.state)","healthCheckResults":[\(results)],"version":"2026-12-03T07:00:00.000Z"}
                    """
            }.joined(separator: ",")
            return """
                {"id":"\(app.id)","cmd":"sleep 1","instances":\(app.tasks.count),"labels":{\(labels)},\
                "healthChecks":[\(checks)],"portDefinitions":[\(ports)],"tasks":[\(tasks)]}
                """
        }

        /// `GET /v2/apps/<id>?embed=app.tasks`: the body, or `nil` for a 404.
        func appBody(_ id: String) -> [UInt8]? {
            apps[id].map { Array("{\"app\":\(json($0))}".utf8) }
        }

        /// `GET /v2/apps?embed=apps.tasks`, apps in an arbitrary (but given) order.
        func wholeBody<G: RandomNumberGenerator>(using random: inout G) -> [UInt8] {
            let list = apps.values.map(json).shuffled(using: &random)
            return Array("{\"apps\":[\(list.joined(separator: ","))]}".utf8)
        }

        /// Whether some task's results are incomplete (then the remembered health matters).
        var hasIncompleteResults: Bool {
            apps.values.contains { app in app.tasks.contains { ($0.results?.count ?? app.checks) < app.checks } }
        }

        mutating func newTask<G: RandomNumberGenerator>(for app: App, using random: inout G) -> Task {
            taskCounter += 1
            let states = ["TASK_RUNNING", "TASK_RUNNING", "TASK_RUNNING", "TASK_STAGING", "TASK_KILLING"]
            var results: [Bool]? = nil
            if app.checks > 0 && Int.random(in: 0..<4, using: &random) == 0 {
                results = (0..<app.checks).map { _ in Bool.random(using: &random) }
            }
            return Task(
                id: "\(String(app.id.dropFirst().map { $0 == "/" ? "_" : $0 })).\(taskCounter)",
                host: "10.0.\(Int.random(in: 0..<4, using: &random)).\(Int.random(in: 1..<250, using: &random))",
                ports: app.servicePorts.map { _ in Int.random(in: 31000..<32000, using: &random) },
                state: states.randomElement(using: &random)!, results: results)
        }

        /// One random change; the app it concerns.
        mutating func change<G: RandomNumberGenerator>(using random: inout G) -> String {
            let ids = apps.keys.sorted()
            let roll = Int.random(in: 0..<100, using: &random)
            if ids.isEmpty || roll < 12 {
                // Deploy a new app (or redeploy a removed one).
                let id = "/g\(Int.random(in: 0..<3, using: &random))/app\(Int.random(in: 0..<12, using: &random))"
                let portCount = Int.random(in: 0...2, using: &random)
                var labels: [String: String] = [:]
                if Bool.random(using: &random) { labels["HAPROXY_0_VHOST"] = "\(id.split(separator: "/").last!).example.com" }
                if Int.random(in: 0..<5, using: &random) == 0 { labels["proxym.port.0.config"] = "timeout server 5s" }
                if Int.random(in: 0..<8, using: &random) == 0 { labels["HAPROXY_GROUP"] = "internal" }
                var app = App(
                    id: id, servicePorts: (0..<portCount).map { 10000 + $0 + Int.random(in: 0..<900, using: &random) * 3 },
                    checks: Int.random(in: 0...2, using: &random), labels: labels, tasks: [])
                for _ in 0..<Int.random(in: 0...3, using: &random) { app.tasks.append(newTask(for: app, using: &random)) }
                apps[id] = app
                return id
            }
            let id = ids.randomElement(using: &random)!
            var app = apps[id]!
            switch roll {
            case 12..<20:
                apps[id] = nil  // app_terminated_event
                return id
            case 20..<45:
                app.tasks.append(newTask(for: app, using: &random))  // scale up
            case 45..<60:
                if !app.tasks.isEmpty { app.tasks.remove(at: Int.random(in: 0..<app.tasks.count, using: &random)) }
            case 60..<75:
                // A health check flips.
                if !app.tasks.isEmpty, app.checks > 0 {
                    let k = Int.random(in: 0..<app.tasks.count, using: &random)
                    app.tasks[k].results = Bool.random(using: &random) ? nil : (0..<app.checks).map { $0 != 0 }
                }
            case 75..<83:
                // A leader change: every result of the app is gone for now.
                for k in app.tasks.indices where app.checks > 0 { app.tasks[k].results = [] }
            case 83..<90:
                if !app.tasks.isEmpty {
                    let k = Int.random(in: 0..<app.tasks.count, using: &random)
                    app.tasks[k].state = app.tasks[k].state == "TASK_RUNNING" ? "TASK_KILLING" : "TASK_RUNNING"
                }
            default:
                // api_post_event: labels change.
                if app.labels["HAPROXY_0_VHOST"] == nil {
                    app.labels["HAPROXY_0_VHOST"] = "v\(Int.random(in: 0..<5, using: &random)).example.com"
                } else {
                    app.labels["HAPROXY_0_VHOST"] = nil
                }
            }
            apps[id] = app
            return id
        }
    }

    static let options = MarathonOptions(httpPort: 80, allowLabelConfig: true)

    /// Services by id: the order follows the order apps were read in (Marathon's), which the merge
    /// sorts away (it matters only for conflicts at start).
    func byID(_ services: [Service]) -> [Service] { services.sorted { $0.id < $1.id } }

    /// `kept` replaced by a whole read of `body` (in random pieces, through the streaming decoder).
    static func whole<G: RandomNumberGenerator>(
        _ body: [UInt8], into kept: inout MarathonKeptApps, using random: inout G
    ) throws -> [String] {
        var snapshot = kept.snapshot()
        var decoder = MarathonAppsStream()
        var offset = 0
        while offset < body.count {
            let size = min(body.count - offset, Int.random(in: 1...4096, using: &random))
            try body[offset..<(offset + size)].withUnsafeBytes { raw in
                try decoder.feed(raw) { snapshot.add($0) }
            }
            offset += size
        }
        try decoder.finish { snapshot.add($0) }
        return kept.replace(with: snapshot)
    }

    /// `GET /v2/apps/<id>` applied.
    static func one(_ id: String, model: Model, into kept: inout MarathonKeptApps) throws {
        guard let body = model.appBody(id) else {
            kept.apply(id: id, app: nil)
            return
        }
        let decoded = try MarathonApps.decode(appsWithTasks: body)
        #expect(decoded.apps.count == 1 && decoded.apps[0].id == id)
        kept.apply(id: id, app: decoded.apps.first, problems: decoded.problems)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func eventsAppliedOneAppAtATimeEqualWholeSnapshots(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var model = Model()
        var incremental = MarathonKeptApps(options: Self.options)
        var whole = MarathonKeptApps(options: Self.options)
        var freshChecks = 0
        var mostRoutes = 0
        for step in 0..<300 {
            let id = model.change(using: &random)
            let body = model.wholeBody(using: &random)
            if Int.random(in: 0..<25, using: &random) == 0 {
                // The change came with an event naming no app (a deployment): a whole snapshot, which
                // finds nothing but that change.
                let differing = try Self.whole(body, into: &incremental, using: &random)
                #expect(differing.allSatisfy { $0 == id }, "step \(step): a whole read found \(differing)")
            } else {
                try Self.one(id, model: model, into: &incremental)
            }
            _ = try Self.whole(body, into: &whole, using: &random)
            #expect(byID(incremental.services) == byID(whole.services), "step \(step): app \(id)")
            #expect(incremental.appCount == whole.appCount, "step \(step)")
            mostRoutes = max(mostRoutes, incremental.services.count)
            if !model.hasIncompleteResults {
                var fresh = MarathonKeptApps(options: Self.options)
                _ = try Self.whole(body, into: &fresh, using: &random)
                #expect(byID(incremental.services) == byID(fresh.services), "step \(step): a fresh read differs")
                freshChecks += 1
            }
        }
        #expect(freshChecks >= 10, "the generator should often leave history irrelevant")
        #expect(mostRoutes > 5, "the generator should make routes")
    }

    /// An event that never arrived is what the next whole snapshot names (and then it wins), unless
    /// the app was named by an event the kept state has not caught up with.
    @Test func aLostEventIsFoundByTheNextWholeRead() throws {
        var random = SplitMix64(seed: 42)
        var model = Model()
        var kept = MarathonKeptApps(options: Self.options)
        for _ in 0..<40 { _ = model.change(using: &random) }
        let id = "/lost/app"
        var app = Model.App(id: id, servicePorts: [10500], checks: 0, labels: [:], tasks: [])
        app.tasks.append(model.newTask(for: app, using: &random))
        app.tasks[0].state = "TASK_RUNNING"
        model.apps[id] = app
        _ = try Self.whole(model.wholeBody(using: &random), into: &kept, using: &random)
        app.tasks.append(model.newTask(for: app, using: &random))
        app.tasks[app.tasks.count - 1].state = "TASK_RUNNING"
        app.tasks[app.tasks.count - 1].results = nil
        model.apps[id] = app  // ...and its status_update_event is lost

        var ignoring = kept
        let body = model.wholeBody(using: &random)
        var snapshot = ignoring.snapshot()
        let decoded = try MarathonApps.decode(appsWithTasks: body)
        for app in decoded.apps { snapshot.add(app) }
        #expect(ignoring.replace(with: snapshot, ignoring: [id]) == [])

        #expect(try Self.whole(body, into: &kept, using: &random) == [id])
        var fresh = MarathonKeptApps(options: Self.options)
        _ = try Self.whole(body, into: &fresh, using: &random)
        #expect(byID(kept.services) == byID(fresh.services))
        #expect(byID(kept.services) == byID(ignoring.services))
    }

    @Test func eventsNameTheirApp() throws {
        func parsed(_ file: String) throws -> MarathonEvent.Parsed {
            MarathonEvent.parse(fromJSON: try MarathonFixtures.bytes("events/" + file))
        }
        #expect(try parsed("status_update_event__marathon-docs__m1.4.json").appID == "/my-app")
        #expect(try parsed("health_status_changed_event__marathon-docs__m1.4.json").appID == "/my-app")
        #expect(try parsed("instance_changed_event__marathon-docs__m1.10.json").appID == "/app-id")
        #expect(try parsed("instance_health_changed_event__marathon-docs__m1.10.json").appID == "/app-id")
        #expect(try parsed("app_terminated_event__marathon-docs__m1.10.json").appID == "/my-app")
        #expect(try parsed("api_post_event__marathon-docs__m1.4.json").appID == "/my-app")
        #expect(try parsed("unhealthy_task_kill_event__marathon-docs__m1.4.json").appID == "/my-app")
        #expect(try parsed("status_update_event__marathon-docs__m1.4.json").type == "status_update_event")
        // Events that name no single app: everything is read.
        #expect(try parsed("deployment_success__marathon-docs__m1.4.json").appID == nil)
        #expect(try parsed("deployment_info__marathon-docs__light-plan__m1.10.json").appID == nil)
        #expect(try parsed("event_stream_attached__marathon-docs-raml-sse__m0.11+.json").appID == nil)
        // Hostile or odd ids: everything is read rather than a path built from them.
        for id in ["/a/../b", "/a b", "/a?x=1", "/", "", "/x/tasks", "/a//b", "/%2e"] {
            let body = Array(#"{"eventType":"status_update_event","appId":"\#(id)"}"#.utf8)
            #expect(MarathonEvent.parse(fromJSON: body).appID == nil, "\(id)")
        }
        #expect(MarathonEvent.appPath("shop/web") == "/v2/apps/shop/web?embed=app.tasks&embed=app.readiness")
        #expect(MarathonEvent.parse(fromJSON: Array(#"{"eventType":"status_update_event","appId":"shop"}"#.utf8)).appID == "/shop")
        #expect(MarathonEvent.parse(fromJSON: Array(#"{"eventType":"status_update_event","appId":"/x""#.utf8)).type == nil)
    }

    @Test func deploymentEventsNameTheirPlanAndStep() throws {
        func parsed(_ file: String) throws -> MarathonEvent.Parsed {
            MarathonEvent.parse(fromJSON: try MarathonFixtures.bytes("events/" + file))
        }
        let grouped = try parsed("deployment_step_success__marathon-consul__apps-in-groups__m0.15.json")
        #expect(grouped.deploymentID == "eaeaade6-f485-4271-9058-913a885efa27")
        #expect(grouped.planApps == ["/com.example/things/something"])
        #expect(grouped.stepApps == ["/com.example/things/something"])
        let heavy = try parsed("deployment_step_success__marathon-consul__captured-heavy-plan__m0.15.json")
        #expect(heavy.planApps == ["/a"] && heavy.stepApps == ["/a"])
        let docs = try parsed("deployment_step_success__marathon-docs__m1.4.json")
        #expect(docs.stepApps == ["/my-app"])
        #expect(docs.planApps == [], "the docs' plan lists steps without actions")
        let success = try parsed("deployment_success__marathon-docs__m1.4.json")
        #expect(success.deploymentID == "867ed450-f6a8-4d33-9b0e-e11c5513990b" && success.planApps == nil)
        // A pod or a hostile id in any action: no list (everything is read).
        let pod = Array(
            #"{"eventType":"deployment_step_success","plan":{"id":"p","steps":[{"actions":[{"action":"StartPod","pod":"/p"}]}]},"currentStep":{"actions":[{"action":"ScaleApplication","app":"/a/../b"}]}}"#.utf8)
        #expect(MarathonEvent.parse(fromJSON: pod).planApps == nil)
        #expect(MarathonEvent.parse(fromJSON: pod).stepApps == nil)
        // Other events carry no deployment facts, whatever their keys.
        let status = Array(#"{"eventType":"status_update_event","appId":"/a","id":"x","plan":{"id":"y"}}"#.utf8)
        #expect(MarathonEvent.parse(fromJSON: status).deploymentID == nil)
    }
}
