/// Decides whether a freshly decoded snapshot may replace the last good one, for the one lie a
/// well-formed body can tell: an empty app list where there were apps, as a Marathon that has just won
/// an election (or restarted) may serve before it has loaded its state.
///
/// An empty list after a non-empty one is held back until it has been seen `confirmations` times in a
/// row (the caller re-fetches with its backoff meanwhile and keeps its last good services); a
/// non-empty list is always accepted. Deleting every app therefore takes effect a few fetches late,
/// which is the safe side. Pure: it counts fetches, the caller owns time.
public struct MarathonSnapshotGuard: Sendable, Hashable {
    public enum Verdict: Sendable, Hashable {
        case accept
        /// Keep the last good services and fetch again soon; the text is for logs and the status line.
        case holdBack(String)
    }

    public let confirmations: Int
    /// Apps in the last accepted snapshot; `nil` before the first.
    public private(set) var lastAcceptedAppCount: Int?
    private var emptyInARow = 0

    public init(confirmations: Int = 3) {
        precondition(confirmations >= 1)
        self.confirmations = confirmations
    }

    public mutating func check(appCount: Int) -> Verdict {
        guard appCount == 0, let last = lastAcceptedAppCount, last > 0 else {
            emptyInARow = 0
            lastAcceptedAppCount = appCount
            return .accept
        }
        emptyInARow += 1
        guard emptyInARow >= confirmations else {
            return .holdBack(
                "Marathon lists no apps (it had \(last)); keeping the last good services until "
                    + "\(confirmations) reads agree (\(emptyInARow) so far)"
            )
        }
        emptyInARow = 0
        lastAcceptedAppCount = 0
        return .accept
    }
}
