import ProxymPosix

/// Process-wide setup, done once in `main` and nowhere else.
public enum ProcessSetup {
    /// The signals the daemon acts on: SIGUSR1 refresh, SIGHUP resync, SIGTERM/SIGINT stop.
    public static let commandSignals: [Signal] = [.usr1, .hup, .term, .int]

    /// Signals proxym has no use for whose default action would kill or stop it: read from the
    /// signalfd, logged and ignored. Not included: SIGQUIT (a deliberate "quit and dump core"), the
    /// faults a program raises itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS),
    /// SIGKILL and SIGSTOP (which nothing can catch), and SIGTSTP when proxym runs on a terminal (so
    /// Ctrl-Z still suspends it there).
    public static let straySignals: [Signal] = {
        var signals: [Signal] = [.usr2, .alrm, .pipe, .vtalrm, .prof, .poll, .xfsz, .xcpu, .stkflt, .pwr, .ttin, .ttou]
        if !CurrentProcess.isatty(0) { signals.append(.tstp) }
        return signals + Signal.realTime
    }()

    /// The signals the daemon reads through its signalfd.
    public static let daemonSignals = SignalSet(commandSignals + straySignals)

    /// Blocks the daemon's signals (threads created later inherit the mask), so they arrive only
    /// through the loop's signalfd; also ignores SIGPIPE and SIGXFSZ for any thread that might not
    /// block them (blocked, they are still queued for the signalfd): a write to a closed socket
    /// returns EPIPE, and under a file size limit (RLIMIT_FSIZE) writing the config fails with EFBIG,
    /// which proxym reports and retries. Must run first thing in `main`, while it is the only thread.
    /// Children get an empty mask and default dispositions back (`Spawn`).
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
