import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ServiceManagerTests {
    @Test(.enabled(if: ProcessEnvironment.value("NOTIFY_SOCKET") == nil))
    func withoutNotifySocketNothingIsSentAndNothingFails() {
        let manager = SystemdServiceManager(onFailure: { _ in Issue.record("sd_notify failed without NOTIFY_SOCKET") })
        #expect(!manager.isNotifySocketSet)
        manager.notify("READY=1")
        #expect(manager.watchdogInterval == nil)
    }

    /// NOTIFY_SOCKET is set only inside the exit test's own process; the datagram comes back here.
    @Test func notifySendsToNotifySocket() async throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "proxym-notify")
        defer { try? FileSystem.removeTree(directory) }
        let path = directory + "/notify.sock"
        let socket = try UnixDatagram.bind(path: path)
        await #expect(processExitsWith: .success) { [path = path as String] in
            setEnvironmentVariableInExitTestOnly("NOTIFY_SOCKET", path)
            setEnvironmentVariableInExitTestOnly("WATCHDOG_USEC", "3000000")
            setEnvironmentVariableInExitTestOnly("WATCHDOG_PID", String(CurrentProcess.pid))
            let manager = SystemdServiceManager(onFailure: { _ in CurrentProcess.exit(2) })
            manager.notify("READY=1")
            manager.notify("RELOADING=1\nMONOTONIC_USEC=\(MonotonicClock.nanoseconds() / 1000)")
            if manager.watchdogInterval != .seconds(3) { CurrentProcess.exit(3) }
            // The environment stays (never unset), so a later notify still goes out.
            if ProcessEnvironment.value("NOTIFY_SOCKET") != path { CurrentProcess.exit(4) }
        }
        #expect(try UnixDatagram.receive(socket.rawValue) == .ready(Array("READY=1".utf8)))
        let second = try UnixDatagram.receive(socket.rawValue).value.map { String(decoding: $0, as: UTF8.self) }
        #expect(second?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
    }

    /// A receiver that does not read must never block the sender (libsystemd's sd_notify would, once
    /// the queue holds net.unix.max_dgram_qlen messages): the rest waits, STATUS lines coalesced, and
    /// goes out once there is room. Abstract socket names (`@name`) work as systemd sets them.
    @Test func aFullNotifyQueueNeverBlocks() async throws {
        let name = "@proxym-notify-test-\(UInt64.random(in: 0 ... .max))"
        let socket = try UnixDatagram.bind(path: name)
        let raw = socket.rawValue
        await #expect(processExitsWith: .success) { [name = name as String] in
            setEnvironmentVariableInExitTestOnly("NOTIFY_SOCKET", name)
            let manager = SystemdServiceManager(onFailure: { _ in CurrentProcess.exit(2) })
            manager.notify("READY=1")
            for index in 0..<200 { manager.notify("STATUS=refresh \(index)") }
            manager.notify("STOPPING=1\nSTATUS=Stopping")
            // The queue filled up: the rest waits, coalesced to far fewer than 200.
            if !manager.hasPendingNotifications { CurrentProcess.exit(3) }
            if manager.flush() { CurrentProcess.exit(4) }
        }
        var received: [String] = []
        while case .ready(let bytes) = try UnixDatagram.receive(raw) { received.append(String(decoding: bytes, as: UTF8.self)) }
        #expect(received.first == "READY=1")
        #expect(received.count >= 2 && received.count < 200, "\(received.count) messages")
        #expect(received.dropFirst().allSatisfy { $0.hasPrefix("STATUS=refresh ") })
        _ = consume socket
    }

    @Test func failuresAreReportedNotThrown() async throws {
        await #expect(processExitsWith: .success) {
            setEnvironmentVariableInExitTestOnly("NOTIFY_SOCKET", "/nonexistent/notify.sock")
            let failures = FailureBox()
            let manager = SystemdServiceManager(onFailure: { _ in failures.record() })
            manager.notify("READY=1")
            if !failures.recorded { CurrentProcess.exit(2) }
        }
    }
}

/// A Sendable one-bit flag for the exit test above (runs single-threaded in its own process).
final class FailureBox: @unchecked Sendable {
    // Invariant: only touched from the exit test's one thread, synchronously inside notify().
    private(set) var recorded = false
    func record() { recorded = true }
}
