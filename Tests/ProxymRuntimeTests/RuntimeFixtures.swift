import InMemoryLogging
import Logging
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing
import ProxymTestBuilders

/// Where haproxy is, if installed (tests that need it are gated on this).
let haproxyPath: String? = which("haproxy")

/// The environment handed to modules that spawn children: a PATH that finds haproxy and sh.
let childEnvironment: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

/// A global.cfg haproxy accepts, with short timeouts so a test haproxy stops quickly.
let testGlobalConfig = """
    global
      maxconn 256
      hard-stop-after 5s

    defaults
      mode http
      timeout connect 1s
      timeout client 5s
      timeout server 5s

    """

/// A service file in the original proxym's format.
func serviceJSON(id: String, domain: String, servicePort: Int, hostPort: Int, ip: String = "127.0.0.1") -> String {
    """
    {"id": "\(id)", "domain": "\(domain)", "protocol": "tcp", "servicePort": \(servicePort), \
    "hosts": [{"ip": "\(ip)", "port": \(hostPort)}]}
    """
}

func makeService(id: String, domain: String, servicePort: UInt16, hostPorts: [Int]) throws -> Service {
    try makeService(id, domains: [domain], port: servicePort, hosts: hostPorts.map { ("127.0.0.1", $0) })
}

/// A logger that keeps every entry (debug and up) in memory.
struct TestLog {
    let handler: InMemoryLogHandler
    let logger: Logger

    init() {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        self.handler = handler
        self.logger = Logger(label: "test") { _ in handler }
    }

    var entries: [InMemoryLogHandler.Entry] { handler.entries }

    /// Messages (with metadata values appended) at `level` or above.
    func lines(atLeast level: Logger.Level = .trace) -> [String] {
        entries.filter { $0.level >= level }.map { entry in
            let metadata = entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return ([entry.message.description] + metadata).joined(separator: " ")
        }
    }

    /// Messages only, at `level` or above.
    func messages(atLeast level: Logger.Level = .trace) -> [String] {
        entries.filter { $0.level >= level }.map(\.message.description)
    }

    /// How many entries have exactly this message at this level.
    func count(_ message: String, level: Logger.Level) -> Int {
        entries.filter { $0.level == level && $0.message.description == message }.count
    }

    func contains(_ fragment: String) -> Bool { lines().contains { $0.contains(fragment) } }
}

/// Copies a directory tree (regular files and directories only).
func copyTree(from source: String, to destination: String) throws {
    try FileSystem.mkdir(destination)
    for entry in try FileSystem.listDirectory(source) {
        let from = source + "/" + entry.name
        let to = destination + "/" + entry.name
        if try FileSystem.stat(from).isDirectory {
            try copyTree(from: from, to: to)
        } else {
            try FileSystem.writeFile(to, contents: try FileSystem.readFile(from, limit: 1 << 20))
        }
    }
}

/// The repository's top directory, from this file's path.
func repositoryRoot(_ file: String = #filePath) -> String {
    // Tests/ProxymRuntimeTests/RuntimeFixtures.swift -> three levels up.
    FileSystem.directoryName(FileSystem.directoryName(FileSystem.directoryName(file)))
}

/// The process state letter from /proc/<pid>/stat (`R`, `S`, `Z`...), nil when there is no such process.
func processState(_ pid: Int32) -> Character? {
    guard let bytes = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096) else { return nil }
    let text = String(decoding: bytes, as: UTF8.self)
    // "pid (comm) S ...": comm may hold anything, so look after the last ')'.
    guard let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].first { $0 != " " }
}

/// Running (not a zombie, not gone). Zombies matter here: this container's init does not reap.
func isRunningProcess(_ pid: Int32) -> Bool {
    guard let state = processState(pid) else { return false }
    return state != "Z" && state != "X"
}

func processName(_ pid: Int32) -> String? {
    guard let bytes = try? FileSystem.readFile("/proc/\(pid)/comm", limit: 256) else { return nil }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
}

/// Pids named in an haproxy pid file.
func pidsInFile(_ path: String) -> [Int32] {
    guard let bytes = try? FileSystem.readFile(path, limit: 4096) else { return [] }
    return String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == " " })
        .compactMap { Int32($0) }
}

/// Kills, at the end of a test (also when it fails), every haproxy this test daemonized: the pids
/// its pid file named at any point (`remember()`), still running and still called haproxy.
final class HAProxyPidGuard {
    let pidFile: String
    private(set) var seen: Set<Int32> = []

    init(pidFile: String) { self.pidFile = pidFile }

    /// Records the pids the pid file names now.
    @discardableResult
    func remember() -> [Int32] {
        let pids = pidsInFile(pidFile)
        seen.formUnion(pids)
        return pids
    }

    func killAll() {
        remember()
        for pid in seen where pid > 1 && isRunningProcess(pid) && processName(pid) == "haproxy" {
            try? kill(pid: pid, signal: .kill)
        }
        _ = waitUntil(timeout: .seconds(5)) { !seen.contains { isRunningProcess($0) && processName($0) == "haproxy" } }
    }

    deinit { killAll() }
}

/// A recording stand-in for systemd.
final class RecordingServiceManager: ServiceManager {
    var messages: [String] = []
    let watchdogInterval: Duration?
    /// Called for each message, after it is recorded.
    var onNotify: ((String) -> Void)?

    init(watchdogInterval: Duration? = nil) { self.watchdogInterval = watchdogInterval }

    func notify(_ state: String) {
        messages.append(state)
        onNotify?(state)
    }

    func messages(containing line: String) -> [String] {
        messages.filter { $0.split(separator: "\n").contains { $0 == line || $0.hasPrefix(line) } }
    }
}

/// Lines of a file (empty when it does not exist).
func fileLines(_ path: String) -> [String] {
    guard let text = try? readTextFile(path) else { return [] }
    return text.split(separator: "\n").map(String.init)
}
