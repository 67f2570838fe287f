/// The health each running task of an app with health checks last had, by task id, so that a Marathon
/// leader change does not take healthy tasks out of rotation.
///
/// Marathon keeps health results in the leader's memory only: right after a leader change (or a
/// restart) every task's `healthCheckResults` is empty, or shorter than its checks, until the new
/// leader's first probes come back. Read literally, every app with health checks would lose all its
/// backends for that time. So a task that is still running and now has *incomplete* results (none
/// failing) keeps the health it last had with complete results. A fresh task has no memory and stays
/// out until its checks pass; a failing result always counts at once.
///
/// Owned by whoever runs refreshes; passed to every ``MarathonMapper/services(from:options:health:)``
/// call, which replaces the content with this snapshot's tasks (vanished tasks are forgotten). Keep it
/// unchanged when a snapshot could not be fetched or decoded.
public struct MarathonHealthMemory: Sendable, Hashable {
    var lastHealth: [String: Bool] = [:]

    public init() {}

    /// Tasks remembered.
    public var count: Int { lastHealth.count }

    /// The health remembered for a task, if any.
    public func lastKnownHealth(ofTask id: String) -> Bool? { lastHealth[id] }

    /// Whether a running task of an app with `checks` health checks is healthy, given its results now
    /// and what was remembered; records the answer in `next` when it is worth remembering.
    static func evaluate(
        task: MarathonTask,
        checks: Int,
        remembered: MarathonHealthMemory,
        next: inout [String: Bool]
    ) -> Bool {
        let results = task.healthResults
        if results.contains(false) {
            next[task.id] = false
            return false
        }
        if results.count >= checks {
            next[task.id] = true
            return true
        }
        // Incomplete, nothing failing: after a leader change this is "unknown", not "unhealthy".
        guard let last = remembered.lastHealth[task.id] else { return false }
        next[task.id] = last
        return last
    }
}
