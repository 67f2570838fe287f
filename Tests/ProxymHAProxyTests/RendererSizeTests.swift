import ProxymModel
import Testing

@testable import ProxymHAProxy
import ProxymTestBuilders

/// The renderer writes the text straight into a buffer of the size it computed first; should that size
/// ever be off, it still renders right (more slowly). These keep it exact for every shape of input.
@Suite struct RendererSizeTests {
    @Test(arguments: GoldenCase.all)
    func goldenCases(_ goldenCase: GoldenCase) throws {
        let (services, options) = try goldenCase.load()
        #expect(HAProxyRenderer.sizeIsExact(services, options: options))
    }

    @Test(arguments: RendererPropertyTests.seeds)
    func randomCases(seed: UInt64) throws {
        let (services, options) = try RendererPropertyTests.makeCase(seed: seed)
        #expect(HAProxyRenderer.sizeIsExact(services, options: options))
    }

    /// The Runtime API layout: slots (active, free, draining; up to two-digit numbers), the stats
    /// socket added to the global section, `option idle-close-on-response`.
    @Test(arguments: [0, 1, 3, 12])
    func slotLayouts(minimumSlots: Int) throws {
        let services = [
            try makeService("/web", domains: ["web.example.com"], port: 8080, hosts: [("10.0.0.2", 8080), ("10.0.0.1", 8080)]),
            try makeService("/db", port: 5432, hosts: [("10.0.0.3", 5432)]),
            try makeService("/named", port: 6000, hosts: [("db.example.com", 6000)]),
            try makeService("/empty", port: 6001, hosts: []),
        ]
        var options = RenderOptions(
            globalConfig: "global\n  maxconn 100\n", httpPort: 8080, bindAddress: "127.0.0.1",
            statsSocket: "/run/proxym-size.sock", idleCloseOnResponse: true)
        let sections = HAProxyRenderer.sections(services, options: options)
        var table = SlotPlanner.assign(
            live: SlotTable(), sections: sections, now: 0, options: .init(minimumSlots: minimumSlots, drainTime: .zero)
        ).table
        table.sections["web_cluster"]?.append(.draining(try Host(ip: "10.0.0.9", port: 1), since: 0))
        options.slots = table
        #expect(HAProxyRenderer.sizeIsExact(services, options: options))
        let text = HAProxyRenderer.render(services, options: options)
        #expect(text.contains("stats socket /run/proxym-size.sock"))
        #expect(text.contains("  option idle-close-on-response\n"))
        #expect(text.contains("backend web_cluster\n\n  server node1 10.0.0.1:8080 check\n  server node2 10.0.0.2:8080 check\n  server node3 127.0.0.1:1 check disabled\n"))
    }

    @Test func everyDigitCount() throws {
        var services: [Service] = []
        for (i, port) in [1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535].enumerated() {
            let hosts = try (0..<(i + 1) * 3).map { _ in try Host(ip: "\(i).\(10 * i).\(100 + i).\(255 - i)", port: port) }
            services.append(
                Service(
                    id: try ServiceID("/s\(i)"), domains: [try DomainName("s\(i).example.com")],
                    servicePort: UInt16(port == 80 ? 81 : port), hosts: hosts, source: "test"))
        }
        for httpPort: UInt16 in [80, 8, 8080, 65535] {
            let options = RenderOptions(globalConfig: "global\n", httpPort: httpPort, bindAddress: "127.0.0.1")
            #expect(HAProxyRenderer.sizeIsExact(services, options: options))
        }
    }
}

@Suite struct RendererSizeFallbackTests {
    @Test(arguments: [-1, -100, 1, 100])
    func aWrongSizeStillGivesTheSameText(error: Int) throws {
        for seed in RendererPropertyTests.seeds.prefix(20) {
            let (services, options) = try RendererPropertyTests.makeCase(seed: seed)
            let expected = HAProxyRenderer.renderWithNotes(services, options: options)
            let rendering = HAProxyRenderer.renderWithNotes(services, options: options, sizeError: error)
            #expect(rendering == expected, "seed \(seed)")
        }
    }
}
