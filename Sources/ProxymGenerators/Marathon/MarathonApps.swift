import ProxymJSON
import ProxymModel

/// Decodes Marathon's app and task bodies into a ``MarathonSnapshot``.
///
/// Only the fields proxym needs are read (into small structs); every other byte is skipped, though
/// still checked, by a strict pull cursor: a `/v2/apps?embed=apps.tasks` body of 5,000 apps is tens of
/// megabytes, and building a full JSON tree of it first would cost more than everything else a refresh
/// does. A body that is not JSON, or not the expected shape at the top, is a ``MarathonDecodeError``
/// (keep the last good services). A needed field with the wrong type costs only the app (or, in
/// `/v2/tasks`, the task) it is in: it is skipped and named in ``MarathonSnapshot/problems``
/// (`apps[3].tasks[1].ports: expected an array, got a string (app "/shop/web" skipped)`).
///
/// Keys are matched exactly, as Marathon writes them; unknown keys are ignored; `null` counts as absent;
/// when a key repeats, the last occurrence wins.
public enum MarathonApps {
    /// `GET /v2/apps?embed=apps.tasks` (`{"apps": [...]}`) or `GET /v2/apps/{id}` (`{"app": {...}}`).
    /// Without embedded tasks the apps simply have none.
    public static func decode(appsWithTasks bytes: [UInt8]) throws(MarathonDecodeError) -> MarathonSnapshot {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> MarathonSnapshot in try decode(appsWithTasks: raw) }
        }
        return try result.get()
    }

    public static func decode(
        appsWithTasks bytes: UnsafeRawBufferPointer
    ) throws(MarathonDecodeError)
        -> MarathonSnapshot
    {
        try MarathonBody.run(name: "/v2/apps", bytes: bytes) { (c: inout JSONCursor) throws(CursorError) in
            try appsDocument(&c)
        }
    }

    /// The fallback pair: `GET /v2/apps` and `GET /v2/tasks`, joined by app id in linear time. Tasks in
    /// the apps body (if any) are replaced by those of the tasks body.
    public static func decode(apps: [UInt8], tasks: [UInt8]) throws(MarathonDecodeError) -> MarathonSnapshot {
        let snapshot = try decode(appsWithTasks: apps)
        let decoded = try decode(tasks: tasks)
        return join(snapshot, tasks: decoded.tasks, taskProblems: decoded.problems)
    }

    /// `GET /v2/tasks` or `GET /v2/apps/{id}/tasks` (`{"tasks": [...]}`): the tasks, and a problem for
    /// each task that had to be left out.
    public static func decode(
        tasks bytes: [UInt8]
    ) throws(MarathonDecodeError) -> (
        tasks: [MarathonTask], problems: [String]
    ) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> ([MarathonTask], [String]) in
                try MarathonBody.run(name: "/v2/tasks", bytes: raw) { (c: inout JSONCursor) throws(CursorError) in
                    try tasksDocument(&c)
                }
            }
        }
        return try result.get()
    }

    /// Gives each app the tasks whose `appId` is its id (dictionary lookup, never a nested loop).
    public static func join(
        _ snapshot: MarathonSnapshot,
        tasks: [MarathonTask],
        taskProblems: [String] = []
    )
        -> MarathonSnapshot
    {
        var apps = snapshot.apps
        var problems = snapshot.problems + taskProblems
        var index: [String: Int] = [:]
        index.reserveCapacity(apps.count)
        for i in apps.indices {
            apps[i].tasks = []
            if index[apps[i].id] == nil { index[apps[i].id] = i }
        }
        var withoutAppID = 0
        var orphans = 0
        for task in tasks {
            guard let appID = task.appID else {
                withoutAppID += 1
                continue
            }
            guard let i = index[appID] else {
                orphans += 1
                continue
            }
            apps[i].tasks.append(task)
        }
        if withoutAppID > 0 {
            problems.append("/v2/tasks: \(withoutAppID) task(s) without appId ignored")
        }
        if orphans > 0 {
            problems.append(
                "/v2/tasks: \(orphans) task(s) of apps missing from /v2/apps ignored (changed between the two reads)"
            )
        }
        return MarathonSnapshot(apps: apps, problems: problems)
    }

    // MARK: Documents

    static func appsDocument(_ c: inout JSONCursor) throws(CursorError) -> MarathonSnapshot {
        try c.expectObject("")
        var apps: [MarathonApp] = []
        var problems: [String] = []
        var sawApps = false
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "apps") {
                guard try c.enterOptionalArray("apps") else { continue }
                sawApps = true
                var index = 0
                var firstApp = true
                while try c.nextElement(&firstApp) {
                    if let app = try recovering(&c, path: "apps[\(index)]", problems: &problems, decode: decodeApp) {
                        apps.append(app)
                    }
                    index += 1
                }
            } else if c.spanEquals(key, "app") {
                guard try c.peek() != .null else {
                    try c.readNull()
                    continue
                }
                sawApps = true
                if let app = try recovering(&c, path: "app", problems: &problems, decode: decodeApp) {
                    apps.append(app)
                }
            } else {
                try c.skipValue()
            }
        }
        guard sawApps else {
            throw .field(FieldError(path: "", message: "expected an object with \"apps\" (or \"app\")"))
        }
        return MarathonSnapshot(apps: apps, problems: problems)
    }

    static func tasksDocument(_ c: inout JSONCursor) throws(CursorError) -> ([MarathonTask], [String]) {
        try c.expectObject("")
        var tasks: [MarathonTask] = []
        var problems: [String] = []
        var sawTasks = false
        var first = true
        while let key = try c.nextKey(&first) {
            guard c.spanEquals(key, "tasks") else {
                try c.skipValue()
                continue
            }
            guard try c.enterOptionalArray("tasks") else { continue }
            sawTasks = true
            var index = 0
            var firstTask = true
            while try c.nextElement(&firstTask) {
                if let task = try recovering(&c, path: "tasks[\(index)]", problems: &problems, decode: decodeTask) {
                    tasks.append(task)
                }
                index += 1
            }
        }
        guard sawTasks else { throw .field(FieldError(path: "", message: "expected an object with \"tasks\"")) }
        return (tasks, problems)
    }

    /// Decodes one element; on a field error, skips the element whole and reports it instead.
    /// Syntax errors still end the document.
    static func recovering<T>(
        _ c: inout JSONCursor,
        path: @autoclosure () -> String,
        problems: inout [String],
        decode: (inout JSONCursor, inout String?) throws(CursorError) -> T
    ) throws(CursorError) -> T? {
        let mark = c.mark
        var id: String?
        do {
            return try decode(&c, &id)
        } catch {
            guard case .field(let field) = error else { throw error }
            c.reset(to: mark)
            try c.skipValue()
            let what = path().hasPrefix("apps") || path() == "app" ? "app" : "task"
            let name = id.map { " \"\(ValidationError.escaped($0))\"" } ?? ""
            problems.append("\(field.nested(under: path()).description) (\(what)\(name) skipped)")
            return nil
        }
    }

    // MARK: Ids

    /// Reads the value of an app's or a task's `id` key: a string, never `null`; also records it in
    /// `seenID`, so a later error in the same element can name it.
    static func requiredID(_ c: inout JSONCursor, seen seenID: inout String?) throws(CursorError) -> String {
        guard let id = try c.optionalString("id") else {
            throw .field(FieldError(path: "id", message: "must not be null"))
        }
        seenID = id
        return id
    }

    /// The error of an app or a task without an `id` key.
    static var missingID: CursorError { .field(FieldError(path: "id", message: "is required")) }
}
