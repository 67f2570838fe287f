import Logging
import ProxymCore
import ProxymGenerators
import ProxymHAProxy
import ProxymModel
import ProxymPosix
import ProxymRuntime

/// Keeps a result alive so the optimizer cannot drop the work that made it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// Runs `body` `warmup` times untimed, then `runs` times timed (wall clock, monotonic).
func measure(runs: Int, warmup: Int = 2, _ body: () -> Void) -> Samples {
    for _ in 0..<warmup { body() }
    var samples = Samples(.milliseconds)
    for _ in 0..<runs {
        let start = now()
        body()
        samples.addNanoseconds(now() - start)
    }
    return samples
}

/// In-process figures: each stage of a refresh on its own, on the same inputs the daemon gets.
enum Micro {
    static let silent = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

    static func marathon(sizes: [Int], runs: Int, table: inout Table) {
        for n in sizes {
            progress("in-process: Marathon stages, \(grouped(n)) apps x 3 tasks")
            let body = MarathonAppsGenerator(apps: n, tasksPerApp: 3).body()
            let decode = measure(runs: runs) { blackHole(try? MarathonApps.decode(appsWithTasks: body)) }
            let snapshot = try! MarathonApps.decode(appsWithTasks: body)
            let options = MarathonOptions()
            let map = measure(runs: runs) {
                var health = MarathonHealthMemory()
                blackHole(MarathonMapper.services(from: snapshot, options: options, health: &health))
            }
            var health = MarathonHealthMemory()
            let services = MarathonMapper.services(from: snapshot, options: options, health: &health).services
            let merge = measure(runs: runs) { blackHole(ServiceMerger.merge([services], httpPort: 80)) }
            let merged = ServiceMerger.merge([services], httpPort: 80).services
            let servers = merged.reduce(0) { $0 + $1.hosts.count }
            let renderOptions = RenderOptions(globalConfig: globalConfig, httpPort: 80)
            let render = measure(runs: runs) { blackHole(HAProxyRenderer.render(merged, options: renderOptions)) }
            let text = HAProxyRenderer.render(merged, options: renderOptions)
            // Heap held by each stage's result (glibc's count of bytes in use).
            let snapshotBytes = heapInUse { try? MarathonApps.decode(appsWithTasks: body) }
            let servicesBytes = heapInUse { () -> [Service] in
                var health = MarathonHealthMemory()
                return MarathonMapper.services(from: snapshot, options: options, health: &health).services
            }

            table.set("body of `/v2/apps?embed=apps.tasks`, MB", size: n, fixed(Double(body.count) / 1e6, 1))
            table.set("decode body, ms", size: n, decode.cell)
            table.set("map apps to services, ms", size: n, map.cell)
            table.set("merge, ms", size: n, merge.cell)
            table.set(
                "**render** (\(servers == n * 3 ? "3 servers a service" : "\(servers) servers")), ms",
                target: n == 5000 ? "<= 10 ms (15,000 servers)" : "", size: n, render.cell)
            table.set("config size, MB", size: n, fixed(Double(text.utf8.count) / 1e6, 2))
            table.set("heap held by the decoded snapshot, MB", size: n, fixed(Double(snapshotBytes) / 1e6, 1))
            table.set("heap held by the services, MB", size: n, fixed(Double(servicesBytes) / 1e6, 1))
        }
    }

    /// Runs one stage over and over for `seconds` (for `perf record`): decode, map, merge, render, or
    /// rescan (the File module re-reading a directory of that many files, made under /tmp once).
    static func profile(stage: String, apps n: Int, seconds: Int) {
        let body = MarathonAppsGenerator(apps: n, tasksPerApp: 3).body()
        let snapshot = try! MarathonApps.decode(appsWithTasks: body)
        var health = MarathonHealthMemory()
        let services = MarathonMapper.services(from: snapshot, options: MarathonOptions(), health: &health).services
        let merged = ServiceMerger.merge([services], httpPort: 80).services
        let renderOptions = RenderOptions(globalConfig: globalConfig, httpPort: 80)
        let deadline = now() + UInt64(seconds) * 1_000_000_000
        var rounds = 0
        while now() < deadline {
            switch stage {
            case "decode": blackHole(try? MarathonApps.decode(appsWithTasks: body))
            case "map":
                var memory = health
                blackHole(MarathonMapper.services(from: snapshot, options: MarathonOptions(), health: &memory))
            case "merge": blackHole(ServiceMerger.merge([services], httpPort: 80))
            case "render": blackHole(HAProxyRenderer.render(merged, options: renderOptions))
            case "rescan":
                // The File module reading every file of a directory of `n` (made once, kept).
                let directory = "/tmp/proxym-bench-profile-\(n)"
                if !FileSystem.exists(directory) { try! ServiceFiles.write(count: n, to: directory) }
                let module = FileModule(directory: directory, loop: try! EventLoop(), logger: silent)
                while now() < deadline { module.generate(fullResync: true) { blackHole($0) } }
            default: fatal("--profile: decode, map, merge, render or rescan")
            }
            rounds += 1
        }
        progress("\(stage): \(rounds) rounds in \(seconds) s")
    }

    static func files(sizes: [Int], runs: Int, work: String, table: inout Table) throws {
        for n in sizes {
            progress("in-process: File module rescans, \(grouped(n)) files")
            let directory = work + "/micro-files-\(n)"
            try ServiceFiles.write(count: n, to: directory)
            let loop = try EventLoop()
            let module = FileModule(directory: directory, loop: loop, logger: silent)
            var count = 0
            let generate: (Bool) -> Void = { full in
                module.generate(fullResync: full) { result in
                    if case .success(let services) = result { count = services.count }
                }
            }
            let full = measure(runs: runs) { generate(true) }
            let unchanged = measure(runs: runs) { generate(false) }
            precondition(count == n, "the File module read \(count) of \(n) services")
            table.set("rescan, nothing changed (list + stat), ms", size: n, unchanged.cell)
            table.set(
                "**full rescan** (list, stat, read and decode every file), ms", target: n == 10000 ? "<= 60 ms (10,000 files)" : "",
                size: n, full.cell)
            try FileSystem.removeTree(directory)
        }
    }

    /// What `HAProxyOptionsLoader` uses without an options directory.
    static let globalConfig = HAProxyOptionsLoader.builtInGlobal
}

enum ServiceFiles {
    /// Writes `count` service files into a fresh `directory` and backdates them by a minute, so that
    /// none counts as "just modified" (the File module re-reads such files at the next scan).
    static func write(count: Int, to directory: String) throws {
        try FileSystem.removeTree(directory)
        try FileSystem.mkdir(directory)
        for i in 0..<count {
            let path = directory + "/" + ServiceFilesGenerator.fileName(i)
            try FileSystem.writeFile(path, contents: Array(ServiceFilesGenerator.contents(i).utf8))
            try backdate(path)
        }
    }

    static func backdate(_ path: String, seconds: Int = 60) throws {
        try setModificationTime(path, secondsAgo: seconds)
    }
}

/// Bytes of heap the value `make` returns holds (malloc'd bytes in use before and while it lives).
func heapInUse<T>(_ make: () -> T) -> Int {
    let before = heapBytesInUse()
    let value = make()
    let after = heapBytesInUse()
    blackHole(value)
    return after - before
}
