/// The environment handed to children: ours without systemd's per-process variables, so haproxy or a
/// reload command never talks to our notify socket or believes it was socket-activated.
enum ChildEnvironment {
    static let stripped: Set<String> = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
    ]
    static func make(from environment: [String: String]) -> [String] {
        environment.filter { !stripped.contains($0.key) }.map { "\($0.key)=\($0.value)" }.sorted()
    }
}
