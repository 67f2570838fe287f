/// What `stat(2)` says about a file, enough to tell "unchanged" without reading it.
///
/// A writer that renames a new file into place changes the inode; one that rewrites in place changes
/// the size or the modification time (nanoseconds, so two writes within a second still differ).
public struct FileFingerprint: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modificationNanoseconds: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, modificationNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modificationNanoseconds = modificationNanoseconds
    }
}
