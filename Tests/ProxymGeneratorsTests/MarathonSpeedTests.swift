import ProxymGenerators
import ProxymJSON
import ProxymModel
import Testing

/// Informational timing only (no assertions on speed): a synthetic `/v2/apps?embed=apps.tasks` body of
/// 5,000 apps x 3 tasks (~17 MB), decoded and mapped. Build with `-c release` for meaningful numbers.
@Suite("Marathon speed (informational)")
struct MarathonSpeedTests {
    #if DEBUG
    /// A debug build is ~30 times slower and its numbers mean little: one round is enough there.
    let rounds = 1
    #else
    let rounds = 5
    #endif

    @Test func fiveThousandAppsWithThreeTasks() throws {
        let body = SyntheticMarathon.body(apps: 5_000, tasksPerApp: 3)

        var snapshot = MarathonSnapshot(apps: [])
        let decode = try bestOf(rounds) { () throws in snapshot = try MarathonApps.decode(appsWithTasks: body) }
        #expect(snapshot.apps.count == 5_000)
        #expect(snapshot.problems.isEmpty)

        var mapping = MarathonMapping()
        var memory = MarathonHealthMemory()
        let options = MarathonOptions(httpPort: 80, group: "external")
        let map = try bestOf(rounds) { () throws in
            mapping = MarathonMapper.services(from: snapshot, options: options, health: &memory)
        }
        #expect(mapping.services.count == 5_000)
        #expect(mapping.services.allSatisfy { $0.hosts.count == 3 && $0.applicationProtocol == .http })
        #expect(mapping.problems.isEmpty)
        #expect(memory.count == 15_000)

        let tree = try bestOf(rounds) { () throws in _ = try JSONReader.parse(body) }
        print(
            "marathon speed: \(body.count) bytes, 5000 apps x 3 tasks, best of \(rounds): decode \(ms(decode)), "
                + "map \(ms(map)), decode + map \(ms(decode + map)); for comparison a JSONReader tree of the "
                + "same body \(ms(tree))"
        )
    }

    @Test func eventTypeOfALargeDeploymentEvent() throws {
        // A heavy-plan deployment event (the plan embeds whole app definitions) of ~340 kB.
        let apps = (0..<100).map { i in
            #"{"id":"/app-\#(i)","cmd":"sleep 1000","instances":3,"labels":{"a":"b"},"portDefinitions":[{"port":\#(10_000 + i)}],"env":{"X":"\#(String(repeating: "y", count: 3_000))"}}"#
        }
        let body = Array(
            #"{"plan":{"id":"x","original":{"apps":[\#(apps.joined(separator: ","))]},"target":{"apps":[]}},"eventType":"deployment_step_success","timestamp":"2014-03-01T23:29:30.158Z"}"#
                .utf8
        )
        var type: String?
        let elapsed = try bestOf(rounds) { () throws in type = MarathonEvent.eventType(fromJSON: body) }
        #expect(type == "deployment_step_success")
        print("marathon event type: \(body.count) bytes in \(ms(elapsed))")
    }

    func bestOf(_ n: Int, _ body: () throws -> Void) throws -> Duration {
        var best = Duration.seconds(1_000)
        for _ in 0..<n {
            let clock = ContinuousClock()
            let start = clock.now
            try body()
            best = min(best, clock.now - start)
        }
        return best
    }

    func ms(_ d: Duration) -> String {
        let value = Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
        return "\((value * 10).rounded() / 10) ms"
    }
}
