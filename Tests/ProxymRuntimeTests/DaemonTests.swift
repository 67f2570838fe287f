import Logging
import ProxymCore
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// The daemon in-process: a real loop, a real services directory with inotify, the HAProxy module in
/// command mode (a reload command that appends to a marker file) and a recording service manager.
/// No signals: commands are injected with `handle(_:)`.
@Suite(.timeLimit(.minutes(1)))
struct DaemonTests {
    final class Harness {
        let dir: String
        let servicesDir: String
        let loop: EventLoop
        let log = TestLog()
        let manager: RecordingServiceManager
        let settings: Settings
        let daemon: Daemon

        var configPath: String { dir + "/haproxy.cfg" }
        /// One line per successful run of the default reload command.
        var reloads: [String] { fileLines(dir + "/reloads") }
        /// INFO "refresh" lines: one per refresh started.
        var refreshCount: Int { log.count("refresh", level: .info) }
        /// Refreshes finished, well or not.
        var finishedCount: Int { log.count("refresh done", level: .info) + log.count("refresh failed", level: .error) }

        init(
            dir: String,
            watchdog: Duration? = nil,
            createServicesDir: Bool = true,
            configure: (inout Settings, String) -> Void = { _, _ in }
        ) throws {
            self.dir = dir
            servicesDir = dir + "/services"
            if createServicesDir && !FileSystem.exists(servicesDir) { try FileSystem.mkdir(servicesDir) }
            loop = try EventLoop()
            manager = RecordingServiceManager(watchdogInterval: watchdog)
            var settings = Settings()
            settings.file.enabled = true
            settings.file.configsPath = servicesDir
            settings.haproxy.enabled = true
            settings.haproxy.configFilePath = dir + "/haproxy.cfg"
            settings.haproxy.reloadCommand = "echo reloaded >> '\(dir)/reloads'"
            settings.haproxy.validate = false
            settings.haproxy.httpPort = 8080
            settings.haproxy.bindAddress = "127.0.0.1"
            settings.haproxy.commandTimeout = .seconds(20)
            configure(&settings, dir)
            self.settings = settings
            daemon = try Daemon(
                settings: settings,
                loop: loop,
                logger: log.logger,
                serviceManager: manager,
                environment: childEnvironment,
                wallClock: { "12:00:00" }
            )
        }

        func writeService(_ name: String, hostPort: Int = 18081) throws {
            let id = "/" + name
            try writeFile(
                servicesDir + "/\(name).json",
                serviceJSON(id: id, domain: "\(name).example.com", servicePort: 8080, hostPort: hostPort)
            )
        }

        func start() throws { try daemon.start(listenForSignals: false) }

        /// Ends the test without leaving a child behind: stops the daemon (notifiers off, timers
        /// cancelled) and steps the loop until a running refresh finished, so every reload command it
        /// spawned has been reaped. An abandoned child would stay a zombie of the test process, and
        /// Swift Testing's exit-test waiter (waitid(P_ALL, WNOWAIT)) would spin on it forever.
        func finish() {
            if !daemon.isStopping { daemon.handle(.stop("end of test")) }
            let done = (try? pump(loop, timeout: .seconds(30)) { finishedCount >= refreshCount }) ?? false
            #expect(done, "a refresh was still running at the end of the test")
        }

        @discardableResult
        func pumpUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: () -> Bool) throws -> Bool {
            let ok = try pump(loop, timeout: timeout, until: condition)
            #expect(ok, "timed out waiting for: \(what); notifications: \(manager.messages)")
            return ok
        }

        func waitReady() throws { try pumpUntil("READY=1") { daemon.isReady } }

        /// Steps the loop for `duration` whatever happens.
        func run(for duration: Duration) throws {
            let deadline = loop.now + duration
            while loop.now < deadline { try loop.runOnce(timeout: deadline - loop.now) }
        }

        /// Waits for the refresh count to reach `count` and all of them to finish, then checks that no
        /// further refresh starts within `quiet`.
        func expectRefreshes(_ count: Int, quiet: Duration = .milliseconds(600)) throws {
            try pumpUntil("\(count) refreshes") { refreshCount >= count && finishedCount >= count }
            try run(for: quiet)
            #expect(refreshCount == count, "refreshes: \(log.lines().filter { $0.hasPrefix("refresh ") })")
        }
    }

    @Test(.enabled(if: haproxyPath != nil)) func readyComesAfterTheFirstRefreshWithAStatusLine() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, _ in settings.haproxy.validate = true }
            defer { h.finish() }
            try h.writeService("shop")
            try h.writeService("api")
            var reloadsAtReady: Int?
            h.manager.onNotify = { [unowned h] message in
                if message.hasPrefix("READY=1") && reloadsAtReady == nil { reloadsAtReady = h.reloads.count }
            }
            try h.start()
            // The refresh is under way (haproxy -c runs as a child): nothing was sent yet.
            #expect(h.manager.messages.isEmpty)
            #expect(!h.daemon.isReady)
            try h.waitReady()
            #expect(reloadsAtReady == 1, "READY=1 only after the config was applied")
            let ready = try #require(h.manager.messages(containing: "READY=1").first)
            let lines = ready.split(separator: "\n").map(String.init)
            #expect(lines.first == "READY=1")
            let status = try #require(lines.first { $0.hasPrefix("STATUS=") })
            #expect(status.hasPrefix("STATUS=2 services (file 2)"))
            #expect(status.contains("applied"))
            #expect(h.daemon.statusLine.hasPrefix("2 services"))
            #expect(try readTextFile(h.configPath).contains("shop.example.com"))
            // Exactly one READY=1 for the startup.
            try h.run(for: .milliseconds(300))
            #expect(h.manager.messages(containing: "READY=1").count == 1)
        }
    }

    @Test func sighupSendsReloadingWithMonotonicTimeThenReady() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            defer { h.finish() }
            try h.writeService("shop")
            try h.start()
            try h.waitReady()
            #expect(h.reloads.count == 1)
            let sent = h.manager.messages.count

            let before = h.loop.now.microseconds
            h.daemon.handle(.reload)
            let after = h.loop.now.microseconds
            let reloading = try #require(h.manager.messages.dropFirst(sent).first)
            let lines = reloading.split(separator: "\n").map(String.init)
            #expect(lines.first == "RELOADING=1")
            let usec = try #require(
                lines.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) }
            )
            #expect(usec >= before && usec <= after)

            try h.pumpUntil("READY=1 after RELOADING=1") {
                h.manager.messages.dropFirst(sent + 1).contains { $0.hasPrefix("READY=1") }
            }
            // A full resync re-applies even though nothing changed.
            #expect(h.reloads.count == 2)
            #expect(
                h.log.entries.contains { $0.message.description == "refresh" && $0.metadata["mode"] == "full resync" }
            )
        }
    }

    @Test func aBurstOfWritesGivesOneRefresh() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, _ in
                settings.refresh.quietPeriod = .milliseconds(500)
                settings.refresh.maxDelay = .seconds(3)
            }
            defer { h.finish() }
            try h.start()
            try h.waitReady()
            try h.expectRefreshes(1, quiet: .milliseconds(100))

            // 20 writes, the loop seeing each one as it comes, all inside the quiet period.
            for index in 0..<20 {
                try h.writeService("svc\(index)")
                try h.loop.runOnce(timeout: .milliseconds(2))
            }
            try h.expectRefreshes(2, quiet: .milliseconds(800))
            #expect(h.reloads.count == 2)
            #expect(try readTextFile(h.configPath).contains("svc19.example.com"))
            let trigger = h.log.entries.last { $0.message.description == "refresh" }?.metadata["trigger"]?.description
            #expect(
                trigger?.contains("more)") == true,
                "the trigger names a few reasons and counts the rest: \(trigger ?? "")"
            )
        }
    }

    @Test func requestsDuringARunningRefreshGiveExactlyOneMore() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                settings.signalEnabled = true
                settings.haproxy.reloadCommand = "sleep 0.8; echo reloaded >> '\(dir)/reloads'"
            }
            defer { h.finish() }
            try h.start()
            try h.waitReady()

            try h.writeService("a")
            try h.pumpUntil("second refresh started") { h.refreshCount == 2 }
            #expect(h.finishedCount == 1, "the reload command is still running")
            // While it runs: more files and SIGUSR1s.
            try h.writeService("b")
            h.daemon.handle(.refresh)
            try h.writeService("c")
            h.daemon.handle(.refresh)
            h.daemon.handle(.refresh)
            try h.run(for: .milliseconds(50))
            #expect(h.finishedCount == 1)

            try h.expectRefreshes(3, quiet: .milliseconds(800))
            #expect(h.reloads.count == 3)
            let config = try readTextFile(h.configPath)
            #expect(config.contains("b.example.com") && config.contains("c.example.com"))
        }
    }

    @Test func stopSendsStoppingAndStopsTheLoop() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            defer { h.finish() }
            try h.start()
            try h.waitReady()

            var timedOut = false
            h.loop.schedule(after: .milliseconds(50)) { h.daemon.handle(.stop("SIGTERM")) }
            let safety = h.loop.schedule(after: .seconds(10)) {
                timedOut = true
                h.loop.stop()
            }
            try h.loop.run()
            h.loop.cancel(safety)
            #expect(!timedOut, "the loop did not stop")
            #expect(h.daemon.isStopping)
            #expect(h.manager.messages.last?.hasPrefix("STOPPING=1") == true)
            #expect(h.log.contains("stopping signal=SIGTERM"))

            // The notifiers are stopped: a new file gives no refresh.
            try h.writeService("late")
            try h.run(for: .milliseconds(300))
            #expect(h.refreshCount == 1)
        }
    }

    @Test func stopDuringARefreshLetsItFinish() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                settings.haproxy.reloadCommand = "sleep 0.4; echo reloaded >> '\(dir)/reloads'"
            }
            defer { h.finish() }
            try h.start()  // the startup refresh is running
            var timedOut = false
            h.loop.schedule(after: .milliseconds(50)) { h.daemon.handle(.stop("SIGTERM")) }
            let safety = h.loop.schedule(after: .seconds(10)) {
                timedOut = true
                h.loop.stop()
            }
            try h.loop.run()
            h.loop.cancel(safety)
            #expect(!timedOut)
            #expect(h.reloads.count == 1, "the running refresh finished before the loop stopped")
            #expect(h.manager.messages.first?.hasPrefix("STOPPING=1") == true)
            #expect(h.log.contains("waiting for the running refresh to finish"))
        }
    }

    @Test func watchdogPingsArrive() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir, watchdog: .milliseconds(200))
            defer { h.finish() }
            try h.start()
            try h.run(for: .milliseconds(650))
            let pings = h.manager.messages.filter { $0 == "WATCHDOG=1" }.count
            #expect(pings >= 3 && pings <= 7, "every 100 ms: \(pings) in 650 ms")
        }
    }

    @Test func refreshCommandIsIgnoredWhenTheSignalModuleIsOff() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            defer { h.finish() }
            try h.start()
            try h.waitReady()
            h.daemon.handle(.refresh)
            #expect(
                h.log.entries.contains { $0.level == .notice && $0.message.description.hasPrefix("SIGUSR1 ignored") }
            )
            try h.expectRefreshes(1, quiet: .milliseconds(400))
        }
    }

    @Test func refreshCommandRefreshesWhenTheSignalModuleIsOn() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, _ in settings.signalEnabled = true }
            defer { h.finish() }
            try h.start()
            try h.waitReady()
            h.daemon.handle(.refresh)
            try h.expectRefreshes(2, quiet: .milliseconds(400))
            #expect(h.log.entries.last { $0.message.description == "refresh" }?.metadata["trigger"] == "SIGUSR1")
            // Not forced: the config did not change, so nothing was reloaded.
            #expect(h.reloads.count == 1)
        }
    }

    @Test func aFailingReloadIsRetried() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/fail-once", "")
            let h = try Harness(dir: dir) { settings, dir in
                settings.haproxy.reloadCommand =
                    "if [ -e '\(dir)/fail-once' ]; then rm '\(dir)/fail-once'; echo busy >&2; exit 3; fi; echo reloaded >> '\(dir)/reloads'"
            }
            defer { h.finish() }
            try h.writeService("shop")
            try h.start()
            try h.waitReady()
            #expect(h.log.count("refresh failed", level: .error) == 1)
            #expect(h.log.entries.contains { $0.level == .notice && $0.message.description == "will retry" })
            #expect(h.daemon.statusLine.contains("FAILED"))

            // About a second later the retry runs the reload again, and it works.
            try h.pumpUntil("the retry reloaded") { h.reloads.count == 1 }
            try h.expectRefreshes(2, quiet: .milliseconds(200))
            #expect(
                h.log.entries.last { $0.message.description == "refresh" }?.metadata["trigger"]
                    == "retry after failed apply"
            )
            #expect(h.log.count("refresh done", level: .info) == 1)
            #expect(!h.daemon.statusLine.contains("FAILED"))
        }
    }

    @Test func startupWithTheConfigAlreadyCurrentDoesNotReload() throws {
        try withTemporaryDirectory { dir in
            do {
                let first = try Harness(dir: dir)
                defer { first.finish() }
                try first.writeService("shop")
                try first.start()
                try first.waitReady()
                #expect(first.reloads.count == 1)
            }
            // proxym restarts: same services, same file on disk.
            let second = try Harness(dir: dir)
            defer { second.finish() }
            try second.start()
            try second.waitReady()
            #expect(second.reloads.count == 1, "a restart must not reload haproxy for an unchanged config")
            #expect(second.manager.messages(containing: "READY=1").first?.contains("config on disk is current") == true)
        }
    }

    @Test func withoutHAProxyTheServicesAreOnlyComputed() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, _ in settings.haproxy.enabled = false }
            defer { h.finish() }
            try h.writeService("shop")
            try h.start()
            try h.waitReady()
            #expect(h.manager.messages.first?.hasPrefix("READY=1\nSTATUS=1 service (file 1)") == true)
            #expect(h.daemon.statusLine.contains("computed (no output configured)"))
            #expect(!FileSystem.exists(h.configPath))
            #expect(
                h.log.entries.contains {
                    $0.level == .warning && $0.message.description.hasPrefix("PROXYM_HAPROXY_ENABLED is off")
                }
            )
        }
    }

    @Test func aMissingDirectoryFailsTheSourceUntilItAppears() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir, createServicesDir: false)
            defer { h.finish() }
            try h.start()
            try h.waitReady()
            #expect(h.daemon.statusLine.contains("FAILING: file"))
            #expect(h.manager.messages.first?.contains("FAILING: file") == true)

            try FileSystem.mkdir(h.servicesDir)
            try h.writeService("shop")
            try h.pumpUntil("recovered") { h.log.count("source recovered", level: .notice) == 1 }
            try h.pumpUntil("applied with the service") { h.reloads.count == 2 }
            #expect(try readTextFile(h.configPath).contains("shop.example.com"))
            #expect(!h.daemon.statusLine.contains("FAILING"))
        }
    }

    @Test func aBrokenFileKeepsTheLastGoodServices() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            defer { h.finish() }
            try h.writeService("shop")
            try h.start()
            try h.waitReady()
            try writeFile(h.servicesDir + "/shop.json", "{ not json")
            // The list did not change: no refresh, but STATUS names the file at once.
            try h.pumpUntil("STATUS names the invalid file") {
                h.manager.messages.last?.contains("file: 1 invalid file: shop.json") == true
            }
            try h.expectRefreshes(1, quiet: .milliseconds(300))
            // Nothing changed in the config, so nothing was reloaded; the service is still there.
            #expect(h.reloads.count == 1)
            #expect(try readTextFile(h.configPath).contains("shop.example.com"))
            #expect(h.log.entries.contains { $0.level == .error && $0.metadata["file"] == "shop.json" })
        }
    }
}
