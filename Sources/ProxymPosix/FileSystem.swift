import CSystemd
import Glibc

/// Paths are Swift strings; every fd opened here is close-on-exec.
public enum FileSystem {
    /// Opens read-only (blocking).
    public static func openForReading(_ path: String) throws(SysError) -> OwnedFD {
        let fd = try sysValue("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Opens a directory (O_DIRECTORY), e.g. to fsync it or as a base for `fstatat`.
    public static func openDirectory(_ path: String) throws(SysError) -> OwnedFD {
        let fd = try sysValue("open(\(path))") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Creates `path` exclusively (O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC): throws EEXIST if anything,
    /// even a dangling symlink, is there.
    public static func createExclusive(_ path: String, mode: UInt32 = 0o644) throws(SysError) -> OwnedFD {
        let fd = try sysValue("open(\(path))") { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode_t(mode)) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Creates or truncates `path` and writes `contents` (not atomic; see `AtomicFileWriter`).
    public static func writeFile(_ path: String, contents: [UInt8], mode: UInt32 = 0o644) throws(SysError) {
        let fd = try sysValue("open(\(path))") { open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode_t(mode)) }
        let file = OwnedFD(takingOwnershipOf: fd)
        try file.writeAll(contents)
        try file.close()
    }

    /// Reads a whole file. Throws EFBIG ("File too large") if it holds more than `limit` bytes,
    /// so a runaway input can not exhaust memory.
    public static func readFile(_ path: String, limit: Int) throws(SysError) -> [UInt8] {
        precondition(limit >= 0)
        let file = try openForReading(path)
        var contents: [UInt8] = []
        let chunkSize = 64 * 1024
        while true {
            let room = min(chunkSize, limit - contents.count + 1)  // one byte past the limit detects overflow
            let chunk: [UInt8]
            do throws(SysError) {
                switch try file.read(maxBytes: max(room, 1)) {
                case .ready(let bytes): chunk = bytes
                case .wouldBlock: throw SysError(call: "read(\(path))", errno: EAGAIN)
                }
            } catch {
                throw SysError(call: "read(\(path))", errno: error.errno)  // name the file, not the fd
            }
            if chunk.isEmpty { return contents }
            contents.append(contentsOf: chunk)
            if contents.count > limit { throw SysError(call: "read(\(path))", errno: EFBIG) }
        }
    }

    /// Reads a file an operator or a tool put somewhere proxym reads (options, global.cfg, service
    /// files, certificates) without ever blocking the loop: openat with O_NONBLOCK (a FIFO does not
    /// wait for a writer in open(2)), then fstat on the opened fd must say a regular file (no race
    /// between a stat by name and the open), at most `limit` bytes, read in one read(2) when the
    /// size is right. `name` is relative to `directory` (or absolute, or relative to the working
    /// directory with the default `AT_FDCWD`).
    public static func readRegularFile(
        directory: CInt = AT_FDCWD, _ name: String, limit: Int
    ) throws(FileReadError) -> (info: FileInfo, bytes: [UInt8]) {
        let file: OwnedFD
        do {
            file = try openFile(directory: directory, name: name)
        } catch {
            throw .system(error)
        }
        let info: FileInfo
        do {
            info = try fstat(file.rawValue)
        } catch {
            throw .system(SysError(call: "fstat(\(name))", errno: error.errno))
        }
        guard info.isRegular else { throw .notRegular(path: name, info: info) }
        guard info.size <= Int64(limit) else { throw .tooLarge(path: name, info: info, limit: limit) }
        do {
            return (info, try readAll(file.rawValue, name: name, limit: limit, expectedSize: Int(info.size)))
        } catch where error.errno == EFBIG {
            throw .tooLarge(path: name, info: info, limit: limit)  // it grew while read
        } catch {
            throw .system(error)
        }
    }

    /// Opens a file named relative to an open directory, read-only (openat: no walk of the
    /// directory's path). O_NONBLOCK: a FIFO named like a service file must not block the loop in
    /// open(2) waiting for a writer (it changes nothing for a regular file).
    public static func openFile(directory: CInt, name: String) throws(SysError) -> OwnedFD {
        let fd = try sysValue("open(\(name))") { openat(directory, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// Reads an open file to its end. With `expectedSize` right (an fstat just before), a file is
    /// read in one read(2): a regular file's read returns less than asked only at its end (our
    /// signals arrive through a signalfd, never as EINTR). Throws EFBIG beyond `limit`; errors name
    /// `name`.
    public static func readAll(_ fd: CInt, name: String, limit: Int, expectedSize: Int) throws(SysError) -> [UInt8] {
        precondition(limit >= 0)
        var contents: [UInt8] = []
        var capacity = min(max(expectedSize, 0), limit) + 1  // one byte more than expected: end of file
        while true {
            var count = 0
            var failure: SysError?
            let start = contents.count
            contents.append(contentsOf: repeatElement(0, count: capacity))
            contents.withUnsafeMutableBytes { raw in
                do throws(SysError) {
                    switch try Descriptor.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[start...])) {
                    case .ready(let n): count = n
                    case .wouldBlock: failure = SysError(call: "read(\(name))", errno: EAGAIN)
                    }
                } catch {
                    failure = SysError(call: "read(\(name))", errno: error.errno)  // name the file, not the fd
                }
            }
            contents.removeLast(capacity - count)
            if let failure { throw failure }
            if contents.count > limit { throw SysError(call: "read(\(name))", errno: EFBIG) }
            if count < capacity { return contents }  // the end of the file
            capacity = max(capacity, 64 * 1024)
        }
    }

    /// The names in a directory, unsorted, without "." and "..".
    public static func listDirectory(_ path: String) throws(SysError) -> [DirectoryEntry] {
        try listDirectory(opened: try openDirectory(path), path: path)
    }

    /// Lists an already opened directory and closes it.
    static func listDirectory(opened directory: consuming OwnedFD, path: String) throws(SysError) -> [DirectoryEntry] {
        guard let stream = fdopendir(directory.rawValue) else {
            throw SysError(call: "fdopendir(\(path))", errno: Glibc.errno)
        }
        // The DIR stream owns the fd from here on; closedir closes it.
        _ = directory.release()
        defer { closedir(stream) }
        var entries: [DirectoryEntry] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(stream) else {
                let code = Glibc.errno
                if code != 0 { throw SysError(call: "readdir(\(path))", errno: code) }
                return entries
            }
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: DirectoryEntry.Kind
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): kind = .file
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_LNK): kind = .symlink
            case Int32(DT_UNKNOWN): kind = .unknown
            default: kind = .other
            }
            entries.append(DirectoryEntry(name: name, type: kind, inode: UInt64(entry.pointee.d_ino)))
        }
    }

    public static func stat(_ path: String, followSymlinks: Bool = true) throws(SysError) -> FileInfo {
        try fstatat(directory: AT_FDCWD, name: path, followSymlinks: followSymlinks)
    }

    /// fstatat relative to an open directory (`AT_FDCWD` semantics when `directory` is -100).
    public static func fstatat(directory: CInt, name: String, followSymlinks: Bool = true) throws(SysError) -> FileInfo
    {
        var raw = Glibc.stat()
        let flags: Int32 = followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW
        _ = try sysValue("stat(\(name))") { Glibc.fstatat(directory, name, &raw, flags) }
        return FileInfo(raw)
    }

    public static func fstat(_ fd: CInt) throws(SysError) -> FileInfo {
        var raw = Glibc.stat()
        _ = try sysValue("fstat(fd \(fd))") { Glibc.fstat(fd, &raw) }
        return FileInfo(raw)
    }

    /// True if `path` exists (following symlinks). Errors other than "not there" count as existing.
    public static func exists(_ path: String) -> Bool {
        do {
            _ = try stat(path)
            return true
        } catch {
            return !(error.isNoEntry || error.isNotDirectory)
        }
    }

    /// A regular file we may execute (access X_OK).
    public static func isExecutableFile(_ path: String) -> Bool {
        guard let info = try? stat(path), info.isRegular else { return false }
        return access(path, X_OK) == 0
    }

    /// rename(2): atomic replacement within one filesystem.
    public static func rename(from source: String, to destination: String) throws(SysError) {
        _ = try sysValue("rename(\(source) -> \(destination))") { Glibc.rename(source, destination) }
    }

    public static func unlink(_ path: String) throws(SysError) {
        _ = try sysValue("unlink(\(path))") { Glibc.unlink(path) }
    }

    public static func mkdir(_ path: String, mode: UInt32 = 0o755) throws(SysError) {
        _ = try sysValue("mkdir(\(path))") { Glibc.mkdir(path, mode_t(mode)) }
    }

    public static func removeDirectory(_ path: String) throws(SysError) {
        _ = try sysValue("rmdir(\(path))") { Glibc.rmdir(path) }
    }

    public static func symlink(target: String, at path: String) throws(SysError) {
        _ = try sysValue("symlink(\(path))") { Glibc.symlink(target, path) }
    }

    public static func readLink(_ path: String) throws(SysError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try sysValue("readlink(\(path))") { Glibc.readlink(path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// open + fsync + close on a directory, so a rename inside it survives a crash.
    public static func fsyncDirectory(_ path: String) throws(SysError) {
        let directory = try openDirectory(path)
        try Descriptor.fsync(directory.rawValue)
        try directory.close()
    }

    /// mkdtemp under `parent` (default: $TMPDIR or /tmp); returns the new directory's path.
    public static func makeTemporaryDirectory(
        prefix: String = "proxym",
        in parent: String? = nil
    ) throws(SysError) -> String {
        let base = parent ?? ProcessEnvironment.value("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        if result == nil { throw SysError(call: "mkdtemp(\(base))", errno: Glibc.errno) }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `path` and, if it is a directory, everything below it (symlinks are removed, not
    /// followed). A missing path is not an error.
    public static func removeTree(_ path: String) throws(SysError) {
        let info: FileInfo
        do {
            info = try stat(path, followSymlinks: false)
        } catch let error where error.isNoEntry {
            return
        }
        if !info.isDirectory {
            try unlink(path)
            return
        }
        for entry in try listDirectory(path) {
            try removeTree(path + "/" + entry.name)
        }
        try removeDirectory(path)
    }

    /// The directory part of a path: "/a/b" -> "/a", "b" -> ".", "/b" -> "/".
    public static func directoryName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.last == "/" { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        let head = trimmed[..<slash]
        if head.isEmpty { return "/" }
        var result = head
        while result.count > 1 && result.last == "/" { result = result.dropLast() }
        return String(result)
    }

    /// The last component: "/a/b" -> "b", "/a/b/" -> "b", "/" -> "/".
    public static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.last == "/" { trimmed = trimmed.dropLast() }
        if trimmed == "/" { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}
