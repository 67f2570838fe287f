/// One consistent read of Marathon: the apps (each with its tasks) and what was wrong with the apps
/// or tasks that had to be left out.
public struct MarathonSnapshot: Sendable, Hashable {
    public var apps: [MarathonApp]
    /// One line per app or task left out, naming the JSON path (`apps[3].tasks[1].ports: ...`).
    public var problems: [String]

    public init(apps: [MarathonApp], problems: [String] = []) {
        self.apps = apps
        self.problems = problems
    }
}

/// Why a whole Marathon body is unusable (not JSON, or not the expected shape at the top). Problems
/// with single apps or tasks are not errors: they are reported in ``MarathonSnapshot/problems``.
public struct MarathonDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which body: `/v2/apps`, `/v2/tasks`, `/v2/info`...
    public var body: String
    public var message: String

    public init(body: String, message: String) {
        self.body = body
        self.message = message
    }

    public var description: String { "\(body): \(message)" }
}
