import ProxymPosix
import ProxymTestSupport
import Testing

/// The daemon as a user runs it: the built binary as a child process with only the original proxym's
/// environment variables, a real haproxy it starts and reloads (-f/-p/-sf) on 127.0.0.1, real HTTP
/// backends, a recording NOTIFY_SOCKET, and JSON files edited on disk.
@Suite(.serialized, .enabled(if: haveHAProxy, "needs haproxy (CI installs it)"), .timeLimit(.minutes(2)))
struct DaemonEndToEndTests {
    /// A sandbox with one service file (web.example.com -> a backend named blue) and proxym started
    /// on it, READY=1 received.
    func startServingBlue(in dir: String) throws -> (Sandbox, LoggedChild) {
        let sandbox = try Sandbox(root: dir)
        let blue = try Backend(name: "blue", directory: dir)
        sandbox.retained.append(blue)
        try sandbox.writeService(
            "web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [blue]))
        let proxym = try sandbox.start()
        #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
        return (sandbox, proxym)
    }

    @Test func startsRoutesAndTellsSystemdItIsReady() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            try sandbox.writeService(
                "web.json", sandbox.service(id: "/shop/web", domain: "shop.example.com", port: sandbox.httpPort, backends: [blue]))
            let proxym = try sandbox.start()

            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "no READY=1; log:\n\(proxym.log)")
            let status = sandbox.notify.lines.last { $0.hasPrefix("STATUS=") } ?? ""
            #expect(status.contains("1 service (file 1)"), "\(status)")
            #expect(status.contains("haproxy started"), "\(status)")
            // READY comes with (or after) the first STATUS, never before the config is applied.
            #expect(FileSystem.exists(sandbox.config))
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "shop.example.com") == "blue" })
            #expect(sandbox.get(host: "unknown.example.com")?.status == 503)
            #expect(proxym.log.contains("[INFO] Daemon.startRefresh: refresh mode=\"full resync\" trigger=startup"))
            sandbox.tearDown()
        }
    }

    @Test func trafficFollowsFileEditsWithinASecond() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            let green = try Backend(name: "green", directory: dir)
            let web = { (b: Backend) in
                sandbox.service(id: "/shop/web", domain: "shop.example.com", port: sandbox.httpPort, backends: [b])
            }
            try sandbox.writeService("web.json", web(blue))
            let proxym = try sandbox.start()
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "shop.example.com") == "blue" })
            let pidsBefore = sandbox.haproxyPIDs

            // Save-by-rename (what careful tools and many editors do).
            var latencies: [Duration] = []
            for (round, backend) in [green, blue, green].enumerated() {
                let started = MonotonicClock.nanoseconds()
                try sandbox.writeService("web.json", web(backend))
                let switched = waitUntil(timeout: .seconds(3), poll: .milliseconds(5)) {
                    sandbox.bodyFor(host: "shop.example.com") == backend.name
                }
                let elapsed = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                #expect(switched, "round \(round): still not \(backend.name); log:\n\(proxym.log)")
                latencies.append(elapsed)
            }
            // In-place write (truncate + write + close): inotify's close-write.
            let started = MonotonicClock.nanoseconds()
            try writeFile(sandbox.services + "/web.json", web(blue))
            #expect(waitUntil(timeout: .seconds(3), poll: .milliseconds(5)) { sandbox.bodyFor(host: "shop.example.com") == "blue" })
            latencies.append(.nanoseconds(Int64(MonotonicClock.nanoseconds() - started)))

            for latency in latencies { #expect(latency < .seconds(1), "file save to new route took \(latency)") }
            print("file save -> haproxy serving the new route: \(latencies.map { "\($0)" }.joined(separator: ", "))")
            #expect(sandbox.haproxyPIDs != pidsBefore, "haproxy was reloaded with -sf (new process)")
            #expect(proxym.log.contains("trigger=\"file web.json moved in\""))

            // Deleting the only file would empty the file source: the safety guard holds that back
            // (STATUS says so) until it persists for PROXYM_GUARD_HOLD, or SIGHUP applies it at once.
            try FileSystem.unlink(sandbox.services + "/web.json")
            #expect(
                sandbox.notify.waitFor(timeout: .seconds(3)) {
                    $0.last { $0.hasPrefix("STATUS=") }?.contains("HELD since") == true
                }, "\(proxym.log)")
            #expect(proxym.log.contains("safety guard: refresh held back"))
            #expect(sandbox.bodyFor(host: "shop.example.com") == "blue")
            try proxym.signal(.hup)
            #expect(waitUntil(timeout: .seconds(3)) { sandbox.get(host: "shop.example.com")?.status == 503 })
            #expect(proxym.waitForLog("safety guard: forced by SIGHUP"))
            sandbox.tearDown()
        }
    }

    @Test func brokenAndHostileFilesCostNothing() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            let green = try Backend(name: "green", directory: dir)
            try sandbox.writeService(
                "web.json", sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [blue]))
            try sandbox.writeService(
                "api.json", sandbox.service(id: "/api", domain: "api.example.com", port: sandbox.httpPort, backends: [green]))
            let proxym = try sandbox.start()
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "blue" })
            let configBefore = try readTextFile(sandbox.config)

            // Broken JSON, a newline smuggled into a domain, an id that would break out of its line,
            // a wrong type: each is named in an ERROR line and changes nothing.
            try sandbox.writeService("broken.json", #"{"id": "/x", "servicePort": 80, "hosts": [}"#)
            try sandbox.writeService(
                "evil.json",
                #"{"id": "/evil", "domain": "evil.example.com\n  acl pwn always_true\n  use_backend api_cluster if pwn", "servicePort": \#(sandbox.httpPort), "hosts": []}"#
            )
            try sandbox.writeService(
                "evil2.json", #"{"id": "/evil2 if TRUE", "domain": "e.example.com", "servicePort": 81, "hosts": []}"#)
            try sandbox.writeService(
                "types.json", #"{"id": "/t", "servicePort": "80", "hosts": [{"ip": "10.0.0.1", "port": 80}]}"#)
            // A good file made bad keeps its last good service.
            try sandbox.writeService("api.json", #"{"id": "/api", "domain": "api.example.com", "servicePort": oops}"#)

            #expect(proxym.waitForLog("api.json: invalid JSON"), "\(proxym.log)")
            for file in ["broken.json", "evil.json", "evil2.json", "types.json"] {
                #expect(proxym.waitForLog("[ERROR] FileModule.log: \(file)"), "no error line for \(file):\n\(proxym.log)")
            }
            #expect(proxym.log.contains(#"kept="its last good service""#))
            #expect(
                sandbox.notify.waitFor { $0.last { $0.hasPrefix("STATUS=") }?.contains("file: 5 invalid files") == true },
                "\(sandbox.notify.lines.last { $0.hasPrefix("STATUS=") } ?? "")")
            // Let any refresh settle, then: routing intact, config unchanged, nothing injected.
            _ = proxym.waitForLog("refresh done", timeout: .seconds(3))
            MonotonicClock.sleep(.milliseconds(300))
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
            #expect(sandbox.bodyFor(host: "api.example.com") == "green")
            let configAfter = try readTextFile(sandbox.config)
            #expect(configAfter == configBefore)
            #expect(!configAfter.contains("pwn") && !configAfter.contains("evil"))
            sandbox.tearDown()
        }
    }

    @Test func haproxyRejectingTheConfigKeepsTheOldOneLive() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let (sandbox, proxym) = try startServingBlue(in: dir)
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "blue" })
            let configBefore = try readTextFile(sandbox.config)

            // An admin's per-service option line haproxy does not know.
            try FileSystem.mkdir(sandbox.options + "/web.example.com_\(sandbox.httpPort)")
            try writeFile(sandbox.options + "/web.example.com_\(sandbox.httpPort)/config", "bogus_keyword 42\n")
            try proxym.signal(.usr1)
            #expect(proxym.waitForLog("haproxy rejected the new config"), "\(proxym.log)")
            #expect(proxym.waitForLog("[ALERT]", timeout: .seconds(5)), "haproxy's own error text is logged")
            #expect(try readTextFile(sandbox.config) == configBefore)
            #expect(try readTextFile(sandbox.config + ".rejected").contains("bogus_keyword 42"))
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
            #expect(sandbox.notify.waitFor { $0.last { $0.hasPrefix("STATUS=") }?.contains("FAILED") == true })
            sandbox.tearDown()
        }
    }

    @Test func signalsDriveRefreshResyncAndGracefulStop() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let (sandbox, proxym) = try startServingBlue(in: dir)

            try proxym.signal(.usr1)
            #expect(proxym.waitForLog("trigger=SIGUSR1"), "\(proxym.log)")

            let readyBefore = sandbox.notify.lines.filter { $0 == "READY=1" }.count
            try proxym.signal(.hup)
            #expect(sandbox.notify.waitFor { $0.filter { $0 == "READY=1" }.count == readyBefore + 1 })
            let lines = sandbox.notify.lines
            let reloading = try #require(lines.lastIndex(of: "RELOADING=1"), "\(lines)")
            #expect(lines[reloading + 1].hasPrefix("MONOTONIC_USEC="), "\(lines)")
            #expect(lines.lastIndex(of: "READY=1")! > reloading)
            #expect(proxym.log.contains("trigger=SIGHUP"))

            try proxym.signal(.term)
            #expect(proxym.waitForExit() == .exited(0), "\(proxym.log)")
            #expect(sandbox.notify.lines.contains("STOPPING=1"))
            #expect(proxym.log.contains("proxym stopped"))
            // proxym's stop does not take traffic down: haproxy keeps serving.
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
            sandbox.tearDown()
        }
    }

    /// The unit's ExecReload: `proxym reload --pid` returns only once the daemon has re-applied
    /// (READY=1 sent, haproxy reloaded), so `systemctl reload` cannot return early whatever order
    /// systemd reads RELOADING=1 and the control process's exit in (CI saw `/bin/kill` lose that race).
    @Test func reloadCommandReturnsOnlyAfterTheResyncIsApplied() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let (sandbox, proxym) = try startServingBlue(in: dir)
            for round in 1...3 {
                let haproxyBefore = try readTextFile(sandbox.pidFile)
                let readyBefore = sandbox.notify.lines.filter { $0 == "READY=1" }.count
                let reload = try LoggedChild(
                    executable: Binaries.proxym, arguments: ["reload", "--pid", "\(proxym.pid)", "--timeout", "20"],
                    environment: [:], logPath: dir + "/reload-\(round).log")
                #expect(reload.waitForExit(timeout: .seconds(30)) == .exited(0), "\(reload.log)\n\(proxym.log)")
                // Everything below was true at the moment `proxym reload` exited.
                let lines = sandbox.notify.lines
                #expect(lines.filter { $0 == "READY=1" }.count == readyBefore + 1, "\(lines)")
                #expect(lines.lastIndex(of: "READY=1")! > lines.lastIndex(of: "RELOADING=1")!, "\(lines)")
                #expect(try readTextFile(sandbox.pidFile) != haproxyBefore, "haproxy was reloaded before the answer")
                #expect(reload.log.contains("resync applied by pid \(proxym.pid)"), "\(reload.log)")
            }
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
            // A plain SIGHUP (kill -HUP) still resyncs; nobody is answered.
            try proxym.signal(.hup)
            #expect(sandbox.notify.waitFor { $0.filter { $0 == "READY=1" }.count == 5 })
            sandbox.tearDown()
        }
    }

    /// `proxym reload` against a process that dies of SIGHUP, ignores it, or does not exist.
    @Test func reloadCommandReportsADaemonThatIsGoneSilentOrMissing() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let dies = try LoggedChild(executable: "/bin/sleep", arguments: ["30"], environment: [:], logPath: dir + "/dies.log")
            let gone = try LoggedChild(
                executable: Binaries.proxym, arguments: ["reload", "--pid", "\(dies.pid)", "--timeout", "20"],
                environment: [:], logPath: dir + "/gone.log")
            #expect(gone.waitForExit(timeout: .seconds(25)) == .exited(1))
            #expect(gone.log.contains("exited before the resync was applied"), "\(gone.log)")
            #expect(dies.waitForExit() == .signaled(.hup))

            let deaf = try LoggedChild(
                executable: "/bin/sh", arguments: ["-c", "trap '' HUP; sleep 30 & wait"], environment: [:],
                logPath: dir + "/deaf.log")
            let silent = try LoggedChild(
                executable: Binaries.proxym, arguments: ["reload", "--pid", "\(deaf.pid)", "--timeout", "1"],
                environment: [:], logPath: dir + "/silent.log")
            #expect(silent.waitForExit(timeout: .seconds(10)) == .exited(1))
            #expect(silent.log.contains("did not answer within 1 s"), "\(silent.log)")
            #expect(!deaf.hasExited)
            deaf.kill()

            let nobody = try LoggedChild(
                executable: Binaries.proxym, arguments: ["reload", "--pid", "\(Int32.max)"], environment: [:],
                logPath: dir + "/nobody.log")
            #expect(nobody.waitForExit() == .exited(2))
            #expect(nobody.log.contains("cannot signal pid \(Int32.max)"), "\(nobody.log)")
        }
    }

    /// Idle means asleep: no timer wakes the daemon (the status listener on, after a flood of
    /// collapsed log lines whose count was said). The log collapser's timer exists only while lines
    /// are being collapsed (it used to tick every second forever).
    @Test func anIdleDaemonDoesNotWakeUpEvenAfterAFloodOfCollapsedLines() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let proxym = try sandbox.start(["PROXYM_SIGNAL_ENABLED": "0", "PROXYM_LOG_REPEAT_INTERVAL": "1s"])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            func wakeUps(over period: Duration) throws -> Int {
                func count() throws -> Int {
                    let status = try readTextFile("/proc/\(proxym.pid)/status")
                    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") })
                    return try #require(Int(line.split(separator: ":")[1].filter { $0 != " " && $0 != "\t" }))
                }
                let before = try count()
                MonotonicClock.sleep(period)
                return try count() - before
            }
            MonotonicClock.sleep(.milliseconds(500))
            #expect(try wakeUps(over: .seconds(3)) == 0, "idle after start")
            // One at a time (a pending standard signal absorbs the next): 5 lines, then collapsed.
            for _ in 0..<12 {
                try proxym.signal(.usr1)
                MonotonicClock.sleep(.milliseconds(40))
            }
            #expect(proxym.waitForLog("more in the last 1 s", timeout: .seconds(5)), "\(proxym.log)")
            MonotonicClock.sleep(.milliseconds(2500))  // the collapsed kind's next interval ends with nothing to say
            #expect(try wakeUps(over: .seconds(3)) == 0, "idle after the flood's count was said")
            try proxym.signal(.term)
            #expect(proxym.waitForExit() == .exited(0))
            sandbox.tearDown()
        }
    }

    @Test func sigintStopsWithStatusZeroAndUsr1IsIgnoredWhenTheSignalModuleIsOff() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let proxym = try sandbox.start(["PROXYM_SIGNAL_ENABLED": "0"])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            try proxym.signal(.usr1)
            #expect(proxym.waitForLog("SIGUSR1 ignored"))
            try proxym.signal(.int)
            #expect(proxym.waitForExit() == .exited(0))
            sandbox.tearDown()
        }
    }

    @Test func watchdogIsPingedWhenSystemdAsksForIt() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let proxym = try sandbox.start(["WATCHDOG_USEC": "200000"])
            #expect(sandbox.notify.waitFor(timeout: .seconds(5)) { $0.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "\(proxym.log)")
            sandbox.tearDown()
        }
    }

    @Test func survivesAMissingDirectoryAndPicksItUpWhenCreated() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            let missing = dir + "/later"
            let proxym = try sandbox.start(["PROXYM_FILE_CONFIGS_PATH": missing])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(proxym.log.contains("source failed; keeping its last good services"))
            #expect(sandbox.notify.lines.last { $0.hasPrefix("STATUS=") }?.contains("FAILING: file") == true)

            try FileSystem.mkdir(missing)
            try writeFile(
                missing + "/web.json",
                sandbox.service(id: "/web", domain: "web.example.com", port: sandbox.httpPort, backends: [blue]))
            #expect(waitUntil(timeout: .seconds(8)) { sandbox.bodyFor(host: "web.example.com") == "blue" }, "\(proxym.log)")
            #expect(proxym.log.contains("source recovered"))

            // Removing the directory keeps the last good services (a failure never empties the config).
            try FileSystem.removeTree(missing)
            #expect(proxym.waitForLog("service directory is gone"))
            MonotonicClock.sleep(.milliseconds(400))
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue")
            sandbox.tearDown()
        }
    }

    /// Found by the zero-downtime run, whose recorder was not read for 20 s: with libsystemd's blocking
    /// sd_notify proxym stopped refreshing after 10 messages (net.unix.max_dgram_qlen). A notify socket
    /// nobody reads must never stall the loop; the messages follow once it is read again.
    @Test func aNotifySocketNobodyReadsNeverStallsRefreshes() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let blue = try Backend(name: "blue", directory: dir)
            let proxym = try sandbox.start(["PROXYM_HAPROXY_VALIDATE": "0"])
            #expect(proxym.waitForLog("ready"))
            for round in 0..<25 {
                try sandbox.writeService(
                    "s\(round).json",
                    sandbox.service(id: "/s\(round)", domain: "s\(round).example.com", port: sandbox.httpPort, backends: [blue]))
                MonotonicClock.sleep(.milliseconds(130))
            }
            #expect(
                waitUntil(timeout: .seconds(5)) { proxym.log.ranges(of: "refresh done").count >= 20 },
                "refreshes stalled: \(proxym.log.ranges(of: "refresh done").count)\n\(proxym.log.suffix(2000))")
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "s24.example.com") == "blue" })
            // Read now: the latest STATUS arrives (retried every 100 ms).
            #expect(
                sandbox.notify.waitFor(timeout: .seconds(5)) {
                    $0.last { $0.hasPrefix("STATUS=") }?.hasPrefix("STATUS=25 services") == true
                }, "\(sandbox.notify.lines.suffix(3))")
            sandbox.tearDown()
        }
    }

    @Test func journalStreamGetsPriorityPrefixes() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            // The child's stdout/stderr is the log file; tell it that file is "the journal".
            try writeFile(sandbox.root + "/proxym.log", "")
            let info = try FileSystem.stat(sandbox.root + "/proxym.log")
            try sandbox.writeService("bad.json", "{")
            let proxym = try sandbox.start(["JOURNAL_STREAM": "\(info.device):\(info.inode)"])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(proxym.waitForLog("<3>"), "\(proxym.log)")
            let lines = proxym.log.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("<6>") && $0.contains("[INFO]") })
            #expect(lines.contains { $0.hasPrefix("<3>") && $0.contains("[ERROR] FileModule.log: bad.json") })
            #expect(lines.contains { $0.hasPrefix("<5>") && $0.contains("[NOTICE]") })
            sandbox.tearDown()
        }
    }

    @Test func logFormatFollowsTheOriginalVariables() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let proxym = try sandbox.start([
                "PROXYM_LOG_FORMAT": "%{level:.4s}|%{module}|%{shortfunc}|%{message}",
                "PROXYM_LOG_APPLOG_LEVEL": "debug",
            ])
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") })
            #expect(proxym.waitForLog("INFO|appLog|start|proxym starting"), "\(proxym.log)")
            #expect(proxym.log.contains("DEBU|appLog|"))
            sandbox.tearDown()
        }
    }
}

/// Things that must fail loudly, or work without systemd around.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct CommandLineTests {
    @Test func invalidSettingsExit78NamingEachVariable() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let child = try LoggedChild(
                executable: Binaries.proxym, arguments: [],
                environment: [
                    "PROXYM_HAPROXY_HTTP_PORT": "http", "PROXYM_FILE_ENABLED": "yes please",
                    "PROXYM_HAPROXY_ENABLED": "1",
                ],
                logPath: dir + "/log")
            #expect(child.waitForExit() == .exited(78))
            for name in ["PROXYM_HAPROXY_HTTP_PORT", "PROXYM_FILE_ENABLED", "PROXYM_HAPROXY_CONFIG_FILE_PATH"] {
                #expect(child.log.contains("invalid setting: \(name):"), "\(child.log)")
            }
        }
    }

    @Test func runsWithoutNotifySocketAndStopsOnTerm() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            try FileSystem.mkdir(dir + "/services")
            let child = try LoggedChild(
                executable: Binaries.proxym, arguments: ["run", "--files", dir + "/services"], environment: [:],
                logPath: dir + "/log")
            #expect(child.waitForLog("ready"))
            try child.signal(.term)
            #expect(child.waitForExit() == .exited(0), "\(child.log)")
        }
    }

    @Test(.enabled(if: haveHAProxy)) func renderAndCheckTheBundledExample() throws {
        try Binaries.require()
        let examples = repositoryRoot + "/examples"
        let args = ["--files", examples + "/services", "--options", examples + "/haproxy", "--http-port", "8080"]
        let render = try runToCompletion(
            Binaries.proxym, ["render"] + args, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            timeout: .seconds(20))
        #expect(render.status == .exited(0), "\(render.stderr)")
        #expect(render.stdout.hasPrefix("# Put first in the generated config"))
        #expect(render.stdout.contains("backend shop_web_cluster\n  balance roundrobin\n  option forwardfor\n"))
        #expect(render.stdout.contains("  acl host_shop_web hdr(host) -i www.shop.example.com www.shop.example.com:8080\n"))
        #expect(render.stdout.contains("listen cache\n  bind :16379\n  mode tcp\n"))

        let check = try runToCompletion(
            Binaries.proxym, ["check"] + args, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            timeout: .seconds(20))
        #expect(check.status == .exited(0), "\(check.stderr)")
        #expect(check.stderr.contains("proxym check: OK (3 services)"))
    }

    /// With the vhost map, `proxym check` checks the rendered map beside the rendered config (the real
    /// map may not exist yet, or be older).
    @Test(.enabled(if: haveHAProxy)) func checkWithTheVHostMap() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let examples = repositoryRoot + "/examples"
            let args = ["--files", examples + "/services", "--options", examples + "/haproxy", "--http-port", "8080"]
            let environment = [
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PROXYM_HAPROXY_VHOST_MAP_THRESHOLD=1",
                "PROXYM_HAPROXY_CONFIG_FILE_PATH=\(dir)/missing/haproxy.cfg",
            ]
            let render = try runToCompletion(Binaries.proxym, ["render"] + args, environment: environment, timeout: .seconds(20))
            #expect(render.stdout.contains("map_str(\(dir)/missing/haproxy.cfg.vhosts.map)"), "\(render.stdout)")
            let check = try runToCompletion(Binaries.proxym, ["check"] + args, environment: environment, timeout: .seconds(20))
            #expect(check.status == .exited(0), "\(check.stderr)")
            #expect(check.stderr.contains("proxym check: OK (3 services)"))
            #expect(!FileSystem.exists(dir + "/missing"))
        }
    }

    @Test(.enabled(if: haveHAProxy)) func checkFailsOnABrokenFile() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            try FileSystem.mkdir(dir + "/services")
            try writeFile(dir + "/services/bad.json", #"{"id": "/bad"}"#)
            let check = try runToCompletion(
                Binaries.proxym, ["check", "--files", dir + "/services"],
                environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeout: .seconds(20))
            #expect(check.status == .exited(1))
            #expect(check.stderr.contains("bad.json"))
            #expect(check.stderr.contains("proxym check: FAILED"))
        }
    }
}
