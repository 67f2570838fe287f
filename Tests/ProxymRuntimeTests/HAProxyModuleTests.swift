import Glibc
import ProxymCore
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing
import ProxymTestBuilders

/// The HAProxy module against real files, a real `haproxy -c`, real reload commands and, in
/// start/stop mode, a real daemonized haproxy on a free 127.0.0.1 port.
@Suite(.timeLimit(.minutes(1)), .enabled(if: haproxyPath != nil))
struct HAProxyModuleTests {
    /// A module configured inside a temp dir, plus what it did.
    final class Harness {
        let dir: String
        let loop: EventLoop
        let log = TestLog()
        let settings: Settings.HAProxy
        let module: HAProxyModule

        var configPath: String { settings.configFilePath }
        var optionsPath: String { dir + "/options" }
        /// Every `haproxy` invocation through the wrapper (`-c -f ...` for checks).
        var haproxyCalls: [String] { fileLines(dir + "/haproxy-calls") }
        var checkCount: Int { haproxyCalls.filter { $0.hasPrefix("-c ") }.count }
        /// One line per successful run of the default reload command.
        var reloads: [String] { fileLines(dir + "/reloads") }

        /// Defaults: command mode (`echo reloaded >> reloads`), validation through a wrapper that
        /// records its arguments, options dir with a sane global.cfg.
        init(dir: String, configure: (inout Settings.HAProxy, String) throws -> Void = { _, _ in }) throws {
            self.dir = dir
            loop = try EventLoop()
            if !FileSystem.exists(dir) { try FileSystem.mkdir(dir) }
            try FileSystem.mkdir(dir + "/options")
            try writeFile(dir + "/options/global.cfg", testGlobalConfig)
            let wrapper = dir + "/haproxy-wrapper"
            try writeFile(
                wrapper,
                "#!/bin/sh\necho \"$*\" >> '\(dir)/haproxy-calls'\nexec '\(haproxyPath!)' \"$@\"\n",
                mode: 0o755
            )
            var settings = Settings().haproxy
            settings.enabled = true
            settings.configFilePath = dir + "/haproxy.cfg"
            settings.optionsPath = dir + "/options"
            settings.binaryPath = wrapper
            settings.reloadCommand = "echo reloaded >> '\(dir)/reloads'"
            settings.httpPort = 8080
            settings.bindAddress = "127.0.0.1"
            settings.commandTimeout = .seconds(20)
            try configure(&settings, dir)
            self.settings = settings
            module = try HAProxyModule(
                settings: settings,
                loop: loop,
                logger: log.logger,
                environment: childEnvironment
            )
        }

        /// apply(), stepping the loop until it completes.
        func apply(_ services: [Service], force: Bool = false) throws -> ApplyOutcome {
            var outcome: ApplyOutcome?
            var calls = 0
            module.apply(services, force: force) {
                calls += 1
                outcome = $0
            }
            try pump(loop, timeout: .seconds(40)) { outcome != nil }
            #expect(calls == 1)
            return try #require(outcome, "apply did not complete")
        }

        func live() throws -> [UInt8] { try FileSystem.readFile(configPath, limit: 1 << 22) }

        /// Names in the temp dir that look like leftover temp files.
        func leftovers() throws -> [String] {
            try FileSystem.listDirectory(dir).map(\.name).filter { $0.hasSuffix(".tmp") }
        }
    }

    func web(port: UInt16 = 8080, hosts: [Int] = [18081]) throws -> [Service] {
        [try makeService(id: "/shop/web", domain: "web.example.com", servicePort: port, hostPorts: hosts)]
    }

    func isFailed(_ outcome: ApplyOutcome, retry: Bool) -> Bool {
        if case .failed(_, let r) = outcome { return r == retry }
        return false
    }

    @Test func firstApplyWritesTheRenderingThenUnchangedThenForce() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let services = try web()
            let outcome = try h.apply(services)
            #expect(outcome == .applied("applied, reload command succeeded"))
            #expect(try h.live() == Array(try h.module.render(services).utf8))
            #expect(try FileSystem.stat(h.configPath).permissions == 0o644)
            #expect(h.checkCount == 1)
            #expect(h.reloads.count == 1)
            #expect(try h.leftovers().isEmpty)

            // Same services: nothing is spawned.
            #expect(try h.apply(services) == .unchanged("unchanged"))
            #expect(h.checkCount == 1)
            #expect(h.reloads.count == 1)

            // force (SIGHUP): checked, written and reloaded again.
            #expect(try h.apply(services, force: true) == .applied("applied, reload command succeeded"))
            #expect(h.checkCount == 2)
            #expect(h.reloads.count == 2)

            // A change: applied, the file follows.
            let changed = try web(hosts: [18081, 18082])
            #expect(try h.apply(changed) == .applied("applied, reload command succeeded"))
            #expect(try h.live() == Array(try h.module.render(changed).utf8))
            #expect(h.reloads.count == 3)
            #expect(try h.leftovers().isEmpty)
        }
    }

    /// A check that gives no verdict (it hangs past its timeout, or cannot start) is a failed attempt
    /// worth retrying, never a rejection: the same config is checked again and applied once the
    /// check works. Each timeout doubles the next check's time limit; a finished check resets it.
    @Test func aCheckWithoutAVerdictIsRetriableNotARejection() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                try writeFile(
                    dir + "/slow-haproxy",
                    "#!/bin/sh\n[ \"$1\" = -c ] && [ -e '\(dir)/hang' ] && exec sleep 30\nexec '\(haproxyPath!)' \"$@\"\n",
                    mode: 0o755)
                settings.binaryPath = dir + "/slow-haproxy"
                settings.commandTimeout = .seconds(2)
            }
            #expect(h.module.checkTimeout(bytes: 0) == .seconds(2))
            #expect(h.module.checkTimeout(bytes: 3 << 20) == .seconds(17), "5 s more per MiB")
            try writeFile(dir + "/hang", "")
            let services = try web()
            let timedOut = try h.apply(services)
            #expect(isFailed(timedOut, retry: true), "\(timedOut)")
            #expect(timedOut.summary.contains("no verdict on the config (will retry)"), "\(timedOut.summary)")
            #expect(h.log.contains("haproxy -c did not finish in time"))
            #expect(h.module.checkTimeout(bytes: 0) == .seconds(4), "doubled after a timeout")
            #expect(!FileSystem.exists(h.configPath) && !FileSystem.exists(h.configPath + ".rejected"))
            #expect(try h.leftovers().isEmpty, "the temp file is removed")

            // The binary is gone: it cannot start; retried too.
            try FileSystem.rename(from: dir + "/slow-haproxy", to: dir + "/away")
            let missing = try h.apply(services)
            #expect(isFailed(missing, retry: true), "\(missing)")
            #expect(h.log.contains("haproxy -c could not check the new config"))
            try FileSystem.rename(from: dir + "/away", to: dir + "/slow-haproxy")

            // It answers again: the same config is checked and applied (not "rejected before").
            try FileSystem.unlink(dir + "/hang")
            #expect(try h.apply(services) == .applied("applied, reload command succeeded"))
            #expect(h.module.checkTimeout(bytes: 0) == .seconds(2), "back to once")
            #expect(try h.leftovers().isEmpty)
        }
    }

    /// At start, `.haproxy.cfg.<hex>.tmp` (and the vhost map's `.haproxy.cfg.vhosts.map.<hex>.tmp`) left
    /// by a crashed run is removed; nothing else is.
    @Test func leftoversOfACrashAreRemovedAtStartOnlyOurPattern() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let ours = [".haproxy.cfg.0.tmp", ".haproxy.cfg.deadbeef12345678.tmp", ".haproxy.cfg.vhosts.map.ab12.tmp"]
            let others = [
                ".haproxy.cfg.tmp", ".haproxy.cfg.XYZ.tmp", ".haproxy.cfg.deadbeef.tmp.bak", ".haproxy.cfg.12345678901234567.tmp",
                ".other.cfg.ab.tmp", "haproxy.cfg.ab.tmp", ".haproxy.cfg.rejected", ".haproxy.cfg.vhosts.map.tmp",
            ]
            for name in ours + others { try writeFile(dir + "/" + name, "x") }
            h.module.removeLeftovers()
            for name in ours { #expect(!FileSystem.exists(dir + "/" + name), "\(name)") }
            for name in others { #expect(FileSystem.exists(dir + "/" + name), "\(name)") }
            #expect(h.log.count("removed a temp file an earlier run left behind", level: .notice) == 3)
        }
    }

    /// cleanUp() (every way out of the daemon) removes the temp file of an apply whose check runs.
    @Test func cleanUpRemovesTheTempFileOfARunningCheck() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                try writeFile(
                    dir + "/slow-haproxy", "#!/bin/sh\n[ \"$1\" = -c ] && exec sleep 30\nexec '\(haproxyPath!)' \"$@\"\n",
                    mode: 0o755)
                settings.binaryPath = dir + "/slow-haproxy"
            }
            var outcome: ApplyOutcome?
            h.module.apply(try web(), force: false) { outcome = $0 }
            #expect(try h.leftovers().count == 1, "written, being checked")
            h.module.cleanUp()
            #expect(try h.leftovers().isEmpty)
            #expect(outcome == nil)
            // The check was ended: its exit is reaped on the loop.
            try pump(h.loop, timeout: .seconds(5)) { outcome != nil }
        }
    }

    /// Issue 11, class 11: the mode the operator gave haproxy.cfg (0640 here) survives every write
    /// (a change, a forced re-apply) and the `.rejected` candidate gets it too.
    /// Host-only changes go through the render memo, which patches the last text and tells where it
    /// rewrote lines, so that a changed text is known to differ without comparing it whole: every step
    /// still writes exactly what a whole render gives, and a repeat of the same services (the patched
    /// text equal to the live one) is still "unchanged".
    @Test func hostOnlyChangesWriteWhatAWholeRenderGives() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            func cluster(_ ports: [Int]) throws -> [Service] {
                try (0..<20).map { i in
                    try makeService(
                        id: "/shop/web\(i)", domain: "web\(i).example.com", servicePort: 8080,
                        hostPorts: i == 7 ? ports : [18000 + i])
                }
            }
            // Same length, longer, shorter, back to the first: each a change; each repeat unchanged.
            let steps: [[Int]] = [[18081], [18082], [18082, 18083], [9], [18081]]
            for (n, ports) in steps.enumerated() {
                let services = try cluster(ports)
                #expect(try h.apply(services) == .applied("applied, reload command succeeded"), "step \(n)")
                #expect(try h.live() == Array(try h.module.render(services).utf8), "step \(n)")
                #expect(try h.apply(services) == .unchanged("unchanged"), "step \(n)")
                #expect(h.reloads.count == n + 1)
            }
        }
    }

    @Test func theConfigKeepsTheOperatorsMode() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            #expect(try h.apply(try web()) == .applied("applied, reload command succeeded"))
            #expect(chmod(h.configPath, 0o640) == 0)
            #expect(try h.apply(try web(hosts: [18081, 18082])) == .applied("applied, reload command succeeded"))
            #expect(try FileSystem.stat(h.configPath).permissions == 0o640)
            #expect(try h.apply(try web(hosts: [18081, 18082]), force: true) == .applied("applied, reload command succeeded"))
            #expect(try FileSystem.stat(h.configPath).permissions == 0o640)
            try FileSystem.mkdir(h.optionsPath + "/bad.example.com_8080")
            try writeFile(h.optionsPath + "/bad.example.com_8080/config", "bogus_keyword 1\n")
            let bad = try web() + [try makeService(id: "/bad", domain: "bad.example.com", servicePort: 8080, hostPorts: [18083])]
            #expect(isFailed(try h.apply(bad), retry: false))
            #expect(try FileSystem.stat(h.configPath + ".rejected").permissions == 0o640)
            #expect(try FileSystem.stat(h.configPath).permissions == 0o640)
        }
    }

    @Test func aConfigHAProxyRejectsIsNeverInstalledNorRechecked() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let good = try web()
            #expect(try h.apply(good) == .applied("applied, reload command succeeded"))
            let liveBefore = try h.live()

            // A second service whose options add a directive haproxy does not know.
            try FileSystem.mkdir(h.optionsPath + "/bad.example.com_8080")
            try writeFile(h.optionsPath + "/bad.example.com_8080/config", "bogus_keyword 1\n")
            let bad =
                good + [try makeService(id: "/bad", domain: "bad.example.com", servicePort: 8080, hostPorts: [18083])]
            let outcome = try h.apply(bad)
            #expect(isFailed(outcome, retry: false), "\(outcome)")
            #expect(try h.live() == liveBefore, "the live file must stay byte for byte")
            let candidate = try FileSystem.readFile(h.configPath + ".rejected", limit: 1 << 22)
            #expect(candidate == Array(try h.module.render(bad).utf8))
            #expect(String(decoding: candidate, as: UTF8.self).contains("bogus_keyword 1"))
            #expect(h.checkCount == 2)
            #expect(h.reloads.count == 1)
            // haproxy's own words are in the log.
            #expect(
                h.log.messages(atLeast: .error).contains { $0.hasPrefix("haproxy: ") && $0.contains("bogus_keyword") }
            )
            #expect(try h.leftovers().isEmpty)

            // The same input again: refused without running haproxy -c again.
            #expect(isFailed(try h.apply(bad), retry: false))
            #expect(h.checkCount == 2)
            #expect(try h.live() == liveBefore)

            // Back to the good input: it is what is live.
            #expect(try h.apply(good) == .unchanged("unchanged"))
            // A forced apply (SIGHUP) checks the bad input again.
            #expect(isFailed(try h.apply(bad, force: true), retry: false))
            #expect(h.checkCount == 3)

            // Fixed options: accepted.
            try writeFile(h.optionsPath + "/bad.example.com_8080/config", "balance roundrobin\n")
            #expect(try h.apply(bad) == .applied("applied, reload command succeeded"))
            #expect(h.reloads.count == 2)
        }
    }

    @Test func reloadCommandFailureIsRetriableAndItsOutputIsLogged() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                settings.reloadCommand = "echo to-stdout; echo to-stderr >&2; echo run >> '\(dir)/runs'; exit 3"
            }
            let outcome = try h.apply(try web())
            guard case .failed(let message, retry: true) = outcome else {
                Issue.record("expected a retriable failure, got \(outcome)")
                return
            }
            #expect(message.contains("exited with status 3"))
            let errors = h.log.messages(atLeast: .error)
            #expect(errors.contains("reload: to-stderr"))
            #expect(errors.contains("reload: to-stdout"))
            #expect(
                h.log.lines(atLeast: .error).contains {
                    $0.hasPrefix("reload command failed") && $0.contains("exited with status 3")
                }
            )
            #expect(fileLines(dir + "/runs").count == 1)
        }
    }

    /// The daemon retries a failed reload with the same services: the reload must run again even
    /// though the file on disk already holds that config.
    @Test func aFailedReloadIsRunAgainOnTheNextApply() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/fail-once", "")
            let h = try Harness(dir: dir) { settings, dir in
                settings.reloadCommand =
                    "if [ -e '\(dir)/fail-once' ]; then rm '\(dir)/fail-once'; echo busy >&2; exit 3; fi; echo reloaded >> '\(dir)/reloads'"
            }
            let services = try web()
            #expect(isFailed(try h.apply(services), retry: true))
            #expect(h.reloads.isEmpty)
            let retry = try h.apply(services)
            #expect(retry == .applied("applied, reload command succeeded"))
            #expect(h.reloads.count == 1)
            #expect(try h.apply(services) == .unchanged("unchanged"))
        }
    }

    /// A is live; B is installed but its reload fails; going back to A must write A again (the file
    /// says B) and reload, not report "unchanged".
    @Test func goingBackAfterAFailedReloadRewritesTheFile() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                settings.reloadCommand =
                    "if [ -e '\(dir)/fail' ]; then echo busy >&2; exit 3; fi; echo reloaded >> '\(dir)/reloads'"
            }
            let a = try web()
            let b = try web(hosts: [18081, 18082])
            #expect(try h.apply(a) == .applied("applied, reload command succeeded"))
            try writeFile(dir + "/fail", "")
            #expect(isFailed(try h.apply(b), retry: true))
            #expect(try h.live() == Array(try h.module.render(b).utf8))
            try FileSystem.unlink(dir + "/fail")
            #expect(try h.apply(a) == .applied("applied, reload command succeeded"))
            #expect(try h.live() == Array(try h.module.render(a).utf8))
            #expect(h.reloads.count == 2)
        }
    }

    @Test func validateOffSkipsTheCheck() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, _ in settings.validate = false }
            // Even a config haproxy would reject is written: nobody asked haproxy.
            try FileSystem.mkdir(h.optionsPath + "/web.example.com_8080")
            try writeFile(h.optionsPath + "/web.example.com_8080/config", "bogus_keyword 1\n")
            #expect(try h.apply(try web()) == .applied("applied, reload command succeeded"))
            #expect(h.haproxyCalls.isEmpty)
            #expect(try readTextFile(h.configPath).contains("bogus_keyword 1"))
            #expect(h.reloads.count == 1)
        }
    }

    @Test func firstApplyWithTheFileAlreadyCurrentDisturbsNothing() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let services = try web()
            try writeFile(h.configPath, try h.module.render(services))
            let before = try FileSystem.stat(h.configPath)
            #expect(try h.apply(services) == .unchanged("config on disk is current"))
            #expect(h.haproxyCalls.isEmpty)
            #expect(h.reloads.isEmpty)
            #expect(try FileSystem.stat(h.configPath) == before)
            #expect(try h.apply(services) == .unchanged("unchanged"))

            // A different file on disk at startup is replaced.
            let other = try Harness(dir: dir + "/other") { _, _ in }
            try writeFile(other.configPath, "# written by someone else\n")
            #expect(try other.apply(services) == .applied("applied, reload command succeeded"))
            #expect(try other.live() == Array(try other.module.render(services).utf8))
        }
    }

    @Test func unwritableTargetFailsClearlyAndLeavesNoFile() throws {
        try withTemporaryDirectory { dir in
            // The target's directory is a regular file.
            try writeFile(dir + "/blocker", "a file, not a directory\n")
            let h = try Harness(dir: dir) { settings, dir in settings.configFilePath = dir + "/blocker/haproxy.cfg" }
            let outcome = try h.apply(try web())
            guard case .failed(let message, _) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(message.contains(dir + "/blocker/haproxy.cfg"))
            #expect(message.contains("Not a directory"))
            #expect(h.haproxyCalls.isEmpty)
            #expect(h.reloads.isEmpty)
            #expect(try readTextFile(dir + "/blocker") == "a file, not a directory\n")
            #expect(try h.leftovers().isEmpty)
        }
    }

    @Test func targetThatCannotBeReplacedLeavesNoTempFile() throws {
        try withTemporaryDirectory { dir in
            // The target is a directory: the temp file is written and checked, rename(2) fails.
            try FileSystem.mkdir(dir + "/haproxy.cfg")
            try writeFile(dir + "/haproxy.cfg/keep", "x")
            let h = try Harness(dir: dir)
            let outcome = try h.apply(try web())
            guard case .failed(let message, _) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(message.contains(h.configPath))
            #expect(h.checkCount == 1)
            #expect(h.reloads.isEmpty)
            #expect(try h.leftovers().isEmpty)
            #expect(try FileSystem.stat(h.configPath).isDirectory)
        }
    }

    // MARK: start/stop mode (a real haproxy)

    /// Start/stop settings: haproxy itself (no wrapper, so its pid file names haproxy), on a free port.
    func startStopHarness(_ dir: String, port: UInt16) throws -> Harness {
        try Harness(dir: dir) { settings, dir in
            settings.binaryPath = haproxyPath
            settings.pidPath = dir + "/haproxy.pid"
            settings.reloadCommand = nil
            settings.httpPort = port
        }
    }

    @Test func startStopModeStartsThenReloadsWithSf() throws {
        try withTemporaryDirectory { dir in
            let port = try freeTCPPort()
            let haproxies = HAProxyPidGuard(pidFile: dir + "/haproxy.pid")
            defer { haproxies.killAll() }
            let h = try startStopHarness(dir, port: port)

            #expect(try h.apply(try web(port: port)) == .applied("applied, haproxy started"))
            let first = haproxies.remember()
            #expect(!first.isEmpty)
            #expect(first.allSatisfy { isRunningProcess($0) && processName($0) == "haproxy" })
            // Listening on 127.0.0.1:port; a request for an unknown host gets haproxy's 503.
            let answer = httpGet(port: port, timeout: .seconds(5))
            #expect(answer?.status == 503)

            // Same services: nothing happens.
            #expect(try h.apply(try web(port: port)) == .unchanged("unchanged"))
            #expect(pidsInFile(dir + "/haproxy.pid") == first)

            // A change: a new process with -sf; the old one finishes.
            #expect(try h.apply(try web(port: port, hosts: [18081, 18082])) == .applied("applied, haproxy reloaded"))
            let second = haproxies.remember()
            #expect(!second.isEmpty)
            #expect(Set(second).isDisjoint(with: first))
            #expect(second.allSatisfy { isRunningProcess($0) })
            #expect(waitUntil(timeout: .seconds(10)) { first.allSatisfy { !isRunningProcess($0) } })
            #expect(httpGet(port: port, timeout: .seconds(5))?.status == 503)
            #expect(h.log.contains("haproxy reloaded"))
        }
    }

    @Test func startStopModeAfterARestart() throws {
        try withTemporaryDirectory { dir in
            let port = try freeTCPPort()
            let haproxies = HAProxyPidGuard(pidFile: dir + "/haproxy.pid")
            defer { haproxies.killAll() }
            let services = try web(port: port)
            let first = try startStopHarness(dir, port: port)
            #expect(try first.apply(services) == .applied("applied, haproxy started"))
            let pids = haproxies.remember()

            // proxym restarts while haproxy runs with the current file: haproxy is left alone.
            let second = try Harness(dir: dir + "/second") { settings, _ in
                settings.configFilePath = first.settings.configFilePath
                settings.optionsPath = first.settings.optionsPath
                settings.binaryPath = haproxyPath
                settings.pidPath = dir + "/haproxy.pid"
                settings.reloadCommand = nil
                settings.httpPort = port
            }
            #expect(try second.apply(services) == .unchanged("config on disk is current"))
            #expect(pidsInFile(dir + "/haproxy.pid") == pids)

            // haproxy died (its pids stay in the pid file; in a container without a reaping init
            // they are zombies): the next proxym start starts it again.
            for pid in pids { try kill(pid: pid, signal: .kill) }
            #expect(waitUntil(timeout: .seconds(5)) { pids.allSatisfy { !isRunningProcess($0) } })
            let third = try Harness(dir: dir + "/third") { settings, _ in
                settings.configFilePath = first.settings.configFilePath
                settings.optionsPath = first.settings.optionsPath
                settings.binaryPath = haproxyPath
                settings.pidPath = dir + "/haproxy.pid"
                settings.reloadCommand = nil
                settings.httpPort = port
            }
            #expect(try third.apply(services) == .applied("applied, haproxy started"))
            let restarted = haproxies.remember()
            #expect(Set(restarted).isDisjoint(with: pids))
            #expect(restarted.allSatisfy { isRunningProcess($0) })
            #expect(httpGet(port: port, timeout: .seconds(5))?.status == 503)
        }
    }
}
