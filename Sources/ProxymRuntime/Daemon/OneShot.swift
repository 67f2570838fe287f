import Logging
import ProxymCore
import ProxymHAProxy
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

    /// Reads every enabled source once, whole, and renders through the same `RefreshPipeline` and
    /// HAProxy module as `proxym run`: the text is what the daemon would write at start for the same
    /// inputs. Logs problems; never writes anything.
    public static func render(settings: Settings, environment: [String: String], logger: Logger) throws -> Rendered {
        let loop = try EventLoop()
        let sources = try ServiceSources.make(settings: settings, loop: loop, logger: logger)
        // Every source once, not watching; the asynchronous ones (Marathon) run on the loop until
        // they answer, as long as the daemon would wait for them at start.
        var answered: Set<String> = []
        for source in sources {
            let name = source.name
            try source.start(watching: false) { update in
                if update.answeredReadBegunAt != nil { answered.insert(name) }
            }
        }
        let deadline = loop.now + settings.refresh.sourceWait
        while answered.count < sources.count && loop.now < deadline {
            try loop.runOnce(timeout: min(deadline - loop.now, .milliseconds(200)))
        }
        var problems = 0
        for source in sources {
            if !answered.contains(source.name) {
                logger.error(
                    "source did not answer in time", metadata: ["source": "\(source.name)", "setting": "PROXYM_SOURCE_WAIT"])
                problems += 1
            } else if let failure = source.state.failure {
                logger.error("source failed", metadata: ["source": "\(source.name)", "error": "\(failure.error)"])
                problems += 1
            }
            problems += (source as? FileModule)?.failingFiles.count ?? 0
        }
        for source in sources { source.stop {} }
        var pipeline = RefreshPipeline(httpPort: settings.haproxy.httpPort)
        let plan = pipeline.plan(
            sources.map { RefreshPipeline.SourceList(name: $0.name, services: $0.services) }, now: loop.now, force: true,
            reportAgain: true)
        problems += ServiceSources.log(plan.problems, logger: logger)
        var haproxy = settings.haproxy
        haproxy.validate = false
        let module = try HAProxyModule(
            settings: haproxy, loop: loop, logger: logger, environment: environment, tls: settings.tls)
        let config: String
        do {
            config = try module.render(plan.services)
        } catch {
            logger.error("cannot render: \(error)")
            throw error
        }
        return Rendered(config: config, services: plan.services, serviceCount: plan.services.count, problemCount: problems)
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
        // The vhost map is checked from the scratch directory too: the real one may be missing or
        // older than the rendering.
        let mapped = settings.haproxy.vhostMapThreshold > 0
        let scratch =
            try keepAt == nil || settings.tls.enabled || mapped
            ? FileSystem.makeTemporaryDirectory(prefix: "proxym-check", in: temporaryBase) : nil
        defer { if let scratch { try? FileSystem.removeTree(scratch) } }
        let path = keepAt ?? scratch! + "/haproxy.cfg"
        try AtomicFileWriter.write(Array(rendered.config.utf8), to: path, mode: 0o600)
        var checkedPath = path
        var certificateProblems = 0
        if settings.tls.enabled || mapped, let scratch {
            let loop = try EventLoop()
            var scratchSettings = settings
            if settings.tls.enabled {
                // The certificates, checked into the scratch directory; haproxy -c loads those copies.
                let certificates = try checkCertificates(
                    settings.tls, services: rendered.services, httpPort: settings.haproxy.httpPort, scratch: scratch,
                    loop: loop, logger: logger)
                certificateProblems = certificates.problems
                scratchSettings.tls = certificates.settings
            }
            checkedPath = scratch + "/haproxy-check.cfg"
            // The map next to the checked config (`<config>.vhosts.map`).
            if mapped { scratchSettings.haproxy.configFilePath = checkedPath }
            let module = try HAProxyModule(
                settings: scratchSettings.haproxy, loop: loop, logger: logger, environment: environment,
                tls: scratchSettings.tls)
            let (text, map) = try module.renderWithMap(rendered.services)
            if let map { try AtomicFileWriter.write(Array(map.text.utf8), to: map.path, mode: 0o600) }
            try AtomicFileWriter.write(Array(text.utf8), to: checkedPath, mode: 0o600)
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
