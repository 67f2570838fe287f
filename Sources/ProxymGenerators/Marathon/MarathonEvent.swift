/// Marathon's event bus, as proxym uses it: only as a "something changed" signal (events arrive
/// unordered and get dropped; the state is always re-read whole).
public enum MarathonEvent {
    /// The events after which the services may differ (marathon-api.md section 6). `event_stream_attached`
    /// is in it so that every (re)connected SSE stream starts with a full refresh.
    public static let refreshingTypes: Set<String> = [
        "status_update_event", "health_status_changed_event", "instance_health_changed_event", "api_post_event",
        "deployment_success", "deployment_failed", "deployment_step_success", "app_terminated_event",
        "unhealthy_task_kill_event", "unhealthy_instance_kill_event", "instance_changed_event",
        "event_stream_attached",
    ]

    /// The `eventType` of one event body (an HTTP callback POST body or one SSE `data:` payload): the
    /// top-level `eventType` string, or `nil` when the body is not a JSON object or has none.
    ///
    /// Cheap: one pass over the bytes, nested values skipped without being built (they are still
    /// checked, so a truncated body gives `nil`, not a type).
    public static func eventType(fromJSON bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { eventType(fromJSON: $0) }
    }

    public static func eventType(fromJSON bytes: UnsafeRawBufferPointer) -> String? {
        try? MarathonBody.run(name: "event", bytes: bytes) { (c: inout JSONCursor) throws(CursorError) -> String? in
            guard try c.peek() == .object else { return nil }
            try c.enterObject()
            var type: String?
            var first = true
            while let key = try c.nextKey(&first) {
                if c.spanEquals(key, "eventType"), try c.peek() == .string {
                    type = try c.readString()
                } else {
                    try c.skipValue()
                }
            }
            return type
        } ?? nil
    }

    /// The events that concern one app, and name it (`appId`, `runSpecId`, or `appDefinition.id` for
    /// `api_post_event`): the Marathon source re-reads only that app. Every other refreshing event
    /// (deployments, stream attached) asks for a whole snapshot.
    public static let appTypes: Set<String> = [
        "status_update_event", "health_status_changed_event", "instance_health_changed_event", "api_post_event",
        "app_terminated_event", "unhealthy_task_kill_event", "unhealthy_instance_kill_event", "instance_changed_event",
    ]

    /// The deployment events: `deployment_info` and `deployment_step_success` carry the plan (its
    /// id and the apps of every step, and of the current step); `deployment_success` and
    /// `deployment_failed` only the plan's id.
    public static let deploymentTypes: Set<String> = [
        "deployment_info", "deployment_step_success", "deployment_success", "deployment_failed",
    ]

    /// One event body read: its type, and the app it names when its type concerns one app
    /// (``appTypes``) and the id is one ``appPath(_:)`` accepts.
    public struct Parsed: Sendable, Hashable {
        public var type: String?
        public var appID: String?
        /// Deployment events: the plan's id (`plan.id`, or the top-level `id` of success/failure).
        public var deploymentID: String?
        /// Deployment events with a plan: the apps of all its steps (normalized, in order, unique);
        /// `nil` when some action names no plain app id (a pod, a hostile id): then only a whole read
        /// is safe.
        public var planApps: [String]?
        /// `deployment_step_success`: the apps of the step that just succeeded (same rules).
        public var stepApps: [String]?
    }

    /// The apps of a list of deployment actions (`[{"action": ..., "app": "/id"}, ...]`), or nil
    /// when one is not a plain app id.
    private static func readActions(_ c: inout JSONCursor, into apps: inout [String]?) throws(CursorError) {
        guard try c.peek() == .array else {
            try c.skipValue()
            return
        }
        try c.enterArray()
        var firstAction = true
        while try c.nextElement(&firstAction) {
            guard try c.peek() == .object else {
                try c.skipValue()
                apps = nil
                continue
            }
            try c.enterObject()
            var firstKey = true
            var named: String?
            while let key = try c.nextKey(&firstKey) {
                if c.spanEquals(key, "app"), try c.peek() == .string {
                    named = try c.readString()
                } else {
                    try c.skipValue()
                }
            }
            if let named, appPath(named) != nil {
                let id = normalizedID(named)
                if apps?.contains(id) == false { apps?.append(id) }
            } else {
                apps = nil  // a pod, or an id proxym would not put in a URL
            }
        }
    }

    /// `plan`: its id and the apps of all its steps.
    private static func readPlan(_ c: inout JSONCursor, into parsed: inout Parsed) throws(CursorError) {
        guard try c.peek() == .object else {
            try c.skipValue()
            return
        }
        try c.enterObject()
        var apps: [String]? = []
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "id"), try c.peek() == .string {
                parsed.deploymentID = try c.readString()
            } else if c.spanEquals(key, "steps"), try c.peek() == .array {
                try c.enterArray()
                var firstStep = true
                while try c.nextElement(&firstStep) {
                    try readStep(&c, into: &apps)
                }
            } else {
                try c.skipValue()
            }
        }
        parsed.planApps = apps
    }

    /// One step, `{"actions": [...]}`.
    private static func readStep(_ c: inout JSONCursor, into apps: inout [String]?) throws(CursorError) {
        guard try c.peek() == .object else {
            try c.skipValue()
            apps = nil
            return
        }
        try c.enterObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "actions") {
                try readActions(&c, into: &apps)
            } else {
                try c.skipValue()
            }
        }
    }

    public static func parse(fromJSON bytes: [UInt8]) -> Parsed {
        bytes.withUnsafeBytes { raw in
            let read = try? MarathonBody.run(name: "event", bytes: raw) {
                (c: inout JSONCursor) throws(CursorError) -> Parsed in
                var parsed = Parsed()
                guard try c.peek() == .object else { return parsed }
                try c.enterObject()
                var appId: String?
                var runSpecId: String?
                var definitionID: String?
                var topLevelID: String?
                var first = true
                while let key = try c.nextKey(&first) {
                    if c.spanEquals(key, "eventType"), try c.peek() == .string {
                        parsed.type = try c.readString()
                    } else if c.spanEquals(key, "id"), try c.peek() == .string {
                        topLevelID = try c.readString()
                    } else if c.spanEquals(key, "plan") {
                        try readPlan(&c, into: &parsed)
                    } else if c.spanEquals(key, "currentStep") {
                        var apps: [String]? = []
                        try readStep(&c, into: &apps)
                        parsed.stepApps = apps
                    } else if c.spanEquals(key, "appId"), try c.peek() == .string {
                        appId = try c.readString()
                    } else if c.spanEquals(key, "runSpecId"), try c.peek() == .string {
                        runSpecId = try c.readString()
                    } else if c.spanEquals(key, "appDefinition"), try c.peek() == .object {
                        try c.enterObject()
                        var firstInner = true
                        while let inner = try c.nextKey(&firstInner) {
                            if c.spanEquals(inner, "id"), try c.peek() == .string {
                                definitionID = try c.readString()
                            } else {
                                try c.skipValue()
                            }
                        }
                    } else {
                        try c.skipValue()
                    }
                }
                if let type = parsed.type, appTypes.contains(type),
                    let id = appId ?? runSpecId ?? definitionID, appPath(id) != nil
                {
                    parsed.appID = normalizedID(id)
                }
                if let type = parsed.type, deploymentTypes.contains(type) {
                    if parsed.deploymentID == nil { parsed.deploymentID = topLevelID }
                } else {
                    parsed.deploymentID = nil
                    parsed.planApps = nil
                    parsed.stepApps = nil
                }
                return parsed
            }
            return read ?? Parsed()
        }
    }

    /// `/my-app` for `my-app` or `/my-app` (Marathon accepts both in events and URLs).
    public static func normalizedID(_ id: String) -> String { id.hasPrefix("/") ? id : "/" + id }

    /// `/v2/apps/<id>?embed=app.tasks` for a plain app id (segments of letters, digits, `-`, `.`, `_`,
    /// `~`; no `.`/`..` segment; not ending in a sub-resource Marathon would answer instead, such as
    /// `tasks`); `nil` otherwise (then a whole snapshot is read instead).
    public static func appPath(_ id: String) -> String? {
        let normalized = normalizedID(id)
        let segments = normalized.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard !segments.isEmpty, normalized.utf8.count <= 1024 else { return nil }
        for segment in segments {
            guard !segment.isEmpty, !segment.elementsEqual(".".utf8), !segment.elementsEqual("..".utf8) else { return nil }
            for byte in segment {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    continue
                default:
                    return nil
                }
            }
        }
        let last = String(decoding: segments.last!, as: UTF8.self)
        guard !["tasks", "versions", "restart"].contains(last) else { return nil }
        return "/v2/apps" + normalized + "?embed=app.tasks&embed=app.readiness"
    }

    /// Whether an event of this type should trigger a refresh (others are ignored, logged at DEBUG).
    public static func triggersRefresh(_ type: String) -> Bool { refreshingTypes.contains(type) }
}
