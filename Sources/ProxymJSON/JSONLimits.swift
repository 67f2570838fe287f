/// Bounds that keep a hostile or broken document from costing more than it is worth.
public struct JSONLimits: Sendable, Hashable {
    /// Largest nesting of arrays and objects; a top-level `[]` or `{}` is depth 1.
    public let maxDepth: Int
    /// Largest document, in bytes (a leading byte order mark included).
    public let maxBytes: Int

    /// The reader recurses once per level, so `maxDepth` is capped at ``depthCeiling`` to stay well
    /// inside the smallest thread stack we run on.
    public init(maxDepth: Int = 64, maxBytes: Int = 64 << 20) {
        precondition(
            maxDepth >= 1 && maxDepth <= JSONLimits.depthCeiling, "maxDepth must be 1...\(JSONLimits.depthCeiling)")
        precondition(maxBytes >= 0, "maxBytes must not be negative")
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public static let depthCeiling = 512

    /// 64 levels, 64 MiB: room for a large Marathon `/v2/apps?embed=apps.tasks` body.
    public static let `default` = JSONLimits()
}
