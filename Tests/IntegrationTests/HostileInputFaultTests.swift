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
}
