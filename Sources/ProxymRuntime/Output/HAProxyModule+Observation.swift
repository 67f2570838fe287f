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

extension HAProxyModule {
    public var liveConfig: String? { liveText }

    public func takeStageDurations() -> [(String, Duration)] {
        defer { stageDurations = [] }
        return stageDurations
    }

    public var metricFamilies: [MetricFamily] {
        var out: [MetricFamily] = [
            .single("proxym_haproxy_up", .gauge, "1 while haproxy runs as proxym expects (no problem reported).", problem == nil ? 1 : 0),
            MetricFamily(
                "proxym_haproxy_reloads_total", .counter, "Reloads (or starts) of haproxy by proxym, by result.",
                [
                    .init(labels: [("result", "success")], value: Double(reloadCount)),
                    .init(labels: [("result", "failure")], value: Double(reloadFailures)),
                ]),
            MetricFamily(
                "proxym_haproxy_runtime_api_operations_total", .counter,
                "Changes sent through haproxy's Runtime API instead of a reload, by kind (servers, certificates) and result (a failure falls back to a reload).",
                [
                    .init(labels: [("kind", "servers"), ("result", "success")], value: Double(runtimeApplyCount)),
                    .init(labels: [("kind", "servers"), ("result", "failure")], value: Double(runtimeAPIFailures)),
                    .init(labels: [("kind", "certificates"), ("result", "success")], value: Double(certificateRuntimeApplyCount)),
                ]),
            .single(
                "proxym_haproxy_config_size_bytes", .gauge, "Size of the live haproxy configuration.",
                Double(liveText?.utf8.count ?? 0)),
            .single(
                "proxym_haproxy_apply_failures_in_row", .gauge, "Applies that failed in a row (0 after a success).",
                Double(consecutiveFailures)),
        ]
        if let certificates {
            var samples: [MetricFamily.Sample] = []
            for (name, served) in certificates.served.sorted(by: { $0.key < $1.key }) {
                samples.append(.init(labels: [("certificate", name)], value: Double(served.facts.notAfter)))
            }
            if let fallback = certificates.defaultCertificate {
                samples.append(.init(labels: [("certificate", fallback.name)], value: Double(fallback.facts.notAfter)))
            }
            out.append(
                MetricFamily(
                    "proxym_certificate_expiry_timestamp_seconds", .gauge,
                    "When each served certificate expires (notAfter), Unix seconds, by file name.", samples))
            out.append(
                .single(
                    "proxym_certificates_invalid", .gauge, "Files in the certificate directory refused (broken, expired, ...).",
                    Double(certificates.invalid.count)))
        }
        return out
    }
}
