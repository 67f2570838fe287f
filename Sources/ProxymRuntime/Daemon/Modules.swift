import ProxymCore
import ProxymModel

/// A generator failed to produce its list this time; the daemon keeps its last good services.
public struct GeneratorFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Produces the complete current list of services of one source (never a delta).
public protocol ServiceGenerator: AnyObject {
    /// Short name for logs and the status line: `file`, `marathon`.
    var name: String { get }
    /// Calls `completion` exactly once, possibly before returning. `fullResync` asks to re-read
    /// everything rather than trust caches (SIGHUP, startup).
    func generate(fullResync: Bool, completion: @escaping (Result<[Service], GeneratorFailure>) -> Void)
    /// A short note for the STATUS line about inputs this source refused while still working (e.g.
    /// invalid service files keeping their last good version); nil when there is nothing to say.
    var statusNote: String? { get }
}

extension ServiceGenerator {
    public var statusNote: String? { nil }
}

/// Says "something changed"; never carries data.
public protocol Notifier: AnyObject {
    func start(notify: @escaping (RefreshReason) -> Void) throws
    /// Stops noticing; `done` runs once the notifier has cleaned up (e.g. unregistered a callback),
    /// possibly before this returns. The daemon waits for it, within a few seconds.
    func stop(done: @escaping () -> Void)
}

public enum ApplyOutcome: Sendable, Equatable {
    /// Nothing to do: the rendered text equals what is live.
    case unchanged(String)
    case applied(String)
    /// `retry`: worth trying again later with the same input (a reload command failed), as opposed to
    /// input haproxy rejected (which only a change of input can fix).
    case failed(String, retry: Bool)

    /// Not `.failed`: what is live is what was asked for.
    public var isSuccess: Bool {
        if case .failed = self { return false }
        return true
    }

    public var summary: String {
        switch self {
        case .unchanged(let s): return s
        case .applied(let s): return s
        case .failed(let s, _): return "FAILED: \(s)"
        }
    }
}

/// Turns all services into a proxy configuration and applies it.
public protocol ConfigGenerator: AnyObject {
    var name: String { get }
    /// `force`: write and reload even when the text is unchanged (SIGHUP).
    func apply(_ services: [Service], force: Bool, completion: @escaping (ApplyOutcome) -> Void)
    /// What is wrong with the output outside any apply (haproxy died and is being restarted, ...),
    /// phrased for the STATUS line; nil when all is well.
    var problem: String? { get }
    /// `problems` runs (on the loop) whenever `problem` changes; `restarts` when the proxy was started
    /// again from the file on disk (after it died).
    func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void)
    /// Notes for the STATUS line about this output's own inputs (certificates refused, ACME orders
    /// failing), each phrased for a person; empty when there is nothing to say.
    var statusNotes: [String] { get }
}

extension ConfigGenerator {
    public var problem: String? { nil }
    public var statusNotes: [String] { [] }
    public func observe(problems: @escaping () -> Void, restarts: @escaping () -> Void) {}
}
