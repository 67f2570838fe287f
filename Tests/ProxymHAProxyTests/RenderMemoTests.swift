import ProxymHAProxy
import ProxymModel
import ProxymTestSupport
import Testing

/// The memo (``RenderMemo``) must give exactly what a whole render gives, whatever the edits: hosts
/// changed (to none, from none, a few services or many), and now and then a change that is not a
/// host change (a domain, a port, a service added or removed), or other options.
@Suite struct RenderMemoTests {
    typealias SeededRandom = SplitMix64

    /// RendererPropertyTests' hostile cases, sorted by id with one service per id (what the merge
    /// hands over), some with a health check (its options are on every server line).
    static func makeCase(seed: UInt64) throws -> (services: [Service], options: RenderOptions) {
        var (services, options) = try RendererPropertyTests.makeCase(seed: seed)
        var seen = Set<ServiceID>()
        services = services.sorted { $0.id < $1.id }.filter { seen.insert($0.id).inserted }
        var random = SeededRandom(seed: seed &+ 1000)
        for i in services.indices {
            if random.next() % 3 == 0 {
                services[i].routing.healthCheck = try HealthCheck(kind: .http, port: random.next() % 2 == 0 ? 9000 : nil)
            }
            // Mostly with hosts, as in a cluster (a service with none renders whole: it has a note).
            if services[i].hosts.isEmpty && random.next() % 4 != 0 { services[i].setHosts(try randomHosts(&random)) }
        }
        return (services, options)
    }

    static func randomHosts(_ random: inout SeededRandom) throws -> [Host] {
        // None now and then (a service scaled to zero renders whole: it has a note).
        try (0..<(random.next() % 8 == 0 ? 0 : 1 + Int(random.next() % 3))).map { _ in
            random.next() % 8 == 0
                ? try Host(ip: "agent-\(random.next() % 5).mesos.invalid", port: 31000 + Int(random.next() % 1000))
                : try Host(ip: "10.0.\(random.next() % 3).\(random.next() % 256)", port: 31000 + Int(random.next() % 1000))
        }
    }

    static let seeds: [UInt64] = Array(1...60)

    @Test(arguments: seeds)
    func memoRendersWhatAWholeRenderGives(seed: UInt64) throws {
        var (services, options) = try Self.makeCase(seed: seed)
        var random = SeededRandom(seed: seed)
        var memo = RenderMemo()
        var patched = 0
        for step in 0..<60 {
            switch random.next() % 10 {
            case 0:
                // Not a host change: a port moves (the memo must render whole).
                if !services.isEmpty {
                    let i = Int(random.next() % UInt64(services.count))
                    services[i].servicePort = [80, 8080, 5432, 7000][Int(random.next() % 4)]
                }
            case 1:
                // A service removed, or one added (a new id, kept in order).
                if random.next() % 2 == 0, !services.isEmpty {
                    services.remove(at: Int(random.next() % UInt64(services.count)))
                } else {
                    let added = Service(
                        id: try ServiceID("zz-added-\(seed)-\(step)"), domains: [try DomainName("added\(step).example.com")],
                        servicePort: 80, hosts: try Self.randomHosts(&random), source: "test")
                    services.append(added)
                }
            case 2:
                // Other options: a different global config.
                options.globalConfig += "# step \(step)\n"
            default:
                // Hosts of one or two services change (possibly to none or from none).
                for _ in 0..<(1 + Int(random.next() % 2)) where !services.isEmpty {
                    let i = Int(random.next() % UInt64(services.count))
                    services[i].setHosts(try Self.randomHosts(&random))
                }
            }
            let memoized = HAProxyRenderer.renderWithNotes(services, options: options, memo: &memo)
            let whole = HAProxyRenderer.renderWithNotes(services, options: options)
            if memo.lastWasIncremental { patched += 1 }
            #expect(memoized == whole, "seed \(seed) step \(step): the memo's text differs from a whole render")
            if memoized != whole { return }
        }
        // The shortcut was taken (host changes are 70% of the steps; a change that touches a service
        // with no hosts, and the step after a whole render's cause, render whole).
        #expect(patched >= 5, "seed \(seed): only \(patched) of 60 renders were patched")
    }

    /// One task more for one service of 5,000: one section's server lines are rewritten, and the
    /// text is still the whole render's.
    @Test func oneChangedServiceRewritesOneSection() throws {
        var services: [Service] = []
        for i in 0..<5000 {
            let id = "app-" + String(repeating: "0", count: 4 - String(i).count) + String(i)
            services.append(
                Service(
                    id: try ServiceID(id), domains: [try DomainName("\(id).example.com")], servicePort: i % 2 == 0 ? 80 : UInt16(20000 + i),
                    hosts: [try Host(ip: "10.1.\(i % 200).\(i % 250)", port: 31000 + i % 1000)], source: "marathon"))
        }
        let options = RenderOptions(globalConfig: "global\n", httpPort: 80)
        var memo = RenderMemo()
        _ = HAProxyRenderer.renderWithNotes(services, options: options, memo: &memo)
        #expect(!memo.lastWasIncremental)
        services[2500].setHosts(services[2500].hosts + [try Host(ip: "10.9.9.9", port: 31999)])
        let patched = HAProxyRenderer.renderWithNotes(services, options: options, memo: &memo)
        #expect(memo.lastWasIncremental)
        #expect(memo.lastRewritten == 1)
        #expect(patched == HAProxyRenderer.renderWithNotes(services, options: options))
        #expect(patched.text.contains("  server node2 10.9.9.9:31999 check\n"))
        // Nothing changed: nothing rewritten, the same text.
        let again = HAProxyRenderer.renderWithNotes(services, options: options, memo: &memo)
        #expect(memo.lastWasIncremental && memo.lastRewritten == 0)
        #expect(again.text == patched.text)
    }
}
