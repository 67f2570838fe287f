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

    /// Writes `text` to a new temporary file next to `target`, from the string's own UTF-8 storage
    /// (no copy into an array); returns its path.
    public static func writeTemporary(
        nextTo target: String,
        text: String,
        mode: UInt32 = 0o644
    ) throws(SysError) -> String {
        try writeTemporary(nextTo: target, mode: mode) { file throws(SysError) in try file.writeAll(text) }
    }

    private static func writeTemporary(
        nextTo target: String,
        mode: UInt32,
        writing write: (borrowing OwnedFD) throws(SysError) -> Void
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
                try write(file)
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
        let temporary = try writeTemporary(nextTo: target, mode: mode) { file throws(SysError) in try file.writeAll(contents) }
        try commitOrRemove(temporary, to: target)
    }

    /// Both steps for a text.
    public static func write(text: String, to target: String, mode: UInt32 = 0o644) throws(SysError) {
        try commitOrRemove(writeTemporary(nextTo: target, text: text, mode: mode), to: target)
    }

    private static func commitOrRemove(_ temporary: String, to target: String) throws(SysError) {
        do {
            try commit(temporary: temporary, to: target)
        } catch {
            try? FileSystem.unlink(temporary)
            throw error
        }
    }
}
