import CSystemd
import Glibc

/// Write-then-rename, in the target's own directory so rename(2) is atomic:
/// 1. `writeTemporary(nextTo:)` creates `.<name>.<random>.tmp` exclusively, writes every byte,
///    fsyncs and closes it (ENOSPC and short writes are errors; the temp file is removed then);
/// 2. the caller may check the candidate (e.g. `haproxy -c -f <temp>`);
/// 3. `commit(temporary:to:)` renames it over the target and fsyncs the directory.
public enum AtomicFileWriter {
    public static func temporaryPath(nextTo target: String) -> String {
        let directory = FileSystem.directoryName(target)
        let name = FileSystem.baseName(target)
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return (directory == "/" ? "" : directory) + "/.\(name).\(random).tmp"
    }

    /// Writes `contents` to a new temporary file next to `target`; returns its path.
    public static func writeTemporary(
        nextTo target: String,
        contents: [UInt8],
        mode: UInt32 = 0o644
    ) throws(SysError) -> String {
        var attempt = 0
        while true {
            let path = temporaryPath(nextTo: target)
            let file: OwnedFD
            do {
                file = try FileSystem.createExclusive(path, mode: mode)
            } catch let error where error.isExists && attempt < 8 {
                attempt += 1
                continue
            }
            do {
                try file.writeAll(contents)
                try Descriptor.fsync(file.rawValue)
                try file.close()
            } catch {
                try? FileSystem.unlink(path)
                throw error
            }
            return path
        }
    }

    /// Renames `temporary` over `target` and fsyncs their directory.
    public static func commit(temporary: String, to target: String) throws(SysError) {
        try FileSystem.rename(from: temporary, to: target)
        try FileSystem.fsyncDirectory(FileSystem.directoryName(target))
    }

    /// Both steps, for files nobody needs to check first.
    public static func write(_ contents: [UInt8], to target: String, mode: UInt32 = 0o644) throws(SysError) {
        let temporary = try writeTemporary(nextTo: target, contents: contents, mode: mode)
        do {
            try commit(temporary: temporary, to: target)
        } catch {
            try? FileSystem.unlink(temporary)
            throw error
        }
    }
}
