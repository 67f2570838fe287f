import CSystemd
import Glibc

/// inotify(7). Create, add/remove watches, and read whole `inotify_event` records.
public enum Inotify {
    public struct Mask: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        // Events that can be watched for.
        public static let access = Mask(rawValue: UInt32(IN_ACCESS))
        public static let modify = Mask(rawValue: UInt32(IN_MODIFY))
        public static let attrib = Mask(rawValue: UInt32(IN_ATTRIB))
        public static let closeWrite = Mask(rawValue: UInt32(IN_CLOSE_WRITE))
        public static let closeNoWrite = Mask(rawValue: UInt32(IN_CLOSE_NOWRITE))
        public static let open = Mask(rawValue: UInt32(IN_OPEN))
        public static let movedFrom = Mask(rawValue: UInt32(IN_MOVED_FROM))
        public static let movedTo = Mask(rawValue: UInt32(IN_MOVED_TO))
        public static let create = Mask(rawValue: UInt32(IN_CREATE))
        public static let delete = Mask(rawValue: UInt32(IN_DELETE))
        public static let deleteSelf = Mask(rawValue: UInt32(IN_DELETE_SELF))
        public static let moveSelf = Mask(rawValue: UInt32(IN_MOVE_SELF))

        // Reported by the kernel without being asked for.
        public static let unmount = Mask(rawValue: UInt32(IN_UNMOUNT))
        public static let queueOverflow = Mask(rawValue: UInt32(IN_Q_OVERFLOW))
        /// The watch is gone (removed, or the inode deleted, or its filesystem unmounted).
        public static let ignored = Mask(rawValue: UInt32(IN_IGNORED))
        /// The event's subject (`name`) is a directory.
        public static let isDir = Mask(rawValue: UInt32(IN_ISDIR))

        // Flags for addWatch.
        /// Fail with ENOTDIR unless the path is a directory.
        public static let onlyDir = Mask(rawValue: UInt32(IN_ONLYDIR))
        /// Do not follow a final symlink.
        public static let dontFollow = Mask(rawValue: UInt32(IN_DONT_FOLLOW))
        public static let excludeUnlinked = Mask(rawValue: UInt32(IN_EXCL_UNLINK))
        /// Add to, rather than replace, the existing mask for this inode.
        public static let maskAdd = Mask(rawValue: UInt32(IN_MASK_ADD))
        public static let oneShot = Mask(rawValue: UInt32(IN_ONESHOT))

        private static let names: [(Mask, String)] = [
            (.access, "access"), (.modify, "modify"), (.attrib, "attrib"), (.closeWrite, "closeWrite"),
            (.closeNoWrite, "closeNoWrite"), (.open, "open"), (.movedFrom, "movedFrom"), (.movedTo, "movedTo"),
            (.create, "create"), (.delete, "delete"), (.deleteSelf, "deleteSelf"), (.moveSelf, "moveSelf"),
            (.unmount, "unmount"), (.queueOverflow, "queueOverflow"), (.ignored, "ignored"), (.isDir, "isDir"),
            (.onlyDir, "onlyDir"), (.dontFollow, "dontFollow"), (.excludeUnlinked, "excludeUnlinked"),
            (.maskAdd, "maskAdd"), (.oneShot, "oneShot"),
        ]

        public var description: String {
            var rest = rawValue
            var parts: [String] = []
            for (flag, name) in Mask.names where contains(flag) {
                parts.append(name)
                rest &= ~flag.rawValue
            }
            if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
            return "[" + parts.joined(separator: ",") + "]"
        }
    }

    /// One `inotify_event` record. `wd` is -1 for `.queueOverflow`.
    public struct Event: Sendable, Hashable, CustomStringConvertible {
        public var wd: Int32
        public var mask: Mask
        public var cookie: UInt32
        /// The file's name inside the watched directory; empty for events about the watch itself.
        /// Non-UTF-8 bytes are replaced with U+FFFD.
        public var name: String

        public init(wd: Int32, mask: Mask, cookie: UInt32, name: String) {
            self.wd = wd
            self.mask = mask
            self.cookie = cookie
            self.name = name
        }

        public var description: String {
            "Inotify.Event(wd: \(wd), mask: \(mask), cookie: \(cookie), name: \"\(name)\")"
        }
    }

    /// inotify_init1(IN_CLOEXEC | IN_NONBLOCK).
    public static func create() throws(SysError) -> OwnedFD {
        let fd = try sysValue("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
        return OwnedFD(takingOwnershipOf: fd)
    }

    /// inotify_add_watch; returns the watch descriptor. The same inode always yields the same wd.
    public static func addWatch(_ inotify: CInt, path: String, mask: Mask) throws(SysError) -> Int32 {
        try sysValue("inotify_add_watch(\(path))") { inotify_add_watch(inotify, path, mask.rawValue) }
    }

    /// inotify_rm_watch. The kernel then queues an `.ignored` event for `wd`. EINVAL (the watch is
    /// already gone, e.g. its directory was deleted) is not an error.
    public static func removeWatch(_ inotify: CInt, wd: Int32) throws(SysError) {
        do {
            _ = try sysValue("inotify_rm_watch(wd \(wd))") { inotify_rm_watch(inotify, wd) }
        } catch let error where error.errno == EINVAL {
            return
        }
    }

    /// Room for at least one event with the longest possible name.
    public static let minimumReadSize = 16 + Int(NAME_MAX) + 1

    /// Reads one batch of whole records (the kernel never splits a record across reads).
    /// `.wouldBlock` when the queue is empty.
    public static func read(_ inotify: CInt, bufferSize: Int = 64 * 1024) throws(SysError) -> IOResult<[Event]> {
        precondition(bufferSize >= minimumReadSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        switch try Descriptor.read(inotify, into: buffer) {
        case .wouldBlock:
            return .wouldBlock
        case .ready(let count):
            return .ready(parse(UnsafeRawBufferPointer(rebasing: buffer[..<count])))
        }
    }

    /// Splits a buffer of `inotify_event` records (16-byte header + NUL-padded name).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameStart = offset + 16
            guard nameStart + length <= bytes.count else { break }  // never happens: records are whole
            var nameBytes = bytes[nameStart..<(nameStart + length)]
            if let nul = nameBytes.firstIndex(of: 0) { nameBytes = nameBytes[..<nul] }
            events.append(
                Event(
                    wd: wd,
                    mask: Mask(rawValue: mask),
                    cookie: cookie,
                    name: String(decoding: nameBytes, as: UTF8.self)
                )
            )
            offset = nameStart + length
        }
        return events
    }
}
