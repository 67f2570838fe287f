import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// Reads what the renderer takes besides services, from `PROXYM_HAPROXY_OPTIONS_PATH` as the original
/// proxym laid it out: `global.cfg` (put first), and per service `<domain>_<servicePort>/config` (lines
/// added to its backend/listen section) and `.../domains` (extra host names, one per line).
public enum HAProxyOptionsLoader {
    struct Inputs {
        var globalConfig: String
        var serviceOptions: [ServiceOptionsKey: ServiceOptions]
    }

    /// Used when no options path is configured, so a newcomer gets a config haproxy accepts.
    public static let builtInGlobal = """
        global
          maxconn 4096
          hard-stop-after 30s

        defaults
          mode http
          timeout connect 5s
          timeout client 50s
          timeout server 50s

        """

    static let maxFileSize = 1 << 20

    static func load(optionsPath: String?, services: [Service], httpPort: UInt16, logger: Logger) throws(GeneratorFailure)
        -> Inputs
    {
        guard let optionsPath else {
            return Inputs(globalConfig: builtInGlobal, serviceOptions: withServiceLines([:], services))
        }
        let globalPath = optionsPath + "/global.cfg"
        let global: [UInt8]
        do {
            global = try FileSystem.readFile(globalPath, limit: maxFileSize)
        } catch {
            throw GeneratorFailure("cannot read \(globalPath): \(error)")
        }
        // One listing instead of a stat per service: most services have no options directory.
        let present = Set(((try? FileSystem.listDirectory(optionsPath)) ?? []).map(\.name))
        var options: [ServiceOptionsKey: ServiceOptions] = [:]
        for service in services {
            let key = ServiceOptionsKey(domain: service.domain?.rawValue ?? "", servicePort: service.servicePort)
            let dirName = "\(key.domain)_\(key.servicePort)"
            guard present.contains(dirName), options[key] == nil else { continue }
            let dir = optionsPath + "/" + dirName
            var entry = ServiceOptions(configLines: [], extraDomains: [])
            if let config = readOptional(dir + "/config", logger: logger) {
                entry.configLines = config.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
            }
            if let domains = readOptional(dir + "/domains", logger: logger) {
                for line in domains.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                    let name = String(line.trimmingBlanks(alsoCR: true))
                    if name.isEmpty { continue }
                    do {
                        entry.extraDomains.append(try DomainName(name, field: "domains"))
                    } catch {
                        logger.error("invalid extra domain ignored", metadata: ["file": "\(dir)/domains", "error": "\(error)"])
                    }
                }
            }
            options[key] = entry
        }
        return Inputs(
            globalConfig: String(decoding: global, as: UTF8.self), serviceOptions: withServiceLines(options, services))
    }

    /// Lines a service brought itself (a Marathon label) come after the operator's options file.
    private static func withServiceLines(
        _ options: [ServiceOptionsKey: ServiceOptions], _ services: [Service]
    ) -> [ServiceOptionsKey: ServiceOptions] {
        var options = options
        for service in services where !service.configLines.isEmpty {
            let key = ServiceOptionsKey(domain: service.domain?.rawValue ?? "", servicePort: service.servicePort)
            options[key, default: ServiceOptions(configLines: [], extraDomains: [])].configLines += service.configLines
        }
        return options
    }

    private static func readOptional(_ path: String, logger: Logger) -> String? {
        do {
            return String(decoding: try FileSystem.readFile(path, limit: maxFileSize), as: UTF8.self)
        } catch where error.isNoEntry {
            return nil
        } catch {
            logger.error("cannot read options file", metadata: ["file": "\(path)", "error": "\(error)"])
            return nil
        }
    }
}
