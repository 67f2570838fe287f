/// A JSON object: its members in document order, duplicate keys included.
///
/// RFC 8259 leaves duplicate keys to the reader; we keep them all and let lookups decide, the way Go's
/// `encoding/json` (which the original proxym used) lets the last occurrence win.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    /// The value of the last member whose key is exactly `key`.
    public subscript(key: String) -> JSONValue? {
        members.last(where: { $0.key == key })?.value
    }

    /// The value for `key` with ASCII case folding (`ID`, `Id` and `id` all match `id`).
    ///
    /// When several keys match, the last one spelled exactly like `key` wins; without an exact
    /// spelling, the last matching key wins.
    public func member(caseInsensitive key: String) -> JSONValue? {
        var folded: Int?
        var i = members.endIndex
        while i > members.startIndex {
            i -= 1
            if members[i].key == key { return members[i].value }
            if folded == nil && JSONObject.asciiCaseInsensitiveEquals(members[i].key, key) { folded = i }
        }
        return folded.map { members[$0].value }
    }

    /// Whether `a` and `b` are equal after mapping `A`-`Z` to `a`-`z` (every other byte must match).
    public static func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        // Native strings are contiguous UTF-8: compare the buffers directly (this runs for every key
        // of every object a decoder looks at).
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in equalFolded(x, y) }
        }
        if let fast, let result = fast { return result }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            guard asciiLowercased(x) == asciiLowercased(y) else { return false }
        }
        return true
    }

    private static func equalFolded(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<x.count where x[i] != y[i] {
            guard asciiLowercased(x[i]) == asciiLowercased(y[i]) else { return false }
        }
        return true
    }

    @inline(__always)
    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }
}
