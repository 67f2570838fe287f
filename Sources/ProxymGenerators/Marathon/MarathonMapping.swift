import ProxymModel

/// What one mapping produced.
public struct MarathonMapping: Sendable, Hashable {
    /// One service per exposed app port, in snapshot order (apps), then port order. Lines of a
    /// `proxym.port.<n>.config` label (only with ``MarathonOptions/allowLabelConfig``) are on the
    /// service itself (`Service.configLines`), checked line by line (`OptionLine`).
    public var services: [Service]
    /// Everything worth a log line: apps or ports left out and why, labels ignored. Stable wording and
    /// order for the same snapshot, so a caller can log only what changed.
    public var problems: [String]
    /// Ids (as Marathon wrote them) of apps left out because something about them was invalid; apps
    /// filtered out by group are not listed. A caller may keep such apps' last good services.
    public var skippedApps: [String]

    public init(
        services: [Service] = [],
        problems: [String] = [],
        skippedApps: [String] = []
    ) {
        self.services = services
        self.problems = problems
        self.skippedApps = skippedApps
    }
}
