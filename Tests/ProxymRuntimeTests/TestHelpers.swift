import ProxymCore
import ProxymPosix
import ProxymRuntime

// Swift Testing declares its own `ExitStatus` (for exit tests); ours is the child status.
typealias ExitStatus = ProxymPosix.ExitStatus

/// Steps the loop with `runOnce` until `condition` holds or `timeout` passes. Returns whether
/// the condition held. Bounded, so a broken source fails the test instead of hanging it.
@discardableResult
func pump(_ loop: EventLoop, timeout: Duration = .seconds(10), until condition: () -> Bool) throws -> Bool {
    let deadline = loop.now + timeout
    while !condition() {
        let left = deadline - loop.now
        if left <= .zero { return false }
        try loop.runOnce(timeout: min(left, .milliseconds(100)))
    }
    return true
}
