/// One dispatched Server-Sent Event.
///
/// Marathon 0.11 and later name the event (`event: status_update_event`); before that only `data:`
/// lines were sent, `event` is nil, and the name is the `eventType` member of the JSON in `data`.
public struct SSEEvent: Sendable, Hashable, CustomStringConvertible {
    /// The `event:` field, or nil when absent or empty (the browser's default `message`).
    public var event: String?
    /// The `data:` lines joined with `\n` (no trailing newline). Marathon sends one JSON document
    /// per line, and a few servers several lines per event, so split on `\n` to be safe.
    public var data: String
    /// The last event ID (WHATWG's "last event ID buffer") when the event was dispatched: set by an
    /// `id:` field in this or an earlier event; nil when empty.
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }

    public var description: String {
        "SSEEvent(event: \(event ?? "nil"), id: \(id ?? "nil"), data: \(data.utf8.count) bytes)"
    }
}

/// The stream broke the parser's bounds; drop the connection and reconnect.
public struct SSEParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The limit that was exceeded, in bytes.
    public let maxEventLength: Int

    public init(maxEventLength: Int) { self.maxEventLength = maxEventLength }

    public var description: String { "an event is longer than \(maxEventLength) bytes" }
}
