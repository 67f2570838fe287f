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
        var health: MarathonHealthMemory
        /// Where its services start in the kept state's flat list (bookkeeping of
        /// ``MarathonKeptApps``, not part of the mapping: not compared, not hashed). Kept here rather
        /// than in a dictionary of its own, which cost 260 KB at 5,000 apps.
        fileprivate var start = 0

        init(services: [Service], problems: [String], health: MarathonHealthMemory) {
            self.services = services
            self.problems = problems
            self.health = health
        }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.services == b.services && a.problems == b.problems && a.health == b.health
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(services)
            hasher.combine(problems)
            hasher.combine(health)
        }

        /// Whether the routes differ (services, their config lines included; not the wording of problems).
        public func sameRoutes(as other: Entry) -> Bool { services == other.services }

        /// This entry, holding `old`'s storage for whatever is equal in both (each equal service, the
        /// health memory, the problems): a whole read or an app read that changes nothing keeps the
        /// values already kept, rendered and applied, instead of a second copy of each. Equal values,
        /// so nothing observable changes; what it saves is memory (the old copies are not held beside
        /// the new ones by the last applied state) and time (unchanged services are then recognised
        /// by identity downstream, see ``Service/isSameStorage(as:)``).
        func reusing(_ old: Entry?) -> Entry {
            guard let old else { return self }
            var entry = self
            if services.count == old.services.count {
                for index in services.indices where services[index] == old.services[index] {
                    entry.services[index] = old.services[index]
                }
            }
            if health == old.health { entry.health = old.health }
            if problems == old.problems { entry.problems = old.problems }
            return entry
        }
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

    private mutating func rebuildServices() {
        var all: [Service] = []
        for id in order {
            guard let index = entries.index(forKey: id) else { continue }
            entries.values[index].start = all.count
            all.append(contentsOf: entries.values[index].services)
        }
        services = all
    }

    /// Every app's problems, in ``order``.
    public var problems: [String] { order.flatMap { entries[$0]?.problems ?? [] } }

    /// Maps one app, with the remembered health of its tasks.
    public static func map(_ app: MarathonApp, options: MarathonOptions, remembered: MarathonHealthMemory) -> Entry {
        var builder = MarathonMapper.Builder(options: options, health: remembered)
        builder.add(app)
        let (mapping, health) = builder.finish()
        return Entry(
            services: mapping.services, problems: mapping.problems,
            health: health)
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
            entry = Self.map(app, options: options, remembered: old?.health ?? MarathonHealthMemory()).reusing(old)
        } else if !problems.isEmpty {
            // Left out, as in a whole snapshot: nothing routes, only what was said about it stays.
            entry = Entry(services: [], problems: problems, health: MarathonHealthMemory())
        }
        set(id, entry)
        let none = Entry(services: [], problems: [], health: MarathonHealthMemory())
        let before = Set(old?.problems ?? [])
        return Change(
            routesChanged: !(old ?? none).sameRoutes(as: entry ?? none),
            newProblems: (entry?.problems ?? []).filter { !before.contains($0) })
    }

    private mutating func set(_ id: String, _ entry: Entry?) {
        let old = entries[id]
        var entry = entry
        if let old, entry?.services.count == old.services.count { entry?.start = old.start }
        entries[id] = entry
        let exists = old != nil
        switch (exists, entry != nil) {
        case (false, true):
            order.append(id)
        case (true, false):
            if let index = order.lastIndex(of: id) { order.remove(at: index) }
        default:
            break
        }
        if let entry, let old, entry.services.count == old.services.count {
            services.replaceSubrange(old.start..<(old.start + old.services.count), with: entry.services)
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
            let old = remembered[app.id]
            entries[app.id] = MarathonKeptApps.map(app, options: options, remembered: old?.health ?? MarathonHealthMemory()).reusing(old)
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
