// proxym-bench: the figures of issue 6 (performance at scale, idle cost), printed as Markdown tables.
//
//   proxym-bench [--sizes 100,1000,5000,10000] [--only micro,marathon,files] [--runs 10]
//                [--event-processes 2] [--events 10] [--idle-seconds 10] [--micro-runs 20]
//                [--bin DIR] [--work DIR] [--keep]
//   proxym-bench --profile decode|map|merge|render|rescan [--sizes N]   one stage in a loop, for perf record
//
// `make bench` builds everything in release mode with the static Swift runtime (as the shipped binary
// is built) and runs this. It starts `proxym` and `proxym-fake-marathon` from --bin (default: the
// directory this executable is in) as separate processes, with PROXYM_HAPROXY_VALIDATE=0 and no reload
// (the config file is written, nothing else), and times them from outside:
//
// - start -> first config: from posix_spawn to the config file renamed into place (inotify);
// - task event -> config: an app is scaled in the fake Marathon (3 <-> 4 tasks; not timed), then a
//   `status_update_event` is pushed over SSE; timed until the new config is renamed into place. In the
//   same run, the same binary with PROXYM_MARATHON_INCREMENTAL=0 (every event reads everything; the
//   100 ms quiet period subtracted) and SIGHUP (a whole read) give the whole-refresh baseline, the
//   ratio, the bytes the fake served per event, and the configs and reads for a burst of 20 events;
// - one edited file -> config: a service file replaced by rename, once proxym is idle (a lone edit is
//   applied at once, with no quiet period);
// - SIGHUP -> config: every service file re-read, the config re-applied;
// - memory: VmHWM (peak) and VmRSS (settled) from /proc/<pid>/status;
// - idle: voluntary context switches of every thread over --idle-seconds, once proxym has settled,
//   without and with WATCHDOG_USEC (the pings are counted on a NOTIFY_SOCKET).
//
// In-process figures (render, decode, map, merge, File module rescans) call the same library code the
// daemon runs, on the same generated inputs. Inputs are deterministic (Generators.swift).
import Glibc
import ProxymPosix

struct Options {
    var sizes = [100, 1000, 5000, 10000]
    var only: Set<String> = ["micro", "marathon", "files"]
    var endToEnd = EndToEndOptions()
    var microRuns = 20
    var bin = executableDirectory()
    var work: String?
    var keep = false
    /// `--profile STAGE`: run one in-process stage in a loop (for `perf record`), print nothing else.
    var profile: String?
}

func parseOptions() -> Options {
    var options = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let value = args.popFirst() else { fatal("\(name) needs a value") }
        return value
    }
    func int(_ name: String) -> Int {
        let text = value(name)
        guard let n = Int(text), n >= 0 else { fatal("\(name): not a number: \(text)") }
        return n
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--sizes": options.sizes = value(arg).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        case "--only": options.only = Set(value(arg).split(separator: ",").map(String.init))
        case "--runs": options.endToEnd.startRuns = max(1, int(arg))
        case "--event-processes": options.endToEnd.eventProcesses = int(arg)
        case "--events": options.endToEnd.eventsPerProcess = int(arg)
        case "--idle-seconds": options.endToEnd.idleSeconds = int(arg)
        case "--micro-runs": options.microRuns = max(1, int(arg))
        case "--bin": options.bin = value(arg)
        case "--work": options.work = value(arg)
        case "--keep": options.keep = true
        case "--profile": options.profile = value(arg)
        case "--help", "-h":
            writeStdout(
                """
                usage: proxym-bench [--sizes 100,1000,5000,10000] [--only micro,marathon,files] [--runs 10]
                                    [--event-processes 2] [--events 10] [--idle-seconds 10] [--micro-runs 20]
                                    [--bin DIR] [--work DIR] [--keep]

                """)
            exit(0)
        default: fatal("unknown option \(arg) (see --help)")
        }
    }
    return options
}

func fatal(_ message: String) -> Never {
    writeStderr("proxym-bench: \(message)\n")
    exit(2)
}

func machine() -> String {
    let cpu = (try? FileSystem.readFile("/proc/cpuinfo", limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    let model = cpu.split(separator: "\n").first { $0.hasPrefix("model name") }.map {
        $0.split(separator: ":", maxSplits: 1).last.map { String($0.drop { $0 == " " }) } ?? ""
    } ?? "?"
    let cores = cpu.split(separator: "\n").filter { $0.hasPrefix("processor") }.count
    let kernel = (try? FileSystem.readFile("/proc/sys/kernel/osrelease", limit: 256)).map {
        String(decoding: $0, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    } ?? "?"
    return "\(cores) cores (\(model)), Linux \(kernel)"
}

let options = parseOptions()
if let stage = options.profile {
    Micro.profile(stage: stage, apps: options.sizes.last ?? 5000, seconds: 5)
    exit(0)
}
let binaries = Binaries(proxym: options.bin + "/proxym", fakeMarathon: options.bin + "/proxym-fake-marathon")
for binary in [binaries.proxym, binaries.fakeMarathon] where !FileSystem.isExecutableFile(binary) {
    fatal("\(binary) is missing: build with `swift build -c release --static-swift-stdlib` (or use `make bench`)")
}
let work: String
do {
    work = try options.work ?? FileSystem.makeTemporaryDirectory(prefix: "proxym-bench")
    if !FileSystem.exists(work) { try FileSystem.mkdir(work) }
} catch {
    fatal("cannot create a work directory: \(error)")
}
let e2e = options.endToEnd
progress("proxym-bench: \(machine()); work directory \(work)")
let began = now()

var output: [String] = []
output.append(
    "proxym-bench on \(machine()). Times: median / p99 (nearest rank; the largest sample when there are"
        + " fewer than 100)."
)
do {
    if options.only.contains("marathon") {
        var table = Table(sizes: options.sizes, sizeHeader: "Marathon: apps x 3 tasks")
        for n in options.sizes {
            try MarathonEndToEnd.run(size: n, binaries: binaries, work: work, options: e2e, table: &table)
        }
        output.append(
            "\n### Marathon (proxym release binary as a process; fake Marathon 1.10, SSE)\n\n"
                + "\(e2e.startRuns) starts per N; \(e2e.eventProcesses * e2e.eventsPerProcess) scale events per N"
                + " (\(e2e.eventProcesses) processes x \(e2e.eventsPerProcess)).\n\n" + table.markdown())
    }
    if options.only.contains("files") {
        var table = Table(sizes: options.sizes, sizeHeader: "Files: service files")
        for n in options.sizes {
            try FilesEndToEnd.run(size: n, binaries: binaries, work: work, options: e2e, table: &table)
        }
        if options.only.contains("micro") {
            try Micro.files(sizes: options.sizes, runs: options.microRuns, work: work, table: &table)
        }
        output.append(
            "\n### File module (process, then in-process rescans)\n\n"
                + "\(e2e.startRuns) starts per N; \(e2e.eventProcesses * e2e.eventsPerProcess) edits and"
                + " \(e2e.eventProcesses * (e2e.eventsPerProcess / 2)) SIGHUPs per N; rescans \(options.microRuns) runs.\n\n"
                + table.markdown())
    }
    if options.only.contains("micro") {
        var table = Table(sizes: options.sizes, sizeHeader: "In process: apps x 3 tasks")
        Micro.marathon(sizes: options.sizes, runs: options.microRuns, table: &table)
        output.append(
            "\n### One refresh, stage by stage (in process, \(options.microRuns) runs each)\n\n" + table.markdown())
    }
} catch {
    writeStderr("proxym-bench: \(error)\n(work directory kept: \(work))\n")
    exit(1)
}
if !options.keep { try? FileSystem.removeTree(work) }
output.append("\nTook \(fixed(Double(now() - began) / 1e9, 0)) s.\n")
writeStdout(output.joined(separator: "\n") + "\n")
