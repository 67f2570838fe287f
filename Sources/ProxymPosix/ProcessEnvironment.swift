import Glibc

/// The process environment, read-only. (Changing it is process-wide state: proxym never does,
/// and passes children an explicit environment instead.)
public enum ProcessEnvironment {
    /// Every `KEY=VALUE` entry of `environ`. A key given twice keeps its first value, as getenv does.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var cursor: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard cursor != nil else { return result }
        while let current = cursor, let entry = current.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                let key = String(text[..<equals])
                if result[key] == nil { result[key] = String(text[text.index(after: equals)...]) }
            }
            cursor = current + 1
        }
        return result
    }

    /// getenv(3).
    public static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }

    /// `KEY=VALUE` entries for `Spawn.start(environment:)`, sorted by key for stable output.
    public static func entries(_ environment: [String: String]) -> [String] {
        environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}

/// Facts about this process that the log handler and the daemon need.
public enum CurrentProcess {
    public static var pid: Int32 { getpid() }

    public static func isatty(_ fd: CInt) -> Bool { Glibc.isatty(fd) == 1 }

    /// Device and inode of an open fd, to compare with `JOURNAL_STREAM=<dev>:<ino>`
    /// (nil if the fd is closed).
    public static func fileIdentity(_ fd: CInt) -> (device: UInt64, inode: UInt64)? {
        var raw = Glibc.stat()
        guard Glibc.fstat(fd, &raw) == 0 else { return nil }
        return (UInt64(raw.st_dev), UInt64(raw.st_ino))
    }

    /// Writes a whole log line to fd 1 or 2 (blocking), retrying partial writes and EINTR.
    public static func writeAll(fd: CInt, bytes: [UInt8]) throws(SysError) {
        try Descriptor.writeAll(fd, bytes)
    }

    /// The fds open in this process, from /proc/self/fd (the directory's own fd excluded).
    /// For leak checks in tests.
    public static func openFileDescriptors() throws(SysError) -> [CInt] {
        let directory = try FileSystem.openDirectory("/proc/self/fd")
        let own = directory.rawValue
        let names = try FileSystem.listDirectory(opened: directory, path: "/proc/self/fd")
        return names.compactMap { CInt($0.name) }.filter { $0 != own }.sorted()
    }

    /// Terminates the process immediately with `code` (exit(3)). For exit tests and the CLI.
    public static func exit(_ code: Int32) -> Never {
        Glibc.exit(code)
    }
}

extension CurrentProcess {
    /// getcwd(3).
    public static func workingDirectory() throws(SysError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw SysError(call: "getcwd", errno: errno) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
