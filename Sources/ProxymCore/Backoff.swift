/// Delays between retries after failures: `first` (by default `initial`), then `initial` doubling
/// up to `cap` (1 s, 2 s, 4 s ... 60 s by default); `reset()` after a success. The one retry policy
/// of proxym: Marathon requests and the event stream, haproxy restarts, failed applies.
public struct Backoff: Sendable, Equatable {
    public let first: Duration
    public let initial: Duration
    public let cap: Duration
    /// The delay `take()` returns next.
    public private(set) var next: Duration

    /// `first: .zero` retries at once, then backs off from `initial`.
    public init(first: Duration? = nil, initial: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.first = first ?? initial
        self.initial = initial
        self.cap = cap
        self.next = self.first
    }

    public mutating func take() -> Duration {
        let delay = next
        next = min(delay < initial ? initial : delay * 2, cap)
        return delay
    }

    public mutating func reset() { next = first }
}
