import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

/// The HAProxy module: renders the config (pure), and when it changed: writes it to a temp file next
/// to the target, `haproxy -c -f tmp` (a child watched by pidfd, never blocking the loop), `rename()`
/// over the target, then reloads haproxy the configured way (`HAProxyRunner`). A config haproxy rejects
/// is never installed; it is kept as `<target>.rejected` for inspection and haproxy's own words are
/// logged.
///
/// With `PROXYM_HAPROXY_RUNTIME_API=1` servers live in numbered slots (`SlotPlanner`): a refresh that
/// changes only which hosts serve existing backends rewrites the file (atomically, same structure)
/// and sends `set server` commands to the stats socket, then checks `show servers state`; anything
/// else, or a Runtime API failure, reloads.
public final class HAProxyModule: ConfigGenerator {
    public let name = "haproxy"

    private let settings: Settings.HAProxy
    private let loop: EventLoop
    private let logger: Logger
    private let childEnvironment: [String]
    /// The haproxy used for `-c` (BINARY_PATH, else found in PATH); nil when validation is off.
    private let checkBinary: String?
    private let runner: any HAProxyRunner
    private let slotOptions: SlotPlanner.Options

    /// The text currently live (written and successfully applied), nil before the first apply.
    private var liveText: String?
    /// The last text haproxy rejected: not re-checked until the input changes (or SIGHUP).
    private var rejectedText: String?
    /// An apply or a drain step is running; others wait in `queue`.
    private var busy = false
    private var queue: [() -> Void] = []
    /// Set once an apply went through write/check/install: from then on a nil `liveText` means that
    /// apply failed, not that proxym just started, so the file on disk proves nothing.
    private var wroteOnce = false

    // Runtime API state: what haproxy runs (nil = unknown: the next apply reloads).
    private var liveSlots: SlotTable?
    /// The rendering of `liveSlots.skeleton` with the live services and options.
    private var liveSkeleton: String?
    /// The sections and render options of the live text, for the drain step.
    private var liveSections: [ServerSection] = []
    private var drainTimer: EventLoop.TimerHandle?
    private var warnedSocket: String?
    private var problemHandler: (() -> Void)?
    private var restartHandler: (() -> Void)?

    /// How many times haproxy was reloaded (or started) by this module, and how many refreshes went
    /// through the Runtime API alone (for logs and tests).
    public private(set) var reloadCount = 0
    public private(set) var runtimeApplyCount = 0

    var rejectedPath: String { settings.configFilePath + ".rejected" }

    public init(settings: Settings.HAProxy, loop: EventLoop, logger: Logger, environment: [String: String]) throws {
        self.settings = settings
        self.loop = loop
        var logger = logger
        logger[metadataKey: "module"] = "haproxy"
        self.logger = logger
        self.childEnvironment = ChildEnvironment.make(from: environment)
        self.slotOptions = SlotPlanner.Options(minimumSlots: settings.serverSlots, drainTime: settings.drainTime)
        if settings.validate {
            guard let binary = settings.binaryPath ?? Paths.which("haproxy", environment: environment) else {
                throw GeneratorFailure(
                    "validating configs needs haproxy: install it, set PROXYM_HAPROXY_BINARY_PATH, or set PROXYM_HAPROXY_VALIDATE=0"
                )
            }
            self.checkBinary = binary
        } else {
            self.checkBinary = nil
        }
        let commands = CommandRunner(loop: loop, logger: logger, environment: childEnvironment, timeout: settings.commandTimeout)
        // A name without "/" is looked up in PATH now; if it is not there, starting it fails later
        // with a clear error (and `proxym render`, which never starts haproxy, still works).
        func resolve(_ binary: String) -> String {
            binary.contains("/") ? binary : Paths.which(binary, environment: environment) ?? binary
        }
        switch settings.reloadMethod {
        case .none:
            runner = FileOnlyRunner()
        case .command(let command):
            runner = ReloadCommandRunner(command: command, pidFile: settings.pidPath, runner: commands, logger: logger)
        case .startStop(let binary, let pidFile):
            runner = SFRunner(
                binary: resolve(binary), pidFile: pidFile, configPath: settings.configFilePath, runner: commands,
                logger: logger)
        case .masterWorker(let binary, let socket, let pidFile):
            runner = MasterWorkerRunner(
                binary: resolve(binary), socket: socket, pidFile: pidFile, configPath: settings.configFilePath,
                runner: commands, logger: logger)
        }
        runner.onEvent = { [weak self] event in self?.runnerEvent(event) }
    }

    // MARK: ConfigGenerator

    public var problem: String? { runner.problem }

    public func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void) {
        problemHandler = problems
        restartHandler = restarts
    }

    private func runnerEvent(_ event: HAProxyRunnerEvent) {
        switch event {
        case .problemChanged:
            problemHandler?()
        case .restartedFromFile:
            // What runs is the file on disk, which is what proxym last wrote.
            reloadCount += 1
            if let slots = liveSlots { liveSlots = slots.afterReload }
            problemHandler?()
            restartHandler?()
        }
    }

    // MARK: Rendering

    /// What one apply would write, and how the servers are laid out.
    struct Candidate {
        var text: String
        /// Runtime API only.
        var slots: SlotTable?
        var skeleton: String?
        var sections: [ServerSection] = []
        /// A stats socket exposing the listeners (`-x` for sf reloads).
        var exposedSocket: String?
        /// The admin stats socket the Runtime API talks to.
        var statsSocket: String?
    }

    /// The stats socket proxym uses, and whether it must add it to the global section.
    struct StatsSocketChoice: Equatable {
        var path: String
        var add: Bool
        var exposesListeners: Bool
        var isAdmin: Bool
    }

    func statsSocket(global: String) -> StatsSocketChoice {
        let declared = StatsSocketConfig.declared(in: global)
        if let wanted = settings.statsSocket {
            if let found = declared.first(where: { $0.path == wanted }) {
                return StatsSocketChoice(path: wanted, add: false, exposesListeners: found.exposesListeners, isAdmin: found.isAdmin)
            }
            return StatsSocketChoice(path: wanted, add: true, exposesListeners: true, isAdmin: true)
        }
        if let found = declared.first(where: \.isAdmin) {
            return StatsSocketChoice(path: found.path, add: false, exposesListeners: found.exposesListeners, isAdmin: true)
        }
        return StatsSocketChoice(path: settings.defaultStatsSocket, add: true, exposesListeners: true, isAdmin: true)
    }

    private func options(_ services: [Service]) throws(GeneratorFailure) -> (RenderOptions, StatsSocketChoice?) {
        let inputs = try HAProxyOptionsLoader.load(
            optionsPath: settings.optionsPath, services: services, httpPort: settings.httpPort, logger: logger)
        var options = RenderOptions(
            globalConfig: inputs.globalConfig, httpPort: settings.httpPort, bindAddress: settings.bindAddress,
            serviceOptions: inputs.serviceOptions)
        guard settings.runtimeAPI else {
            if case .masterWorker = settings.reloadMethod { options.idleCloseOnResponse = true }
            return (options, nil)
        }
        options.idleCloseOnResponse = true
        let socket = statsSocket(global: inputs.globalConfig)
        if socket.add { options.statsSocket = socket.path }
        if !socket.isAdmin && warnedSocket != socket.path {
            warnedSocket = socket.path
            logger.warning(
                "the stats socket global.cfg declares is not `level admin`: the Runtime API cannot change servers there, so every change reloads",
                metadata: ["socket": "\(socket.path)"])
        }
        return (options, socket)
    }

    /// Reads global.cfg and the per-service options directory, then renders (the original layout,
    /// or with `PROXYM_HAPROXY_RUNTIME_API` the slot layout for a fresh start).
    public func render(_ services: [Service]) throws(GeneratorFailure) -> String {
        try candidate(services, live: nil).text
    }

    private func candidate(_ services: [Service], live: SlotTable?) throws(GeneratorFailure) -> Candidate {
        let (options, socket) = try self.options(services)
        guard settings.runtimeAPI else {
            return Candidate(text: HAProxyRenderer.render(services, options: options))
        }
        let sections = HAProxyRenderer.sections(services, options: options)
        let assignment = SlotPlanner.assign(
            live: live ?? SlotTable(), sections: sections, now: loop.now.nanoseconds, options: slotOptions)
        return slotted(assignment.table, services, sections: sections, options: options, socket: socket)
    }

    private func slotted(
        _ table: SlotTable, _ services: [Service], sections: [ServerSection], options: RenderOptions,
        socket: StatsSocketChoice?
    ) -> Candidate {
        var options = options
        options.slots = table.skeleton
        let skeleton = HAProxyRenderer.render(services, options: options)
        options.slots = table
        let text = HAProxyRenderer.render(services, options: options)
        let exposed = socket.flatMap { $0.exposesListeners && $0.isAdmin ? $0.path : nil }
        return Candidate(
            text: text, slots: table, skeleton: skeleton, sections: sections, exposedSocket: exposed,
            statsSocket: socket?.path)
    }

    // MARK: Applying

    public func apply(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        exclusively { done in
            self.applyNow(services, force: force) { outcome in
                done()
                completion(outcome)
            }
        }
    }

    /// Runs `operation` when nothing else runs; `operation` calls its argument when it is over.
    private func exclusively(_ operation: @escaping (@escaping () -> Void) -> Void) {
        guard !busy else {
            queue.append { [weak self] in self?.exclusively(operation) }
            return
        }
        busy = true
        operation { [weak self] in
            guard let self else { return }
            self.busy = false
            if !self.queue.isEmpty { self.queue.removeFirst()() }
        }
    }

    private func applyNow(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        let options: RenderOptions
        let socket: StatsSocketChoice?
        do {
            (options, socket) = try self.options(services)
        } catch {
            completion(.failed("cannot render: \(error)", retry: false))
            return
        }
        guard settings.runtimeAPI else {
            let text = HAProxyRenderer.render(services, options: options)
            applyText(Candidate(text: text), force: force, completion: completion)
            return
        }
        let sections = HAProxyRenderer.sections(services, options: options)
        let assignment = SlotPlanner.assign(
            live: liveSlots ?? SlotTable(), sections: sections, now: loop.now.nanoseconds, options: slotOptions)
        var candidate = slotted(assignment.table, services, sections: sections, options: options, socket: socket)
        if liveSlots == nil {
            // Unknown live state: the fresh layout (what a reload would load) is the one to compare
            // with the file on disk at startup, and to reload otherwise.
            applyText(candidate, force: force, completion: completion)
            return
        }
        let decision =
            force
            ? SlotPlanner.Decision.reload(reasons: ["SIGHUP: full re-apply"])
            : SlotPlanner.decide(
                live: liveSlots, liveSkeleton: liveSkeleton, new: assignment, newSkeleton: candidate.skeleton ?? "")
        switch decision {
        case .unchanged where candidate.text == liveText:
            completion(.unchanged("unchanged"))
        case .runtime(let commands):
            runtimeApply(candidate, commands: commands, completion: completion)
        case .unchanged, .reload:
            if case .reload(let reasons) = decision, !force {
                logger.info("reload needed", metadata: ["reasons": "\(reasons.joined(separator: "; "))"])
            }
            let table = SlotPlanner.compacted(assignment.table, options: slotOptions)
            candidate = slotted(table, services, sections: sections, options: options, socket: socket)
            applyText(candidate, force: force, completion: completion)
        }
    }

    /// The reload pipeline: temp file, `haproxy -c`, rename, reload.
    private func applyText(_ candidate: Candidate, force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        let text = candidate.text
        if !force {
            if text == liveText {
                completion(.unchanged("unchanged"))
                return
            }
            if text == rejectedText {
                completion(.failed("haproxy rejected this config before; fix the input (see earlier errors)", retry: false))
                return
            }
            if liveText == nil, !wroteOnce, let onDisk = try? FileSystem.readFile(settings.configFilePath, limit: 64 << 20),
                onDisk == Array(text.utf8)
            {
                // First refresh and the file is already current: do not disturb a running haproxy.
                runner.ensureRunning { [weak self] outcome in
                    guard let self else { return }
                    switch outcome {
                    case .failed: break
                    case .applied: self.reloadCount += 1; self.becameLive(candidate)
                    case .unchanged: self.becameLive(candidate)
                    }
                    completion(outcome)
                }
                return
            }
        }
        wroteOnce = true
        let tempPath: String
        do {
            // Keep the mode of the file we replace (0644 for a new one).
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            tempPath = try AtomicFileWriter.writeTemporary(
                nextTo: settings.configFilePath, contents: Array(text.utf8), mode: mode)
        } catch {
            logger.error(
                "cannot write the new config; the old one stays live",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot write next to \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return
        }
        pendingTemp = tempPath
        guard let checkBinary else {
            install(candidate, from: tempPath, completion: completion)
            return
        }
        let timeout = checkTimeout(bytes: text.utf8.count)
        lastCheckTimeout = timeout
        checking = CommandRunner(loop: loop, logger: logger, environment: childEnvironment, timeout: timeout)
            .run(checkBinary, ["-c", "-f", tempPath]) { [weak self] result in
                guard let self else { return }
                self.checking = nil
                if case .failure(let failure) = result, failure.outcome?.timedOut == true {
                    self.checkPatience = min(self.checkPatience * 2, 16)
                } else {
                    self.checkPatience = 1
                }
                switch result {
                case .success:
                    self.install(candidate, from: tempPath, completion: completion)
                case .failure(let failure) where failure.ranAndFailed && failure.outputLines.contains(where: { $0.contains("[ALERT]") }):
                    // haproxy's verdict: this config is wrong; only a change of input helps.
                    self.rejectedText = text
                    do {
                        try FileSystem.rename(from: tempPath, to: self.rejectedPath)
                    } catch {
                        try? FileSystem.unlink(tempPath)
                    }
                    self.pendingTemp = nil
                    self.logger.error(
                        "haproxy rejected the new config; the old one stays live",
                        metadata: ["candidate": "\(self.rejectedPath)", "check": "\(failure.status)"])
                    for line in failure.outputLines { self.logger.error("haproxy: \(line)") }
                    completion(.failed("haproxy -c rejected the config (kept as \(self.rejectedPath))", retry: false))
                case .failure(let failure):
                    // No verdict on the config: a timeout, a kill, a binary that vanished or could not
                    // start. A failed attempt, retried; the same config gets checked again.
                    try? FileSystem.unlink(tempPath)
                    self.pendingTemp = nil
                    let timedOut = failure.outcome?.timedOut == true
                    var metadata: Logger.Metadata = [
                        "binary": "\(checkBinary)", "check": "\(failure.status)", "bytes": "\(text.utf8.count)",
                    ]
                    if timedOut {
                        metadata["next_check_gets"] = "\(self.checkTimeout(bytes: text.utf8.count))"
                        metadata["setting"] =
                            "PROXYM_HAPROXY_COMMAND_TIMEOUT (the check gets it plus 5 s per MiB of config, doubled after each timeout)"
                    }
                    self.logger.error(
                        timedOut
                            ? "haproxy -c did not finish in time; the old config stays live, the check is retried"
                            : "haproxy -c could not check the new config; the old config stays live, the check is retried",
                        metadata: metadata)
                    for line in failure.outputLines { self.logger.error("haproxy: \(line)") }
                    completion(.failed("haproxy -c \(failure.status), no verdict on the config (will retry)", retry: true))
                }
            }
    }

    /// `haproxy -c` takes longer the bigger the config: 50,000 services (8.2 MiB) took 10 s of CPU
    /// here (1.2 s per MiB), 30 s on a loaded 2-core machine. The check gets
    /// PROXYM_HAPROXY_COMMAND_TIMEOUT plus 5 s per MiB of config, and twice that after a check timed
    /// out (up to 16 times, back to once after a check that finished), so a big config on a busy
    /// machine gets through on a retry instead of timing out for ever.
    public func checkTimeout(bytes: Int) -> Duration {
        (settings.commandTimeout + .seconds(5 * (bytes >> 20))) * checkPatience
    }

    /// Doubles after each check that timed out (at most 16), 1 after one that finished.
    private var checkPatience = 1

    public var commandLimit: Duration { max(settings.commandTimeout, lastCheckTimeout) }

    // MARK: Temp files

    /// The temp file of the apply under way (written, being checked): removed on every way out.
    private var pendingTemp: String?
    /// The `haproxy -c` under way, ended on the way out.
    private var checking: ChildProcess?
    private var lastCheckTimeout: Duration = .zero

    public func cleanUp() {
        checking?.terminate(grace: .zero)
        checking = nil
        if let pendingTemp { try? FileSystem.unlink(pendingTemp) }
        pendingTemp = nil
    }

    /// Temp files an earlier proxym left next to the target when it crashed: `.<name>.<hex>.tmp`
    /// (`AtomicFileWriter`'s pattern), nothing else.
    public func removeLeftovers() {
        let directory = FileSystem.directoryName(settings.configFilePath)
        let prefix = "." + FileSystem.baseName(settings.configFilePath) + "."
        guard let entries = try? FileSystem.listDirectory(directory) else { return }
        for entry in entries where Self.isOurTemporary(entry.name, prefix: prefix) {
            let path = (directory == "/" ? "" : directory) + "/" + entry.name
            do {
                try FileSystem.unlink(path)
                logger.notice("removed a temp file an earlier run left behind", metadata: ["path": "\(path)"])
            } catch {
                logger.warning("cannot remove a leftover temp file", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    static func isOurTemporary(_ name: String, prefix: String) -> Bool {
        guard name.hasPrefix(prefix), name.hasSuffix(".tmp") else { return false }
        let hex = name.utf8.dropFirst(prefix.utf8.count).dropLast(4)
        return !hex.isEmpty && hex.count <= 16
            && hex.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    /// rename(tmp, target), then reload.
    private func install(_ candidate: Candidate, from tempPath: String, completion: @escaping (ApplyOutcome) -> Void) {
        defer { pendingTemp = nil }
        do {
            try AtomicFileWriter.commit(temporary: tempPath, to: settings.configFilePath)
        } catch {
            try? FileSystem.unlink(tempPath)
            logger.error(
                "cannot install the new config; the old one stays live",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot install \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return
        }
        rejectedText = nil
        logger.info(
            "config written", metadata: ["path": "\(settings.configFilePath)", "bytes": "\(candidate.text.utf8.count)"])
        reloadInstalled(candidate, completion: completion)
    }

    /// The file holds `candidate`: make haproxy load it.
    private func reloadInstalled(_ candidate: Candidate, note: String? = nil, completion: @escaping (ApplyOutcome) -> Void) {
        // The file no longer holds what was live; until the reload succeeds nothing is known to be.
        forgetLive()
        runner.reload(exposedSocket: candidate.exposedSocket) { [weak self] outcome in
            guard let self else { return }
            if case .applied(let summary) = outcome {
                self.reloadCount += 1
                self.becameLive(candidate)
                completion(.applied(note.map { "\(summary) (\($0))" } ?? summary))
                return
            }
            completion(outcome)
        }
    }

    private func becameLive(_ candidate: Candidate) {
        liveText = candidate.text
        liveSlots = candidate.slots?.afterReload
        liveSkeleton = candidate.skeleton
        liveSections = candidate.sections
        liveStatsSocket = candidate.statsSocket
        scheduleDrainStep()
    }

    private func forgetLive() {
        liveText = nil
        liveSlots = nil
        liveSkeleton = nil
        if let drainTimer { loop.cancel(drainTimer) }
        drainTimer = nil
    }

    // MARK: Runtime API

    /// The stats socket of the live configuration.
    private var liveStatsSocket: String?

    /// Server-only change: rewrite the file (same structure, new servers), then `set server`.
    private func runtimeApply(_ candidate: Candidate, commands: [RuntimeCommand], completion: @escaping (ApplyOutcome) -> Void) {
        guard let table = candidate.slots, let socket = candidate.statsSocket else {
            applyText(candidate, force: true, completion: completion)
            return
        }
        do {
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            try AtomicFileWriter.write(Array(candidate.text.utf8), to: settings.configFilePath, mode: mode)
        } catch {
            logger.error(
                "cannot write the new config; haproxy is left as it is",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot write \(settings.configFilePath): \(error); haproxy was not changed", retry: true))
            return
        }
        wroteOnce = true
        rejectedText = nil
        let touched = Set(commands.map(\.backend))
        logger.debug("Runtime API", metadata: ["commands": "\(commands.map(\.description).joined(separator: "; "))"])
        sendVerified(commands, socket: socket, table: table, sections: touched) { [weak self] problem in
            guard let self else { return }
            if let problem {
                self.logger.error(
                    "the Runtime API change did not take; reloading haproxy instead", metadata: ["reason": "\(problem)"])
                self.reloadInstalled(candidate, note: "the Runtime API failed", completion: completion)
                return
            }
            self.runtimeApplyCount += 1
            let changed = Set(commands.map { "\($0.backend)/\(Self.server(of: $0))" }).count
            self.logger.info(
                "servers changed through the Runtime API, no reload",
                metadata: ["servers": "\(changed)", "backends": "\(touched.sorted().joined(separator: ","))"])
            self.liveText = candidate.text
            self.liveSlots = table
            self.liveSections = candidate.sections
            self.scheduleDrainStep()
            completion(.applied("applied through the Runtime API (\(changed) server\(changed == 1 ? "" : "s"), no reload)"))
        }
    }

    private static func server(of command: RuntimeCommand) -> String {
        switch command {
        case .setAddress(_, let server, _), .setState(_, let server, _): return server
        }
    }

    /// Sends the commands (in requests of at most ~8 KiB, below haproxy's 16 KiB buffer), then reads
    /// `show servers state` for `sections` and compares with `table`. Calls back with nil when haproxy
    /// runs what the table says, else the reason.
    private func sendVerified(
        _ commands: [RuntimeCommand], socket: String, table: SlotTable, sections: Set<String>,
        completion: @escaping (String?) -> Void
    ) {
        let requests = Self.batches(commands.map(\.description))
        let checks = Self.batches(sections.sorted().map { "show servers state \($0)" })
        var answers: [String] = []
        func run(_ index: Int, _ list: [String], then: @escaping () -> Void) {
            guard index < list.count else {
                then()
                return
            }
            CLIExchange.run(loop: loop, path: socket, request: list[index], timeout: settings.commandTimeout) { result in
                switch result {
                case .success(let text):
                    answers.append(text)
                    run(index + 1, list, then: then)
                case .failure(let failure):
                    completion("stats socket: \(failure)")
                }
            }
        }
        run(0, requests) {
            let replies = answers
            answers = []
            run(0, checks) {
                let states = HAProxyCLI.parseServersState(answers.joined(separator: "\n"))
                let mismatches = HAProxyCLI.mismatches(table: table, sections: sections, states: states)
                if mismatches.isEmpty {
                    completion(nil)
                    return
                }
                let said = replies.flatMap { LogText.lines(Array($0.utf8), limit: 5) }
                    .filter { !$0.hasPrefix("IP changed") && !$0.hasPrefix("no need") }
                completion(
                    "\(mismatches.prefix(5).joined(separator: "; "))"
                        + (said.isEmpty ? "" : " (haproxy said: \(said.prefix(3).joined(separator: " | ")))"))
            }
        }
    }

    static func batches(_ lines: [String], limit: Int = 8000) -> [String] {
        var result: [String] = []
        var current = ""
        for line in lines {
            if !current.isEmpty && current.utf8.count + 2 + line.utf8.count > limit {
                result.append(current)
                current = ""
            }
            current += current.isEmpty ? line : "; " + line
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// Leaving servers go from drain to maint when their drain time is over.
    private func scheduleDrainStep() {
        if let drainTimer { loop.cancel(drainTimer) }
        drainTimer = nil
        guard let deadline = liveSlots?.nextDrainDeadline(drainTime: settings.drainTime) else { return }
        drainTimer = loop.schedule(at: Instant(nanoseconds: deadline)) { [weak self] in
            guard let self else { return }
            self.drainTimer = nil
            self.exclusively { done in self.finishDrains(done) }
        }
    }

    private func finishDrains(_ done: @escaping () -> Void) {
        guard let live = liveSlots, let socket = liveStatsSocket else {
            done()
            return
        }
        let assignment = SlotPlanner.assign(
            live: live, sections: liveSections, now: loop.now.nanoseconds, options: slotOptions)
        let commands = SlotPlanner.commands(from: live, to: assignment.table)
        guard !commands.isEmpty, assignment.grown.isEmpty else {
            scheduleDrainStep()
            done()
            return
        }
        sendVerified(commands, socket: socket, table: assignment.table, sections: Set(commands.map(\.backend))) {
            [weak self] problem in
            guard let self else { return }
            if let problem {
                self.logger.warning(
                    "could not finish draining servers; the next change reloads", metadata: ["reason": "\(problem)"])
                self.liveSlots = nil
                self.liveText = nil
            } else {
                self.logger.debug("drained servers set to maint", metadata: ["count": "\(commands.count)"])
                self.liveSlots = assignment.table
                self.scheduleDrainStep()
            }
            done()
        }
    }
}

/// The pid file haproxy writes with `-p`: whitespace-separated pids.
enum HAProxyPidFile {
    static func alivePIDs(_ path: String) -> [Int32] {
        guard let bytes = try? FileSystem.readFile(path, limit: 64 << 10) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            .compactMap { Int32($0) }
            .filter { $0 > 1 && ProcessState.isAlive($0) }
    }
}

/// The environment handed to children: ours without systemd's per-process variables, so haproxy or a
/// reload command never talks to our notify socket or believes it was socket-activated.
enum ChildEnvironment {
    static let stripped: Set<String> = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
    ]
    static func make(from environment: [String: String]) -> [String] {
        environment.filter { !stripped.contains($0.key) }.map { "\($0.key)=\($0.value)" }.sorted()
    }
}

enum Paths {
    static func which(_ name: String, environment: [String: String]) -> String? {
        let path = environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileSystem.isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}

/// Child output as log lines: split on newlines, control characters escaped, at most 40 lines.
enum LogText {
    static func lines(_ bytes: [UInt8], limit: Int = 40) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [String] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let trimmed = line.trimmingBlanks
            if trimmed.isEmpty { continue }
            if out.count == limit {
                out.append("... (output cut)")
                break
            }
            out.append(ValidationError.escaped(trimmed, limit: 400))
        }
        return out
    }
}

extension Substring {
    var trimmingBlanks: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

extension ChildProcess.Outcome {
    /// `exited with status 1`, `timed out after 30 seconds (killed by SIGTERM)`.
    func summary(timeout: Duration) -> String {
        timedOut ? "timed out after \(timeout) (\(status))" : "\(status)"
    }
}

enum ProcessState {
    /// kill(pid, 0): the process exists (EPERM means it exists but belongs to someone else), and it
    /// is not a zombie: a daemonized haproxy that died stays one when init does not reap (a container
    /// without an init process), and would otherwise count as running forever.
    static func isAlive(_ pid: Int32) -> Bool {
        do {
            try kill(pid: pid, signal: Signal(rawValue: 0))
        } catch {
            if !error.isPermissionDenied { return false }
        }
        return !isZombie(pid)
    }

    /// The state in /proc/<pid>/stat is `Z`. The command name before it is in parentheses and may
    /// hold anything, so the state is read after the last `)`.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count
        else { return false }
        return stat[close + 2] == UInt8(ascii: "Z")
    }
}
