import Logging
import ProxymCore
import ProxymModel
import ProxymPosix

/// `proxym render` and `proxym check`: one refresh without the daemon around it.
public enum OneShot {
    public struct Rendered {
        public var config: String
        /// The merged services the config was rendered from.
        public var services: [Service]
        public var serviceCount: Int
        /// Broken files, failed sources, merge conflicts.
        public var problemCount: Int
    }

    public struct Checked {
        public var ok: Bool
        public var serviceCount: Int
        public var problemCount: Int
    }

    /// Runs every enabled generator once and renders. Logs problems; never writes anything.
    public static func render(settings: Settings, environment: [String: String], logger: Logger) throws -> Rendered {
        let loop = try EventLoop()
        var generators: [any ServiceGenerator] = []
        var file: FileModule?
        if settings.file.enabled {
            file = FileModule(directory: settings.file.configsPath, loop: loop, logger: logger)
            generators.append(file!)
        }
        if settings.marathon.enabled {
            generators.append(
                try MarathonModule(
                    settings: settings.marathon, httpPort: settings.haproxy.httpPort, loop: loop, logger: logger))
        }
        // Every generator once; the asynchronous ones (Marathon) run on the loop until they answer.
        var results: [Int: [Service]] = [:]
        var answered = 0
        var problems = 0
        for (index, generator) in generators.enumerated() {
            let name = generator.name
            generator.generate(fullResync: true) { result in
                answered += 1
                switch result {
                case .success(let services): results[index] = services
                case .failure(let failure):
                    logger.error("source failed", metadata: ["source": "\(name)", "error": "\(failure.message)"])
                    problems += 1
                }
            }
        }
        let deadline = loop.now + settings.marathon.timeout * 3 + .seconds(5)
        while answered < generators.count && loop.now < deadline {
            try loop.runOnce(timeout: .milliseconds(200))
        }
        if answered < generators.count {
            logger.error("a source did not answer in time")
            problems += generators.count - answered
        }
        problems += file?.failingFiles.count ?? 0
        let sources = generators.indices.map { results[$0] ?? [] }
        let merged = ServiceMerger.merge(sources, httpPort: settings.haproxy.httpPort)
        for problem in merged.problems {
            if problem.severity == .error {
                logger.error("\(problem)")
                problems += 1
            } else {
                logger.warning("\(problem)")
            }
        }
        var haproxy = settings.haproxy
        haproxy.validate = false
        let module = try HAProxyModule(
            settings: haproxy, loop: loop, logger: logger, environment: environment, tls: settings.tls)
        let config: String
        do {
            config = try module.render(merged.services)
        } catch {
            logger.error("cannot render: \(error)")
            throw error
        }
        return Rendered(config: config, services: merged.services, serviceCount: merged.services.count, problemCount: problems)
    }

    /// Renders, then runs `haproxy -c` on the result (kept at `keepAt` if given, else a temp file).
    public static func check(settings: Settings, environment: [String: String], logger: Logger, keepAt: String?)
        throws -> Checked
    {
        let rendered = try render(settings: settings, environment: environment, logger: logger)
        guard let haproxy = settings.haproxy.binaryPath ?? Paths.which("haproxy", environment: environment) else {
            logger.error("haproxy not found: install it or set PROXYM_HAPROXY_BINARY_PATH")
            return Checked(ok: false, serviceCount: rendered.serviceCount, problemCount: rendered.problemCount + 1)
        }
        // Without --output: a fresh private directory (mkdtemp), not a predictable name in a shared /tmp
        // that another check (or another user) may hold or replace while haproxy reads it.
        let temporaryBase = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let scratch =
            try keepAt == nil || settings.tls.enabled
            ? FileSystem.makeTemporaryDirectory(prefix: "proxym-check", in: temporaryBase) : nil
        defer { if let scratch { try? FileSystem.removeTree(scratch) } }
        let path = keepAt ?? scratch! + "/haproxy.cfg"
        try AtomicFileWriter.write(Array(rendered.config.utf8), to: path, mode: 0o600)
        var checkedPath = path
        var certificateProblems = 0
        if settings.tls.enabled, let scratch {
            // The certificates, checked into the scratch directory; haproxy -c loads those copies.
            let loop = try EventLoop()
            let certificates = try checkCertificates(
                settings.tls, services: rendered.services, httpPort: settings.haproxy.httpPort, scratch: scratch,
                loop: loop, logger: logger)
            certificateProblems = certificates.problems
            var scratchSettings = settings
            scratchSettings.tls = certificates.settings
            let module = try HAProxyModule(
                settings: scratchSettings.haproxy, loop: loop, logger: logger, environment: environment,
                tls: scratchSettings.tls)
            checkedPath = scratch + "/haproxy-check.cfg"
            try AtomicFileWriter.write(Array(try module.render(rendered.services).utf8), to: checkedPath, mode: 0o600)
        }

        let loop = try EventLoop()
        var outcome: ChildProcess.Outcome?
        _ = try ChildProcess(
            loop: loop, executable: haproxy, arguments: ["-c", "-f", checkedPath],
            environment: ChildEnvironment.make(from: environment), timeout: settings.haproxy.commandTimeout
        ) { result in outcome = result }
        while outcome == nil { try loop.runOnce(timeout: nil) }
        let result = outcome!
        let accepted = result.status.isSuccess && !result.timedOut
        for line in LogText.lines(result.stderr + result.stdout) {
            if accepted { logger.info("haproxy: \(line)") } else { logger.error("haproxy: \(line)") }
        }
        if !accepted {
            logger.error(
                "haproxy rejected the config",
                metadata: ["status": "\(result.summary(timeout: settings.haproxy.commandTimeout))"])
        }
        let problems = rendered.problemCount + certificateProblems + (accepted ? 0 : 1)
        return Checked(ok: problems == 0, serviceCount: rendered.serviceCount, problemCount: problems)
    }
}
