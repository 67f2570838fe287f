import ArgumentParser
import Logging
import ProxymCore
import ProxymObserve
import ProxymPosix
import ProxymRuntime

@main
enum Entry {
    static func main() {
        // Before anything else (and before any library can start a thread): block the signals the
        // loop reads through a signalfd, ignore SIGPIPE. No sigaction handlers anywhere.
        do {
            try ProcessSetup.blockDaemonSignals()
        } catch {
            ProcessSetup.writeStderr("proxym: cannot set up signal handling: \(error)\n")
            ProcessSetup.exit(71)
        }
        ProxymCommand.main()
    }
}

struct ProxymCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxym",
        abstract: "Keeps HAProxy's configuration in step with the services behind it.",
        discussion: """
            proxym reads services from JSON files, renders an HAProxy configuration, validates it with \
            `haproxy -c`, installs it atomically and reloads HAProxy whenever something changes. \
            Configure it with PROXYM_* environment variables (the original proxym's names work \
            unchanged), a --config file in the same KEY=VALUE format, or the flags below.

            SIGNALS: SIGUSR1 refreshes (with PROXYM_SIGNAL_ENABLED=1); SIGHUP re-reads every input \
            and re-applies (`proxym reload --pid PID` does that and waits until it is applied); \
            SIGTERM/SIGINT stop gracefully (exit status 0).

            SYSTEMD (Type=notify): READY=1 after the first refresh, STATUS= after each one, \
            RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on stop, WATCHDOG=1 when WatchdogSec= \
            is set. Exit status 78 means invalid settings (every problem is logged).

            \(Settings.helpText(width: 78))
            """,
        version: ProxymVersion.string,
        subcommands: [RunCommand.self, RenderCommand.self, CheckCommand.self, StatusCommand.self, ReloadCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// Flags shared by every subcommand. Each one is a PROXYM_* variable; precedence is
/// flag > environment > --config file > default.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "Read PROXYM_* settings from a KEY=VALUE file such as /etc/proxym/proxym.conf (the environment wins).",
        valueName: "file"))
    var configFile: String?

    @Option(name: .customLong("files"), help: ArgumentHelp(
        "Directory of *.json service files (PROXYM_FILE_CONFIGS_PATH); enables the File module.", valueName: "dir"))
    var filesDirectory: String?

    @Option(name: .customLong("haproxy-config"), help: ArgumentHelp(
        "HAProxy configuration file to write (PROXYM_HAPROXY_CONFIG_FILE_PATH); enables the HAProxy module.",
        valueName: "file"))
    var haproxyConfig: String?

    @Option(name: .customLong("options"), help: ArgumentHelp(
        "Directory with global.cfg and per-service options (PROXYM_HAPROXY_OPTIONS_PATH).", valueName: "dir"))
    var optionsDirectory: String?

    @Option(name: .customLong("http-port"), help: ArgumentHelp("HTTP frontend port (PROXYM_HAPROXY_HTTP_PORT).", valueName: "port"))
    var httpPort: Int?

    @Option(name: .customLong("bind"), help: ArgumentHelp(
        "Address haproxy binds to (PROXYM_HAPROXY_BIND_ADDRESS), e.g. 127.0.0.1.", valueName: "address"))
    var bindAddress: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "Application log level (PROXYM_LOG_APPLOG_LEVEL): debug, info, notice, warning, error, critical.",
        valueName: "level"))
    var logLevel: String?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Set any PROXYM_* variable, e.g. --set PROXYM_SIGNAL_ENABLED=1 (repeatable).", valueName: "NAME=VALUE"))
    var assignments: [String] = []

    func validate() throws {
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "="), assignment[..<eq].hasPrefix("PROXYM_") else {
                throw ValidationError("--set expects PROXYM_NAME=VALUE, got \"\(assignment)\"")
            }
        }
        if let httpPort, !(1...65535).contains(httpPort) {
            throw ValidationError("--http-port must be 1-65535")
        }
    }

    /// The effective PROXYM_* environment.
    func environment(process: [String: String]) throws -> [String: String] {
        var env: [String: String] = [:]
        if let configFile {
            let bytes: [UInt8]
            do {
                bytes = try FileSystem.readFile(absolute(configFile), limit: 1 << 20)
            } catch {
                throw ValidationError("cannot read --config \(configFile): \(error)")
            }
            do {
                env = try EnvironmentFile.parse(String(decoding: bytes, as: UTF8.self))
            } catch {
                throw ValidationError("\(configFile): \(error)")
            }
        }
        env.merge(process) { _, fromProcess in fromProcess }
        if let filesDirectory {
            env["PROXYM_FILE_ENABLED"] = "1"
            env["PROXYM_FILE_CONFIGS_PATH"] = absolute(filesDirectory)
        }
        if let haproxyConfig {
            env["PROXYM_HAPROXY_ENABLED"] = "1"
            env["PROXYM_HAPROXY_CONFIG_FILE_PATH"] = absolute(haproxyConfig)
        }
        if let optionsDirectory { env["PROXYM_HAPROXY_OPTIONS_PATH"] = absolute(optionsDirectory) }
        if let httpPort { env["PROXYM_HAPROXY_HTTP_PORT"] = String(httpPort) }
        if let bindAddress { env["PROXYM_HAPROXY_BIND_ADDRESS"] = bindAddress }
        if let logLevel { env["PROXYM_LOG_APPLOG_LEVEL"] = logLevel }
        for assignment in assignments {
            let eq = assignment.firstIndex(of: "=")!
            env[String(assignment[..<eq])] = String(assignment[assignment.index(after: eq)...])
        }
        return env
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : ProcessSetup.currentDirectory() + "/" + path
    }
}

/// Settings or a clear exit: every problem named, exit status 78 (EX_CONFIG, which the unit's
/// RestartPreventExitStatus= keeps systemd from retrying in a loop).
func loadSettings(_ options: CommonOptions, logger: inout Logger, toStderrOnly: Bool) throws -> (Settings, [String: String]) {
    let process = ProcessEnvironment.current()
    let env = try options.environment(process: process)
    let report = Settings.parse(environment: env)
    logger = makeLogger(settings: report.settings, environment: process, allToStderr: toStderrOnly)
    for warning in report.warnings { logger.warning("\(warning)") }
    if !report.errors.isEmpty {
        for error in report.errors { logger.error("invalid setting: \(error)") }
        throw ExitCode(78)
    }
    return (report.settings, process)
}

/// The logger every component receives. The format was validated by Settings (an invalid one is a
/// settings error), so the fallback to the default never hides a mistake.
func makeLogger(settings: Settings, environment: [String: String], allToStderr: Bool) -> Logger {
    let format = (try? LogFormat(settings.log.format)) ?? (try! LogFormat(LogFormat.defaultFormat))
    let sink = LogSink(
        format: format, appLevel: settings.log.appLogLevel, allToStderr: allToStderr, environment: environment,
        program: "proxym", repeatInterval: settings.log.repeatInterval)
    return Logger.proxym(sink: sink)
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the daemon (the default).")

    @OptionGroup var options: CommonOptions

    func run() throws {
        var logger = Logger(label: "proxym")
        let (settings, process) = try loadSettings(options, logger: &logger, toStderrOnly: false)
        // Large buffers (a rendered config, a Marathon body's pieces) go back to the kernel when freed.
        Memory.fixMmapThreshold()
        let manager = SystemdServiceManager()
        do {
            let loop = try EventLoop()
            if let sink = (logger.handler as? ProxymLogHandler)?.sink { sink.flushRepeats(on: loop) }
            let daemon = try Daemon(
                settings: settings, loop: loop, logger: logger, serviceManager: manager, environment: process)
            let code = try daemon.run()
            // STOPPING=1 may still wait for room in the notify socket's queue: one last try.
            _ = manager.flush()
            if code != 0 { throw ExitCode(code) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            logger.critical("cannot run: \(error)")
            manager.notify("STATUS=Failed to start: \(error)")
            throw ExitCode(1)
        }
    }
}

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the HAProxy configuration the current inputs produce. No side effects.",
        discussion: "Reads the same settings as `run`. Problems go to stderr; the config to stdout.")

    @OptionGroup var options: CommonOptions

    func run() throws {
        var logger = Logger(label: "proxym")
        let (settings, process) = try loadSettings(options, logger: &logger, toStderrOnly: true)
        let result = try OneShot.render(settings: settings, environment: process, logger: logger)
        ProcessSetup.writeStdout(result.config)
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Render the configuration and validate it with `haproxy -c`; non-zero exit with the reasons.",
        discussion: "Exit 0 when every input is valid and haproxy accepts the result; 1 otherwise.")

    @OptionGroup var options: CommonOptions

    @Option(name: .customLong("output"), help: ArgumentHelp("Also keep the rendered config in this file.", valueName: "file"))
    var output: String?

    func run() throws {
        var logger = Logger(label: "proxym")
        let (settings, process) = try loadSettings(options, logger: &logger, toStderrOnly: true)
        let result = try OneShot.check(settings: settings, environment: process, logger: logger, keepAt: output)
        if result.ok {
            ProcessSetup.writeStderr("proxym check: OK (\(result.serviceCount) services)\n")
        } else {
            ProcessSetup.writeStderr("proxym check: FAILED (\(result.problemCount) problems, see above)\n")
            throw ExitCode(1)
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Ask the running daemon how it is (its status listener) and print a short summary.",
        discussion: """
            Reads http://PROXYM_STATUS_ADDRESS/api/v1/status (default 127.0.0.1:9911; --config \
            /etc/proxym/proxym.conf reads the packaged setting). Exit status: 0 healthy, 1 unhealthy \
            (the reasons are printed), 2 the daemon could not be asked (not running, listener off).
            """)

    @OptionGroup var options: CommonOptions

    @Option(name: .customLong("address"), help: ArgumentHelp(
        "The status listener to ask (IP:port), instead of PROXYM_STATUS_ADDRESS.", valueName: "address"))
    var address: String?

    @Flag(name: .customLong("json"), help: "Print the status document (JSON) as the daemon answered it.")
    var json = false

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds to wait for the answer.", valueName: "seconds"))
    var timeout: Int = 5

    func run() throws {
        var logger = Logger(label: "proxym")
        let target: StatusSettings.ListenAddress
        if let address {
            guard let parsed = StatusSettings.ListenAddress(parsing: address) else {
                throw ValidationError("--address expects IP:port, e.g. 127.0.0.1:9911")
            }
            target = parsed
        } else {
            let (settings, _) = try loadSettings(options, logger: &logger, toStderrOnly: true)
            guard let configured = settings.status.address else {
                ProcessSetup.writeStderr("proxym status: the status listener is off (PROXYM_STATUS_ADDRESS is empty)\n")
                throw ExitCode(2)
            }
            target = configured
        }
        let url = "http://\(target)/api/v1/status"
        switch OneShot.fetchStatus(url: url, timeout: .seconds(max(1, timeout))) {
        case .failure(let failure):
            ProcessSetup.writeStderr("proxym status: cannot ask \(url): \(failure.message) (is proxym running?)\n")
            throw ExitCode(2)
        case .success(let response) where response.status != 200:
            ProcessSetup.writeStderr("proxym status: \(url) answered \(response.status)\n")
            throw ExitCode(2)
        case .success(let response):
            do {
                let summary = try StatusSummary.render(json: response.bodyText)
                ProcessSetup.writeStdout(json ? response.bodyText : summary.lines)
                if !summary.healthy { throw ExitCode(1) }
            } catch let failure as StatusSummary.Failure {
                ProcessSetup.writeStderr("proxym status: \(url): \(failure)\n")
                throw ExitCode(2)
            }
        }
    }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running daemon re-read every input and re-apply, and wait until it has.",
        discussion: """
            Sends the daemon (--pid) SIGHUP and returns once it answers that the full resync is \
            applied (haproxy reloaded, READY=1 sent). This is the systemd unit's ExecReload \
            (`proxym reload --pid $MAINPID`), so `systemctl reload proxym` returns only when the \
            re-apply is done. A plain `kill -HUP` resyncs the same way without waiting. Exit status: \
            0 applied, 1 the daemon exited or did not answer within --timeout, 2 it could not be \
            signalled.
            """)

    @Option(name: .customLong("pid"), help: ArgumentHelp("The daemon's process id (systemd: $MAINPID).", valueName: "pid"))
    var pid: Int32

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds to wait for the answer.", valueName: "seconds"))
    var timeout: Int = 90

    func validate() throws {
        guard pid > 0 else { throw ValidationError("--pid expects the daemon's process id, a positive number") }
        guard timeout > 0 else { throw ValidationError("--timeout expects a positive number of seconds") }
    }

    func run() throws {
        do {
            switch try ReloadRequest.send(to: pid, timeout: .seconds(timeout)) {
            case .applied(let took):
                ProcessSetup.writeStdout("proxym reload: resync applied by pid \(pid) in \(Int((took / .milliseconds(1)).rounded())) ms\n")
            case .daemonGone:
                ProcessSetup.writeStderr("proxym reload: pid \(pid) exited before the resync was applied\n")
                throw ExitCode(1)
            case .timedOut:
                ProcessSetup.writeStderr("proxym reload: pid \(pid) did not answer within \(timeout) s (the resync goes on; see its log)\n")
                throw ExitCode(1)
            }
        } catch let error as SysError {
            ProcessSetup.writeStderr("proxym reload: cannot signal pid \(pid): \(error)\n")
            throw ExitCode(2)
        }
    }
}
