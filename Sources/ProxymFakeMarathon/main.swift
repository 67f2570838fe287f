// proxym-fake-marathon: a fake Marathon over real HTTP, for the end-to-end tests and the benchmarks.
// Not shipped in the .deb.
//
//   proxym-fake-marathon [--host 127.0.0.1] [--port 0] [--version 1.4.13] [--heartbeat 10s]
//                        [--sse-data-only] [--http-endpoints URL,...] [--apps-file FILE] [--quiet]
//                        [--generate N --tasks M [--task-host H] [--task-ports P,...] [--service-port-base B]]
//
// Prints "listening on <host>:<port>" on stdout once bound. One thread, proxym's own event loop.
// --apps-file loads {"apps":[...]} at start (a Marathon keeps its state across restarts; so can the
// fake, for outage tests that kill it); --http-endpoints preloads callback URLs as Marathon's flag does.
//
// Marathon's endpoints, in the payload shapes of the recorded payloads in Tests/Fixtures/marathon/ (SOURCES.md there):
//   GET  /v2/apps?embed=apps.tasks (or app.tasks)   the apps as set, tasks embedded
//   GET  /v2/apps                                   the same without tasks
//   GET  /v2/apps/{id}                              {"app": ...} with tasks
//   GET  /v2/tasks[?status=running]                 every task with appId and servicePorts
//   GET  /v2/info, /v2/leader                       version (--version), leader = this fake
//   GET  /v2/events                                 SSE, only with "Accept: text/event-stream" (else 405);
//                                                   event_type= filters; event_stream_attached on connect;
//                                                   "event:" + "data:" framing (data only with
//                                                   --sse-data-only, as before 0.11); CRLF heartbeat;
//                                                   Connection: close, never-ending body
//   POST/GET/DELETE /v2/eventSubscriptions?callbackUrl=URL
//                                                   before 1.5.0 (404 from 1.5.0 on); events are then
//                                                   POSTed as JSON to every registered URL
//
// Control endpoints for tests (never subject to the scripted failures, redirects or auth):
//   PUT    /_fake/apps                 {"apps":[...]} with embedded tasks: the whole state
//   GET    /_fake/apps                 the state
//   PUT    /_fake/apps/<id>            one app (added or replaced by id); DELETE removes it
//   POST   /_fake/event?type=T         push an event (body: its JSON; empty = {"eventType":T,...})
//                                      to every SSE stream and every callback
//   POST   /_fake/down | /_fake/up     down: 503 to everything under /v2, SSE streams dropped
//   POST   /_fake/drop-streams         close every SSE stream (the leader stepped down)
//   POST   /_fake/fail?endpoint=E&mode=M   E: apps.tasks apps app tasks info leader events
//                                      eventSubscriptions *; M: an HTTP status, truncated (valid HTTP,
//                                      JSON cut in half), cut (connection dropped mid-body), invalid
//                                      (HTML instead of JSON), hang (never answers), drip (the
//                                      real answer, one byte a second), endless (a 200 whose JSON
//                                      never ends: one app with an endless label, as fast as read)
//   DELETE /_fake/fail[?endpoint=E]
//   POST   /_fake/redirect?to=URL[&status=302|307]   every /v2 request redirected to URL + target
//   DELETE /_fake/redirect
//   POST   /_fake/auth?basic=user:pass | ?token=T    401 on /v2 without that Authorization
//   DELETE /_fake/auth
//   POST   /_fake/version?version=V
//   GET    /_fake/requests             one line per /v2 request: METHOD TAB target TAB Authorization TAB Accept
//   DELETE /_fake/requests
//   GET    /_fake/callbacks            one line per registered URL: URL TAB ok=N TAB failed=N TAB last=...
//   GET    /_fake/streams              the number of open SSE streams, then their peers
//
// proxym-fake-marathon --attack pipeline|silent|slowloris --target PORT [--connections N] [--for 10s]
// is a hostile client of proxym's callback receiver instead (Attack.swift).
import ProxymPosix
import ProxymRuntime

func fail(_ message: String) -> Never {
    ProcessSetup.writeStderr("proxym-fake-marathon: \(message)\n")
    ProcessSetup.exit(2)
}

func parseDuration(_ text: String) -> Duration? {
    if text.hasSuffix("ms"), let n = Int(text.dropLast(2)) { return .milliseconds(n) }
    if text.hasSuffix("s"), let n = Double(text.dropLast()) { return .milliseconds(Int(n * 1000)) }
    if let n = Double(text) { return .milliseconds(Int(n * 1000)) }
    return nil
}

func parseOptions() -> FakeMarathon.Options {
    var options = FakeMarathon.Options()
    var generate: Int?
    var tasks = 1
    var generator = Generator(apps: 0, tasksPerApp: 1)
    var args = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let value = args.popFirst() else { fail("\(name) needs a value") }
        return value
    }
    func int(_ name: String) -> Int {
        let text = value(name)
        guard let n = Int(text), n >= 0 else { fail("\(name): not a number: \(text)") }
        return n
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--host": options.host = value(arg)
        case "--port":
            let text = value(arg)
            guard let port = UInt16(text) else { fail("--port: not a port: \(text)") }
            options.port = port
        case "--version": options.version = value(arg)
        case "--heartbeat":
            let text = value(arg)
            guard let d = parseDuration(text), d > .zero else { fail("--heartbeat: not a duration: \(text)") }
            options.heartbeat = d
        case "--sse-data-only": options.sseDataOnly = true
        case "--quiet": options.quiet = true
        case "--http-endpoints":
            options.httpEndpoints = value(arg).split(separator: ",").map(String.init)
        case "--apps-file": options.appsFile = value(arg)
        case "--generate": generate = int(arg)
        case "--tasks": tasks = int(arg)
        case "--task-host": generator.taskHost = value(arg)
        case "--task-ports":
            generator.taskPorts = value(arg).split(separator: ",").compactMap { Int($0) }
        case "--service-port-base": generator.servicePortBase = int(arg)
        case "--help", "-h":
            ProcessSetup.writeStdout(
                "usage: proxym-fake-marathon [--host H] [--port P] [--version V] [--heartbeat 10s] [--sse-data-only]\n"
                    + "       [--http-endpoints URL,...] [--apps-file FILE] [--quiet] [--generate N --tasks M [--task-host H]\n"
                    + "       [--task-ports P,...] [--service-port-base B]]\n\n"
                    + "Serves the apps it is given (--apps-file {\"apps\":[...]}, PUT /_fake/apps, or --generate) in the\n"
                    + "payload shapes of the recorded Marathon payloads in the repository's Tests/Fixtures/marathon/\n"
                    + "(SOURCES.md there names where each was recorded). The endpoints and the /_fake control API are\n"
                    + "listed at the top of Sources/ProxymFakeMarathon/main.swift.\n")
            ProcessSetup.exit(0)
        default: fail("unknown option \(arg) (see --help)")
        }
    }
    if let generate {
        generator.apps = generate
        generator.tasksPerApp = tasks
        options.generator = generator
    }
    return options
}

/// `--attack MODE --target PORT [--connections N] [--for D]` (see Attack.swift): run, print, exit.
func runAttackIfAsked() {
    var args = CommandLine.arguments.dropFirst()
    guard args.first == "--attack" else { return }
    args.removeFirst()
    guard let name = args.popFirst(), let mode = Attack.Mode(rawValue: name) else {
        fail("--attack: give pipeline, silent or slowloris")
    }
    var port: UInt16?
    var connections = mode.defaultConnections
    var duration: Duration = .seconds(10)
    while let arg = args.popFirst() {
        guard let text = args.popFirst() else { fail("\(arg) needs a value") }
        switch arg {
        case "--target": port = UInt16(text)
        case "--connections": connections = Int(text) ?? 0
        case "--for": duration = parseDuration(text) ?? .zero
        default: fail("unknown attack option \(arg)")
        }
    }
    guard let port, connections > 0, duration > .zero else { fail("--attack needs --target PORT, a positive --connections and --for") }
    do {
        try Signal.pipe.ignore()
        let loop = try EventLoop()
        let attack = Attack(loop: loop, mode: mode, port: port, connections: connections)
        attack.start(for: duration) { summary in
            ProcessSetup.writeStdout(summary + "\n")
            loop.stop()
        }
        try loop.run()
        ProcessSetup.exit(0)
    } catch {
        fail("\(error)")
    }
}

runAttackIfAsked()
let options = parseOptions()
do {
    try Signal.pipe.ignore()
    let loop = try EventLoop()
    let fake = try FakeMarathon(loop: loop, options: options)
    ProcessSetup.writeStdout("listening on \(options.host):\(fake.port)\n")
    log("Marathon \(options.version)" + (options.generator.map { ", \($0.apps) apps x \($0.tasksPerApp) tasks" } ?? ""))
    try loop.run()
} catch {
    fail("\(error)")
}
