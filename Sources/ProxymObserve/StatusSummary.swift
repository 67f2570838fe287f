import ProxymJSON

/// `proxym status`: the status document (`GET /api/v1/status`) as a few lines a person reads.
///
///     proxym 1.2.0: HEALTHY, up 2h 5m, 12 services
///     source file      ok        12 services, last success 3s ago
///     source marathon  failing    0 services, last success never: connection refused (since 40s ago)
///     haproxy (sf)     pids 4711 4712, 3 reloads, last reload 1m ago
///     last refresh     5s ago: file web.json changed -> applied, haproxy reloaded (12 ms)
///     PROBLEM: marathon: stale for 3m (connection refused)
public enum StatusSummary {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func render(json text: String) throws(Failure) -> (lines: String, healthy: Bool) {
        let document: JSONValue
        do {
            document = try JSONReader.parse(text)
        } catch {
            throw Failure(description: "the answer is not JSON: \(error)")
        }
        guard let root = document.objectValue, let healthy = root["healthy"]?.boolValue else {
            throw Failure(description: "the answer is not a proxym status document")
        }
        let now = int(root["time"]) ?? 0
        func ago(_ value: JSONValue?) -> String {
            guard let at = int(value) else { return "never" }
            return HealthVerdict.format(.seconds(max(0, now - at))) + " ago"
        }
        var lines: [String] = []
        let version = root["version"]?.stringValue ?? "?"
        let uptime = (root["uptimeSeconds"]?.numberValue?.double).map { HealthVerdict.format(.seconds(Int64($0))) } ?? "?"
        let services = int(root["services"]) ?? 0
        let ready = root["ready"]?.boolValue ?? false
        lines.append(
            "proxym \(version): \(healthy ? "HEALTHY" : "UNHEALTHY")\(ready ? "" : " (starting)"), up \(uptime), \(services) service\(services == 1 ? "" : "s")"
                + ((int(root["skippedServices"]) ?? 0) > 0 ? " (\(int(root["skippedServices"])!) skipped)" : ""))
        let sources = root["sources"]?.arrayValue ?? []
        let width = max(8, sources.compactMap { $0.objectValue?["name"]?.stringValue?.count }.max() ?? 0)
        for case .object(let source) in sources {
            let name = source["name"]?.stringValue ?? "?"
            let state = source["state"]?.stringValue ?? "?"
            let count = int(source["services"]) ?? 0
            var line = "source \(pad(name, width))  \(pad(state, 8)) \(count) service\(count == 1 ? "" : "s"), last success \(ago(source["lastSuccess"]))"
            if let error = source["lastError"]?.stringValue {
                line += ": \(error) (since \(ago(source["failingSince"])))"
            }
            if let note = source["note"]?.stringValue { line += "; \(note)" }
            lines.append(line)
        }
        for case .object(let output) in root["outputs"]?.arrayValue ?? [] {
            let name = output["name"]?.stringValue ?? "?"
            let method = output["method"]?.stringValue ?? "?"
            let pids = (output["pids"]?.arrayValue ?? []).compactMap { int($0) }.map(String.init)
            let reloads = int(output["reloads"]) ?? 0
            var line = "\(name) (\(method))  " + (pids.isEmpty ? "no pids known" : "pid\(pids.count == 1 ? "" : "s") \(pids.joined(separator: " "))")
            line += ", \(reloads) reload\(reloads == 1 ? "" : "s")"
            if output["lastReload"]?.isNull == false { line += ", last reload \(ago(output["lastReload"]))" }
            if let problem = output["problem"]?.stringValue { line += ": \(problem)" }
            lines.append(line)
        }
        if case .object(let last)? = root["refreshes"]?.arrayValue?.first {
            let ms = Int(((last["durationSeconds"]?.numberValue?.double) ?? 0) * 1000)
            lines.append(
                "last refresh \(ago(last["startedAt"])): \(last["trigger"]?.stringValue ?? "?") -> \(last["outcome"]?.stringValue ?? "?") (\(ms) ms)"
            )
        } else {
            lines.append("last refresh: none yet")
        }
        if case .object(let held)? = root["held"] {
            lines.append("HELD since \(ago(held["since"])): \(held["reason"]?.stringValue ?? "?")")
        }
        for case .string(let problem) in root["problems"]?.arrayValue ?? [] { lines.append("PROBLEM: \(problem)") }
        for case .string(let warning) in root["warnings"]?.arrayValue ?? [] { lines.append("note: \(warning)") }
        return (lines.joined(separator: "\n") + "\n", healthy)
    }

    static func int(_ value: JSONValue?) -> Int64? {
        guard let number = value?.numberValue else { return nil }
        return number.int.map(Int64.init) ?? Int64(number.double)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
