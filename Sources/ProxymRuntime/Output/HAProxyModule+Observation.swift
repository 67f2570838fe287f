import ProxymCore
import ProxymObserve
import ProxymPosix

/// What the HAProxy module tells the status endpoints: method, pids, reloads, the last outcome.
extension HAProxyModule {
    func noteApplied(_ outcome: ApplyOutcome, reloaded: Bool) {
        if reloaded { lastReloadAt = SourceRecord.moment(on: loop) }
        switch outcome {
        case .unchanged: break
        case .applied(let text):
            lastApplyOutcome = text
            consecutiveFailures = 0
        case .failed:
            lastApplyOutcome = outcome.summary
            consecutiveFailures += 1
        }
    }

    public var observation: OutputObservation? {
        OutputObservation(
            name: name, method: methodName, pids: knownPIDs, problem: problem, reloads: reloadCount,
            runtimeApplies: runtimeApplyCount, lastReload: lastReloadAt, lastApplyOutcome: lastApplyOutcome,
            consecutiveFailures: consecutiveFailures, configBytes: liveText?.utf8.count, notes: statusNotes)
    }

    /// The pids in the pid file (start/stop: every process; master-worker: the master), if any.
    var knownPIDs: [Int32] {
        guard let path = settings.pidPath, let bytes = try? FileSystem.readFile(path, limit: 4096) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == " " })
            .compactMap { Int32($0) }.filter { $0 > 1 }
    }
}
