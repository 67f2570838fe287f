import ProxymPosix

/// Process-wide setup, done once in `main` and nowhere else.
public enum ProcessSetup {
    /// The signals the daemon reads through its signalfd.
    public static let daemonSignals = SignalSet([.usr1, .hup, .term, .int])

    /// Blocks the daemon's signals (threads created later inherit the mask), ignores SIGPIPE, and
    /// ignores SIGXFSZ: under a file size limit (RLIMIT_FSIZE) writing the config then fails with EFBIG,
    /// which proxym reports and retries, instead of the signal killing the daemon. Must run first thing
    /// in `main`, while it is the only thread. Children get default dispositions back (`Spawn`).
    public static func blockDaemonSignals() throws(SysError) {
        _ = try daemonSignals.blockOnCurrentThread()
        try Signal.pipe.ignore()
        try Signal.xfsz.ignore()
    }

    public static func writeStdout(_ text: String) { try? CurrentProcess.writeAll(fd: 1, bytes: Array(text.utf8)) }
    public static func writeStderr(_ text: String) { try? CurrentProcess.writeAll(fd: 2, bytes: Array(text.utf8)) }
    public static func exit(_ code: Int32) -> Never { CurrentProcess.exit(code) }

    public static func currentDirectory() -> String { (try? CurrentProcess.workingDirectory()) ?? "/" }
}
