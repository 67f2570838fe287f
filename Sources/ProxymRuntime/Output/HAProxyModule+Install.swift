import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

// MARK: - Temp files, install, reload, what is live

extension HAProxyModule {
    public func cleanUp() {
        checking?.terminate(grace: .zero)
        checking = nil
        stopCertificateInputs()
        if let pendingTemp {
            try? FileSystem.unlink(pendingTemp)
            // The check never finished: the map goes back to what the installed config reads.
            restoreVHostMap()
        }
        pendingTemp = nil
    }

    /// Temp files an earlier proxym left next to the target when it crashed: `.<name>.<hex>.tmp`
    /// (`AtomicFileWriter`'s pattern), nothing else.
    public func removeLeftovers() {
        let directory = FileSystem.directoryName(settings.configFilePath)
        // The config's and the vhost map's (`<config>.vhosts.map`, same directory).
        let prefixes = [settings.configFilePath, settings.vhostMapPath].map { "." + FileSystem.baseName($0) + "." }
        guard let entries = try? FileSystem.listDirectory(directory) else { return }
        for entry in entries where prefixes.contains(where: { Self.isOurTemporary(entry.name, prefix: $0) }) {
            let path = (directory == "/" ? "" : directory) + "/" + entry.name
            do {
                try FileSystem.unlink(path)
                logger.notice("removed a temp file an earlier run left behind", metadata: ["path": "\(path)"])
            } catch {
                logger.warning("cannot remove a leftover temp file", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    static func isOurTemporary(_ name: String, prefix: String) -> Bool {
        guard name.hasPrefix(prefix), name.hasSuffix(".tmp") else { return false }
        let hex = name.utf8.dropFirst(prefix.utf8.count).dropLast(4)
        return !hex.isEmpty && hex.count <= 16
            && hex.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    /// rename(tmp, target), then reload.
    func install(_ candidate: Candidate, from tempPath: String, completion: @escaping (ApplyOutcome) -> Void) {
        defer { pendingTemp = nil }
        do {
            try AtomicFileWriter.commit(temporary: tempPath, to: settings.configFilePath)
        } catch {
            try? FileSystem.unlink(tempPath)
            restoreVHostMap()
            logger.error(
                "cannot install the new config; the old one stays live",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot install \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return
        }
        rejectedText = nil
        vhostMapBefore = nil
        if candidate.vhostMap == nil && settings.vhostMapThreshold > 0 {
            // Below the threshold now: the config no longer reads the map.
            try? FileSystem.unlink(settings.vhostMapPath)
        }
        logger.info(
            "config written", metadata: ["path": "\(settings.configFilePath)", "bytes": "\(candidate.text.utf8.count)"])
        reloadInstalled(candidate, completion: completion)
    }

    /// The file holds `candidate`: make haproxy load it.
    func reloadInstalled(_ candidate: Candidate, note: String? = nil, completion: @escaping (ApplyOutcome) -> Void) {
        // The file no longer holds what was live; until the reload succeeds nothing is known to be.
        forgetLive()
        let reloadBegan = loop.now
        runner.reload(exposedSocket: candidate.exposedSocket) { [weak self] outcome in
            guard let self else { return }
            self.stageDurations.append(("apply", self.loop.now - reloadBegan))
            if !outcome.isSuccess { self.reloadFailures += 1 }
            if case .applied(let summary) = outcome {
                self.reloadCount += 1
                self.becameLive(candidate)
                completion(.applied(note.map { "\(summary) (\($0))" } ?? summary))
                return
            }
            completion(outcome)
        }
    }

    func becameLive(_ candidate: Candidate) {
        liveText = candidate.text
        liveVHostMap = candidate.vhostMap
        liveSlots = candidate.slots?.afterReload
        liveSkeleton = candidate.skeleton
        liveSections = candidate.sections
        liveStatsSocket = candidate.statsSocket
        if let state = candidate.certificates {
            liveCertificates = state
            certificates?.collectGarbage(keeping: state)
        }
        scheduleDrainStep()
    }

    func forgetLive() {
        liveText = nil
        liveVHostMap = nil
        liveSlots = nil
        liveSkeleton = nil
        liveCertificates = nil
        if let drainTimer { loop.cancel(drainTimer) }
        drainTimer = nil
    }
}
