import ProxymCore
import ProxymModel
import ProxymTestBuilders
import ProxymTestSupport
import Testing

/// ``ServiceMerger/Incremental`` must give exactly what a whole merge gives (services and problems),
/// on random edit sequences over two sources: mostly host changes (what the shortcut is for), now and
/// then a domain or port change, a service added, removed or moved, and edits that make conflicts
/// (two services on one domain, one id in both sources, a UDP service) and undo them.
@Suite struct IncrementalMergeTests {
    typealias SeededRandom = SplitMix64

    static func hosts(_ random: inout SeededRandom) -> [(String, Int)] {
        (0..<Int(random.next() % 4)).map { _ in ("10.0.\(random.next() % 4).\(random.next() % 256)", 31000 + Int(random.next() % 500)) }
    }

    /// Service `n`; with `clashing`, domains and TCP ports repeat every 40 and 60 services.
    static func service(_ n: Int, source: String, clashing: Bool = false, _ random: inout SeededRandom) throws -> Service {
        let http = random.next() % 3 != 0
        let m = clashing ? n % 40 : n
        return try makeService(
            "/app-\(n)", domains: http ? ["app-\(m).example.com"] : [], port: http ? 80 : UInt16(20000 + (clashing ? n % 60 : n)),
            hosts: hosts(&random), source: source)
    }

    static func sources(_ random: inout SeededRandom, size: Int, clashing: Bool = false) throws -> [[Service]] {
        let first = try (0..<size).map { try service($0 * 2, source: "file", clashing: clashing, &random) }
        let second = try (0..<size).map { try service($0 * 2 + 1, source: "marathon", clashing: clashing, &random) }
        return [first, second]
    }

    /// One random edit of `sources`; `conflicts` makes edits that collide with other services.
    static func edit(_ sources: inout [[Service]], conflicts: Bool, step: Int, _ random: inout SeededRandom) throws {
        let s = Int(random.next() % 2)
        guard !sources[s].isEmpty else {
            sources[s].append(try service(1000 + step, source: s == 0 ? "file" : "marathon", &random))
            return
        }
        let i = Int(random.next() % UInt64(sources[s].count))
        switch random.next() % 20 {
        case 0:
            sources[s].remove(at: i)
        case 1:
            sources[s].insert(try service(1000 + step, source: s == 0 ? "file" : "marathon", &random), at: i)
        case 2:
            sources[s].swapAt(i, Int(random.next() % UInt64(sources[s].count)))
        case 3:
            sources[s][i].servicePort = UInt16(conflicts ? 20000 + Int(random.next() % 60) : 40000 + step)
        case 4 where conflicts:
            // Another service's domain, or id, or UDP: a problem for the merge.
            let other = sources[1 - s].isEmpty ? sources[s][0] : sources[1 - s][Int(random.next() % UInt64(sources[1 - s].count))]
            switch random.next() % 3 {
            case 0: sources[s][i].domains = other.domains
            case 1: sources[s][i].id = other.id
            default: sources[s][i].transport = .udp
            }
        case 5 where conflicts:
            // Undo conflicts: fresh ids and domains for this source.
            sources[s] = try sources[s].indices.map { try service(5000 + step * 100 + $0, source: s == 0 ? "file" : "marathon", &random) }
        default:
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let j = Int(random.next() % UInt64(sources[s].count))
                sources[s][j].setHosts(try hosts(&random).map { try Host(ip: $0.0, port: $0.1) })
            }
        }
    }

    static func run(seed: UInt64, conflicts: Bool) throws -> (incremental: Int, withProblems: Int) {
        var random = SeededRandom(seed: seed)
        var sources = try sources(&random, size: 5 + Int(random.next() % 30), clashing: conflicts)
        var merger = ServiceMerger.Incremental(httpPort: 80)
        var incumbents: [Service] = []
        var incremental = 0
        var withProblems = 0
        for step in 0..<150 {
            if step > 0 { try edit(&sources, conflicts: conflicts, step: step, &random) }
            let fast = merger.merge(sources, incumbents: incumbents)
            let whole = ServiceMerger.merge(sources, httpPort: 80, incumbents: incumbents)
            #expect(fast.services == whole.services, "seed \(seed) step \(step): services differ")
            #expect(fast.problems == whole.problems, "seed \(seed) step \(step): problems differ")
            if fast.services != whole.services || fast.problems != whole.problems { break }
            if merger.lastWasIncremental { incremental += 1 }
            if !whole.problems.isEmpty { withProblems += 1 }
            // As the pipeline does when a refresh goes through.
            incumbents = whole.services
        }
        return (incremental, withProblems)
    }

    @Test(arguments: Array(UInt64(1)...30))
    func equalsAWholeMergeWithoutConflicts(seed: UInt64) throws {
        let (incremental, _) = try Self.run(seed: seed, conflicts: false)
        // Host changes are most edits: most merges take the shortcut.
        #expect(incremental >= 90, "seed \(seed): \(incremental) of 150 merges took the shortcut")
    }

    @Test func equalsAWholeMergeThroughConflicts() throws {
        var incremental = 0
        var withProblems = 0
        for seed in UInt64(100)..<UInt64(140) {
            let (i, p) = try Self.run(seed: seed, conflicts: true)
            incremental += i
            withProblems += p
        }
        // Both kinds of merge happened many times.
        #expect(incremental > 500, "\(incremental) merges took the shortcut")
        #expect(withProblems > 500, "\(withProblems) merges had problems")
    }

    @Test func oneHostChangeAmongThousandsSwapsOneService() throws {
        var random = SeededRandom(seed: 7)
        var sources = try Self.sources(&random, size: 2500)
        // No conflicts at all: distinct domains.
        for s in 0..<2 {
            for i in sources[s].indices where !sources[s][i].domains.isEmpty {
                sources[s][i].domains = [try DomainName("d\(s)-\(i).example.com")]
            }
        }
        var merger = ServiceMerger.Incremental(httpPort: 80)
        let first = merger.merge(sources, incumbents: [])
        #expect(first.problems.isEmpty && !merger.lastWasIncremental)
        sources[1][1234].setHosts([try Host(ip: "10.9.9.9", port: 31999)])
        let second = merger.merge(sources, incumbents: first.services)
        #expect(merger.lastWasIncremental)
        #expect(second.services == ServiceMerger.merge(sources, httpPort: 80).services)
        #expect(second.services.contains { $0.hosts == [try! Host(ip: "10.9.9.9", port: 31999)] })
    }
}
