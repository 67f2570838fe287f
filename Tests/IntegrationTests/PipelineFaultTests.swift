import ProxymPosix
import ProxymTestSupport
import Testing

/// Issue 11, classes 6, 7 and 9, against the built daemon with a real haproxy: a slow source never
/// delays another, a check that could not give a verdict is retried (a real rejection is not), and
/// odd stops and stray signals cost nothing. Rows for the README's fault table.
extension LongRuns.FaultInjectionTests {
    /// A wrapper standing in for PROXYM_HAPROXY_BINARY_PATH: records the signal state it starts
    /// with, makes `haproxy -c` hang or crawl while a marker file exists, then runs the real haproxy.
    func haproxyWrapper(_ dir: String) throws -> String {
        let path = dir + "/bin/haproxy"
        try FileSystem.mkdir(dir + "/bin")
        let haproxy = haproxyPath ?? "/usr/sbin/haproxy"
        try writeFile(
            path,
            """
            #!/bin/sh
            # The state it was started with: read by the shell itself (no fork; dash blocks every
            # signal while it waits for a child, so a child reading /proc/$$ would see that).
            while read -r key value; do
              case "$key" in SigBlk:|SigIgn:) echo "$key	$value";; esac
            done < /proc/$$/status > '\(dir)/child-signals'
            if [ "$1" = "-c" ]; then
              [ -e '\(dir)/check-hangs' ] && exec sleep 120
              [ -e '\(dir)/check-slow' ] && sleep 4
            fi
            exec '\(haproxy)' "$@"

            """, mode: 0o755)
        return path
    }

    func tempFiles(_ sandbox: Sandbox) -> [String] {
        ((try? FileSystem.listDirectory(sandbox.root)) ?? []).map(\.name).filter { $0.hasPrefix(".haproxy.cfg.") && $0.hasSuffix(".tmp") }
    }

    /// Time from a file edit to haproxy serving it.
    func editApplied(_ sandbox: Sandbox, _ json: String, host: String, backend: String) throws -> Duration? {
        let started = MonotonicClock.nanoseconds()
        try sandbox.writeService("web.json", json)
        return sandbox.waitForBackend(backend, host: host, since: started, timeout: .seconds(5))
    }

    /// Marathon hangs, drips one byte a second, and times out: file edits are applied at once all
    /// along (issue 11: a file edit took about 37 s with a dripping Marathon), the Marathon services
    /// keep their routes, STATUS says which source is stale and since when.
    func slowMarathon() throws -> [Row] {
        var rows: [Row] = []
        try withFakeMarathon(version: "1.10.0") { sandbox, marathon, blue, green in
            try marathon.setApps([
                MarathonJSON.app("/mweb", servicePort: 10001, tasks: [.init(green)], labels: ["HAPROXY_0_VHOST": "m.example.com"])
            ])
            try sandbox.writeService("web.json", web(sandbox, [blue]))
            let proxym = try sandbox.startWithMarathon(
                servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_TIMEOUT": "6s", "PROXYM_GUARD_HOLD": "2s"])
            #expect(sandbox.waitForBackend("green", host: "m.example.com") != nil, "\(proxym.log)")
            #expect(sandbox.waitForBackend("blue", host: "web.example.com") != nil, "\(proxym.log)")
            var backend = blue
            /// Edit -> config written (proxym's part: what a slow source must never delay), and edit ->
            /// haproxy serving it (plus haproxy's reload, slow on a busy machine).
            func flip() throws -> (written: Duration, served: Duration)? {
                backend = backend === blue ? green : blue
                let needle = "127.0.0.1:\(backend.port) "
                let started = MonotonicClock.nanoseconds()
                try sandbox.writeService("web.json", web(sandbox, [backend]))
                var written: Duration?
                let served = waitUntil(timeout: .seconds(5), poll: .milliseconds(2)) {
                    let now = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
                    if written == nil, (try? readTextFile(sandbox.config))?.contains(needle) == true { written = now }
                    return written != nil && sandbox.bodyFor(host: "web.example.com") == backend.name
                }
                guard served, let written else { return nil }
                return (written, Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started)))
            }

            for mode in ["hang", "drip"] {
                try marathon.fail("*", mode)
                try proxym.signal(.usr1)  // Marathon fetches (and hangs or drips)
                MonotonicClock.sleep(.milliseconds(300))
                var latencies: [(written: Duration, served: Duration)?] = [try flip()]
                // Still fetching after 5 s: STALE in STATUS, one WARNING.
                #expect(sandbox.waitForStatus("STALE: marathon (no answer since", timeout: .seconds(8)), "\(sandbox.lastStatus)")
                #expect(proxym.log.contains("source is stale"), "\(proxym.log.suffix(2000))")
                latencies.append(try flip())
                // The fetch and its fallback time out: FAILING, the last good services kept.
                #expect(sandbox.waitForStatus("FAILING: marathon", timeout: .seconds(15)), "\(sandbox.lastStatus)")
                latencies.append(try flip())
                let keptNow = kept(sandbox, ["web.example.com", "m.example.com"])
                #expect(!proxym.hasExited)
                let applied = latencies.compactMap { $0 }
                #expect(applied.count == latencies.count, "every edit applied: \(latencies)")
                for latency in applied {
                    #expect(latency.written < .seconds(1), "\(mode): file edit -> config written took \(latency.written)")
                    #expect(latency.served < .seconds(2), "\(mode): file edit -> haproxy serving took \(latency.served)")
                }
                let worst = applied.map(\.written).max() ?? .zero
                let worstServed = applied.map(\.served).max() ?? .zero
                rows.append(
                    Row(
                        fault: "Marathon \(mode == "hang" ? "hangs (never answers), then times out" : "drips its answer one byte a second, then times out")",
                        outcome:
                            "file edits written in at most \(format3(worst)) s, served by haproxy in at most \(format3(worstServed)) s, while it \(mode == "hang" ? "hangs" : "drips"), when STALE, when FAILING (before: about 37 s, every refresh waited for Marathon); STALE then FAILING: marathon in STATUS",
                        kept: keptNow))
                try marathon.clearFailures()
                try proxym.signal(.usr1)
                #expect(waitUntil(timeout: .seconds(15)) { !sandbox.lastStatus.contains("marathon (") }, "\(sandbox.lastStatus)")
            }
            // Marathon answering again: its changes are applied.
            try marathon.setApps([
                MarathonJSON.app("/mweb", servicePort: 10001, tasks: [.init(blue)], labels: ["HAPROXY_0_VHOST": "m.example.com"])
            ])
            try proxym.signal(.usr1)
            #expect(sandbox.waitForBackend("blue", host: "m.example.com", timeout: .seconds(10)) != nil, "\(proxym.log.suffix(3000))")
        }
        return rows
    }

    /// A restarted proxym waits (bounded) for every source's first answer before its first apply:
    /// a slow Marathon at start does not cost the config its Marathon routes; one that does not answer
    /// at all is not waited for longer than PROXYM_SOURCE_WAIT.
    func startupWaitsForSources() throws -> [Row] {
        try withFakeMarathon(version: "1.10.0") { sandbox, marathon, _, green in
            try marathon.setApps([
                MarathonJSON.app("/mweb", servicePort: 10001, tasks: [.init(green)], labels: ["HAPROXY_0_VHOST": "m.example.com"])
            ])
            try sandbox.writeService("web.json", web(sandbox, [green]))

            // Marathon never answers: READY after PROXYM_SOURCE_WAIT, without it, and the log says so.
            try marathon.fail("*", "hang")
            var started = MonotonicClock.nanoseconds()
            var proxym = try sandbox.start(
                sandbox.marathonEnvironment(
                    servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_TIMEOUT": "30s", "PROXYM_SOURCE_WAIT": "3s"]))
            #expect(sandbox.notify.waitFor(timeout: .seconds(8)) { $0.contains("READY=1") }, "\(proxym.log)")
            let readyWithout = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
            #expect(readyWithout >= .seconds(3) && readyWithout < .seconds(6), "\(readyWithout)")
            #expect(proxym.log.contains("starting without waiting longer for a source"), "\(proxym.log)")
            #expect(waitUntil(timeout: .seconds(3)) { sandbox.bodyFor(host: "web.example.com") == "green" })
            try proxym.signal(.term)
            _ = proxym.waitForExit()

            // Marathon's main endpoint hangs (2 s timeout), the fallback answers: the first apply,
            // 2 s late, has Marathon's services.
            try marathon.clearFailures()
            try marathon.fail("apps.tasks", "hang")
            let readyLines = sandbox.notify.lines.filter { $0 == "READY=1" }.count
            started = MonotonicClock.nanoseconds()
            proxym = try sandbox.start(
                sandbox.marathonEnvironment(
                    servers: [marathon.url], events: "sse", ["PROXYM_MARATHON_TIMEOUT": "2s", "PROXYM_SOURCE_WAIT": "10s"]))
            #expect(
                sandbox.notify.waitFor(timeout: .seconds(12)) { $0.filter { $0 == "READY=1" }.count > readyLines },
                "\(proxym.log)")
            let readyWith = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
            #expect(readyWith >= .seconds(2), "it waited for Marathon's answer: \(readyWith)")
            #expect(try readTextFile(sandbox.config).contains("m.example.com"), "the first apply has Marathon's services")
            #expect(waitUntil(timeout: .seconds(3)) { sandbox.bodyFor(host: "m.example.com") == "green" }, "\(proxym.log)")
            return [
                Row(
                    fault: "proxym (re)started while Marathon is slow (main endpoint hangs, fallback answers) or never answers",
                    outcome:
                        "the first apply waits for every source's first answer: READY after \(format3(readyWith)) s with Marathon's routes; a Marathon that never answers is waited for PROXYM_SOURCE_WAIT (3 s here: READY after \(format3(readyWithout)) s, WARNING names it); after start-up nothing waits",
                    kept: kept(sandbox, ["web.example.com", "m.example.com"]))
            ]
        }
    }

    /// `haproxy -c` hangs past its timeout, then the binary is gone: failed attempts, retried with
    /// backoff (STATUS says so), applied once haproxy works again. A real verdict (haproxy ran and
    /// reported configuration errors) is a rejection, not retried.
    func transientCheckFailures() throws -> [Row] {
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let wrapper = try haproxyWrapper(dir)
            let (proxym, blue, green) = try started(
                sandbox, ["PROXYM_HAPROXY_BINARY_PATH": wrapper, "PROXYM_HAPROXY_COMMAND_TIMEOUT": "2s"])
            defer { sandbox.tearDown() }
            var rows: [Row] = []

            // Children start with an empty signal mask and no ignored signal (Spawn resets them).
            let signals = (try? readTextFile(dir + "/child-signals")) ?? ""
            #expect(signals.contains("SigBlk:\t0000000000000000"), "\(signals)")
            let ignored = signals.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.dropFirst(8), radix: 16) }
            #expect(ignored.map { $0 & 0x7FFF_FFFF == 0 } == true, "\(signals)")

            // 1. The check hangs: timed out, retried (1 s, 2 s, ...), applied when it answers.
            try writeFile(dir + "/check-hangs", "")
            try sandbox.writeService("web.json", web(sandbox, [green]))
            #expect(proxym.waitForLog("haproxy -c did not finish in time", timeout: .seconds(8)), "\(proxym.log.suffix(2000))")
            #expect(sandbox.waitForStatus("no verdict on the config (will retry)"), "\(sandbox.lastStatus)")
            #expect(proxym.waitForLog("will retry in=\"2.0 seconds\"", timeout: .seconds(10)), "\(proxym.log.suffix(2000))")
            let keptHanging = kept(sandbox, ["web.example.com", "api.example.com"])
            #expect(sandbox.bodyFor(host: "web.example.com") == "blue", "the old config stays live")
            try FileSystem.unlink(dir + "/check-hangs")
            let fixed = MonotonicClock.nanoseconds()
            #expect(sandbox.waitForBackend("green", host: "web.example.com", since: fixed, timeout: .seconds(12)) != nil, "\(proxym.log.suffix(3000))")
            #expect(!proxym.log.contains("rejected this config before"))
            rows.append(
                Row(
                    fault: "`haproxy -c` hangs past its timeout (2 s here)",
                    outcome:
                        "logged as no verdict (not a rejection), FAILED (will retry) in STATUS, old config live, retried 1 s, 2 s, ...; applied once the check answers (before: recorded as rejected, never retried)",
                    kept: keptHanging))

            // 2. The binary vanishes mid-run: the check cannot start; retried until it is back.
            try FileSystem.rename(from: wrapper, to: wrapper + ".away")
            try sandbox.writeService("web.json", web(sandbox, [blue]))
            #expect(proxym.waitForLog("haproxy -c could not check the new config", timeout: .seconds(8)), "\(proxym.log.suffix(2000))")
            #expect(sandbox.waitForStatus("(will retry)"), "\(sandbox.lastStatus)")
            let keptGone = kept(sandbox, ["web.example.com", "api.example.com"])
            #expect(sandbox.bodyFor(host: "web.example.com") == "green")
            try FileSystem.rename(from: wrapper + ".away", to: wrapper)
            #expect(sandbox.waitForBackend("blue", host: "web.example.com", timeout: .seconds(12)) != nil, "\(proxym.log.suffix(3000))")
            rows.append(
                Row(
                    fault: "the haproxy binary vanishes mid-run (PROXYM_HAPROXY_BINARY_PATH renamed away)",
                    outcome: "check cannot start: FAILED (will retry), old config live, retried; applied once it is back (before: taken for a rejection)",
                    kept: keptGone))

            // 3. A real verdict: haproxy ran and reported errors. Rejected once, not retried.
            let goodGlobal = try readTextFile(sandbox.options + "/global.cfg")
            try writeFile(sandbox.options + "/global.cfg", goodGlobal + "  bogus-keyword-for-the-test 1\n")
            try sandbox.writeService("web.json", web(sandbox, [green]))
            #expect(proxym.waitForLog("haproxy rejected the new config", timeout: .seconds(8)), "\(proxym.log.suffix(2000))")
            #expect(sandbox.waitForStatus("FAILED: haproxy -c rejected the config"), "\(sandbox.lastStatus)")
            let retriesBefore = proxym.log.ranges(of: "will retry").count
            MonotonicClock.sleep(.seconds(3))
            #expect(proxym.log.ranges(of: "will retry").count == retriesBefore, "a rejection is not retried")
            #expect(proxym.log.ranges(of: "haproxy rejected the new config").count == 1)
            #expect(FileSystem.exists(sandbox.config + ".rejected"))
            let keptRejected = kept(sandbox, ["web.example.com", "api.example.com"])
            try writeFile(sandbox.options + "/global.cfg", goodGlobal)
            try sandbox.writeService("web.json", web(sandbox, [green, blue]))
            #expect(waitUntil(timeout: .seconds(5)) { sandbox.answers(host: "web.example.com", count: 6) == ["blue", "green"] })
            #expect(!proxym.hasExited)
            rows.append(
                Row(
                    fault: "a real rejection (haproxy ran and reported configuration errors)",
                    outcome: "rejected: ERROR with haproxy's own lines, kept as `.rejected`, not retried; applied once the input changes",
                    kept: keptRejected))
            return rows
        }
    }

    /// A crash leftover is removed at start (only proxym's own temp-file pattern); two SIGTERMs while
    /// a refresh checks its config leave no temp file.
    func oddStops() throws -> [Row] {
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let wrapper = try haproxyWrapper(dir)
            for name in [".haproxy.cfg.deadbeef.tmp", ".haproxy.cfg.notours", ".haproxy.cfg.12ab.tmp.keep", ".other.cfg.ab12.tmp"] {
                try writeFile(dir + "/" + name, "leftover")
            }
            let (proxym, _, green) = try started(sandbox, ["PROXYM_HAPROXY_BINARY_PATH": wrapper])
            #expect(proxym.log.contains("removed a temp file an earlier run left behind"), "\(proxym.log)")
            #expect(!FileSystem.exists(dir + "/.haproxy.cfg.deadbeef.tmp"))
            for name in [".haproxy.cfg.notours", ".haproxy.cfg.12ab.tmp.keep", ".other.cfg.ab12.tmp"] {
                #expect(FileSystem.exists(dir + "/" + name), "\(name) is not proxym's: kept")
            }

            // A refresh under way (its check takes 4 s), then SIGTERM twice.
            try writeFile(dir + "/check-slow", "")
            try sandbox.writeService("web.json", web(sandbox, [green]))
            #expect(waitUntil(timeout: .seconds(3)) { !tempFiles(sandbox).isEmpty }, "the refresh wrote its temp file")
            try proxym.signal(.term)
            MonotonicClock.sleep(.milliseconds(100))
            try proxym.signal(.term)
            let status = proxym.waitForExit(timeout: .seconds(5))
            #expect(status == .exited(0), "\(String(describing: status))")
            #expect(proxym.log.contains("second stop signal: exiting now"))
            #expect(tempFiles(sandbox).isEmpty, "no temp file left: \(tempFiles(sandbox))")
            // haproxy still serves the config it had; a new proxym takes over.
            let keptStopped = kept(sandbox, ["web.example.com", "api.example.com"])
            try FileSystem.unlink(dir + "/check-slow")
            let again = try sandbox.start(["PROXYM_HAPROXY_BINARY_PATH": wrapper])
            #expect(sandbox.notify.waitFor { $0.filter { $0 == "READY=1" }.count >= 2 }, "\(again.log)")
            #expect(sandbox.waitForBackend("green", host: "web.example.com") != nil, "\(again.log)")
            sandbox.tearDown()
            return [
                Row(
                    fault: "crash leftover `.haproxy.cfg.<hex>.tmp` next to the config",
                    outcome: "removed at start (NOTICE names it); other files there untouched", kept: "2/2"),
                Row(
                    fault: "two SIGTERMs while a refresh checks its config",
                    outcome: "exits at once (status 0), the check ended and its temp file removed (before: `.haproxy.cfg.<hex>.tmp` left behind)",
                    kept: "\(keptStopped) (haproxy keeps running)"),
            ]
        }
    }

    /// Signals with a killing default action that proxym has no use for: logged and ignored.
    func straySignals() throws -> [Row] {
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let (proxym, blue, green) = try started(sandbox)
            defer { sandbox.tearDown() }
            let signals: [Signal] = [.usr2, .alrm, .pipe, .vtalrm, .prof, .poll, .xcpu, .ttin, .ttou, .tstp] + Signal.realTime.prefix(2)
            for signal in signals { try proxym.signal(signal) }
            for signal in signals {
                #expect(proxym.waitForLog("stray \(signal) received; ignored", timeout: .seconds(3)), "\(signal): \(proxym.log.suffix(1500))")
            }
            #expect(!proxym.hasExited)
            let latency = try editApplied(sandbox, web(sandbox, [green]), host: "web.example.com", backend: "green")
            #expect(latency.map { $0 < .seconds(1) } == true, "\(String(describing: latency))")
            // A flood of one signal: one line per 10 s.
            for _ in 0..<200 { try proxym.signal(.usr2) }
            MonotonicClock.sleep(.milliseconds(300))
            #expect(proxym.log.ranges(of: "stray SIGUSR2 received").count == 1)
            _ = try editApplied(sandbox, web(sandbox, [blue]), host: "web.example.com", backend: "blue")
            return [
                Row(
                    fault: "stray signals: SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM, SIGPROF, SIGPOLL, SIGXCPU, SIGTTIN, SIGTTOU, SIGTSTP, real-time (and 200 SIGUSR2)",
                    outcome: "each logged once (NOTICE, per 10 s) and ignored; a file edit applied after them in \(latency.map(format3) ?? "?") s (before: SIGUSR2, SIGALRM, ... killed proxym)",
                    kept: kept(sandbox, ["web.example.com", "api.example.com"]))
            ]
        }
    }
}
