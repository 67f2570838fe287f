import ProxymModel
import Testing

@testable import ProxymHAProxy

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
