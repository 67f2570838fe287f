import ProxymModel

/// The Marathon source's own state, app by app: what each app maps to (its services, label config
/// lines, problems, and the health memory of its tasks). A full snapshot replaces it whole; an event
/// that names an app replaces that app only (`GET /v2/apps/<id>?embed=app.tasks`, or its removal on a
/// 404).
///
/// Why this equals a whole snapshot: an app's mapping depends only on that app (its definition, its
/// tasks, and the remembered health of its own tasks; task ids are unique per app) and on the options,
/// never on other apps. So mapping apps one at a time and keeping the results by id gives the same
/// services as mapping them all at once, in whatever order the apps were read. The one exception, an
/// app listed twice in one body, can only happen in a whole snapshot and is handled as the whole
/// mapping does (the first is used).
public struct MarathonKeptApps: Sendable {
    /// One app's mapping.
    public struct Entry: Sendable, Hashable {
        /// Its services, each with its option lines (``Service/configLines``).
        public var services: [Service]
        public var problems: [String]
        /// The health of the app's tasks worth remembering (``MarathonHealthMemory``).
        var health: [String: Bool]

        /// Whether the routes differ (services, their config lines included; not the wording of problems).
        public func sameRoutes(as other: Entry) -> Bool { services == other.services }
    }

    public let options: MarathonOptions
    public private(set) var entries: [String: Entry] = [:]
    /// App ids in the order of the last whole snapshot (Marathon's), apps added since at the end: the
    /// order of ``services`` (at start, the merge lets the first of two conflicting services win).
    private var order: [String] = []

    public init(options: MarathonOptions) {
        self.options = options
    }

    public var appCount: Int { entries.count }

    /// Every app's services, in ``order``: kept flat, so that handing them to the refresh costs
    /// nothing; an app whose service count stays the same is replaced in place, anything else
    /// rebuilds the list.
    public private(set) var services: [Service] = []
    /// Where each app's services are in ``services``.
    private var ranges: [String: Range<Int>] = [:]

    private mutating func rebuildServices() {
        var all: [Service] = []
        var ranges: [String: Range<Int>] = [:]
        ranges.reserveCapacity(entries.count)
        for id in order {
            guard let entry = entries[id] else { continue }
            let start = all.count
            all.append(contentsOf: entry.services)
            ranges[id] = start..<all.count
        }
        services = all
        self.ranges = ranges
    }

    /// Every app's problems, in ``order``.
    public var problems: [String] { order.flatMap { entries[$0]?.problems ?? [] } }

    /// Maps one app, with the remembered health of its tasks.
    public static func map(_ app: MarathonApp, options: MarathonOptions, remembered: [String: Bool]) -> Entry {
        var memory = MarathonHealthMemory()
        memory.lastHealth = remembered
        var builder = MarathonMapper.Builder(options: options, health: memory)
        builder.add(app)
        let (mapping, health) = builder.finish()
        return Entry(
            services: mapping.services, problems: mapping.problems,
            health: health.lastHealth)
    }

    /// The outcome of applying one app.
    public struct Change: Sendable {
        /// Whether its routes changed.
        public var routesChanged: Bool
        /// Problems of the app that were not there before.
        public var newProblems: [String]
    }

    /// Applies `GET /v2/apps/<id>` for the app `id`: `app` as decoded, or `nil` when Marathon has no such
    /// app (404), or when the app was unusable (then `problems` says why, as a whole snapshot would).
    @discardableResult
    public mutating func apply(id: String, app: MarathonApp?, problems: [String] = []) -> Change {
        let old = entries[id]
        var entry: Entry?
        if let app {
            precondition(app.id == id, "an app applied under another id")
            entry = Self.map(app, options: options, remembered: old?.health ?? [:])
        } else if !problems.isEmpty {
            // Left out, as in a whole snapshot: nothing routes, only what was said about it stays.
            entry = Entry(services: [], problems: problems, health: [:])
        }
        set(id, entry)
        let none = Entry(services: [], problems: [], health: [:])
        let before = Set(old?.problems ?? [])
        return Change(
            routesChanged: !(old ?? none).sameRoutes(as: entry ?? none),
            newProblems: (entry?.problems ?? []).filter { !before.contains($0) })
    }

    private mutating func set(_ id: String, _ entry: Entry?) {
        let exists = entries[id] != nil
        entries[id] = entry
        switch (exists, entry != nil) {
        case (false, true):
            order.append(id)
        case (true, false):
            if let index = order.lastIndex(of: id) { order.remove(at: index) }
        default:
            break
        }
        if let entry, let range = ranges[id], range.count == entry.services.count {
            services.replaceSubrange(range, with: entry.services)
        } else {
            rebuildServices()
        }
    }

    // MARK: Whole snapshots

    /// A whole snapshot being mapped app by app while it is read (the kept state is left alone until
    /// ``MarathonKeptApps/replace(with:ignoring:)``).
    public struct Snapshot: Sendable {
        let options: MarathonOptions
        let remembered: [String: Entry]
        var entries: [String: Entry] = [:]
        var order: [String] = []
        /// Problems of the body as a whole (apps listed twice).
        public private(set) var problems: [String] = []

        public var appCount: Int { entries.count }

        public mutating func add(_ app: MarathonApp) {
            guard entries[app.id] == nil else {
                problems.append("app \(MarathonMapper.quoted(app.id)): listed twice; the first is used")
                return
            }
            entries[app.id] = MarathonKeptApps.map(app, options: options, remembered: remembered[app.id]?.health ?? [:])
            order.append(app.id)
        }
    }

    /// A snapshot to fill, remembering this state's task health.
    public func snapshot() -> Snapshot {
        Snapshot(options: options, remembered: entries)
    }

    /// Replaces the whole state with a snapshot (the snapshot wins). Returns the ids of apps whose
    /// routes the kept state had differently (added, removed or changed), sorted, leaving out those
    /// in `ignoring` (apps named by events the state has not caught up with yet).
    @discardableResult
    public mutating func replace(with snapshot: Snapshot, ignoring: Set<String> = []) -> [String] {
        var differing: [String] = []
        for (id, entry) in snapshot.entries where !ignoring.contains(id) {
            if let old = entries[id] {
                if !old.sameRoutes(as: entry) { differing.append(id) }
            } else if !entry.services.isEmpty {
                differing.append(id)
            }
        }
        for (id, old) in entries where snapshot.entries[id] == nil && !ignoring.contains(id) && !old.services.isEmpty {
            differing.append(id)
        }
        entries = snapshot.entries
        order = snapshot.order
        rebuildServices()
        return differing.sorted()
    }
}
