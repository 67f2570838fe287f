import ProxymCore
import ProxymHAProxy
import ProxymPosix

/// The Runtime API path of `HAProxyModule`: a server-only change rewrites the file (same structure)
/// and is sent as `set server` commands to the stats socket, then checked in `show servers state`;
/// leaving servers go from drain to maint when their drain time is over.
extension HAProxyModule {
    /// Server-only change: rewrite the file (same structure, new servers), then `set server`; a
    /// change of the vhost map alone: rewrite the map, then `add`/`set`/`del map`.
    func runtimeApply(_ candidate: Candidate, commands: [RuntimeCommand], completion: @escaping (ApplyOutcome) -> Void) {
        guard let table = candidate.slots, let socket = candidate.statsSocket else {
            applyText(candidate, force: true, completion: completion)
            return
        }
        var mapCommands: [MapCommand] = []
        if candidate.vhostMap != liveVHostMap {
            guard let map = candidate.vhostMap, let live = liveVHostMap, map.path == live.path else {
                applyText(candidate, force: true, completion: completion)
                return
            }
            mapCommands = map.commands(from: live)
        }
        do {
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            // The map first: once the config is written, a restart reads both.
            if let map = candidate.vhostMap, !mapCommands.isEmpty {
                try AtomicFileWriter.write(text: map.text, to: map.path, mode: mode)
            }
            try AtomicFileWriter.write(text: candidate.text, to: settings.configFilePath, mode: mode)
        } catch {
            logger.error(
                "cannot write the new config; haproxy is left as it is",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot write \(settings.configFilePath): \(error); haproxy was not changed", retry: true))
            return
        }
        wroteOnce = true
        rejectedText = nil
        let touched = Set(commands.map(\.backend))
        let began = loop.now
        logger.debug("Runtime API", metadata: ["commands": "\(commands.map(\.description).joined(separator: "; "))"])
        sendVerified(commands, socket: socket, table: table, sections: touched) { [weak self] serverProblem in
            guard let self else { return }
            guard serverProblem == nil, let map = candidate.vhostMap, !mapCommands.isEmpty else {
                finish(serverProblem)
                return
            }
            self.sendVerified(mapCommands, map: map, socket: socket, completion: finish)
        }
        func finish(_ problem: String?) {
            self.stageDurations.append(("apply", self.loop.now - began))
            if let problem {
                self.runtimeAPIFailures += 1
                self.logger.error(
                    "the Runtime API change did not take; reloading haproxy instead", metadata: ["reason": "\(problem)"])
                self.reloadInstalled(candidate, note: "the Runtime API failed", completion: completion)
                return
            }
            self.runtimeApplyCount += 1
            let changed = Set(commands.map { "\($0.backend)/\(Self.server(of: $0))" }).count
            var parts: [String] = []
            if !commands.isEmpty {
                self.logger.info(
                    "servers changed through the Runtime API, no reload",
                    metadata: ["servers": "\(changed)", "backends": "\(touched.sorted().joined(separator: ","))"])
                parts.append("\(changed) server\(changed == 1 ? "" : "s")")
            }
            if !mapCommands.isEmpty {
                self.logger.info(
                    "virtual hosts changed through the Runtime API, no reload",
                    metadata: ["hosts": "\(mapCommands.count)", "map": "\(candidate.vhostMap?.path ?? "")"])
                parts.append("\(mapCommands.count) virtual host\(mapCommands.count == 1 ? "" : "s")")
            }
            self.liveText = candidate.text
            self.liveVHostMap = candidate.vhostMap
            self.liveSlots = table
            self.liveSections = candidate.sections
            self.scheduleDrainStep()
            completion(.applied("applied through the Runtime API (\(parts.joined(separator: ", ")), no reload)"))
        }
    }

    private static func server(of command: RuntimeCommand) -> String {
        switch command {
        case .setAddress(_, let server, _), .setState(_, let server, _): return server
        }
    }

    /// Sends the commands (in requests of at most ~8 KiB, below haproxy's 16 KiB buffer), then reads
    /// `show servers state` for `sections` and compares with `table`. Calls back with nil when haproxy
    /// runs what the table says, else the reason.
    private func sendVerified(
        _ commands: [RuntimeCommand], socket: String, table: SlotTable, sections: Set<String>,
        completion: @escaping (String?) -> Void
    ) {
        let requests = Self.batches(commands.map(\.description))
        let checks = Self.batches(sections.sorted().map { "show servers state \($0)" })
        exchange(requests, socket: socket, failure: completion) { replies in
            self.exchange(checks, socket: socket, failure: completion) { answers in
                let states = HAProxyCLI.parseServersState(answers.joined(separator: "\n"))
                let mismatches = HAProxyCLI.mismatches(table: table, sections: sections, states: states)
                if mismatches.isEmpty {
                    completion(nil)
                    return
                }
                let said = replies.flatMap { LogText.lines(Array($0.utf8), limit: 5) }
                    .filter { !$0.hasPrefix("IP changed") && !$0.hasPrefix("no need") }
                completion(
                    "\(mismatches.prefix(5).joined(separator: "; "))"
                        + (said.isEmpty ? "" : " (haproxy said: \(said.prefix(3).joined(separator: " | ")))"))
            }
        }
    }

    /// Sends the map commands, then reads `show map` and compares it with `map`, entry for entry.
    private func sendVerified(
        _ commands: [MapCommand], map: VHostMap, socket: String, completion: @escaping (String?) -> Void
    ) {
        exchange(Self.batches(commands.map(\.description)), socket: socket, failure: completion) { replies in
            self.exchange(["show map \(map.path)"], socket: socket, failure: completion) { answers in
                let live = VHostMap.parseShowMap(answers.joined(separator: "\n"))
                if live == map.entries {
                    completion(nil)
                    return
                }
                let wanted = Set(map.entries)
                let have = Set(live)
                let missing = map.entries.filter { !have.contains($0) }.prefix(3).map { "\($0.key) -> \($0.backend) missing" }
                let extra = live.filter { !wanted.contains($0) }.prefix(3).map { "\($0.key) -> \($0.backend) unexpected" }
                let said = replies.flatMap { LogText.lines(Array($0.utf8), limit: 5) }
                completion(
                    "the map has \(live.count) entries, \(map.entries.count) wanted: "
                        + (missing + extra).joined(separator: "; ")
                        + (said.isEmpty ? "" : " (haproxy said: \(said.prefix(3).joined(separator: " | ")))"))
            }
        }
    }

    /// One CLI exchange per request, in order; `then` gets the answers, `failure` the first failure.
    private func exchange(
        _ requests: [String], socket: String, failure: @escaping (String) -> Void, then: @escaping ([String]) -> Void
    ) {
        var answers: [String] = []
        func run(_ index: Int) {
            guard index < requests.count else {
                then(answers)
                return
            }
            CLIExchange.run(loop: loop, path: socket, request: requests[index], timeout: settings.commandTimeout) { result in
                switch result {
                case .success(let text):
                    answers.append(text)
                    run(index + 1)
                case .failure(let problem):
                    failure("stats socket: \(problem)")
                }
            }
        }
        run(0)
    }

    static func batches(_ lines: [String], limit: Int = 8000) -> [String] {
        var result: [String] = []
        var current = ""
        for line in lines {
            if !current.isEmpty && current.utf8.count + 2 + line.utf8.count > limit {
                result.append(current)
                current = ""
            }
            current += current.isEmpty ? line : "; " + line
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// Leaving servers go from drain to maint when their drain time is over.
    func scheduleDrainStep() {
        if let drainTimer { loop.cancel(drainTimer) }
        drainTimer = nil
        guard let deadline = liveSlots?.nextDrainDeadline(drainTime: settings.drainTime) else { return }
        drainTimer = loop.schedule(at: Instant(nanoseconds: deadline)) { [weak self] in
            guard let self else { return }
            self.drainTimer = nil
            self.exclusively { done in self.finishDrains(done) }
        }
    }

    private func finishDrains(_ done: @escaping () -> Void) {
        guard let live = liveSlots, let socket = liveStatsSocket else {
            done()
            return
        }
        let assignment = SlotPlanner.assign(
            live: live, sections: liveSections, now: loop.now.nanoseconds, options: slotOptions)
        let commands = SlotPlanner.commands(from: live, to: assignment.table)
        guard !commands.isEmpty, assignment.grown.isEmpty else {
            scheduleDrainStep()
            done()
            return
        }
        sendVerified(commands, socket: socket, table: assignment.table, sections: Set(commands.map(\.backend))) {
            [weak self] problem in
            guard let self else { return }
            if let problem {
                self.logger.warning(
                    "could not finish draining servers; the next change reloads", metadata: ["reason": "\(problem)"])
                self.liveSlots = nil
                self.liveText = nil
            } else {
                self.logger.debug("drained servers set to maint", metadata: ["count": "\(commands.count)"])
                self.liveSlots = assignment.table
                self.scheduleDrainStep()
            }
            done()
        }
    }
}
