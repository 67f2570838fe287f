import ProxymPosix

// Swift Testing declares its own `ExitStatus` (for exit tests); ours is the child status.
// A module-local alias wins over both imports.
typealias ExitStatus = ProxymPosix.ExitStatus
