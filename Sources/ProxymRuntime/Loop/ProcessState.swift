import ProxymPosix

enum ProcessState {
    /// kill(pid, 0): the process exists (EPERM means it exists but belongs to someone else), and it
    /// is not a zombie: a daemonized haproxy that died stays one when init does not reap (a container
    /// without an init process), and would otherwise count as running forever.
    static func isAlive(_ pid: Int32) -> Bool {
        do {
            try kill(pid: pid, signal: Signal(rawValue: 0))
        } catch {
            if !error.isPermissionDenied { return false }
        }
        return !isZombie(pid)
    }

    /// The state in /proc/<pid>/stat is `Z`. The command name before it is in parentheses and may
    /// hold anything, so the state is read after the last `)`.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count
        else { return false }
        return stat[close + 2] == UInt8(ascii: "Z")
    }
}
