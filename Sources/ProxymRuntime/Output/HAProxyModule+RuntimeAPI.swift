import ProxymCore
import ProxymHAProxy
import ProxymPosix

/// The Runtime API path of `HAProxyModule`: a server-only change rewrites the file (same structure)
/// and is sent as `set server` commands to the stats socket, then checked in `show servers state`;
/// leaving servers go from drain to maint when their drain time is over.
extension HAProxyModule {
    /// Server-only change: rewrite the file (same structure, new servers), then `set server`.
    func runtimeApply(_ candidate: Candidate, commands: [RuntimeCommand], completion: @escaping (ApplyOutcome) -> Void) {
        guard let table = candidate.slots, let socket = candidate.statsSocket else {
            applyText(candidate, force: true, completion: completion)
            return
        }
        do {
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            try AtomicFileWriter.write(Array(candidate.text.utf8), to: settings.configFilePath, mode: mode)
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
        sendVerified(commands, socket: socket, table: table, sections: touched) { [weak self] problem in
            guard let self else { return }
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
            self.logger.info(
                "servers changed through the Runtime API, no reload",
                metadata: ["servers": "\(changed)", "backends": "\(touched.sorted().joined(separator: ","))"])
            self.liveText = candidate.text
            self.liveSlots = table
            self.liveSections = candidate.sections
            self.scheduleDrainStep()
            completion(.applied("applied through the Runtime API (\(changed) server\(changed == 1 ? "" : "s"), no reload)"))
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
        var answers: [String] = []
        func run(_ index: Int, _ list: [String], then: @escaping () -> Void) {
            guard index < list.count else {
                then()
                return
            }
            CLIExchange.run(loop: loop, path: socket, request: list[index], timeout: settings.commandTimeout) { result in
                switch result {
                case .success(let text):
                    answers.append(text)
                    run(index + 1, list, then: then)
                case .failure(let failure):
                    completion("stats socket: \(failure)")
                }
            }
        }
        run(0, requests) {
            let replies = answers
            answers = []
            run(0, checks) {
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
