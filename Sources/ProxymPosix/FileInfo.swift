import CSystemd
import Glibc

/// What stat(2) says about a file.
public struct FileInfo: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// st_mtim as nanoseconds since the Unix epoch.
    public var modificationNanoseconds: Int64
    /// st_mode: file type and permission bits.
    public var mode: UInt32

    public init(device: UInt64, inode: UInt64, size: Int64, modificationNanoseconds: Int64, mode: UInt32) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modificationNanoseconds = modificationNanoseconds
        self.mode = mode
    }

    static let typeMask: UInt32 = 0o170000
    public var isDirectory: Bool { mode & FileInfo.typeMask == 0o040000 }
    public var isRegular: Bool { mode & FileInfo.typeMask == 0o100000 }
    public var isSymlink: Bool { mode & FileInfo.typeMask == 0o120000 }
    /// What kind of file it is, for messages: "a FIFO", "a directory", ...
    public var kindName: String {
        switch mode & FileInfo.typeMask {
        case 0o100000: return "a regular file"
        case 0o040000: return "a directory"
        case 0o120000: return "a symbolic link"
        case 0o010000: return "a FIFO"
        case 0o140000: return "a socket"
        case 0o020000: return "a character device"
        case 0o060000: return "a block device"
        default: return "an unknown kind of file"
        }
    }
    /// The permission bits (mode & 0o7777).
    public var permissions: UInt32 { mode & 0o7777 }

    init(_ raw: Glibc.stat) {
        self.init(
            device: UInt64(raw.st_dev),
            inode: UInt64(raw.st_ino),
            size: Int64(raw.st_size),
            modificationNanoseconds: Int64(raw.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(raw.st_mtim.tv_nsec),
            mode: UInt32(raw.st_mode)
        )
    }
}

/// One name in a directory (without "." and "..").
public struct DirectoryEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file, directory, symlink, other
        /// The filesystem does not report types in readdir; stat the entry if it matters.
        case unknown
    }

    public var name: String
    public var type: Kind
    public var inode: UInt64

    public init(name: String, type: Kind, inode: UInt64) {
        self.name = name
        self.type = type
        self.inode = inode
    }
}

/// Why `FileSystem.readRegularFile` read nothing.
public enum FileReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// open, fstat or read failed (ENOENT: it is not there).
    case system(SysError)
    /// A FIFO, a directory, a device or a socket where a file was expected: not read.
    case notRegular(path: String, info: FileInfo)
    /// More than the limit: not read (`info` from fstat).
    case tooLarge(path: String, info: FileInfo, limit: Int)

    public var isNoEntry: Bool {
        if case .system(let error) = self { return error.isNoEntry }
        return false
    }

    public var description: String {
        switch self {
        case .system(let error): return "\(error)"
        case .notRegular(let path, let info): return "\(path) is \(info.kindName), not a regular file: not read"
        case .tooLarge(let path, let info, let limit):
            return "\(path) has \(info.size) bytes, more than the \(limit) allowed: not read"
        }
    }
}
