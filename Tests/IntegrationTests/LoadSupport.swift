import ProxymPosix
import ProxymTestSupport
import Testing

/// The long runs (zero-downtime under load, fault injection) run when `PROXYM_LOAD_TESTS=1`:
/// `make test` runs them in a step of their own, after the other tests, so that no other test competes
/// with the load generator for the CPUs (and none of them is slowed down by it).
let loadTestsEnabled = ProcessEnvironment.value("PROXYM_LOAD_TESTS") == "1"
let wrkPath = which("wrk")

/// The long runs, one after the other (suites run in parallel otherwise): the zero-downtime load run
/// (`ZeroDowntimeLoadTests`) and the fault-injection suite (`FaultInjectionTests`).
@Suite(
    .serialized, .enabled(if: haveHAProxy, "needs haproxy"),
    .enabled(if: loadTestsEnabled, "long runs (about 2 minutes): set PROXYM_LOAD_TESTS=1 (`make test` does)"))
enum LongRuns {}

extension Sandbox {
    var masterSocket: String { root + "/master.sock" }
    var statsSocket: String { root + "/admin.sock" }

    /// master-worker mode (proxym runs `haproxy -W` itself), optionally with the Runtime API.
    func masterWorker(runtimeAPI: Bool, _ extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "PROXYM_HAPROXY_RELOAD_METHOD": "master-worker",
            "PROXYM_HAPROXY_MASTER_SOCKET": masterSocket,
        ]
        if runtimeAPI {
            env["PROXYM_HAPROXY_RUNTIME_API"] = "1"
            env["PROXYM_HAPROXY_STATS_SOCKET"] = statsSocket
        }
        return env.merging(extra) { _, new in new }
    }

    /// The master CLI's `show proc`, minimally parsed.
    /// Retried for a while: the master does not answer while it re-executes itself for a reload.
    func showProc() -> ProcList? {
        var list: ProcList?
        _ = waitUntil(timeout: .seconds(3), poll: .milliseconds(20)) {
            list = cliRequest(path: masterSocket, "show proc; quit").flatMap(ProcList.init)
            return list != nil
        }
        return list
    }

    /// Backends' names answering for `host`, over `count` requests.
    func answers(host: String, count: Int) -> Set<String> {
        Set((0..<count).compactMap { _ in bodyFor(host: host) })
    }
}

/// `show proc` of haproxy 2.6: master pid, reload counter, `[failed: N]`, current workers.
struct ProcList: Equatable {
    var master: Int32
    var reloads: Int
    var failed: Int
    var workers: [Int32]

    init?(_ text: String) {
        var master: Int32?
        var reloads = 0
        var failed = 0
        var workers: [Int32] = []
        var section = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                section = String(line)
                continue
            }
            let words = line.split(separator: " ")
            guard words.count >= 3, let pid = Int32(words[0]) else { continue }
            if words[1] == "master" {
                master = pid
                reloads = Int(words[2]) ?? 0
                if let index = words.firstIndex(of: "[failed:"), index + 1 < words.count {
                    failed = Int(words[index + 1].dropLast()) ?? 0
                }
            } else if words[1] == "worker" && section == "# workers" {
                workers.append(pid)
            }
        }
        guard let master else { return nil }
        self.master = master
        self.reloads = reloads
        self.failed = failed
        self.workers = workers
    }
}

/// One `wrk` run in the background (its output in a log file), parsed when it is over.
final class LoadGenerator {
    struct Result: CustomStringConvertible {
        var requests = 0
        var non2xx = 0
        var connectErrors = 0
        var readErrors = 0
        var writeErrors = 0
        var timeouts = 0
        var socketErrors: Int { connectErrors + readErrors + writeErrors + timeouts }
        var failed: Int { non2xx + socketErrors }
        var description: String {
            "\(requests) requests, \(non2xx) non-2xx, socket errors: connect \(connectErrors), read \(readErrors), write \(writeErrors), timeout \(timeouts)"
        }

        static func + (a: Result, b: Result) -> Result {
            Result(
                requests: a.requests + b.requests, non2xx: a.non2xx + b.non2xx,
                connectErrors: a.connectErrors + b.connectErrors, readErrors: a.readErrors + b.readErrors,
                writeErrors: a.writeErrors + b.writeErrors, timeouts: a.timeouts + b.timeouts)
        }
    }

    let child: LoggedChild
    let keepAlive: Bool

    /// `keepAlive: false` sends `Connection: close` (a new connection per request).
    init(port: UInt16, host: String, connections: Int, duration: Duration, keepAlive: Bool, logPath: String) throws {
        let wrk = try #require(wrkPath, "wrk is missing: `make test` installs it (apt-get install wrk)")
        var arguments = [
            "-t1", "-c\(connections)", "-d\(duration.components.seconds)s", "--timeout", "5s", "-H", "Host: \(host)",
        ]
        if !keepAlive { arguments += ["-H", "Connection: close"] }
        arguments.append("http://127.0.0.1:\(port)/")
        self.keepAlive = keepAlive
        child = try LoggedChild(executable: wrk, arguments: arguments, environment: [:], logPath: logPath)
    }

    /// Waits for wrk to finish and parses its summary.
    func result(timeout: Duration) throws -> Result {
        let status = child.waitForExit(timeout: timeout)
        #expect(status == .exited(0), "wrk: \(child.log)")
        return try #require(Self.parse(child.log), "cannot parse wrk's output:\n\(child.log)")
    }

    static func parse(_ text: String) -> Result? {
        var result = Result()
        var sawRequests = false
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
            if words.count >= 3, words[1] == "requests", words[2] == "in", let count = Int(words[0]) {
                result.requests = count
                sawRequests = true
            } else if line.contains("Socket errors:") {
                // Socket errors: connect 0, read 12, write 0, timeout 0
                for (index, word) in words.enumerated() where index + 1 < words.count {
                    let value = Int(words[index + 1]) ?? 0
                    switch word {
                    case "connect": result.connectErrors = value
                    case "read": result.readErrors = value
                    case "write": result.writeErrors = value
                    case "timeout": result.timeouts = value
                    default: break
                    }
                }
            } else if line.contains("Non-2xx or 3xx responses:"), let last = words.last, let count = Int(last) {
                result.non2xx = count
            }
        }
        return sawRequests ? result : nil
    }
}

/// Reads a process's resident set size (kB) from /proc.
func residentKilobytes(_ pid: Int32) -> Int? { procStatusKilobytes(pid, "VmRSS") }

/// A kB figure of /proc/PID/status: VmRSS (resident now), VmHWM (peak resident).
func procStatusKilobytes(_ pid: Int32, _ field: String) -> Int? {
    guard let text = try? readTextFile("/proc/\(pid)/status") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}

/// How many fds a process has open.
func openFDCount(_ pid: Int32) -> Int? {
    (try? FileSystem.listDirectory("/proc/\(pid)/fd"))?.count
}

/// Prints a table in Markdown, so it can go into the README as it is.
func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
    var out = "| " + header.joined(separator: " | ") + " |\n"
    out += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
    for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
    return out
}
