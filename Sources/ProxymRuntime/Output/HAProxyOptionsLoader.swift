import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// Reads what the renderer takes besides services, from `PROXYM_HAPROXY_OPTIONS_PATH` as the original
/// proxym laid it out: `global.cfg` (put first), and per service `<domain>_<servicePort>/config` (lines
/// added to its backend/listen section) and `.../domains` (extra host names, one per line).
///
/// This is the disk edge: every file is read with `FileSystem.readRegularFile` (never blocking the
/// loop: a FIFO is refused, not waited on), what it says is parsed by the pure
/// ``ServiceOptionsText``. A file that cannot be read keeps its last good content (ERROR); a problem
/// is logged when it appears, not at every refresh.
public final class HAProxyOptionsLoader {
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

    private let logger: Logger
    /// Per path, the last text read (what a failed read falls back to).
    private var lastGood: [String: String] = [:]
    /// Problems reported by the last load (a problem is logged once while it lasts).
    private var reported: Set<String> = []
    private var reporting: Set<String> = []

    init(logger: Logger) {
        self.logger = logger
    }

    func load(optionsPath: String?, services: [Service]) throws(GeneratorFailure) -> Inputs {
        reporting = []
        defer { reported = reporting }
        guard let optionsPath else { return Inputs(globalConfig: Self.builtInGlobal, serviceOptions: [:]) }
        let globalPath = optionsPath + "/global.cfg"
        guard let global = read(globalPath, required: true) else {
            throw GeneratorFailure("cannot read \(globalPath): \(lastError ?? "not there")")
        }
        // One listing instead of a stat per service: most services have no options directory.
        let present = Set(((try? FileSystem.listDirectory(optionsPath)) ?? []).map(\.name))
        var options: [ServiceOptionsKey: ServiceOptions] = [:]
        for service in services {
            let key = ServiceOptionsKey(for: service)
            guard present.contains(key.description), options[key] == nil else { continue }
            let dir = optionsPath + "/" + key.description
            let (parsed, problems) = ServiceOptionsText.parse(
                config: read(dir + "/config", required: false), domains: read(dir + "/domains", required: false))
            for problem in problems {
                report(.warning, "options line left out", ["file": "\(dir)/\(problem.file)", "line": "\(problem.lineNumber)", "problem": "\(problem.message)"])
            }
            options[key] = parsed
        }
        return Inputs(globalConfig: global, serviceOptions: options)
    }

    private var lastError: String?

    /// The file's text; nil when it is not there (or, failing, never read well before).
    private func read(_ path: String, required: Bool) -> String? {
        lastError = nil
        do {
            let text = String(decoding: try FileSystem.readRegularFile(path, limit: Self.maxFileSize).bytes, as: UTF8.self)
            lastGood[path] = text
            return text
        } catch where error.isNoEntry && !required {
            lastGood[path] = nil
            return nil
        } catch {
            lastError = "\(error)"
            let kept = lastGood[path]
            report(
                .error, "cannot read options file",
                ["file": "\(path)", "error": "\(error)", "kept": kept == nil ? "nothing (never read)" : "its last good content"])
            return kept
        }
    }

    private func report(_ level: Logger.Level, _ message: String, _ metadata: [String: String]) {
        let key = "\(message) \(metadata.sorted { $0.key < $1.key })"
        reporting.insert(key)
        let logged: Logger.Metadata = metadata.mapValues { .string($0) }
        logger.log(level: reported.contains(key) ? .debug : level, "\(message)", metadata: logged)
    }
}
