import FoundationEssentials
import ProxymHAProxy
import ProxymModel

/// One directory under `Fixtures/`, loaded into the renderer's inputs.
///
/// Layout, mirroring the original's `PROXYM_HAPROXY_OPTIONS_PATH`:
///
///     Fixtures/<case>/services.json                  {"httpPort": 80, "bindAddress": null, "services": [...]}
///     Fixtures/<case>/global.cfg                     global + defaults, written first
///     Fixtures/<case>/options/<domain>_<port>/config     extra backend lines (optional)
///     Fixtures/<case>/options/<domain>_<port>/domains    extra host names, one per line (optional)
///
/// and the expected output in `Golden/<case>.cfg`.
struct GoldenCase: CustomStringConvertible, Sendable {
    let name: String

    var description: String { name }

    static let testDirectory: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!])
    }()

    static var fixturesDirectory: String { testDirectory + "/Fixtures" }
    static var goldenDirectory: String { testDirectory + "/Golden" }

    var fixtureDirectory: String { GoldenCase.fixturesDirectory + "/" + name }
    var goldenPath: String { GoldenCase.goldenDirectory + "/" + name + ".cfg" }

    /// Every case directory, sorted.
    static let all: [GoldenCase] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: fixturesDirectory)) ?? []
        return entries.filter { entry in
            var isDirectory = false
            return FileManager.default.fileExists(atPath: fixturesDirectory + "/" + entry, isDirectory: &isDirectory)
                && isDirectory
        }.sorted().map(GoldenCase.init(name:))
    }()

    // MARK: - Loading

    struct ServicesFile: Decodable {
        var httpPort: UInt16?
        var bindAddress: String?
        var services: [ServiceEntry]
    }

    struct ServiceEntry: Decodable {
        var id: String
        var domains: [String]?
        var transport: String?
        var applicationProtocol: String?
        var servicePort: UInt16
        var hosts: [HostEntry]
        var source: String?
    }

    struct HostEntry: Decodable {
        var ip: String
        var port: Int
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    func load() throws -> (services: [Service], options: RenderOptions) {
        let data = try readFile(fixtureDirectory + "/services.json")
        let file = try JSONDecoder().decode(ServicesFile.self, from: data)
        let services = try file.services.map { entry in
            guard let transport = TransportProtocol(rawValue: entry.transport ?? "tcp") else {
                throw FixtureError(description: "bad transport \(entry.transport ?? "")")
            }
            let applicationProtocol = try entry.applicationProtocol.map { raw in
                guard let value = ApplicationProtocol(rawValue: raw) else {
                    throw FixtureError(description: "bad applicationProtocol \(raw)")
                }
                return value
            }
            return Service(
                id: try ServiceID(entry.id),
                domains: try (entry.domains ?? []).map { try DomainName($0) },
                transport: transport,
                applicationProtocol: applicationProtocol,
                servicePort: entry.servicePort,
                hosts: try entry.hosts.map { try Host(ip: $0.ip, port: $0.port) },
                source: entry.source ?? "fixture"
            )
        }

        let global = String(decoding: try readFile(fixtureDirectory + "/global.cfg"), as: UTF8.self)
        var serviceOptions: [ServiceOptionsKey: ServiceOptions] = [:]
        let optionsDirectory = fixtureDirectory + "/options"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: optionsDirectory)) ?? [] {
            guard let separator = entry.lastIndex(of: "_"), let port = UInt16(entry[entry.index(after: separator)...])
            else { throw FixtureError(description: "options directory \(entry) is not <domain>_<port>") }
            let key = ServiceOptionsKey(domain: String(entry[..<separator]), servicePort: port)
            let directory = optionsDirectory + "/" + entry
            var options = ServiceOptions()
            if let config = try? readFile(directory + "/config") {
                // Raw lines, as the runtime will pass them: the renderer cleans them.
                options.configLines = String(decoding: config, as: UTF8.self)
                    .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
            if let domains = try? readFile(directory + "/domains") {
                options.extraDomains = try String(decoding: domains, as: UTF8.self)
                    .split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                    .map { String($0.trimmingBlanks()) }
                    .filter { !$0.isEmpty }
                    .map { try DomainName($0) }
            }
            serviceOptions[key] = options
        }

        let options = RenderOptions(
            globalConfig: global,
            httpPort: file.httpPort ?? 80,
            bindAddress: file.bindAddress,
            serviceOptions: serviceOptions
        )
        return (services, options)
    }

    private func readFile(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError(description: "cannot read \(path)")
        }
        return data
    }
}
