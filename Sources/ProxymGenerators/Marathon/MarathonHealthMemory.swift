import Glibc

/// The health each running task of an app with health checks last had, by task id, so that a Marathon
/// leader change does not take healthy tasks out of rotation.
///
/// Marathon keeps health results in the leader's memory only: right after a leader change (or a
/// restart) every task's `healthCheckResults` is empty, or shorter than its checks, until the new
/// leader's first probes come back. Read literally, every app with health checks would lose all its
/// backends for that time. So a task that is still running and now has *incomplete* results (none
/// failing) keeps the health it last had with complete results. A fresh task has no memory and stays
/// out until its checks pass; a failing result always counts at once.
///
/// Owned by whoever runs refreshes; passed to every ``MarathonMapper/services(from:options:health:)``
/// call, which replaces the content with this snapshot's tasks (vanished tasks are forgotten). Keep it
/// unchanged when a snapshot could not be fetched or decoded.
public struct MarathonHealthMemory: Sendable, Hashable {
    /// How the tasks are kept. The kept state holds one memory per app (15,000 tasks at 5,000 apps), so
    /// a small memory is one byte array instead of a dictionary of strings: per task, in ascending
    /// order of id bytes, the id's UTF-8 length (LEB128), its health (0 or 1) and the id's bytes. That
    /// is half the memory (one allocation per app instead of one per task id plus a hash table: 1.1
    /// instead of 2.3 MB at 5,000 apps); lookups scan it, which is why a large memory (a whole-snapshot
    /// mapping, an app with many tasks) stays a dictionary. The form follows from the content alone
    /// (the count, whether every id is ASCII; packed ids are sorted), so equal memories are equal values.
    enum Storage: Sendable, Hashable {
        case packed([UInt8])
        case table([String: Bool])
    }

    /// Up to this many tasks are packed.
    static let packedLimit = 32

    private(set) var storage = Storage.packed([])

    public init() {}

    /// Tasks remembered.
    public var count: Int {
        switch storage {
        case .table(let table):
            return table.count
        case .packed(let bytes):
            var count = 0
            Self.forEachPacked(bytes) { _, _ in
                count += 1
                return true
            }
            return count
        }
    }

    init(_ table: [String: Bool]) {
        // Packed ids are compared by their bytes, String keys by canonical equivalence: the same only
        // for ASCII (Marathon's task ids are; anything else keeps the dictionary's meaning).
        guard table.count <= Self.packedLimit, table.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else {
            storage = .table(table)
            return
        }
        var ids = Array(table.keys)
        ids.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.reduce(0) { $0 + $1.utf8.count + 3 })
        for id in ids {
            var length = id.utf8.count
            while length >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: length) | 0x80)
                length >>= 7
            }
            bytes.append(UInt8(length))
            bytes.append(table[id]! ? 1 : 0)
            bytes.append(contentsOf: id.utf8)
        }
        storage = .packed(bytes)
    }

    /// The health remembered for a task, if any.
    public func lastKnownHealth(ofTask id: String) -> Bool? {
        switch storage {
        case .table(let table):
            return table[id]
        case .packed(let bytes):
            var id = id
            return id.withUTF8 { wanted in
                var found: Bool?
                Self.forEachPacked(bytes) { packedID, healthy in
                    guard packedID.count == wanted.count,
                        packedID.isEmpty || memcmp(packedID.baseAddress!, wanted.baseAddress!, wanted.count) == 0
                    else { return true }
                    found = healthy
                    return false
                }
                return found
            }
        }
    }

    /// Calls `body` with each packed task's id bytes and health, in order, while it returns true.
    private static func forEachPacked(
        _ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Bool
    ) {
        bytes.withUnsafeBufferPointer { packed in
            var at = 0
            while at < packed.count {
                var length = 0
                var shift = 0
                while packed[at] & 0x80 != 0 {
                    length |= Int(packed[at] & 0x7F) << shift
                    shift += 7
                    at += 1
                }
                length |= Int(packed[at]) << shift
                let healthy = packed[at + 1] == 1
                let start = at + 2
                at = start + length
                guard body(UnsafeBufferPointer(rebasing: packed[start..<at]), healthy) else { return }
            }
        }
    }

    /// Whether a running task of an app with `checks` health checks is healthy, given its results now
    /// and what was remembered; records the answer in `next` when it is worth remembering.
    static func evaluate(
        task: MarathonTask,
        checks: Int,
        remembered: MarathonHealthMemory,
        next: inout [String: Bool]
    ) -> Bool {
        let results = task.healthResults
        if results.contains(false) {
            next[task.id] = false
            return false
        }
        if results.count >= checks {
            next[task.id] = true
            return true
        }
        // Incomplete, nothing failing: after a leader change this is "unknown", not "unhealthy".
        guard let last = remembered.lastKnownHealth(ofTask: task.id) else { return false }
        next[task.id] = last
        return last
    }
}
