import ProxymModel

/// What one mapping produced.
public struct MarathonMapping: Sendable, Hashable {
    /// One service per exposed app port, in snapshot order (apps), then port order.
    public var services: [Service]
    /// Raw HAProxy lines from `proxym.port.<n>.config` labels (only with
    /// ``MarathonOptions/allowLabelConfig``), per service, already split into lines and stripped of
    /// control characters. For the renderer's `ServiceOptions.configLines` of that service.
    public var configLines: [ServiceID: [String]]
    /// Everything worth a log line: apps or ports left out and why, labels ignored. Stable wording and
    /// order for the same snapshot, so a caller can log only what changed.
    public var problems: [String]
    /// Ids (as Marathon wrote them) of apps left out because something about them was invalid; apps
    /// filtered out by group are not listed. A caller may keep such apps' last good services.
    public var skippedApps: [String]

    public init(
        services: [Service] = [],
        configLines: [ServiceID: [String]] = [:],
        problems: [String] = [],
        skippedApps: [String] = []
    ) {
        self.services = services
        self.configLines = configLines
        self.problems = problems
        self.skippedApps = skippedApps
    }
}
