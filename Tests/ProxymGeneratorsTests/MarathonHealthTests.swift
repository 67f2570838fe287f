import ProxymGenerators
import ProxymModel
import Testing

@Suite("Marathon mapping: running and healthy tasks")
struct MarathonHealthTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var checks: Int
        var state: String? = "TASK_RUNNING"
        var results: [Bool]
        var remembered: Bool? = nil
        var routed: Bool
        var rememberedAfter: Bool?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no checks, no results", checks: 0, results: [], routed: true, rememberedAfter: nil),
        Row(name: "no checks, stale failing result", checks: 0, results: [false], routed: true, rememberedAfter: nil),
        Row(
            name: "no checks, no state (old Marathon)",
            checks: 0,
            state: nil,
            results: [],
            routed: true,
            rememberedAfter: nil
        ),
        Row(name: "one check alive", checks: 1, results: [true], routed: true, rememberedAfter: true),
        Row(name: "all alive", checks: 2, results: [true, true], routed: true, rememberedAfter: true),
        Row(name: "one dead", checks: 2, results: [true, false], routed: false, rememberedAfter: false),
        Row(name: "missing result (fresh task)", checks: 1, results: [], routed: false, rememberedAfter: nil),
        Row(name: "fewer results than checks", checks: 2, results: [true], routed: false, rememberedAfter: nil),
        Row(
            name: "leader change: no results, was healthy",
            checks: 1,
            results: [],
            remembered: true,
            routed: true,
            rememberedAfter: true
        ),
        Row(
            name: "leader change: fewer results, was healthy",
            checks: 2,
            results: [true],
            remembered: true,
            routed: true,
            rememberedAfter: true
        ),
        Row(
            name: "leader change: no results, was unhealthy",
            checks: 1,
            results: [],
            remembered: false,
            routed: false,
            rememberedAfter: false
        ),
        Row(
            name: "a failing result beats memory",
            checks: 2,
            results: [false],
            remembered: true,
            routed: false,
            rememberedAfter: false
        ),
        Row(
            name: "complete results beat memory",
            checks: 1,
            results: [true],
            remembered: false,
            routed: true,
            rememberedAfter: true
        ),
        Row(name: "staging", checks: 1, state: "TASK_STAGING", results: [true], routed: false, rememberedAfter: nil),
        Row(name: "killing", checks: 0, state: "TASK_KILLING", results: [], routed: false, rememberedAfter: nil),
        Row(
            name: "unreachable, with memory",
            checks: 1,
            state: "TASK_UNREACHABLE",
            results: [],
            remembered: true,
            routed: false,
            rememberedAfter: nil
        ),
        Row(name: "lost", checks: 0, state: "TASK_LOST", results: [], routed: false, rememberedAfter: nil),
    ]

    static func snapshot(checks: Int, task: MarathonTask) -> MarathonSnapshot {
        MarathonSnapshot(apps: [
            MarathonApp(
                id: "/web",
                healthCheckCount: checks,
                portDefinitions: [.init(port: 10000)],
                tasks: [task]
            )
        ])
    }

    /// Memory as a previous refresh would have left it.
    static func memory(remembering health: Bool?, taskID: String) -> MarathonHealthMemory {
        var memory = MarathonHealthMemory()
        guard let health else { return memory }
        let earlier = snapshot(
            checks: 1,
            task: MarathonTask(id: taskID, host: "10.0.0.1", ports: [31000], healthResults: [health])
        )
        _ = MarathonMapper.services(from: earlier, options: MarathonOptions(), health: &memory)
        return memory
    }

    @Test(arguments: rows)
    func table(_ row: Row) {
        var memory = Self.memory(remembering: row.remembered, taskID: "web.1")
        #expect(memory.lastKnownHealth(ofTask: "web.1") == row.remembered)
        let task = MarathonTask(
            id: "web.1",
            host: "10.0.0.1",
            ports: [31000],
            state: row.state,
            healthResults: row.results
        )
        let mapping = MarathonMapper.services(
            from: Self.snapshot(checks: row.checks, task: task),
            options: MarathonOptions(),
            health: &memory
        )
        #expect(mapping.services.first?.hosts.isEmpty == !row.routed)
        #expect(memory.lastKnownHealth(ofTask: "web.1") == row.rememberedAfter)
    }

    /// A leader change as it happens: results vanish, come back one check at a time, then one fails.
    @Test func leaderChangeSequence() {
        var memory = MarathonHealthMemory()
        func routed(_ results: [Bool]) -> Bool {
            let task = MarathonTask(
                id: "web.1",
                host: "10.0.0.1",
                ports: [31000],
                state: "TASK_RUNNING",
                healthResults: results
            )
            let mapping = MarathonMapper.services(
                from: Self.snapshot(checks: 2, task: task),
                options: MarathonOptions(),
                health: &memory
            )
            return !(mapping.services.first?.hosts.isEmpty ?? true)
        }
        #expect(!routed([]))  // fresh: not yet probed
        #expect(!routed([true]))  // half probed
        #expect(routed([true, true]))
        #expect(routed([]))  // leader change: results reset, health kept
        #expect(routed([true]))  // the new leader's first probe
        #expect(routed([true, true]))
        #expect(!routed([true, false]))
        #expect(!routed([]))  // another reset: the last health was unhealthy
    }

    @Test func vanishedTasksAreForgotten() {
        var memory = MarathonHealthMemory()
        let both = MarathonSnapshot(apps: [
            MarathonApp(
                id: "/web",
                healthCheckCount: 1,
                portDefinitions: [.init(port: 10000)],
                tasks: [
                    MarathonTask(id: "web.1", host: "10.0.0.1", ports: [31000], healthResults: [true]),
                    MarathonTask(id: "web.2", host: "10.0.0.2", ports: [31000], healthResults: [false]),
                ]
            )
        ])
        _ = MarathonMapper.services(from: both, options: MarathonOptions(), health: &memory)
        #expect(memory.count == 2)
        var one = both
        one.apps[0].tasks.removeFirst()
        _ = MarathonMapper.services(from: one, options: MarathonOptions(), health: &memory)
        #expect(memory.count == 1)
        #expect(memory.lastKnownHealth(ofTask: "web.1") == nil)
        #expect(memory.lastKnownHealth(ofTask: "web.2") == false)
        _ = MarathonMapper.services(from: MarathonSnapshot(apps: []), options: MarathonOptions(), health: &memory)
        #expect(memory.count == 0)
    }

    /// An app skipped for a bad label keeps its tasks' memory, so fixing the label does not take its
    /// healthy tasks out while results are being re-established.
    @Test func skippedAppsKeepTheirMemory() {
        var memory = Self.memory(remembering: true, taskID: "web.1")
        var snapshot = Self.snapshot(
            checks: 1,
            task: MarathonTask(id: "web.1", host: "10.0.0.1", ports: [31000], healthResults: [])
        )
        snapshot.apps[0].labels = ["proxym.domains": "bad domain"]
        let skipped = MarathonMapper.services(from: snapshot, options: MarathonOptions(), health: &memory)
        #expect(skipped.services.isEmpty && memory.lastKnownHealth(ofTask: "web.1") == true)
        snapshot.apps[0].labels = [:]
        let fixed = MarathonMapper.services(from: snapshot, options: MarathonOptions(), health: &memory)
        #expect(fixed.services.first?.hosts.count == 1)
    }

    /// The real fixture whose tasks carry one result for two checks: after a leader change seen as such
    /// (memory says healthy), its tasks stay in rotation.
    @Test func fixtureWithFewerResultsThanChecksAndMemory() throws {
        let snapshot = try MarathonApps.decode(
            appsWithTasks: MarathonFixtures.bytes(
                "apps/v2-apps-id__marathon-consul__host-4-ports-2-healthchecks__m0.15.json"
            )
        )
        var memory = MarathonHealthMemory()
        var complete = snapshot
        for i in complete.apps[0].tasks.indices { complete.apps[0].tasks[i].healthResults = [true, true] }
        _ = MarathonMapper.services(from: complete, options: MarathonOptions(), health: &memory)
        let mapping = MarathonMapper.services(from: snapshot, options: MarathonOptions(), health: &memory)
        #expect(
            mapping.services.map { $0.hosts.map(\.description) } == [
                ["10.141.141.10:31307", "10.141.141.10:31678"], ["10.141.141.10:31308", "10.141.141.10:31679"],
                ["10.141.141.10:31309", "10.141.141.10:31680"], ["10.141.141.10:31310", "10.141.141.10:31681"],
            ]
        )
    }
}
