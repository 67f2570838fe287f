import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

// MARK: - Applying a text: unchanged or rejected before? temp file, `haproxy -c`, install, reload, what is live

extension HAProxyModule {
    /// The reload pipeline: temp file, `haproxy -c`, rename, reload.
    func applyText(_ candidate: Candidate, force: Bool, completion: @escaping (ApplyOutcome) -> Void) {
        if !force && answeredWithoutWriting(candidate, completion: completion) { return }
        wroteOnce = true
        guard let tempPath = writeCandidate(candidate, completion: completion) else { return }
        guard let checkBinary else {
            install(candidate, from: tempPath, completion: completion)
            return
        }
        check(candidate, at: tempPath, with: checkBinary, completion: completion)
    }

    /// The answers that need no new file: unchanged, rejected by haproxy before, or (first refresh)
    /// already what the file on disk holds. True when `completion` has been (or will be) called.
    private func answeredWithoutWriting(_ candidate: Candidate, completion: @escaping (ApplyOutcome) -> Void) -> Bool {
        let text = candidate.text
        if !candidate.differsFromLive && text == liveText && candidate.vhostMap == liveVHostMap {
            completion(.unchanged("unchanged"))
            return true
        }
        if text == rejectedText {
            completion(.failed("haproxy rejected this config before; fix the input (see earlier errors)", retry: false))
            return true
        }
        guard liveText == nil, !wroteOnce,
            TextBytes.equal(try? FileSystem.readFile(settings.configFilePath, limit: 64 << 20), text),
            vhostMapOnDisk(is: candidate.vhostMap)
        else { return false }
        // First refresh and the file is already current: do not disturb a running haproxy.
        runner.ensureRunning { [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .failed: break
            case .applied: self.reloadCount += 1; self.becameLive(candidate)
            case .unchanged:
                // haproxy ran before proxym started: its certificates may predate the files.
                if candidate.certificates != nil {
                    self.adoptCertificates(candidate, completion: completion)
                    return
                }
                self.becameLive(candidate)
            }
            completion(outcome)
        }
        return true
    }

    /// Writes the candidate to a temporary file next to the config, and the vhost map it reads in
    /// place; the temporary file's path, or nil after telling `completion` what failed.
    private func writeCandidate(_ candidate: Candidate, completion: (ApplyOutcome) -> Void) -> String? {
        let tempPath: String
        do {
            // Keep the mode of the file we replace (0644 for a new one).
            let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
            tempPath = try AtomicFileWriter.writeTemporary(nextTo: settings.configFilePath, text: candidate.text, mode: mode)
        } catch {
            logger.error(
                "cannot write the new config; the old one stays live",
                metadata: ["path": "\(settings.configFilePath)", "error": "\(error)"])
            completion(.failed("cannot write next to \(settings.configFilePath): \(error); the old config stays live", retry: true))
            return nil
        }
        pendingTemp = tempPath
        // The map the new config reads goes in place first, so `haproxy -c` checks the pair; the
        // previous one comes back whenever the new config does not get installed.
        do {
            try installVHostMap(candidate.vhostMap)
        } catch {
            try? FileSystem.unlink(tempPath)
            pendingTemp = nil
            logger.error(
                "cannot write the vhost map; the old config stays live",
                metadata: ["path": "\(settings.vhostMapPath)", "error": "\(error)"])
            completion(.failed("cannot write \(settings.vhostMapPath): \(error); the old config stays live", retry: true))
            return nil
        }
        return tempPath
    }

    /// `haproxy -c -f <temp>`, then install, or keep the old config (rejected: kept aside and not tried
    /// again; no verdict: retried).
    private func check(
        _ candidate: Candidate, at tempPath: String, with checkBinary: String, completion: @escaping (ApplyOutcome) -> Void
    ) {
        let timeout = checkTimeout(bytes: candidate.text.utf8.count)
        lastCheckTimeout = timeout
        let checkBegan = loop.now
        checking = CommandRunner(loop: loop, logger: logger, environment: childEnvironment, timeout: timeout)
            .run(checkBinary, ["-c", "-f", tempPath]) { [weak self] result in
                guard let self else { return }
                self.checking = nil
                self.stageDurations.append(("check", self.loop.now - checkBegan))
                if case .failure(let failure) = result, failure.outcome?.timedOut == true {
                    self.checkPatience = min(self.checkPatience * 2, 16)
                } else {
                    self.checkPatience = 1
                }
                switch result {
                case .success:
                    self.install(candidate, from: tempPath, completion: completion)
                case .failure(let failure) where failure.ranAndFailed && failure.outputLines.contains(where: { $0.contains("[ALERT]") }):
                    self.checkRejected(candidate, at: tempPath, failure: failure, completion: completion)
                case .failure(let failure):
                    self.checkGaveNoVerdict(candidate, at: tempPath, binary: checkBinary, failure: failure, completion: completion)
                }
            }
    }

    /// haproxy's verdict: this config is wrong; only a change of input helps.
    private func checkRejected(
        _ candidate: Candidate, at tempPath: String, failure: CommandRunner.Failure, completion: (ApplyOutcome) -> Void
    ) {
        rejectedText = candidate.text
        restoreVHostMap()
        do {
            try FileSystem.rename(from: tempPath, to: rejectedPath)
        } catch {
            try? FileSystem.unlink(tempPath)
        }
        pendingTemp = nil
        logger.error(
            "haproxy rejected the new config; the old one stays live",
            metadata: ["candidate": "\(rejectedPath)", "check": "\(failure.status)"])
        for line in failure.outputLines { logger.error("haproxy: \(line)") }
        completion(.failed("haproxy -c rejected the config (kept as \(rejectedPath))", retry: false))
    }

    /// No verdict on the config: a timeout, a kill, a binary that vanished or could not start. A
    /// failed attempt, retried; the same config gets checked again.
    private func checkGaveNoVerdict(
        _ candidate: Candidate, at tempPath: String, binary: String, failure: CommandRunner.Failure,
        completion: (ApplyOutcome) -> Void
    ) {
        try? FileSystem.unlink(tempPath)
        pendingTemp = nil
        restoreVHostMap()
        let bytes = candidate.text.utf8.count
        let timedOut = failure.outcome?.timedOut == true
        var metadata: Logger.Metadata = ["binary": "\(binary)", "check": "\(failure.status)", "bytes": "\(bytes)"]
        if timedOut {
            metadata["next_check_gets"] = "\(checkTimeout(bytes: bytes))"
            metadata["setting"] =
                "PROXYM_HAPROXY_COMMAND_TIMEOUT (the check gets it plus 5 s per MiB of config, doubled after each timeout)"
        }
        logger.error(
            timedOut
                ? "haproxy -c did not finish in time; the old config stays live, the check is retried"
                : "haproxy -c could not check the new config; the old config stays live, the check is retried",
            metadata: metadata)
        for line in failure.outputLines { logger.error("haproxy: \(line)") }
        completion(.failed("haproxy -c \(failure.status), no verdict on the config (will retry)", retry: true))
    }

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
