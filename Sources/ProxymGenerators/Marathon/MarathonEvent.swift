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

    /// Whether an event of this type should trigger a refresh (others are ignored, logged at DEBUG).
    public static func triggersRefresh(_ type: String) -> Bool { refreshingTypes.contains(type) }
}
