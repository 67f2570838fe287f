import Logging
import ProxymCore
import ProxymModel
import ProxymObserve
import ProxymPosix

// MARK: - Refresh: plan (merge, guard), apply to each output, finish (READY, STATUS, retries)

extension Daemon {
    /// Merges the sources' lists as they are now; never waits on a source.
    func startRefresh(_ batch: RefreshScheduler.Batch) {
        running = (batch, SourceRecord.moment(on: loop))
        let forced = batch.reasons.contains(.sighup)
        reloadAnswers.refreshStarted(carriesResync: forced || batch.reasons.contains(.startup))
        logger.info(
            "refresh",
            metadata: ["trigger": "\(batch.summary())"] + (batch.forcesFullResync ? ["mode": "full resync"] : [:]))
        let mergeBegan = loop.now
        let plan = pipeline.plan(
            sources.map { RefreshPipeline.SourceList(name: $0.name, services: $0.services) }, now: loop.now,
            force: forced, reportAgain: batch.forcesFullResync)
        refreshMetrics.stage("merge", took: loop.now - mergeBegan)
        plannedServices = plan.services
        mergeProblems = plan.problems
        ServiceSources.log(plan.problems, logger: logger)
        status.serviceCount = plan.services.count
        status.skippedServices = plan.skipped
        updateSourceStatus()
        logger.debug("services merged", metadata: ["count": "\(plan.services.count)"])

        switch plan.verdict {
        case .apply(let note):
            if let guardTimer { loop.cancel(guardTimer) }
            guardTimer = nil
            if let note { logger.notice("safety guard: \(note)") }
            heldAlert = nil
            held = nil
        case .hold(let reason, _, let until):
            if held == nil { held = StatusSnapshot.Held(reason: reason, since: SourceRecord.moment(on: loop)) }
            held?.reason = reason
            if heldAlert == nil {
                heldSinceText = wallClock()
                logger.warning(
                    "safety guard: refresh held back; the live config stays",
                    metadata: [
                        "reason": "\(reason)", "applies_in": "\(until - loop.now)",
                        "override": "SIGHUP applies it at once",
                    ])
            }
            heldAlert =
                "HELD since \(heldSinceText ?? wallClock()): \(reason); applied if it persists \(settings.safetyGuard.hold), or at once on SIGHUP"
            if guardTimer == nil {
                guardTimer = loop.schedule(at: until) { [weak self] in
                    self?.guardTimer = nil
                    self?.requestRefresh(RefreshReason("safety guard hold over"), immediate: true)
                }
            }
            finishRefresh(outcomes: [.unchanged("HELD by the safety guard")], serviceCount: plan.services.count, held: true)
            return
        }
        // Only SIGHUP forces a re-apply. The startup refresh re-reads everything too, but an output
        // whose file on disk is already current leaves the running haproxy alone.
        applyConfigs(plan.services, force: forced, index: 0, outcomes: [])
    }

    func updateSourceStatus() {
        status.sources = sources.map { source in
            let state = source.state
            let stale = state.isFailing ? nil : state.staleSince(at: loop.now, patience: Self.stalePatience)
            return StatusReport.Source(
                name: source.name, serviceCount: source.services.count, failure: state.failure?.error,
                failingSince: state.failure.map { TimeOfDay.text(unixSeconds: $0.since.unixSeconds) },
                note: state.note, staleSince: stale.map { TimeOfDay.text(unixSeconds: $0.unixSeconds) })
        }
    }

    /// STATUS alerts: a held refresh, and every output's problem (haproxy down, ...).
    func updateAlerts() {
        status.alerts = (heldAlert.map { [$0] } ?? []) + (statusListenerAlert.map { [$0] } ?? []) + outputs.compactMap { output in output.problem.map { "FAILING: \(output.name) (\($0))" } }
            + outputs.flatMap(\.statusNotes)
    }

    /// Sends STATUS= when what it says changed (a source's state, an output's problem).
    func refreshStatus() {
        updateSourceStatus()
        updateAlerts()
        let line = status.line
        guard line != lastSentStatus else { return }
        notify("STATUS=\(line)")
    }

    func outputProblemsChanged() { refreshStatus() }

    func applyConfigs(_ services: [Service], force: Bool, index: Int, outcomes: [ApplyOutcome]) {
        guard index < outputs.count else {
            finishRefresh(outcomes: outcomes, serviceCount: services.count)
            return
        }
        outputs[index].apply(services, force: force) { [weak self] outcome in
            if let self {
                for (stage, took) in self.outputs[index].takeStageDurations() { self.refreshMetrics.stage(stage, took: took) }
            }
            self?.applyConfigs(services, force: force, index: index + 1, outcomes: outcomes + [outcome])
        }
    }

    func finishRefresh(outcomes: [ApplyOutcome], serviceCount: Int, held: Bool = false) {
        updateAlerts()
        var summary = outcomes.map(\.summary).joined(separator: "; ")
        if outcomes.isEmpty { summary = "computed (no output configured)" }
        status.lastRefresh = wallClock()
        status.lastOutcome = summary
        var outcome = ApplyRetry.Outcome.succeeded
        for case .failed(_, let again) in outcomes {
            outcome = again ? .failedTransiently : (outcome == .failedTransiently ? outcome : .rejected)
        }
        if outcome == .succeeded {
            logger.info("refresh done", metadata: ["services": "\(serviceCount)", "outcome": "\(summary)"])
        } else {
            logger.error("refresh failed", metadata: ["services": "\(serviceCount)", "outcome": "\(summary)"])
        }
        scheduleRetry(retry.refreshFinished(outcome))
        if let running {
            let result = Self.result(of: outcomes, held: held)
            let duration = loop.now - running.startedAt.instant
            recentRefreshes.append(
                RefreshRecord(
                    trigger: running.batch.summary(), startedAt: running.startedAt, duration: duration, outcome: summary,
                    serviceCount: serviceCount, result: result))
            refreshMetrics.refreshFinished(
                trigger: running.batch.reasons.first?.description ?? "", result: result, duration: duration)
        }
        let carriedReload = running?.batch.reasons.contains(.sighup) ?? false
        running = nil

        let wasReady = readiness.isReady
        let lines = readiness.handle(.refreshFinished(carriedReload: carriedReload))
        if !wasReady { logger.notice("ready", metadata: ["services": "\(serviceCount)"]) }
        updateSourceStatus()
        lastSentStatus = status.line
        notify((lines + ["STATUS=\(status.line)"]).joined(separator: "\n"))
        answerReloads()
        // What the refresh built and dropped (decoded apps, the old services) goes back to the kernel
        // rather than staying resident until the next refresh: on the next turn of the loop, once
        // the callbacks that ran this refresh have returned and let go of it.
        loop.schedule(after: .zero) { Memory.trim() }

        if shutdown.isStopping {
            refreshes.finished(startNext: false)
            carryOut(shutdown.refreshFinished())
            return
        }
        refreshes.finished()
    }

    /// Tells each `proxym reload` whose resync this refresh applied that it may return (after
    /// READY=1 went out). SIGWINCH is ignored by default, so even a sender that is gone and whose
    /// pid was reused comes to no harm.
    func answerReloads() {
        for pid in reloadAnswers.refreshFinished() {
            do {
                try queueSignal(pid: pid, signal: .winch, value: ReloadAnswers.marker)
            } catch {
                logger.notice("could not answer proxym reload", metadata: ["pid": "\(pid)", "error": "\(error)"])
            }
        }
    }

    /// A failed apply worth retrying is retried with backoff (`ApplyRetry`); success resets it.
    func scheduleRetry(_ delay: Duration?) {
        if let retryTimer {
            loop.cancel(retryTimer)
            self.retryTimer = nil
        }
        guard let delay, !shutdown.isStopping else { return }
        logger.notice("will retry", metadata: ["in": "\(delay)"])
        retryTimer = loop.schedule(after: delay) { [weak self] in
            self?.retryTimer = nil
            self?.requestRefresh(RefreshReason("retry after failed apply"), immediate: true)
        }
    }

    /// sd_notify that never blocks the loop: what the service manager could not send at once (its
    /// receiver's queue was full) is retried every 100 ms until it is through.
    func notify(_ state: String) {
        if let statusLine = state.split(separator: "\n").last(where: { $0.hasPrefix("STATUS=") }) {
            lastSentStatus = String(statusLine.dropFirst("STATUS=".count))
        }
        serviceManager.notify(state)
        scheduleNotifyRetry()
    }

    func scheduleNotifyRetry() {
        guard notifyRetry == nil, serviceManager.hasPendingNotifications else { return }
        notifyRetry = loop.schedule(after: .milliseconds(100)) { [weak self] in
            guard let self else { return }
            self.notifyRetry = nil
            if !self.serviceManager.flush() { self.scheduleNotifyRetry() }
        }
    }

    func scheduleWatchdog(every interval: Duration) {
        loop.schedule(after: interval) { [weak self] in
            guard let self else { return }
            self.notify("WATCHDOG=1")
            self.scheduleWatchdog(every: interval)
        }
    }
}
