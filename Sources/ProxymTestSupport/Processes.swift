import ProxymPosix

/// What `runToCompletion` observed.
public struct CompletedProcess: Sendable, Hashable {
    public var status: ExitStatus
    public var stdout: String
    public var stderr: String
    /// The timeout passed and the child was killed with SIGKILL.
    public var timedOut: Bool
}

/// Runs a program to completion, blocking the calling thread (tests and tools only; the daemon
/// uses `ChildProcess` on its loop). stdout and stderr are captured; after `timeout` the child is
/// killed with SIGKILL and reaped. Throws if it can not be started.
public func runToCompletion(
    _ executable: String,
    _ arguments: [String] = [],
    environment: [String]? = nil,
    timeout: Duration = .seconds(30)
) throws -> CompletedProcess {
    let env = environment ?? ProcessEnvironment.entries(ProcessEnvironment.current())
    var spawned = try Spawn.start(
        executable: executable,
        arguments: arguments,
        environment: env,
        stdout: .pipe,
        stderr: .pipe
    )
    var stdoutFD = spawned.stdout.take()
    var stderrFD = spawned.stderr.take()
    let pidfd = spawned.pidfd
    let deadline = MonotonicClock.nanoseconds() + nanoseconds(timeout)
    var out: [UInt8] = []
    var err: [UInt8] = []
    var status: ExitStatus?
    var timedOut = false

    func drain(_ fd: inout OwnedFD?, into buffer: inout [UInt8]) {
        while let raw = fd?.rawValue {
            switch try? Descriptor.read(raw, maxBytes: 64 * 1024) {
            case .ready(let chunk)? where !chunk.isEmpty:
                buffer.append(contentsOf: chunk)
            case .wouldBlock?:
                return
            default:
                fd = nil  // EOF or error
            }
        }
    }

    while status == nil {
        var entries = [Poll.Entry(fd: pidfd.rawValue, events: .in)]
        if let raw = stdoutFD?.rawValue { entries.append(Poll.Entry(fd: raw, events: .in)) }
        if let raw = stderrFD?.rawValue { entries.append(Poll.Entry(fd: raw, events: .in)) }
        let now = MonotonicClock.nanoseconds()
        if now >= deadline && !timedOut {
            timedOut = true
            try? PidFD.sendSignal(pidfd.rawValue, .kill)
        }
        let wait: Duration = timedOut ? .milliseconds(100) : .nanoseconds(Int64(deadline - now))
        _ = try Poll.wait(&entries, timeout: wait)
        drain(&stdoutFD, into: &out)
        drain(&stderrFD, into: &err)
        if case .ready(let value) = try PidFD.waitExit(pidfd.rawValue) { status = value }
    }
    // Whatever is already in the pipes; a grandchild holding them open is not waited for.
    drain(&stdoutFD, into: &out)
    drain(&stderrFD, into: &err)
    return CompletedProcess(
        status: status!,
        stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self),
        timedOut: timedOut
    )
}

/// The first executable `name` in PATH (or `name` itself if it contains a "/" and is executable).
public func which(_ name: String) -> String? {
    if name.contains("/") { return FileSystem.isExecutableFile(name) ? name : nil }
    let path = ProcessEnvironment.value("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
        let candidate = "\(directory)/\(name)"
        if FileSystem.isExecutableFile(candidate) { return candidate }
    }
    for directory in ["/usr/sbin", "/sbin"] {
        let candidate = "\(directory)/\(name)"
        if FileSystem.isExecutableFile(candidate) { return candidate }
    }
    return nil
}

/// Kills (SIGKILL) and reaps, on deinit, every child a test registered that is still ours.
/// Only unreaped children are signalled: their pids can not have been reused.
public final class ProcessGuard {
    private var pids: [Int32] = []

    public init() {}

    public func track(_ pid: Int32) {
        pids.append(pid)
    }

    /// Kills and reaps now.
    public func killAll() {
        for pid in pids where ChildReaper.isUnreapedChild(pid) {
            try? kill(pid: pid, signal: .kill)
            _ = ChildReaper.waitBlocking(pid)
        }
        pids.removeAll()
    }

    deinit {
        killAll()
    }
}

/// The fds this process holds that spawning could leak: pipes, sockets and pidfds, with what
/// /proc/self/fd says they are. Runtime-internal fds (the test library's and the concurrency
/// runtime's timerfds, eventfds, epoll sets) open and close on their own schedule and are left
/// out, so a leak check compares only what `Spawn` creates.
public func spawnRelatedDescriptors() throws -> [CInt: String] {
    var result: [CInt: String] = [:]
    for fd in try CurrentProcess.openFileDescriptors() {
        guard let target = try? FileSystem.readLink("/proc/self/fd/\(fd)") else { continue }
        if target.hasPrefix("pipe:") || target.hasPrefix("socket:") || target.contains("pidfd") {
            result[fd] = target
        }
    }
    return result
}
