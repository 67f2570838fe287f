import ProxymPosix
import ProxymTestSupport
import Testing

typealias ExitStatus = ProxymPosix.ExitStatus

/// The built executables, next to this test bundle (`swift build` builds them; `make test` runs it
/// before `swift test`). Missing binaries fail the test: CI must never silently skip these.
enum Binaries {
    static var directory: String {
        let exe = (try? FileSystem.readLink("/proc/self/exe")) ?? ""
        return FileSystem.directoryName(exe)
    }
    /// `PROXYM_TEST_PROXYM=/path/to/proxym` runs the end-to-end tests against another build (e.g.
    /// main's, for before/after figures).
    static var proxym: String { ProcessEnvironment.value("PROXYM_TEST_PROXYM") ?? directory + "/proxym" }
    static var backend: String { directory + "/proxym-test-backend" }
    static var fakeMarathon: String { directory + "/proxym-fake-marathon" }

    static func require() throws {
        for path in [proxym, backend, fakeMarathon] {
            try #require(FileSystem.isExecutableFile(path), "\(path) is missing: run `swift build` before `swift test`")
        }
    }
}

let haproxyPath = which("haproxy")
let haveHAProxy = haproxyPath != nil

/// The repository root (for examples/).
let repositoryRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.directoryName(path) }
    return path
}()

/// A child whose stdout+stderr go to a log file we can read at any time.
final class LoggedChild {
    let pid: Int32
    let logPath: String
    private var pidfd: OwnedFD?
    private(set) var exitStatus: ExitStatus?

    init(executable: String, arguments: [String], environment: [String: String], logPath: String) throws {
        self.logPath = logPath
        // sh only sets up the redirection, then execs: the pid we hold is the program's.
        let spawned = try Spawn.start(
            executable: "/bin/sh",
            arguments: ["-c", "exec \"$0\" \"$@\" >>'\(logPath)' 2>&1", executable] + arguments,
            environment: environment.map { "\($0.key)=\($0.value)" }.sorted())
        pid = spawned.pid
        let fd = spawned.pidfd
        pidfd = consume fd
    }

    var log: String { (try? readTextFile(logPath)) ?? "" }

    /// Non-blocking: has it exited (reaping it if so)?
    var hasExited: Bool {
        if exitStatus != nil { return true }
        guard let raw = pidfd?.rawValue else { return true }
        if case .ready(let status)? = try? PidFD.waitExit(raw) {
            exitStatus = status
            pidfd = nil
            return true
        }
        return false
    }

    func signal(_ signal: Signal) throws {
        guard let raw = pidfd?.rawValue else { return }
        try PidFD.sendSignal(raw, signal)
    }

    @discardableResult
    func waitForLog(_ text: String, timeout: Duration = .seconds(10)) -> Bool {
        waitUntil(timeout: timeout) { log.contains(text) }
    }

    /// Waits (bounded) for the exit; returns the status or nil on timeout.
    func waitForExit(timeout: Duration = .seconds(10)) -> ExitStatus? {
        _ = waitUntil(timeout: timeout) { hasExited }
        return exitStatus
    }

    func kill() {
        if !hasExited {
            try? signal(.kill)
            _ = waitForExit(timeout: .seconds(5))
        }
    }

    deinit { kill() }
}

/// A NOTIFY_SOCKET that records every datagram, like systemd would receive them.
final class NotifyRecorder {
    let path: String
    private let socket: OwnedFD
    private(set) var messages: [String] = []

    init(path: String) throws {
        self.path = path
        socket = try UnixDatagram.bind(path: path)
    }

    func drain() {
        while case .ready(let bytes)? = try? UnixDatagram.receive(socket.rawValue) {
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Messages as key=value lines, flattened.
    var lines: [String] {
        drain()
        return messages.flatMap { $0.split(separator: "\n").map(String.init) }
    }

    @discardableResult
    func waitFor(timeout: Duration = .seconds(10), _ condition: ([String]) -> Bool) -> Bool {
        waitUntil(timeout: timeout) { condition(lines) }
    }
}

/// A proxym-test-backend answering with its name.
final class Backend {
    let name: String
    let port: UInt16
    private let child: LoggedChild

    init(name: String, directory: String, arguments: [String] = []) throws {
        self.name = name
        let log = directory + "/backend-\(name).log"
        let child = try LoggedChild(
            executable: Binaries.backend, arguments: ["--name", name, "--port", "0"] + arguments, environment: [:], logPath: log)
        self.child = child
        var port: UInt16?
        _ = waitUntil(timeout: .seconds(10)) {
            guard let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let colon = line.lastIndex(of: ":")
            else { return false }
            port = UInt16(line[line.index(after: colon)...])
            return port != nil
        }
        self.port = try #require(port, "backend \(name) did not start: \(child.log)")
    }

    deinit { child.kill() }
}

/// One proxym under test with its own directories, ports, notify socket and (start/stop mode)
/// haproxy. Everything it started is killed at the end, by PID.
final class Sandbox {
    let root: String
    let services: String
    let options: String
    let config: String
    let pidFile: String
    let httpPort: UInt16
    /// The status listener's port (`PROXYM_STATUS_ADDRESS=127.0.0.1:<port>`): tests run side by side.
    let statusPort: UInt16
    let notify: NotifyRecorder
    var proxym: LoggedChild?
    /// Backends and other helpers that must live as long as the sandbox.
    var retained: [AnyObject] = []

    init(root: String, httpPort: UInt16? = nil) throws {
        self.root = root
        services = root + "/services"
        options = root + "/options"
        config = root + "/haproxy.cfg"
        pidFile = root + "/haproxy.pid"
        self.httpPort = try httpPort ?? freeTCPPort()
        self.statusPort = try freeTCPPort()
        try FileSystem.mkdir(services)
        try FileSystem.mkdir(options)
        try writeFile(
            options + "/global.cfg",
            """
            global
              maxconn 256

            defaults
              mode http
              timeout connect 1s
              timeout client 10s
              timeout server 10s

            """)
        notify = try NotifyRecorder(path: root + "/notify.sock")
    }

    /// The original proxym's variables, start/stop mode (-f/-p/-sf), on 127.0.0.1.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PROXYM_FILE_ENABLED": "1",
            "PROXYM_FILE_CONFIGS_PATH": services,
            "PROXYM_HAPROXY_ENABLED": "1",
            "PROXYM_HAPROXY_BINARY_PATH": haproxyPath ?? "/usr/sbin/haproxy",
            "PROXYM_HAPROXY_CONFIG_FILE_PATH": config,
            "PROXYM_HAPROXY_PID_PATH": pidFile,
            "PROXYM_HAPROXY_OPTIONS_PATH": options,
            "PROXYM_HAPROXY_HTTP_PORT": String(httpPort),
            "PROXYM_HAPROXY_BIND_ADDRESS": "127.0.0.1",
            "PROXYM_SIGNAL_ENABLED": "1",
            "PROXYM_STATUS_ADDRESS": "127.0.0.1:\(statusPort)",
            "NOTIFY_SOCKET": notify.path,
        ]
        env.merge(extra) { _, new in new }
        return env.filter { !$0.value.isEmpty }
    }

    /// A backend named `name` (in the sandbox's directory) that lives as long as the sandbox.
    func backend(_ name: String) throws -> Backend {
        let backend = try Backend(name: name, directory: root)
        retained.append(backend)
        return backend
    }

    /// A sandbox in `dir` with a backend named blue that lives as long as it.
    static func withBlue(in dir: String) throws -> (Sandbox, Backend) {
        let sandbox = try Sandbox(root: dir)
        return (sandbox, try sandbox.backend("blue"))
    }

    /// A sandbox in `dir` with backends named blue and green that live as long as it.
    static func withBlueAndGreen(in dir: String) throws -> (Sandbox, Backend, Backend) {
        let (sandbox, blue) = try withBlue(in: dir)
        return (sandbox, blue, try sandbox.backend("green"))
    }

    /// Starts proxym (as ``start(_:arguments:)``) and waits for its READY=1; without it the test ends, with proxym's log.
    @discardableResult
    func startReady(_ extra: [String: String] = [:], arguments: [String] = ["run"]) throws -> LoggedChild {
        let child = try start(extra, arguments: arguments)
        try #require(notify.waitFor { $0.contains("READY=1") }, "\(child.log)")
        return child
    }

    @discardableResult
    func start(_ extra: [String: String] = [:], arguments: [String] = ["run"]) throws -> LoggedChild {
        let child = try LoggedChild(
            executable: Binaries.proxym, arguments: arguments, environment: environment(extra),
            logPath: root + "/proxym.log")
        proxym = child
        return child
    }

    /// Writes a service file atomically (temp + rename), as careful tools do.
    func writeService(_ name: String, _ json: String) throws {
        try writeFile(services + "/." + name + ".tmp", json)
        try FileSystem.rename(from: services + "/." + name + ".tmp", to: services + "/" + name)
    }

    func service(id: String, domain: String, port: UInt16, backends: [Backend]) -> String {
        let hosts = backends.map { "{\"ip\": \"127.0.0.1\", \"port\": \($0.port)}" }.joined(separator: ", ")
        return """
            {"id": "\(id)", "domain": "\(domain)", "protocol": "tcp", "servicePort": \(port), "hosts": [\(hosts)]}
            """
    }

    /// GET / with a Host header through haproxy; the body (backend name) or nil.
    func get(host: String, port: UInt16? = nil) -> (status: Int, body: String)? {
        httpGet(port: port ?? httpPort, headers: [("Host", host)], timeout: .seconds(2))
    }

    func bodyFor(host: String) -> String? {
        guard let response = get(host: host), response.status == 200 else { return nil }
        return response.body.split(separator: "\n").first.map(String.init)
    }

    /// The last STATUS= line proxym sent.
    var lastStatus: String { notify.lines.last { $0.hasPrefix("STATUS=") } ?? "" }

    /// Waits (up to `timeout`) until the last STATUS= line contains `text`.
    func waitForStatus(_ text: String, timeout: Duration = .seconds(8)) -> Bool {
        notify.waitFor(timeout: timeout) { $0.last { $0.hasPrefix("STATUS=") }?.contains(text) == true }
    }

    var haproxyPIDs: [Int32] {
        guard let text = try? readTextFile(pidFile) else { return [] }
        return text.split(whereSeparator: { $0 == "\n" || $0 == " " }).compactMap { Int32($0) }
    }

    /// Stops proxym (SIGKILL if still running) and the haproxy processes it started (their pids are
    /// in our pid file; haproxy daemonized itself, so they are not our children).
    func tearDown() {
        proxym?.kill()
        for pid in haproxyPIDs where pid > 1 {
            try? kill(pid: pid, signal: .kill)
        }
    }

    deinit { tearDown() }
}
