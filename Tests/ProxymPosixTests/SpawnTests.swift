import Glibc
import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SpawnTests {
    /// Waits (bounded) for the pidfd to become readable, then reaps.
    func waitForExit(_ pidfd: borrowing OwnedFD) throws -> ExitStatus {
        var entries = [Poll.Entry(fd: pidfd.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(20)) == 1)
        guard case .ready(let status) = try PidFD.waitExit(pidfd.rawValue) else {
            Issue.record("pidfd readable but child not exited")
            return .exited(-1)
        }
        return status
    }

    @Test func exitCodeThroughPidFD() throws {
        let child = try Spawn.start(executable: "/bin/sh", arguments: ["-c", "exit 3"], environment: [])
        let guardian = ProcessGuard()
        guardian.track(child.pid)
        #expect(child.pid > 0)
        #expect(try Descriptor.isCloseOnExec(child.pidfd.rawValue))
        #expect(try waitForExit(child.pidfd) == .exited(3))
        // Reaped: a second wait is ECHILD.
        let error = #expect(throws: SysError.self) { _ = try PidFD.waitExit(child.pidfd.rawValue) }
        #expect(error?.errno == SysError.Code.noChild)
    }

    @Test func signalDeathThroughPidFD() throws {
        let child = try Spawn.start(executable: "/bin/sh", arguments: ["-c", "kill -TERM $$"], environment: [])
        let guardian = ProcessGuard()
        guardian.track(child.pid)
        let status = try waitForExit(child.pidfd)
        #expect(status == .signaled(.term))
        #expect(status.description == "killed by SIGTERM")
    }

    @Test func runningChildWouldBlockThenSignalThroughPidFD() throws {
        let child = try Spawn.start(executable: "/bin/sleep", arguments: ["30"], environment: [])
        let guardian = ProcessGuard()
        guardian.track(child.pid)
        #expect(try PidFD.waitExit(child.pidfd.rawValue) == .wouldBlock)
        try PidFD.sendSignal(child.pidfd.rawValue, .kill)
        #expect(try waitForExit(child.pidfd) == .signaled(.kill))
        // After reaping, the pidfd still names the dead process, never a reused pid.
        let error = #expect(throws: SysError.self) { try PidFD.sendSignal(child.pidfd.rawValue, .term) }
        #expect(error?.isNoSuchProcess == true)
    }

    @Test func plainKillByPID() throws {
        let child = try Spawn.start(executable: "/bin/sleep", arguments: ["30"], environment: [])
        let guardian = ProcessGuard()
        guardian.track(child.pid)
        try kill(pid: child.pid, signal: .usr1)
        #expect(try waitForExit(child.pidfd) == .signaled(.usr1))
    }

    @Test func stdoutAndStderrPipesAndExactEnvironment() throws {
        var child = try Spawn.start(
            executable: "/bin/sh",
            arguments: ["-c", "echo out:$GREETING; echo err >&2; env | sort"],
            environment: ["GREETING=hi", "PATH=/usr/bin:/bin"],
            stdout: .pipe,
            stderr: .pipe
        )
        let guardian = ProcessGuard()
        guardian.track(child.pid)
        guard let out = child.stdout.take(), let err = child.stderr.take() else {
            Issue.record("pipes missing")
            return
        }
        #expect(try Descriptor.isNonBlocking(out.rawValue))
        #expect(try Descriptor.isCloseOnExec(out.rawValue))
        #expect(try waitForExit(child.pidfd) == .exited(0))
        let stdout = String(decoding: try readToEOF(out), as: UTF8.self)
        let stderr = String(decoding: try readToEOF(err), as: UTF8.self)
        #expect(stdout.hasPrefix("out:hi\n"))
        #expect(stderr == "err\n")
        // Exactly what we passed (sh adds PWD, SHLVL and _ on its own).
        let names = stdout.split(separator: "\n").dropFirst().compactMap {
            $0.split(separator: "=").first.map(String.init)
        }
        #expect(Set(names).subtracting(["PWD", "SHLVL", "_"]) == ["GREETING", "PATH"])
    }

    func readToEOF(_ fd: borrowing OwnedFD) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            switch try fd.read(maxBytes: 4096) {
            case .ready(let chunk):
                if chunk.isEmpty { return bytes }
                bytes += chunk
            case .wouldBlock:
                var entries = [Poll.Entry(fd: fd.rawValue, events: .in)]
                if try Poll.wait(&entries, timeout: .seconds(10)) == 0 { return bytes }
            }
        }
    }

    @Test func stdinIsDevNullAndDefaultOutputIsDevNull() throws {
        let result = try runToCompletion("/bin/sh", ["-c", "cat; readlink /proc/self/fd/0"], environment: [])
        #expect(result.status == .exited(0))
        #expect(result.stdout == "/dev/null\n")
    }

    /// The test thread blocks signals; the child must start with an empty mask anyway.
    @Test func childStartsWithEmptySignalMask() throws {
        let grep = try #require(which("grep"))
        let previous = try SignalSet([.usr1, .term, .hup]).blockOnCurrentThread()
        defer { try? previous.setAsCurrentThreadMask() }
        let result = try runToCompletion(grep, ["^SigBlk", "/proc/self/status"], environment: [])
        #expect(result.status == .exited(0))
        #expect(result.stdout == "SigBlk:\t0000000000000000\n")
    }

    /// The daemon's real situation, in a fresh process: signals blocked *and* SIGPIPE ignored.
    /// The child gets an empty mask and no ignored signals.
    @Test func childGetsDefaultDispositionsAfterDaemonSetup() async {
        await #expect(processExitsWith: .success) {
            _ = try SignalFD.prepareProcess(blocking: SignalSet([.term, .hup, .usr1, .usr2]))
            let result = try runToCompletion(
                "/bin/sh",
                ["-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"],
                environment: []
            )
            let lines = result.stdout.split(separator: "\n")
            guard lines.count == 2, lines[0] == "SigBlk:\t0000000000000000", lines[1].hasPrefix("SigIgn:\t") else {
                CurrentProcess.exit(2)
            }
            // Signals 1...31 (SIGPIPE among them) are back to default. glibc's posix_spawn leaves
            // its two internal real-time signals (32, 33: bits 0x180000000) ignored in the child,
            // which sigfillset can not name; the exec'd program's own libc reinstalls them.
            guard let ignored = UInt64(lines[1].dropFirst("SigIgn:\t".count), radix: 16), ignored & 0x7FFF_FFFF == 0
            else {
                CurrentProcess.exit(3)
            }
        }
    }

    /// A library may open fds without close-on-exec (libcurl's resolver socketpair does): the child
    /// still gets only 0, 1 and 2. Run in a fresh process: the inheritable pipe must not leak into
    /// children other tests spawn meanwhile.
    @Test func childInheritsOnlyStandardDescriptors() async {
        await #expect(processExitsWith: .success) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { CurrentProcess.exit(2) }  // deliberately without O_CLOEXEC
            // ls lists its own fds: 0-2, plus 3 for the directory it reads.
            let result = try runToCompletion("/bin/ls", ["/proc/self/fd"], environment: [])
            guard result.stdout == "0\n1\n2\n3\n" else { CurrentProcess.exit(3) }
        }
    }

    @Test func missingExecutableThrowsAClearError() throws {
        let error = #expect(throws: SysError.self) {
            _ = try Spawn.start(executable: "/nonexistent/haproxy", environment: [], stdout: .pipe, stderr: .pipe)
        }
        #expect(error?.isNoEntry == true)
        #expect(error?.description == "posix_spawn /nonexistent/haproxy: No such file or directory (errno 2)")
    }

    /// Counted in a fresh process, as the runner's other tests open fds concurrently; and only
    /// pipes, sockets and pidfds, as the test library opens timerfds of its own meanwhile.
    @Test func failedSpawnLeaksNoFD() async {
        await #expect(processExitsWith: .success) {
            let before = try spawnRelatedDescriptors()
            for _ in 0..<5 {
                _ = try? Spawn.start(executable: "/nonexistent/haproxy", environment: [], stdout: .pipe, stderr: .pipe)
                _ = try? Spawn.start(
                    executable: "no-such-program-proxym",
                    environment: [],
                    stdout: .pipe,
                    stderr: .null
                )
                _ = try? Spawn.start(executable: "/etc/hostname", environment: [], stdout: .null, stderr: .pipe)
            }
            if try spawnRelatedDescriptors() != before { CurrentProcess.exit(2) }
        }
    }

    /// And a successful one leaves nothing behind once its fds are dropped.
    @Test func successfulSpawnLeaksNoFD() async {
        await #expect(processExitsWith: .success) {
            let before = try spawnRelatedDescriptors()
            let result = try runToCompletion("/bin/sh", ["-c", "echo hi; echo there >&2; exit 7"], environment: [])
            if result.status != .exited(7) || result.stdout != "hi\n" || result.stderr != "there\n" {
                CurrentProcess.exit(3)
            }
            if try spawnRelatedDescriptors() != before { CurrentProcess.exit(2) }
        }
    }

    @Test func runToCompletionTimesOut() throws {
        let start = MonotonicClock.nanoseconds()
        let result = try runToCompletion("/bin/sleep", ["30"], environment: [], timeout: .milliseconds(200))
        #expect(result.timedOut)
        #expect(result.status == .signaled(.kill))
        let elapsed = MonotonicClock.nanoseconds() - start
        #expect(elapsed >= 200_000_000)
        #expect(elapsed < 10_000_000_000)
    }
}
