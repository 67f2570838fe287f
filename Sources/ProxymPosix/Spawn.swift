import CSystemd
import Glibc

/// posix_spawn with the care a daemon needs: the child starts with an empty signal mask and
/// default dispositions (we block signals and ignore SIGPIPE; a child must not inherit that),
/// stdin from /dev/null, an explicit environment, no fd of ours except 0/1/2 (every fd proxym
/// creates is close-on-exec), and a pidfd for the result.
public enum Spawn {
    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable, Hashable {
        /// Our own fd 1/2 (e.g. the journal stream).
        case inherit
        /// /dev/null.
        case null
        /// A pipe: the child writes a blocking end, we get a CLOEXEC+NONBLOCK read end.
        case pipe
    }

    /// Starts `executable` (an absolute or relative path; a name without "/" is searched in
    /// *our* PATH by posix_spawnp) with argv `[argv0 ?? executable] + arguments` and exactly
    /// `environment` ("KEY=VALUE" entries).
    ///
    /// Errors: a missing or non-executable program throws `posix_spawn <exe>: No such file or
    /// directory (errno 2)` and friends (glibc reports exec failures synchronously). No fd leaks
    /// on any path: every fd here is owned by an `OwnedFD` until it is returned.
    public static func start(
        executable: String,
        arguments: [String] = [],
        environment: [String],
        argv0: String? = nil,
        stdout: Output = .null,
        stderr: Output = .null
    ) throws(SysError) -> SpawnedProcess {
        var stdoutPipe: FDPair? = nil
        var stderrPipe: FDPair? = nil
        if stdout == .pipe { stdoutPipe = try Pipe.create(nonBlockingRead: true, nonBlockingWrite: false) }
        if stderr == .pipe { stderrPipe = try Pipe.create(nonBlockingRead: true, nonBlockingWrite: false) }

        let actions = UnsafeMutablePointer<posix_spawn_file_actions_t>.allocate(capacity: 1)
        defer { actions.deallocate() }
        try check("posix_spawn_file_actions_init", posix_spawn_file_actions_init(actions))
        defer { posix_spawn_file_actions_destroy(actions) }

        let attributes = UnsafeMutablePointer<posix_spawnattr_t>.allocate(capacity: 1)
        defer { attributes.deallocate() }
        try check("posix_spawnattr_init", posix_spawnattr_init(attributes))
        defer { posix_spawnattr_destroy(attributes) }

        try addStandardFiles(
            actions, stdoutWriteEnd: stdoutPipe?.second.rawValue, stderrWriteEnd: stderrPipe?.second.rawValue,
            stdout: stdout, stderr: stderr)
        try setDefaultSignals(attributes)

        let argv = CStringArray([argv0 ?? executable] + arguments)
        defer { argv.free() }
        let envp = CStringArray(environment)
        defer { envp.free() }

        var pid: pid_t = 0
        let rc: Int32
        if executable.contains("/") {
            rc = posix_spawn(&pid, executable, actions, attributes, argv.pointers, envp.pointers)
        } else {
            rc = posix_spawnp(&pid, executable, actions, attributes, argv.pointers, envp.pointers)
        }
        try check("posix_spawn(\(executable))", rc)

        // Keep the read ends; the parent's copies of the write ends close at the end of these
        // scopes, so EOF on a read end means "every writer in the child tree is gone".
        var stdoutRead: OwnedFD? = nil
        if let pair = stdoutPipe.take() { stdoutRead = consume pair.first }
        var stderrRead: OwnedFD? = nil
        if let pair = stderrPipe.take() { stderrRead = consume pair.first }

        let pidfd: OwnedFD
        do {
            pidfd = try PidFD.open(pid: pid)
        } catch {
            // Without a pidfd we can not supervise the child safely: stop it and reap it.
            _ = Glibc.kill(pid, SIGKILL)
            _ = ChildReaper.waitBlocking(pid)
            throw error
        }
        return SpawnedProcess(pid: pid, pidfd: pidfd, stdout: stdoutRead.take(), stderr: stderrRead.take())
    }

    /// The child's fds: stdin from /dev/null, stdout and stderr as asked, nothing above 2.
    private static func addStandardFiles(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
        stdoutWriteEnd: CInt?, stderrWriteEnd: CInt?, stdout: Output, stderr: Output
    ) throws(SysError) {
        // stdin: /dev/null.
        try check(
            "posix_spawn_file_actions_addopen(/dev/null)",
            posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
        )
        // stdout/stderr. dup2 onto 1/2 clears close-on-exec on the child's copy, and the
        // original write ends are close-on-exec, so the child holds exactly one write end each.
        try redirect(actions, fd: 1, output: stdout, writeEnd: stdoutWriteEnd)
        try redirect(actions, fd: 2, output: stderr, writeEnd: stderrWriteEnd)
        // Everything above 2 closes in the child, even fds a library (libcurl's threaded resolver
        // socketpair) created without close-on-exec: haproxy must never inherit ours.
        try check(
            "posix_spawn_file_actions_addclosefrom_np",
            posix_spawn_file_actions_addclosefrom_np(actions, 3))
    }

    /// The child's signals: an empty mask and every catchable signal's default action.
    private static func setDefaultSignals(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>) throws(SysError) {
        // SIGKILL and SIGSTOP stay out of the set: they can not be reset, and asking may fail the
        // child on some libcs.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        try check("posix_spawnattr_setsigmask", posix_spawnattr_setsigmask(attributes, &emptyMask))
        try check("posix_spawnattr_setsigdefault", posix_spawnattr_setsigdefault(attributes, &defaults))
        try check(
            "posix_spawnattr_setflags",
            posix_spawnattr_setflags(attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        )
    }

    private static func redirect(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
        fd: CInt,
        output: Output,
        writeEnd: CInt?
    ) throws(SysError) {
        switch output {
        case .inherit:
            return
        case .null:
            try check(
                "posix_spawn_file_actions_addopen(/dev/null)",
                posix_spawn_file_actions_addopen(actions, fd, "/dev/null", O_WRONLY, 0)
            )
        case .pipe:
            guard let writeEnd else { preconditionFailure("pipe output without a pipe") }
            try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, writeEnd, fd))
        }
    }
}

/// A started child: its pid, a pidfd (readable when it exits) and the read ends of the pipes
/// asked for (close-on-exec and non-blocking). `@frozen` so callers in other modules may move
/// single fields out (partial consumption of a non-copyable struct).
@frozen
public struct SpawnedProcess: ~Copyable, Sendable {
    public let pid: Int32
    public var pidfd: OwnedFD
    public var stdout: OwnedFD?
    public var stderr: OwnedFD?

    public init(pid: Int32, pidfd: consuming OwnedFD, stdout: consuming OwnedFD?, stderr: consuming OwnedFD?) {
        self.pid = pid
        self.pidfd = pidfd
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A NULL-terminated `char *[]` built from Swift strings, freed explicitly.
struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointers[index] = strdup(string)
        }
        pointers[strings.count] = nil
    }

    func free() {
        for index in 0..<count { Glibc.free(pointers[index]) }
        pointers.deallocate()
    }
}
