import Glibc
import ProxymPosix
import ProxymTestSupport
import Testing

/// Issue 11, classes 1, 2, 8 and 10, against the built daemon with a real haproxy: hostile option
/// lines, non-regular files where proxym reads, a newcomer repeating an established service, and
/// unspecified addresses. Each asserts the daemon lives, the healthy routes answer, a later edit is
/// applied within 1 s, nothing is injected, and one clear log line names the problem.
extension LongRuns.FaultInjectionTests {
    /// A later file edit reaches haproxy within 1 s (the daemon's loop is not stuck).
    func expectEditApplied(_ sandbox: Sandbox, _ backend: Backend, _ proxym: LoggedChild) throws -> Duration? {
        let took = try editApplied(sandbox, web(sandbox, [backend]), host: "web.example.com", backend: backend.name)
        #expect(took != nil && took! < .seconds(1), "edit took \(took.map(format3) ?? "forever"): \(proxym.log.suffix(2000))")
        return took
    }

    /// New files `aa.json` (sorting before web.json) repeating web's id, then its domain, and one
    /// repeating api's TCP port: the established services keep their routes; each newcomer gets one
    /// ERROR naming both. Before: the newcomer took the route (ties were broken by file name).
    func newcomerVersusIncumbent() throws -> [Row] {
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let port = try freeTCPPort()
            let (proxym, blue, green) = try started(sandbox) { sandbox in
                try sandbox.writeService(
                    "tcp.json", #"{"id": "/tcp", "protocol": "tcp", "servicePort": \#(port), "hosts": [{"ip": "127.0.0.1", "port": 9}]}"#)
            }
            defer { sandbox.tearDown() }
            let red = try Backend(name: "red", directory: dir)
            sandbox.retained.append(red)
            try sandbox.writeService("aa.json", web(sandbox, [red], id: "/web", domain: "new.example.com"))
            #expect(
                proxym.waitForLog(
                    "file:aa.json: service /web: its id is held by the established service /web (file:web.json), which keeps it; skipped"),
                "\(proxym.log.suffix(2000))")
            try sandbox.writeService("ab.json", web(sandbox, [red], id: "/ab", domain: "web.example.com"))
            #expect(
                proxym.waitForLog("file:ab.json: service /ab: domain web.example.com is held by the established service /web (file:web.json)"),
                "\(proxym.log.suffix(2000))")
            try sandbox.writeService(
                "ac.json", #"{"id": "/ac", "protocol": "tcp", "servicePort": \#(port), "hosts": [{"ip": "127.0.0.1", "port": \#(red.port)}]}"#)
            #expect(
                proxym.waitForLog("file:ac.json: service /ac: TCP service port \(port) is held by the established service /tcp (file:tcp.json)"),
                "\(proxym.log.suffix(2000))")
            MonotonicClock.sleep(.milliseconds(300))
            #expect(sandbox.bodyFor(host: "web.example.com") == blue.name)
            #expect(sandbox.bodyFor(host: "api.example.com") == green.name)
            #expect(sandbox.get(host: "new.example.com")?.status == 503, "the newcomer got no route")
            let keptNow = kept(sandbox, ["web.example.com", "api.example.com"])
            let took = try expectEditApplied(sandbox, green, proxym)
            #expect(!proxym.hasExited)
            return [
                Row(
                    fault: "a new file (`aa.json`) repeating an established service's id, domain or TCP port",
                    outcome:
                        "the established service keeps its route; the newcomer is skipped with one ERROR naming both (before: the file sorting first took the route); a later edit applied in \(took.map(format3) ?? "-")",
                    kept: keptNow)
            ]
        }
    }

    /// Option lines haproxy would read as a new section or a directive (`"backend" x`, `ba"ck"end z`,
    /// `.if 0` in web's options and `.endif` in api's) are left out with a WARNING naming file and
    /// line; then FIFOs as global.cfg, as an options `config`/`domains` and as a service file, and a
    /// host `0.0.0.0`: an ERROR each, the loop never blocks, the last good content stays.
    func hostileOptionsAndFIFOs() throws -> [Row] {
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let webOptions = sandbox.options + "/web.example.com_\(sandbox.httpPort)"
            let apiOptions = sandbox.options + "/api.example.com_\(sandbox.httpPort)"
            let (proxym, blue, green) = try started(sandbox) { sandbox in
                try FileSystem.mkdir(webOptions)
                try FileSystem.mkdir(apiOptions)
                try writeFile(webOptions + "/config", "balance roundrobin\n\"backend\" x\nba\"ck\"end z\n.if 0\n")
                try writeFile(apiOptions + "/config", ".endif\n'listen' y\nbalance leastconn\n")
            }
            defer { sandbox.tearDown() }
            var rows: [Row] = []
            #expect(proxym.waitForLog("options line left out"), "\(proxym.log.suffix(2000))")
            let log = proxym.log
            for (file, line) in [("web", 2), ("web", 3), ("web", 4), ("api", 1), ("api", 2)] {
                let path = (file == "web" ? webOptions : apiOptions) + "/config"
                #expect(log.contains("file=\(path) line=\(line)") || log.contains("file=\"\(path)\" line=\(line)") || (log.contains(path) && log.contains("line=\(line)")), "\(file) line \(line): \(log.suffix(3000))")
            }
            let config = try readTextFile(sandbox.config)
            for injected in ["\"backend\" x", "ba\"ck\"end", ".if", ".endif", "'listen'"] {
                #expect(!config.contains(injected), "\(injected) was written")
            }
            #expect(config.contains("balance roundrobin") && config.contains("balance leastconn"))
            #expect(sandbox.bodyFor(host: "web.example.com") == blue.name)
            #expect(sandbox.bodyFor(host: "api.example.com") == green.name)
            let tookLines = try expectEditApplied(sandbox, green, proxym)
            rows.append(
                Row(
                    fault: "option lines haproxy reads as another section or a directive (`\"backend\" x`, `ba\"ck\"end z`, `'listen' y`, `.if 0` in one service and `.endif` in another)",
                    outcome: "each left out with one WARNING naming the file and line number, nothing injected, both routes answer; a later edit applied in \(tookLines.map(format3) ?? "-") (before: written as is: servers in the wrong section, 503, or a whole section hidden)",
                    kept: kept(sandbox, ["web.example.com", "api.example.com"])))

            // FIFOs everywhere proxym reads, and a host 0.0.0.0.
            try FileSystem.rename(from: sandbox.options + "/global.cfg", to: sandbox.options + "/global.cfg.saved")
            #expect(mkfifo(sandbox.options + "/global.cfg", 0o600) == 0)
            #expect(mkfifo(webOptions + "/domains", 0o600) == 0)
            try FileSystem.unlink(apiOptions + "/config")
            #expect(mkfifo(apiOptions + "/config", 0o600) == 0)
            #expect(mkfifo(sandbox.services + "/fifo.json", 0o600) == 0)
            try sandbox.writeService(
                "zero.json", #"{"id": "/zero", "protocol": "tcp", "servicePort": \#(try freeTCPPort()), "hosts": [{"ip": "0.0.0.0", "port": \#(blue.port)}]}"#)
            try proxym.signal(.usr1)
            for message in [
                "global.cfg is a FIFO, not a regular file", "domains is a FIFO, not a regular file", "config is a FIFO, not a regular file",
                "fifo.json is a FIFO, not a regular file", "is the unspecified address",
            ] {
                #expect(proxym.waitForLog(message, timeout: .seconds(5)), "\(message): \(proxym.log.suffix(3000))")
            }
            let tookFIFO = try expectEditApplied(sandbox, blue, proxym)
            let written = try readTextFile(sandbox.config)
            #expect(written.contains("balance leastconn"), "api's last good options stay")
            #expect(!written.contains("0.0.0.0:"), "no server on the unspecified address")
            #expect(!proxym.hasExited)
            rows.append(
                Row(
                    fault: "a FIFO as global.cfg, as an options `config` and `domains`, and as a service file",
                    outcome: "one ERROR each (`... is a FIFO, not a regular file`), the last good content kept, the loop never blocks: a later edit applied in \(tookFIFO.map(format3) ?? "-") (before: the daemon hung in open(2) until a writer came)",
                    kept: kept(sandbox, ["web.example.com", "api.example.com"])))
            rows.append(
                Row(
                    fault: "a host `0.0.0.0` (or `::`) in a service file or a Marathon task",
                    outcome: "refused like any invalid host (ERROR: `is the unspecified address`); no server line for it (before: `server node1 0.0.0.0:<port>`)",
                    kept: kept(sandbox, ["web.example.com", "api.example.com"])))
            return rows
        }
    }
}
