import Glibc
import ProxymPosix
import ProxymTestSupport

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose stdout and stderr go to a log file (posix_spawn, no shell in between, so
/// "start" is the spawn call itself).
final class Child {
    let pid: pid_t
    let logPath: String
    private var reaped = false

    init(_ executable: String, _ arguments: [String], environment: [String], logPath: String) throws {
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup($0) }
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = (argv + [nil]).withUnsafeBufferPointer { a in
            (envp + [nil]).withUnsafeBufferPointer { e in
                posix_spawn(&pid, executable, &actions, nil, UnsafeMutablePointer(mutating: a.baseAddress!),
                    UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        }
        guard rc == 0 else { throw BenchError("cannot start \(executable): errno \(rc)") }
        self.pid = pid
    }

    func signal(_ number: Int32) { if !reaped { _ = Glibc.kill(pid, number) } }

    /// Waits for the exit (polling); SIGKILL after `timeout`.
    func stop(signal number: Int32 = SIGTERM, timeout: Duration = .seconds(10)) {
        guard !reaped else { return }
        signal(number)
        let deadline = now() + timeout.nanosecondsValue
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if now() > deadline {
                _ = Glibc.kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            MonotonicClock.sleep(.milliseconds(5))
        }
        reaped = true
    }

    var hasExited: Bool {
        if reaped { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
        return reaped
    }

    var log: String { (try? FileSystem.readFile(logPath, limit: 64 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? "" }

    deinit { stop(signal: SIGKILL, timeout: .seconds(5)) }
}

/// What /proc/<pid>/status says about memory and scheduling.
struct ProcStatus {
    /// Peak resident set size (VmHWM), bytes.
    var peakRSS: Int
    /// Current resident set size (VmRSS), bytes.
    var rss: Int
    var voluntarySwitches: Int
    var involuntarySwitches: Int
    var threads: Int

    init?(pid: pid_t) {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/status", limit: 1 << 16) else { return nil }
        var values: [Substring: Int] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let number = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first
                .flatMap { Int($0) }
            if let number { values[line[..<colon]] = number }
        }
        guard let hwm = values["VmHWM"], let rss = values["VmRSS"] else { return nil }
        peakRSS = hwm * 1024
        self.rss = rss * 1024
        voluntarySwitches = values["voluntary_ctxt_switches"] ?? 0
        involuntarySwitches = values["nonvoluntary_ctxt_switches"] ?? 0
        threads = values["Threads"] ?? 0
    }

    /// Context switches of every thread of the process (each task's own counters).
    static func allThreadSwitches(pid: pid_t) -> (voluntary: Int, involuntary: Int) {
        var voluntary = 0
        var involuntary = 0
        for entry in (try? FileSystem.listDirectory("/proc/\(pid)/task")) ?? [] {
            guard let tid = Int32(entry.name), let status = ProcStatus(pid: tid) else { continue }
            voluntary += status.voluntarySwitches
            involuntary += status.involuntarySwitches
        }
        return (voluntary, involuntary)
    }
}

/// Waits until `pid` made no context switch for `quiet` (it sleeps in epoll_wait with nothing
/// pending), polling /proc from outside, which does not wake it.
@discardableResult
func waitUntilIdle(_ pid: pid_t, quiet: Duration = .milliseconds(400), timeout: Duration = .seconds(60)) -> Bool {
    let deadline = now() + timeout.nanosecondsValue
    var last = ProcStatus.allThreadSwitches(pid: pid)
    var since = now()
    while now() < deadline {
        MonotonicClock.sleep(.milliseconds(20))
        let current = ProcStatus.allThreadSwitches(pid: pid)
        if current != last {
            last = current
            since = now()
        } else if now() - since >= quiet.nanosecondsValue {
            return true
        }
    }
    return false
}

/// Notices when a file is renamed into place in a directory (proxym writes a temp file and renames
/// it over the config), timestamped when the event is read.
final class RenameWatcher {
    private let fd: OwnedFD
    let name: String

    init(directory: String, name: String) throws {
        fd = try Inotify.create()
        self.name = name
        _ = try Inotify.addWatch(fd.rawValue, path: directory, mask: [.movedTo, .closeWrite])
    }

    /// Forgets events so far.
    func drain() {
        while case .ready? = try? Inotify.read(fd.rawValue) {}
    }

    /// The monotonic time (ns) at which `name` next appears, or nil after `timeout`.
    func wait(timeout: Duration) -> UInt64? {
        let deadline = now() + timeout.nanosecondsValue
        while true {
            let current = now()
            guard current < deadline else { return nil }
            var entries = [Poll.Entry(fd: fd.rawValue, events: .in)]
            _ = try? Poll.wait(&entries, timeout: .nanoseconds(Int64(deadline - current)))
            let at = now()
            while case .ready(let events)? = try? Inotify.read(fd.rawValue) {
                if events.contains(where: { $0.name == name && ($0.mask.contains(.movedTo) || $0.mask.contains(.closeWrite)) }) {
                    drain()
                    return at
                }
            }
        }
    }
}

@inline(__always)
func now() -> UInt64 { MonotonicClock.nanoseconds() }

extension Duration {
    var nanosecondsValue: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}

/// The directory this executable is in (proxym and proxym-fake-marathon are built next to it).
func executableDirectory() -> String {
    let path = (try? FileSystem.readLink("/proc/self/exe")) ?? CommandLine.arguments[0]
    return FileSystem.directoryName(path)
}

/// A blocking HTTP request to the fake Marathon's control endpoints; throws unless it answers 200.
@discardableResult
func control(port: UInt16, _ method: String, _ path: String, body: [UInt8] = [], timeout: Duration = .seconds(60)) throws
    -> String
{
    guard let response = httpRequest(port: port, method: method, path: path, body: body, timeout: timeout) else {
        throw BenchError("fake Marathon: \(method) \(path): no answer")
    }
    let text = String(decoding: response.body, as: UTF8.self)
    guard response.status == 200 else { throw BenchError("fake Marathon: \(method) \(path): \(response.status) \(text)") }
    return text
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
}

func writeStdout(_ text: String) {
    var text = text
    text.withUTF8 { _ = Glibc.write(1, $0.baseAddress, $0.count) }
}

/// Sets a file's modification time `secondsAgo` into the past.
func setModificationTime(_ path: String, secondsAgo: Int) throws {
    var times = [timespec(), timespec()]
    clock_gettime(CLOCK_REALTIME, &times[0])
    times[0].tv_sec -= secondsAgo
    times[1] = times[0]
    guard utimensat(AT_FDCWD, path, times, 0) == 0 else { throw BenchError("utimensat(\(path)): errno \(errno)") }
}

/// glibc's count of bytes in use (arena chunks plus mmapped chunks).
func heapBytesInUse() -> Int { Memory.bytesInUse() }
