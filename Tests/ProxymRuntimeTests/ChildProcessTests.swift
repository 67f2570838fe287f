import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ChildProcessTests {
    /// Starts `sh -c script` on a fresh loop and runs the loop until onExit.
    func run(
        _ script: String,
        outputLimit: Int = 64 * 1024,
        timeout: Duration? = nil,
        killGrace: Duration = .seconds(5),
        guardian: ProcessGuard = ProcessGuard()
    ) throws -> ChildProcess.Outcome? {
        let loop = try EventLoop()
        var outcome: ChildProcess.Outcome?
        var calls = 0
        let child = try ChildProcess(
            loop: loop,
            executable: "/bin/sh",
            arguments: ["-c", script],
            environment: ["PATH=/usr/bin:/bin"],
            outputLimit: outputLimit,
            timeout: timeout,
            killGrace: killGrace
        ) { result in
            calls += 1
            outcome = result
        }
        guardian.track(child.pid)
        #expect(child.isRunning)
        try pump(loop, timeout: .seconds(30)) { outcome != nil }
        #expect(!child.isRunning)
        // Exactly once, and everything it registered is gone.
        try loop.runOnce(timeout: .milliseconds(20))
        #expect(calls == 1)
        #expect(loop.registrationCount == 0)
        #expect(loop.pendingTimerCount == 0)
        return outcome
    }

    @Test func exitCode() throws {
        let outcome = try #require(try run("exit 3"))
        #expect(outcome.status == .exited(3))
        #expect(!outcome.timedOut)
        #expect(outcome.stdout.isEmpty && outcome.stderr.isEmpty)
    }

    @Test func killedBySignal() throws {
        let outcome = try #require(try run("kill -TERM $$"))
        #expect(outcome.status == .signaled(.term))
    }

    @Test func stdoutAndStderrAreCaptured() throws {
        let outcome = try #require(try run("echo out; echo err >&2; echo more"))
        #expect(outcome.status == .exited(0))
        #expect(outcome.stdoutText == "out\nmore\n")
        #expect(outcome.stderrText == "err\n")
        #expect(!outcome.stdoutTruncated && !outcome.stderrTruncated)
    }

    /// 1 MiB of output against a 1 KiB cap: the child is never blocked, the first KiB is kept.
    @Test func outputIsCappedAndTheChildNeverBlocks() throws {
        let outcome = try #require(
            try run("head -c 1048576 /dev/zero | tr '\\0' 'x'; echo done >&2", outputLimit: 1024)
        )
        #expect(outcome.status == .exited(0))
        #expect(outcome.stdout.count == 1024)
        #expect(outcome.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
        #expect(outcome.stdoutTruncated)
        #expect(outcome.stderrText == "done\n")
        #expect(!outcome.stderrTruncated)
    }

    /// A daemonizing grandchild keeps the pipes open; onExit must not wait for their EOF.
    @Test func grandchildHoldingThePipeDoesNotDelayExit() throws {
        let guardian = ProcessGuard()
        let start = MonotonicClock.nanoseconds()
        let outcome = try #require(try run("echo started; sleep 20 & echo $! >&2; exit 0", guardian: guardian))
        #expect(MonotonicClock.nanoseconds() - start < 10_000_000_000)
        #expect(outcome.status == .exited(0))
        #expect(outcome.stdoutText == "started\n")
        // Clean up the grandchild (not our child, so ProcessGuard can not): its pid was printed.
        if let grandchild = Int32(outcome.stderrText.split(separator: "\n").first ?? "") {
            try? kill(pid: grandchild, signal: .kill)
        }
    }

    @Test func timeoutSendsTermThenReportsIt() throws {
        let outcome = try #require(try run("exec sleep 30", timeout: .milliseconds(100)))
        #expect(outcome.timedOut)
        #expect(outcome.status == .signaled(.term))
        #expect(outcome.duration >= .milliseconds(100))
        #expect(outcome.duration < .seconds(10))
    }

    @Test func timeoutEscalatesToKillWhenTermIsIgnored() throws {
        let outcome = try #require(
            try run(
                "trap '' TERM; while :; do sleep 0.05; done",
                timeout: .milliseconds(100),
                killGrace: .milliseconds(200)
            )
        )
        #expect(outcome.timedOut)
        #expect(outcome.status == .signaled(.kill))
        #expect(outcome.duration >= .milliseconds(300))
    }

    @Test func missingExecutableThrowsAndRegistersNothing() throws {
        let loop = try EventLoop()
        let error = #expect(throws: SysError.self) {
            _ = try ChildProcess(loop: loop, executable: "/nonexistent/haproxy", environment: []) { _ in
                Issue.record("onExit must not run")
            }
        }
        #expect(error?.isNoEntry == true)
        #expect(loop.registrationCount == 0)
        #expect(loop.pendingTimerCount == 0)
    }

    @Test func childrenRunConcurrentlyOnOneLoop() throws {
        let loop = try EventLoop()
        let guardian = ProcessGuard()
        var finished: [Int32: ExitStatus] = [:]
        var order: [Int] = []
        for (index, code) in [5, 0, 7].enumerated() {
            let child = try ChildProcess(
                loop: loop,
                executable: "/bin/sh",
                arguments: ["-c", "sleep 0.\(index * 2); exit \(code)"],
                environment: []
            ) { outcome in
                finished[outcome.pid] = outcome.status
                order.append(index)
            }
            guardian.track(child.pid)
        }
        try pump(loop, timeout: .seconds(30)) { finished.count == 3 }
        #expect(Set(finished.values) == [.exited(5), .exited(0), .exited(7)])
        #expect(order == [0, 1, 2])
    }

    @Test func signalsGoThroughThePidFD() throws {
        let loop = try EventLoop()
        let guardian = ProcessGuard()
        var outcome: ChildProcess.Outcome?
        let child = try ChildProcess(loop: loop, executable: "/bin/sleep", arguments: ["30"], environment: []) {
            outcome = $0
        }
        guardian.track(child.pid)
        try child.sendSignal(.usr2)
        try pump(loop) { outcome != nil }
        #expect(outcome?.status == .signaled(.usr2))
        try child.sendSignal(.term)  // after exit: nothing happens
    }
}
