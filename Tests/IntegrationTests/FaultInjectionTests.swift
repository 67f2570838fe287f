import ProxymPosix
import ProxymTestSupport
import Testing

/// Every fault of issue 5, point 4, injected into the built daemon with a real haproxy and real
/// backends: each scenario asserts its outcome and adds a row to the table the README shows
/// (`fault | outcome | services kept`). "Services kept" = services answering through haproxy while the
/// fault lasts / services configured.
extension LongRuns {
    @Suite(.serialized, .timeLimit(.minutes(6)))
    struct FaultInjectionTests {
        struct Row {
            var fault: String
            var outcome: String
            var kept: String
        }

        @Test func everyFaultKeepsTheServicesRouted() throws {
            try Binaries.require()
            var rows: [Row] = []
            let scenarios: [(String, () throws -> [Row])] = [
                ("reload command", reloadCommandFailing),
                ("read-only and full disk", unwritableAndFullDisk),
                ("file size limit", fileSizeLimit),
                ("directory", directoryRemovedAndRecreated),
                ("inotify overflow", inotifyOverflow),
                ("SIGUSR1 storm", signalStorm),
                ("file event storm", fileEventStorm),
                ("haproxy dies (sf)", { try haproxyDies(method: "sf") }),
                ("haproxy dies (own master)", { try haproxyDies(method: "own master") }),
                ("haproxy dies (external master)", externalMasterDies),
                ("reload rejected", reloadRejected),
                ("safety guard", safetyGuard),
                ("Marathon", marathonFaults),
                ("slow Marathon", slowMarathon),
                ("start-up with a hanging Marathon", startupWaitsForSources),
                ("transient check failures", transientCheckFailures),
                ("odd stops", oddStops),
                ("stray signals", straySignals),
                ("newcomer versus incumbent", newcomerVersusIncumbent),
                ("hostile options and FIFOs", hostileOptionsAndFIFOs),
            ]
            // PROXYM_FAULT_SCENARIOS="slow Marathon,odd stops" runs only those (while working on them).
            let only = ProcessEnvironment.value("PROXYM_FAULT_SCENARIOS").map { Set($0.split(separator: ",").map(String.init)) }
            for (name, scenario) in scenarios where only?.contains(name) ?? true {
                let started = MonotonicClock.nanoseconds()
                do {
                    rows += try scenario()
                } catch {
                    Issue.record("\(name): \(error)")
                    rows.append(Row(fault: name, outcome: "ERROR: \(error)", kept: "?"))
                }
                print("fault scenario \(name) took \(Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started)))")
            }
            print("fault injection:\n" + markdownTable(["fault", "outcome", "services kept"], rows.map { [$0.fault, $0.outcome, $0.kept] }))
        }

        // MARK: helpers

        func web(_ sandbox: Sandbox, _ backends: [Backend], id: String = "/web", domain: String = "web.example.com") -> String {
            sandbox.service(id: id, domain: domain, port: sandbox.httpPort, backends: backends)
        }

        /// How many of `hosts` answer (with any backend) through haproxy.
        func kept(_ sandbox: Sandbox, _ hosts: [String]) -> String {
            "\(hosts.filter { sandbox.bodyFor(host: $0) != nil }.count)/\(hosts.count)"
        }

        /// `web` on blue (and `api` on green), proxym started and serving.
        func started(
            _ sandbox: Sandbox, _ extra: [String: String] = [:], api: Bool = true, configure: (Sandbox) throws -> Void = { _ in }
        ) throws -> (LoggedChild, Backend, Backend) {
            let blue = try sandbox.backend("blue")
            let green = try sandbox.backend("green")
            try sandbox.writeService("web.json", web(sandbox, [blue]))
            if api { try sandbox.writeService("api.json", web(sandbox, [green], id: "/api", domain: "api.example.com")) }
            try configure(sandbox)
            let proxym = try sandbox.start(extra)
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "blue" }, "\(proxym.log)")
            return (proxym, blue, green)
        }

        func shell(_ script: String) throws -> CompletedProcess {
            try runToCompletion("/bin/sh", ["-c", script], environment: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], timeout: .seconds(30))
        }

        // MARK: scenarios

        /// Command mode, the reload command missing then failing: the file is written, haproxy keeps the
        /// old config, STATUS says FAILED, retries back off (1 s, 2 s, ...); fixed, the retry applies it.
        func reloadCommandFailing() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let script = dir + "/reload.sh"
                let haproxy = haproxyPath ?? "/usr/sbin/haproxy"
                try writeFile(
                    script,
                    """
                    #!/bin/sh
                    # A stand-in for haproxy's own supervisor: starts haproxy -W -D once, then reloads it.
                    [ -e '\(dir)/reload-missing' ] && exec /nonexistent/reload-haproxy
                    [ -e '\(dir)/reload-fails' ] && { echo 'reload refused (test)' >&2; exit 1; }
                    if [ -s '\(dir)/ext.pid' ] && kill -0 "$(cat '\(dir)/ext.pid')" 2>/dev/null; then
                      kill -USR2 "$(cat '\(dir)/ext.pid')"
                    else
                      exec '\(haproxy)' -W -D -S '\(dir)/ext-master.sock' -f '\(dir)/haproxy.cfg' -p '\(dir)/ext.pid'
                    fi

                    """, mode: 0o755)
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, green) = try started(
                    sandbox,
                    [
                        "PROXYM_HAPROXY_BINARY_PATH": "", "PROXYM_HAPROXY_PID_PATH": dir + "/ext.pid",
                        "PROXYM_HAPROXY_RELOAD_COMMAND": script,
                    ])
                defer {
                    sandbox.tearDown()
                    if let pid = (try? readTextFile(dir + "/ext.pid")).flatMap({ Int32($0.split(separator: "\n").first ?? "") }) {
                        try? kill(pid: pid, signal: .kill)
                    }
                }
                var outcomes: [String] = []
                for (marker, what) in [("reload-missing", "missing"), ("reload-fails", "failing")] {
                    try writeFile(dir + "/" + marker, "")
                    let before = proxym.log.ranges(of: "reload command failed").count
                    try sandbox.writeService("web.json", web(sandbox, what == "missing" ? [blue, green] : [green]))
                    #expect(waitUntil(timeout: .seconds(5)) { proxym.log.ranges(of: "reload command failed").count > before })
                    #expect(sandbox.waitForStatus("FAILED: reload command exited with status"), "\(sandbox.lastStatus)")
                    #expect(proxym.waitForLog("will retry in=\"2.0 seconds\"", timeout: .seconds(6)), "\(proxym.log)")
                    // haproxy still runs the config it had.
                    let answers = sandbox.answers(host: "web.example.com", count: 6)
                    #expect(answers == (what == "missing" ? ["blue"] : ["blue", "green"]), "\(answers)")
                    let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                    try FileSystem.unlink(dir + "/" + marker)
                    #expect(sandbox.waitForStatus("applied, reload command succeeded", timeout: .seconds(10)), "\(proxym.log)")
                    #expect(
                        waitUntil(timeout: .seconds(3)) {
                            sandbox.answers(host: "web.example.com", count: 6) == (what == "missing" ? ["blue", "green"] : ["green"])
                        })
                    outcomes.append(keptNow)
                }
                // haproxy (not proxym's: command mode) dies: reported through PROXYM_HAPROXY_PID_PATH.
                let pid = try #require((try? readTextFile(dir + "/ext.pid")).flatMap { Int32($0.split(separator: "\n").first ?? "") })
                try kill(pid: pid, signal: .kill)
                #expect(sandbox.waitForStatus("FAILING: haproxy (haproxy is not running"), "\(sandbox.lastStatus)")
                let keptDown = kept(sandbox, ["web.example.com", "api.example.com"])
                // Its supervisor starts it again (the dead master may linger as a zombie: forget its pid).
                try FileSystem.unlink(dir + "/ext.pid")
                #expect(try shell(script).status == .exited(0))
                #expect(proxym.waitForLog("haproxy is running again", timeout: .seconds(6)), "\(proxym.log)")
                #expect(sandbox.notify.waitFor { !($0.last { $0.hasPrefix("STATUS=") } ?? "").contains("FAILING") })
                return [
                    Row(
                        fault: "reload command missing (`/nonexistent/...`, exit 127)",
                        outcome: "FAILED in STATUS, old config live, retried 1 s, 2 s, ...; applied once it works",
                        kept: outcomes[0]),
                    Row(
                        fault: "reload command failing (exit 1)",
                        outcome: "FAILED in STATUS, old config live, retried 1 s, 2 s, ...; applied once it works",
                        kept: outcomes[1]),
                    Row(
                        fault: "haproxy killed, command mode (its pid file in PROXYM_HAPROXY_PID_PATH)",
                        outcome: "reported (FAILING: haproxy in STATUS), not restarted; noticed back (pid file polled every 2 s)",
                        kept: "\(keptDown) while down (its supervisor's job)"),
                ]
            }
        }

        /// The config file on a small tmpfs: remounted read-only, then filled up. The old file stays byte
        /// for byte, no temp file is left, the error names the cause, and the retry applies it afterwards.
        func unwritableAndFullDisk() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let mountPoint = dir + "/etc"
                try FileSystem.mkdir(mountPoint)
                let mounted = try shell("mount -t tmpfs -o size=256k,mode=755 proxym-test '\(mountPoint)'")
                guard mounted.status == .exited(0) else {
                    return [Row(
                        fault: "config path unwritable / disk full",
                        outcome: "not run: cannot mount a tmpfs here (\(mounted.stderr.split(separator: "\n").first ?? ""))",
                        kept: "-")]
                }
                defer { _ = try? shell("umount -l '\(mountPoint)'") }
                let config = mountPoint + "/haproxy.cfg"
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, green) = try started(sandbox, ["PROXYM_HAPROXY_CONFIG_FILE_PATH": config])
                defer { sandbox.tearDown() }
                let good = try readTextFile(config)

                // Read-only.
                #expect(try shell("mount -o remount,ro '\(mountPoint)'").status == .exited(0))
                try sandbox.writeService("web.json", web(sandbox, [blue, green]))
                #expect(proxym.waitForLog("Read-only file system"), "\(proxym.log)")
                #expect(sandbox.waitForStatus("FAILED: cannot write next to \(config)"), "\(sandbox.lastStatus)")
                #expect(try readTextFile(config) == good)
                let keptReadOnly = kept(sandbox, ["web.example.com", "api.example.com"])
                #expect(sandbox.answers(host: "web.example.com", count: 4) == ["blue"])
                #expect(try shell("mount -o remount,rw '\(mountPoint)'").status == .exited(0))
                #expect(waitUntil(timeout: .seconds(10)) { sandbox.answers(host: "web.example.com", count: 6) == ["blue", "green"] })
                let afterReadOnly = try readTextFile(config)

                // Full: fill the tmpfs, then change something.
                _ = try shell("dd if=/dev/zero of='\(mountPoint)/filler' bs=4k 2>/dev/null; sync")
                try sandbox.writeService("web.json", web(sandbox, [green]))
                #expect(proxym.waitForLog("No space left on device"), "\(proxym.log)")
                #expect(sandbox.waitForStatus("FAILED: cannot write next to \(config)"), "\(sandbox.lastStatus)")
                #expect(try readTextFile(config) == afterReadOnly, "no partial file, ever")
                let leftovers = try FileSystem.listDirectory(mountPoint).map(\.name).filter { $0.hasSuffix(".tmp") }
                #expect(leftovers.isEmpty, "\(leftovers)")
                let keptFull = kept(sandbox, ["web.example.com", "api.example.com"])
                try FileSystem.unlink(mountPoint + "/filler")
                #expect(waitUntil(timeout: .seconds(10)) { sandbox.answers(host: "web.example.com", count: 4) == ["green"] })
                return [
                    Row(
                        fault: "config path unwritable (tmpfs remounted read-only)",
                        outcome: "`Read-only file system` logged, FAILED in STATUS, old file and config live; retried until writable",
                        kept: keptReadOnly),
                    Row(
                        fault: "disk full (tmpfs of 256 KiB filled up)",
                        outcome:
                            "`No space left on device` logged, FAILED in STATUS, temp file removed, old file intact; retried until there is room",
                        kept: keptFull),
                ]
            }
        }

        /// RLIMIT_FSIZE below the config's size (prlimit on the running daemon): writing fails with EFBIG
        /// instead of SIGXFSZ killing proxym; raised again, the retry applies it.
        func fileSizeLimit() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, _) = try started(sandbox, ["PROXYM_HAPROXY_VALIDATE": "0"])
                defer { sandbox.tearDown() }
                let limited = try shell("prlimit --pid \(proxym.pid) --fsize=65536:unlimited")
                guard limited.status == .exited(0) else {
                    return [Row(fault: "file size limit (RLIMIT_FSIZE)", outcome: "not run: prlimit failed (\(limited.stderr))", kept: "-")]
                }
                // A service with 2000 hosts makes a config of about 80 KB.
                let hosts = (0..<2000).map { "{\"ip\": \"10.1.\($0 / 250).\($0 % 250 + 1)\", \"port\": 31000}" }.joined(separator: ", ")
                try sandbox.writeService(
                    "big.json", #"{"id": "/big", "protocol": "tcp", "servicePort": 41000, "hosts": [\#(hosts)]}"#)
                #expect(proxym.waitForLog("File too large"), "\(proxym.log.suffix(2000))")
                #expect(!proxym.hasExited, "SIGXFSZ must not kill proxym")
                #expect(sandbox.waitForStatus("FAILED: cannot write next to"))
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                #expect(sandbox.bodyFor(host: "web.example.com") == blue.name)
                #expect(try shell("prlimit --pid \(proxym.pid) --fsize=unlimited:unlimited").status == .exited(0))
                #expect(sandbox.waitForStatus("applied, haproxy reloaded", timeout: .seconds(10)), "\(sandbox.lastStatus)")
                return [
                    Row(
                        fault: "file size limit (RLIMIT_FSIZE 64 KiB < an 80 KB config)",
                        outcome: "`File too large` (EFBIG; SIGXFSZ is ignored, it used to kill proxym), FAILED in STATUS, old config live; applied once raised",
                        kept: keptNow)
                ]
            }
        }

        /// The services directory removed (last good kept), re-created with the files (picked up), then
        /// re-created empty (the safety guard holds the emptying until SIGHUP).
        func directoryRemovedAndRecreated() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, green) = try started(sandbox)
                defer { sandbox.tearDown() }
                try FileSystem.removeTree(sandbox.services)
                #expect(proxym.waitForLog("service directory is gone"))
                #expect(sandbox.waitForStatus("FAILING: file"))
                MonotonicClock.sleep(.milliseconds(300))
                let keptGone = kept(sandbox, ["web.example.com", "api.example.com"])
                try FileSystem.mkdir(sandbox.services)
                try sandbox.writeService("web.json", web(sandbox, [green]))
                try sandbox.writeService("api.json", web(sandbox, [blue], id: "/api", domain: "api.example.com"))
                #expect(proxym.waitForLog("source recovered"), "\(proxym.log)")
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "green" })
                // Gone and back empty: that would empty a source that had services.
                try FileSystem.removeTree(sandbox.services)
                try FileSystem.mkdir(sandbox.services)
                #expect(sandbox.waitForStatus("HELD since"), "\(sandbox.lastStatus)")
                let keptEmpty = kept(sandbox, ["web.example.com", "api.example.com"])
                try proxym.signal(.hup)
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.get(host: "web.example.com")?.status == 503 })
                return [
                    Row(
                        fault: "services directory removed, re-created (with files, then empty)",
                        outcome:
                            "removed: last good services kept, FAILING in STATUS; re-created: read again; re-created empty: held by the safety guard (HELD in STATUS) until SIGHUP",
                        kept: "\(keptGone) removed, \(keptEmpty) empty")
                ]
            }
        }

        /// The daemon stopped (SIGSTOP) while 20 000 files are created (more than max_queued_events) and
        /// web.json changes: on SIGCONT it reads IN_Q_OVERFLOW, rescans, and applies the change.
        func inotifyOverflow() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, _, green) = try started(sandbox)
                defer { sandbox.tearDown() }
                try proxym.signal(.stop)
                #expect(try shell("cd '\(sandbox.services)' && i=0; while [ $i -lt 20000 ]; do : > noise$i; i=$((i+1)); done").status == .exited(0))
                try sandbox.writeService("web.json", web(sandbox, [green]))
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                try proxym.signal(.cont)
                #expect(proxym.waitForLog("inotify queue overflowed"), "\(proxym.log.suffix(1500))")
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "green" })
                return [
                    Row(
                        fault: "inotify queue overflow (20 000 events while proxym was stopped)",
                        outcome: "IN_Q_OVERFLOW logged, directory rescanned, the change made meanwhile applied", kept: keptNow)
                ]
            }
        }

        /// 20 000 SIGUSR1 in about 2 s: refreshes stay bounded by the max delay, memory flat.
        func signalStorm() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, _, _) = try started(sandbox)
                defer { sandbox.tearDown() }
                MonotonicClock.sleep(.milliseconds(300))
                let rssBefore = residentKilobytes(proxym.pid) ?? 0
                let refreshesBefore = proxym.log.ranges(of: "Daemon.startRefresh: refresh").count
                let started = MonotonicClock.nanoseconds()
                for index in 0..<20_000 {
                    try proxym.signal(.usr1)
                    if index % 100 == 99 { MonotonicClock.sleep(.milliseconds(10)) }
                }
                let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
                MonotonicClock.sleep(.milliseconds(600))
                let refreshes = proxym.log.ranges(of: "Daemon.startRefresh: refresh").count - refreshesBefore
                let rssAfter = residentKilobytes(proxym.pid) ?? 0
                // At most one per max delay (1 s) while the storm lasts, plus the one after it.
                #expect(refreshes >= 1 && Double(refreshes) <= seconds + 3, "\(refreshes) refreshes in \(seconds) s")
                #expect(rssAfter - rssBefore < 2048, "RSS \(rssBefore) -> \(rssAfter) kB")
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                return [
                    Row(
                        fault: "SIGUSR1 storm (20 000 signals in \(format1(seconds)) s)",
                        outcome: "\(plural(refreshes, "refresh", "refreshes")) (at most one per PROXYM_REFRESH_MAX_DELAY); RSS \(rssBefore) -> \(rssAfter) kB",
                        kept: keptNow)
                ]
            }
        }

        /// 3 000 in-place rewrites of web.json and 1 000 files created and deleted, as fast as possible.
        func fileEventStorm() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, green) = try started(sandbox)
                defer { sandbox.tearDown() }
                MonotonicClock.sleep(.milliseconds(300))
                let rssBefore = residentKilobytes(proxym.pid) ?? 0
                let refreshesBefore = proxym.log.ranges(of: "Daemon.startRefresh: refresh").count
                let started = MonotonicClock.nanoseconds()
                for index in 0..<3000 {
                    try writeFile(sandbox.services + "/web.json", web(sandbox, index % 2 == 0 ? [blue] : [green]))
                    if index % 3 == 0 {
                        let name = sandbox.services + "/storm\(index).json"
                        try writeFile(name, web(sandbox, [blue], id: "/storm\(index)", domain: "storm\(index).example.com"))
                        try FileSystem.unlink(name)
                    }
                }
                try writeFile(sandbox.services + "/web.json", web(sandbox, [green]))
                let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "green" })
                MonotonicClock.sleep(.milliseconds(600))
                let refreshes = proxym.log.ranges(of: "Daemon.startRefresh: refresh").count - refreshesBefore
                let rssAfter = residentKilobytes(proxym.pid) ?? 0
                #expect(refreshes >= 1 && Double(refreshes) <= seconds + 4, "\(refreshes) refreshes in \(seconds) s")
                #expect(rssAfter - rssBefore < 4096, "RSS \(rssBefore) -> \(rssAfter) kB")
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                return [
                    Row(
                        fault: "file event storm (4 000 writes, 1 000 files created and deleted in \(format1(seconds)) s)",
                        outcome: "\(plural(refreshes, "refresh", "refreshes")), the last state applied; RSS \(rssBefore) -> \(rssAfter) kB", kept: keptNow)
                ]
            }
        }

        /// haproxy killed with SIGKILL: restarted at once (sf: its pids are watched by pidfd; own master:
        /// our child), STATUS says so meanwhile.
        func haproxyDies(method: String) throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let env = method == "sf" ? [:] : sandbox.masterWorker(runtimeAPI: false)
                let (proxym, _, _) = try started(sandbox, env)
                defer { sandbox.tearDown() }
                let pids = sandbox.haproxyPIDs
                #expect(!pids.isEmpty)
                let started = MonotonicClock.nanoseconds()
                for pid in pids { try? kill(pid: pid, signal: .kill) }
                #expect(proxym.waitForLog("restarting it"), "\(proxym.log)")
                #expect(
                    waitUntil(timeout: .seconds(5), poll: .milliseconds(5)) {
                        sandbox.bodyFor(host: "web.example.com") == "blue" && sandbox.haproxyPIDs != pids
                    }, "\(proxym.log)")
                let back = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                #expect(proxym.waitForLog("haproxy restarted from the config file"))
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                return [
                    Row(
                        fault: "haproxy killed (SIGKILL), \(method == "sf" ? "sf" : "master-worker, proxym's own master")",
                        outcome: "restarted by proxym (watched by pidfd), serving again after \(format3(back)) s; backoff 0, 1, 2 ... 60 s if it keeps dying",
                        kept: "\(keptNow) after restart")
                ]
            }
        }

        /// master-worker with a master proxym did not start (as Debian's unit runs it), and command mode
        /// with PROXYM_HAPROXY_PID_PATH: a dead haproxy is reported (STATUS), not restarted; when its
        /// supervisor brings it back proxym notices.
        func externalMasterDies() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let haproxy = haproxyPath ?? "/usr/sbin/haproxy"
                // An initial config for the "system" haproxy; proxym replaces it and reloads through the socket.
                try writeFile(
                    sandbox.config,
                    "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend x\n  bind 127.0.0.1:\(sandbox.httpPort)\n")
                let start = "'\(haproxy)' -W -D -S '\(sandbox.masterSocket)' -f '\(sandbox.config)' -p '\(sandbox.pidFile)'"
                #expect(try shell(start).status == .exited(0))
                let (proxym, _, _) = try started(sandbox, sandbox.masterWorker(runtimeAPI: false))
                defer { sandbox.tearDown() }
                #expect(proxym.log.contains("a haproxy master already answers on its socket"), "\(proxym.log)")
                let pids = sandbox.haproxyPIDs
                for pid in pids { try? kill(pid: pid, signal: .kill) }
                #expect(sandbox.waitForStatus("FAILING: haproxy (haproxy master (pid"), "\(sandbox.lastStatus)")
                MonotonicClock.sleep(.seconds(1))
                let keptDown = kept(sandbox, ["web.example.com", "api.example.com"])
                #expect(!proxym.log.contains("starting haproxy (master-worker)"), "proxym must not start its own")
                // Its supervisor (here: the test) starts it again on the file proxym wrote.
                #expect(try shell(start).status == .exited(0))
                #expect(proxym.waitForLog("the haproxy master answers again", timeout: .seconds(6)), "\(proxym.log)")
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "web.example.com") == "blue" })
                #expect(sandbox.notify.waitFor { !($0.last { $0.hasPrefix("STATUS=") } ?? "").contains("FAILING") })
                return [
                    Row(
                        fault: "haproxy killed, master-worker with a master proxym did not start (Debian's unit)",
                        outcome: "reported (FAILING: haproxy in STATUS), not restarted; noticed back when its supervisor restarts it",
                        kept: "\(keptDown) while down (its supervisor's job)")
                ]
            }
        }

        /// master-worker: haproxy cannot load what `haproxy -c` accepted (a port in use): a failed apply.
        func reloadRejected() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, _) = try started(sandbox, sandbox.masterWorker(runtimeAPI: false))
                defer { sandbox.tearDown() }
                let holder = try Socket.listenTCP(host: "127.0.0.1", port: 0)
                try sandbox.writeService(
                    "db.json",
                    #"{"id": "/db", "protocol": "tcp", "servicePort": \#(holder.port), "hosts": [{"ip": "127.0.0.1", "port": \#(blue.port)}]}"#)
                #expect(sandbox.waitForStatus("FAILED: haproxy rejected the reload"), "\(proxym.log)")
                let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
                _ = consume holder
                #expect(sandbox.waitForStatus("applied, haproxy reloaded", timeout: .seconds(8)))
                return [
                    Row(
                        fault: "reload rejected by haproxy (master-worker; a port in use passes `haproxy -c`)",
                        outcome: "seen in `show proc` ([failed: 1]): FAILED in STATUS, old workers serve, retried; applied once the port is free",
                        kept: keptNow)
                ]
            }
        }

        /// 3 of 4 services disappear at once: held (STATUS), applied after PROXYM_GUARD_HOLD.
        func safetyGuard() throws -> [Row] {
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let (proxym, blue, _) = try started(sandbox, ["PROXYM_GUARD_HOLD": "3s"]) { sandbox in
                    for name in ["a", "b"] {
                        try sandbox.writeService(
                            "\(name).json",
                            sandbox.service(id: "/\(name)", domain: "\(name).example.com", port: sandbox.httpPort, backends: []))
                    }
                }
                defer { sandbox.tearDown() }
                try sandbox.writeService("a.json", web(sandbox, [blue], id: "/a", domain: "a.example.com"))
                try sandbox.writeService("b.json", web(sandbox, [blue], id: "/b", domain: "b.example.com"))
                #expect(waitUntil(timeout: .seconds(5)) { sandbox.bodyFor(host: "b.example.com") == "blue" })
                let started = MonotonicClock.nanoseconds()
                for name in ["api", "a", "b"] { try FileSystem.unlink(sandbox.services + "/\(name).json") }
                #expect(sandbox.waitForStatus("HELD since"), "\(sandbox.lastStatus)")
                let keptHeld = kept(sandbox, ["web.example.com", "api.example.com", "a.example.com", "b.example.com"])
                #expect(proxym.waitForLog("safety guard: held for", timeout: .seconds(6)), "\(proxym.log)")
                #expect(waitUntil(timeout: .seconds(3)) { sandbox.get(host: "a.example.com")?.status == 503 })
                let after = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                return [
                    Row(
                        fault: "safety guard: 3 of 4 services (3 of 4 servers) gone at once",
                        outcome: "held (logged, HELD in STATUS), applied after PROXYM_GUARD_HOLD (3 s here: \(format3(after)) s); SIGHUP applies it at once",
                        kept: "\(keptHeld) while held")
                ]
            }
        }
        /// Marathon down (503, then gone), lying (invalid JSON everywhere, an empty app list after a
        /// non-empty one): the last good Marathon services stay routed; when it is back, changes apply.
        func marathonFaults() throws -> [Row] {
            var rows: [Row] = []
            try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
                let app = { (id: String, host: String, backend: Backend) in
                    MarathonJSON.app(id, servicePort: 10001, tasks: [.init(backend)], labels: ["HAPROXY_0_VHOST": host])
                }
                try marathon.setApps([app("/web", "web.example.com", blue), app("/api", "api.example.com", green)])
                let proxym = try sandbox.startWithMarathon(servers: [marathon.url], events: "sse", ["PROXYM_GUARD_HOLD": "2s"])
                let hosts = ["web.example.com", "api.example.com"]
                #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")

                try marathon.down()
                try proxym.signal(.usr1)
                #expect(sandbox.waitForStatus("FAILING: marathon"), "\(sandbox.lastStatus)")
                rows.append(
                    Row(
                        fault: "Marathon down (503 on every call, event stream dropped)",
                        outcome: "FAILING: marathon in STATUS, last good services kept, retried with backoff",
                        kept: kept(sandbox, hosts)))

                marathon.kill()
                try proxym.signal(.usr1)
                MonotonicClock.sleep(.milliseconds(500))
                rows.append(
                    Row(
                        fault: "Marathon gone (connection refused)", outcome: "same; the config file is not touched",
                        kept: kept(sandbox, hosts)))

                try marathon.restart()
                try marathon.setApps([app("/web", "web.example.com", green), app("/api", "api.example.com", green)])
                #expect(sandbox.waitForBackend("green", host: "web.example.com", timeout: .seconds(20)) != nil, "\(proxym.log)")
                rows.append(
                    Row(
                        fault: "Marathon back with a change", outcome: "source recovered, the change applied",
                        kept: kept(sandbox, hosts)))

                try marathon.fail("*", "invalid")
                try proxym.signal(.usr1)
                #expect(sandbox.waitForStatus("FAILING: marathon (invalid answer"), "\(sandbox.lastStatus)")
                rows.append(
                    Row(
                        fault: "Marathon lies: invalid JSON on every call",
                        outcome: "fallback to /v2/apps + /v2/tasks tried, then FAILING with the parse error; last good kept",
                        kept: kept(sandbox, hosts)))
                try marathon.clearFailures()

                try marathon.setApps([])
                try proxym.signal(.usr1)
                #expect(proxym.waitForLog("Marathon lists no apps"), "\(proxym.log)")
                let heldKept = kept(sandbox, hosts)
                rows.append(
                    Row(
                        fault: "Marathon lies: empty app list after a non-empty one (leader election)",
                        outcome: "held back until three reads agree, then by the safety guard for PROXYM_GUARD_HOLD (2 s here)",
                        kept: heldKept))
            }
            return rows
        }
    }
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func format3(_ duration: Duration) -> String {
    let millis = Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    return "\(millis / 1000).\(String(repeating: "0", count: 3 - String(millis % 1000).count))\(millis % 1000)"

}

func plural(_ count: Int, _ one: String, _ many: String) -> String { "\(count) \(count == 1 ? one : many)" }
