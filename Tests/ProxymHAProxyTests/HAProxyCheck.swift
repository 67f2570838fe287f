import Glibc

/// Runs `haproxy -c -f <file>` with posix_spawn and collects its exit status and output.
///
/// A private helper for this test target (ProxymTestSupport grows its own runner in parallel).
enum HAProxyCheck {
    /// `haproxy` from PATH, or nil when it is not installed (the checks are then disabled).
    static let executable: String? = {
        guard let path = getenv("PATH").map({ String(cString: $0) }) else { return nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = String(directory) + "/haproxy"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }()

    static var isAvailable: Bool { executable != nil }

    struct Result: CustomStringConvertible {
        var exitStatus: Int32
        var output: String
        var description: String { "exit \(exitStatus)\n\(output)" }
    }

    /// `haproxy -c -f path`; stdout and stderr together in `output`.
    static func check(configPath: String) -> Result {
        guard let executable else { return Result(exitStatus: -1, output: "haproxy not in PATH") }

        // Output goes to an unlinked temp file, so a chatty child can never block on a full pipe.
        var template = Array("/tmp/proxym-haproxy-check-XXXXXX".utf8CString)
        let outputFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard outputFD >= 0 else { return Result(exitStatus: -1, output: "mkstemp failed: errno \(errno)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(outputFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)

        let arguments = [executable, "-c", "-f", configPath]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }

        var pid: pid_t = 0
        let spawnError = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        guard spawnError == 0 else { return Result(exitStatus: -1, output: "posix_spawn failed: errno \(spawnError)") }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return Result(exitStatus: -1, output: "waitpid failed: errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift does not import.
        let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -(status & 0x7F)

        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(outputFD, $0.baseAddress, $0.count, offset) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
            offset += off_t(count)
        }
        return Result(exitStatus: exitStatus, output: String(decoding: bytes, as: UTF8.self))
    }
}
