import Glibc
import ProxymPosix

/// Creates a fresh directory under $TMPDIR (or /tmp), runs `body` with its path, and removes it
/// with everything inside afterwards (also when `body` throws).
public func withTemporaryDirectory<R>(
    prefix: String = "proxym-test",
    _ body: (String) throws -> R
) throws -> R {
    let path = try FileSystem.makeTemporaryDirectory(prefix: prefix)
    defer { try? FileSystem.removeTree(path) }
    return try body(path)
}

/// Writes `contents` (UTF-8) to `path`, creating or truncating it. Not atomic: a watcher sees
/// create + close-write, like an editor saving in place.
public func writeFile(_ path: String, _ contents: String, mode: UInt32 = 0o644) throws {
    try FileSystem.writeFile(path, contents: Array(contents.utf8), mode: mode)
}

/// Reads a whole (small) file as UTF-8.
public func readTextFile(_ path: String, limit: Int = 16 * 1024 * 1024) throws -> String {
    String(decoding: try FileSystem.readFile(path, limit: limit), as: UTF8.self)
}

/// Sets an environment variable in this process. Only for the body of an exit test (which runs
/// in a fresh child process): the environment is process-wide and the test runner is shared.
public func setEnvironmentVariableInExitTestOnly(_ name: String, _ value: String) {
    precondition(setenv(name, value, 1) == 0, "setenv(\(name)) failed")
}
