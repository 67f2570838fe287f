import Glibc
import ProxymPosix

struct Binaries {
    var proxym: String
    var fakeMarathon: String
}

struct EndToEndOptions {
    /// proxym processes started per N (each gives one start -> first config sample).
    var startRuns = 10
    /// Of those, how many also take events (edits, scale events, SIGHUP).
    var eventProcesses = 2
    var eventsPerProcess = 10
    var idleSeconds = 10
    /// proxym's default `PROXYM_REFRESH_QUIET_PERIOD`; subtracted from the whole-refresh baseline's
    /// event -> config figures (incremental events go on the leading edge).
    var quietPeriodMilliseconds = 100.0
}

/// One proxym process writing its config (no validation, no reload: the file only) into `directory`.
final class ProxymRun {
    let child: Child
    let directory: String
    let configWatcher: RenameWatcher
    private let startedAt: UInt64

    static func baseEnvironment(directory: String) -> [String] {
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PROXYM_HAPROXY_ENABLED=1",
            "PROXYM_HAPROXY_CONFIG_FILE_PATH=\(directory)/haproxy.cfg",
            "PROXYM_HAPROXY_VALIDATE=0",
        ]
    }

    init(binary: String, directory: String, environment: [String]) throws {
        if !FileSystem.exists(directory) { try FileSystem.mkdir(directory) }
        try? FileSystem.unlink(directory + "/haproxy.cfg")
        self.directory = directory
        configWatcher = try RenameWatcher(directory: directory, name: "haproxy.cfg")
        startedAt = now()
        child = try Child(
            binary, [], environment: Self.baseEnvironment(directory: directory) + environment,
            logPath: directory + "/proxym.log")
    }

    var pid: pid_t { child.pid }

    /// Nanoseconds from the spawn to the first config renamed into place.
    func waitForFirstConfig(timeout: Duration = .seconds(120)) throws -> UInt64 {
        guard let at = configWatcher.wait(timeout: timeout) else {
            throw BenchError("proxym wrote no config within \(timeout); its log:\n\(child.log.suffix(3000))")
        }
        return at - startedAt
    }

    /// Nanoseconds from `action` to the next config renamed into place.
    func timeToConfig(timeout: Duration = .seconds(60), _ action: () throws -> Void) throws -> UInt64 {
        configWatcher.drain()
        let start = now()
        try action()
        guard let at = configWatcher.wait(timeout: timeout) else {
            throw BenchError("proxym wrote no new config within \(timeout); its log:\n\(child.log.suffix(3000))")
        }
        return at - start
    }

    var status: ProcStatus? { ProcStatus(pid: child.pid) }

    func stop() { child.stop() }
}

/// `proxym-fake-marathon` as a child, on a port of its choosing.
final class FakeMarathonProcess {
    let child: Child
    let port: UInt16

    init(binary: String, directory: String, arguments: [String]) throws {
        child = try Child(
            binary, ["--host", "127.0.0.1", "--port", "0"] + arguments, environment: ["PATH=/usr/bin:/bin"],
            logPath: directory + "/fake-marathon.log")
        let deadline = now() + Duration.seconds(120).nanosecondsValue
        while true {
            if let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let colon = line.lastIndex(of: ":"), let port = UInt16(line[line.index(after: colon)...])
            {
                self.port = port
                return
            }
            if child.hasExited || now() > deadline { throw BenchError("the fake Marathon did not start:\n\(child.log)") }
            MonotonicClock.sleep(.milliseconds(20))
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
}

/// Idle cost: two processes side by side, one plain and one with the systemd watchdog, counted over
/// the same window once both have settled.
struct IdleFigures {
    var wakeups: Int
    var involuntary: Int
    var watchdogWakeups: Int
    var watchdogPings: Int
    var threads: Int
    var rss: Int

    /// - Parameter notBefore: how long after its first config the window may open at the earliest
    ///   (for Marathon: libcurl wakes proxym once when the event stream's connect timeout, 3 s, expires;
    ///   the window opens after that one-off wake-up).
    static func measure(
        binary: String, directory: String, environment: [String], seconds: Int, notBefore: Duration = .zero
    ) throws -> IdleFigures {
        let socketPath = directory + "/notify.sock"
        try? FileSystem.unlink(socketPath)
        if !FileSystem.exists(directory) { try FileSystem.mkdir(directory) }
        let socket = try UnixDatagram.bind(path: socketPath)
        let plain = try ProxymRun(binary: binary, directory: directory + "/plain", environment: environment)
        // WATCHDOG_USEC=2s: proxym pings every second (half the interval, as systemd advises).
        let watched = try ProxymRun(
            binary: binary, directory: directory + "/watchdog",
            environment: environment + ["WATCHDOG_USEC=2000000", "NOTIFY_SOCKET=\(socketPath)"])
        defer {
            plain.stop()
            watched.stop()
        }
        _ = try plain.waitForFirstConfig()
        _ = try watched.waitForFirstConfig()
        MonotonicClock.sleep(notBefore)
        waitUntilIdle(plain.pid)
        waitUntilIdle(watched.pid, quiet: .milliseconds(300))
        while case .ready? = try? UnixDatagram.receive(socket.rawValue) {}
        let plainBefore = ProcStatus.allThreadSwitches(pid: plain.pid)
        let watchedBefore = ProcStatus.allThreadSwitches(pid: watched.pid)
        MonotonicClock.sleep(.seconds(seconds))
        let plainAfter = ProcStatus.allThreadSwitches(pid: plain.pid)
        let watchedAfter = ProcStatus.allThreadSwitches(pid: watched.pid)
        var pings = 0
        while case .ready(let datagram)? = try? UnixDatagram.receive(socket.rawValue) {
            if String(decoding: datagram, as: UTF8.self).split(separator: "\n").contains("WATCHDOG=1") { pings += 1 }
        }
        let status = plain.status
        return IdleFigures(
            wakeups: plainAfter.voluntary - plainBefore.voluntary,
            involuntary: plainAfter.involuntary - plainBefore.involuntary,
            watchdogWakeups: watchedAfter.voluntary - watchedBefore.voluntary,
            watchdogPings: pings, threads: status?.threads ?? 0, rss: status?.rss ?? 0)
    }

    func record(in table: inout Table, size: Int, seconds: Int) {
        table.set(
            "idle wake-ups in \(seconds) s, no watchdog (threads: \(threads))", target: "0", size: size,
            "\(wakeups)" + (involuntary > 0 ? " (+\(involuntary) involuntary)" : ""))
        table.set(
            "idle wake-ups in \(seconds) s, WATCHDOG_USEC=2s (pings sent)", target: "one per ping", size: size,
            "\(watchdogWakeups) (\(watchdogPings))")
    }
}

/// Peak and idle memory over the processes of one N.
struct MemoryFigures {
    var peak = Samples(.mebibytes)
    var idle = Samples(.mebibytes)

    mutating func add(_ status: ProcStatus?) {
        guard let status else { return }
        peak.add(mib(status.peakRSS))
        idle.add(mib(status.rss))
    }

    func record(in table: inout Table, size: Int, what: String) {
        table.set(
            "**peak RSS** (VmHWM, largest of \(peak.count) processes), MiB", target: "<= 40 MiB", size: size,
            peak.max.map { fixed($0, 1) } ?? "–")
        table.set(
            "**idle RSS** (VmRSS, settled after \(what)), MiB", target: "<= 30 MiB", size: size, idle.cell)
    }
}

enum MarathonEndToEnd {
    /// Events fired back to back for "refreshes per burst".
    static let burstSize = 20

    /// One run's event figures: event -> config (ms), bytes read from Marathon per event, and for a
    /// burst the configs written and the /v2 reads it took.
    struct EventFigures {
        var toConfig = Samples(.milliseconds)
        var bytes = Samples(.count)
        var burstConfigs = Samples(.count)
        var burstReads = Samples(.count)
    }

    /// The fake's count of /v2 answers and body bytes since the last reset.
    static func served(_ fake: FakeMarathonProcess) throws -> (requests: Int, bytes: Int) {
        let text = try control(port: fake.port, "GET", "/_fake/served")
        func field(_ name: String) -> Int {
            text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix(name + "=") }
                .flatMap { Int($0.dropFirst(name.count + 1)) } ?? 0
        }
        return (field("requests"), field("body_bytes"))
    }

    /// `count` scale events, each timed to the config written (minus `subtract` ms), and the bytes the
    /// fake served for it; then one burst of ``burstSize`` events.
    static func events(
        run: ProxymRun, fake: FakeMarathonProcess, size n: Int, seed: Int, count: Int, subtract: Double,
        taskCounts: inout [Int: Int], into figures: inout EventFigures
    ) throws {
        func scale(_ i: Int) throws -> String {
            let before = taskCounts[i] ?? 3
            let after = before == 3 ? 4 : 3
            _ = try control(port: fake.port, "PUT", "/_fake/apps/scaled", body: Array(MarathonAppsGenerator.app(i, tasks: after).utf8))
            taskCounts[i] = after
            return MarathonAppsGenerator.statusUpdateEvent(app: i, index: 3)
        }
        for e in 0..<count {
            waitUntilIdle(run.pid)
            // A deterministic walk over the apps; each scale toggles an app between 3 and 4 tasks.
            let event = try scale((e &* 7919 &+ seed &* 104_729 &+ 17) % n)
            _ = try control(port: fake.port, "DELETE", "/_fake/served")
            let took = try run.timeToConfig {
                _ = try control(port: fake.port, "POST", "/_fake/event?type=status_update_event", body: Array(event.utf8))
            }
            figures.toConfig.add(Double(took) / 1e6 - subtract)
            figures.bytes.add(Double(try served(fake).bytes))
        }
        // A burst: apps changed first (untimed), then their events back to back.
        waitUntilIdle(run.pid)
        var burst: [String] = []
        for b in 0..<burstSize { burst.append(try scale((b &* 104_729 &+ seed &* 7919 &+ 31) % n)) }
        _ = try control(port: fake.port, "DELETE", "/_fake/served")
        run.configWatcher.drain()
        for event in burst {
            _ = try control(port: fake.port, "POST", "/_fake/event?type=status_update_event", body: Array(event.utf8))
        }
        var configs = 0
        while run.configWatcher.wait(timeout: .milliseconds(1500)) != nil { configs += 1 }
        figures.burstConfigs.add(Double(configs))
        figures.burstReads.add(Double(try served(fake).requests))
    }

    static func run(size n: Int, binaries: Binaries, work: String, options: EndToEndOptions, table: inout Table)
        throws
    {
        let directory = work + "/marathon-\(n)"
        try FileSystem.mkdir(directory)
        let appsFile = directory + "/apps.json"
        progress("Marathon: \(grouped(n)) apps x 3 tasks: generating, starting the fake Marathon")
        try FileSystem.writeFile(appsFile, contents: MarathonAppsGenerator(apps: n, tasksPerApp: 3).body())
        // No SSE heartbeat during a run (a real Marathon's would cost one wake-up each).
        let fake = try FakeMarathonProcess(
            binary: binaries.fakeMarathon, directory: directory,
            arguments: ["--quiet", "--version", "1.10.0", "--heartbeat", "3600s", "--apps-file", appsFile])
        defer { fake.child.stop() }
        let environment = ["PROXYM_MARATHON_ENABLED=1", "PROXYM_MARATHON_SERVERS=\(fake.url)"]

        var start = Samples(.milliseconds)
        var incremental = EventFigures()
        var whole = EventFigures()
        var sighup = Samples(.milliseconds)
        var memory = MemoryFigures()
        var taskCounts: [Int: Int] = [:]
        for r in 0..<options.startRuns {
            progress("Marathon: \(grouped(n)) apps: proxym run \(r + 1)/\(options.startRuns)")
            let run = try ProxymRun(binary: binaries.proxym, directory: directory + "/proxym", environment: environment)
            defer { run.stop() }
            start.addNanoseconds(try run.waitForFirstConfig())
            if r < options.eventProcesses {
                // Incremental (the default): the event reads one app, on the leading edge.
                try events(
                    run: run, fake: fake, size: n, seed: r, count: options.eventsPerProcess, subtract: 0,
                    taskCounts: &taskCounts, into: &incremental)
                // A whole refresh by the same process: SIGHUP reads everything at once.
                for _ in 0..<max(1, options.eventsPerProcess / 2) {
                    waitUntilIdle(run.pid)
                    sighup.addNanoseconds(try run.timeToConfig { run.child.signal(SIGHUP) })
                }
            }
            waitUntilIdle(run.pid)
            memory.add(run.status)
        }
        // The whole-refresh baseline: the same binary with PROXYM_MARATHON_INCREMENTAL=0 (every event
        // reads everything, after the quiet period, which is subtracted).
        for r in 0..<options.eventProcesses {
            progress("Marathon: \(grouped(n)) apps: whole-refresh baseline run \(r + 1)/\(options.eventProcesses)")
            let run = try ProxymRun(
                binary: binaries.proxym, directory: directory + "/baseline",
                environment: environment + ["PROXYM_MARATHON_INCREMENTAL=0"])
            defer { run.stop() }
            _ = try run.waitForFirstConfig()
            try events(
                run: run, fake: fake, size: n, seed: r + 100, count: options.eventsPerProcess,
                subtract: options.quietPeriodMilliseconds, taskCounts: &taskCounts, into: &whole)
            waitUntilIdle(run.pid)
            memory.add(run.status)
        }
        progress("Marathon: \(grouped(n)) apps: idle for \(options.idleSeconds) s")
        let idle = try IdleFigures.measure(
            binary: binaries.proxym, directory: directory + "/idle", environment: environment, seconds: options.idleSeconds,
            notBefore: .milliseconds(3500))

        table.set(
            "**start -> first config written**, ms", target: "<= 150 ms", size: n, start.cell)
        table.set(
            "**task event (SSE) -> config written**, incremental (one app read, no quiet period), ms",
            target: "<= 10% of whole", size: n, incremental.toConfig.cell)
        table.set(
            "task event -> config written, whole-refresh baseline (INCREMENTAL=0), minus the 100 ms quiet period, ms",
            size: n, whole.toConfig.cell)
        table.set("SIGHUP (whole read) -> config written, incremental binary, ms", size: n, sighup.cell)
        if let a = incremental.toConfig.median, let b = whole.toConfig.median, let c = sighup.median, b > 0, c > 0 {
            table.set(
                "**ratio** incremental / baseline event (medians; / SIGHUP whole read)", target: "<= 0.10", size: n,
                "\(fixed(a / b, 3)) (\(fixed(a / c, 3)))")
        }
        table.set(
            "**bytes read from Marathon per task event**, incremental (baseline)", target: "< 64 KiB", size: n,
            "\(incremental.bytes.median.map { grouped(Int($0)) } ?? "–") (\(whole.bytes.median.map { grouped(Int($0)) } ?? "–"))")
        table.set(
            "burst of \(burstSize) task events: configs written / Marathon reads, incremental (baseline)", size: n,
            "\(incremental.burstConfigs.cell) / \(incremental.burstReads.cell) (\(whole.burstConfigs.cell) / \(whole.burstReads.cell))")
        memory.record(in: &table, size: n, what: "\(options.eventsPerProcess) scale events")
        idle.record(in: &table, size: n, seconds: options.idleSeconds)
        try? FileSystem.removeTree(directory)
    }
}

enum FilesEndToEnd {
    static func run(size n: Int, binaries: Binaries, work: String, options: EndToEndOptions, table: inout Table) throws {
        let directory = work + "/files-\(n)"
        try FileSystem.mkdir(directory)
        let services = directory + "/services"
        progress("Files: \(grouped(n)) service files: generating")
        try ServiceFiles.write(count: n, to: services)
        let environment = ["PROXYM_FILE_ENABLED=1", "PROXYM_FILE_CONFIGS_PATH=\(services)"]

        var start = Samples(.milliseconds)
        var edit = Samples(.milliseconds)
        var sighup = Samples(.milliseconds)
        var memory = MemoryFigures()
        var revision = 0
        for r in 0..<options.startRuns {
            progress("Files: \(grouped(n)) files: proxym run \(r + 1)/\(options.startRuns)")
            let run = try ProxymRun(binary: binaries.proxym, directory: directory + "/proxym", environment: environment)
            defer { run.stop() }
            start.addNanoseconds(try run.waitForFirstConfig())
            if r < options.eventProcesses {
                for e in 0..<options.eventsPerProcess {
                    waitUntilIdle(run.pid)
                    let i = (e &* 7919 &+ r &* 104_729 &+ 17) % n
                    revision += 1
                    let temporary = services + "/.edit.tmp"
                    try FileSystem.writeFile(
                        temporary, contents: Array(ServiceFilesGenerator.contents(i, revision: revision).utf8))
                    // Saved the way editors and config managers do: a rename into place.
                    let took = try run.timeToConfig {
                        try FileSystem.rename(from: temporary, to: services + "/" + ServiceFilesGenerator.fileName(i))
                    }
                    // A lone edit after a quiet spell is applied at once (leading edge): nothing to subtract.
                    edit.add(Double(took) / 1e6)
                }
                for _ in 0..<options.eventsPerProcess / 2 {
                    waitUntilIdle(run.pid)
                    sighup.addNanoseconds(try run.timeToConfig { run.child.signal(SIGHUP) })
                }
            }
            waitUntilIdle(run.pid)
            memory.add(run.status)
        }
        progress("Files: \(grouped(n)) files: idle for \(options.idleSeconds) s")
        let idle = try IdleFigures.measure(
            binary: binaries.proxym, directory: directory + "/idle", environment: environment, seconds: options.idleSeconds)

        table.set("**start -> first config written**, ms", size: n, start.cell)
        table.set(
            "**one edited file -> config written** (no quiet period: applied at once), ms", target: "<= 5 ms (10,000 files)",
            size: n, edit.cell)
        table.set("SIGHUP (re-read every file, re-apply) -> config written, ms", size: n, sighup.cell)
        memory.record(in: &table, size: n, what: "\(options.eventsPerProcess) edits")
        idle.record(in: &table, size: n, seconds: options.idleSeconds)
        try? FileSystem.removeTree(directory)
    }
}
