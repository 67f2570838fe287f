/// Strict UTF-8 for JSON strings, shared by the tree reader and the streaming Marathon decoder.
public enum UTF8Sequence {
    /// Length of the well-formed UTF-8 sequence (2-4 bytes) that starts with the non-ASCII byte at
    /// `base + i`, reading no further than `end`; nil when it is not well formed (per the Unicode
    /// standard's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
    @inlinable @inline(__always)
    public static func length(_ base: UnsafeRawPointer, at i: Int, end: Int) -> Int? {
        @inline(__always) func byte(_ k: Int) -> UInt8 { base.load(fromByteOffset: i + k, as: UInt8.self) }
        @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < end && byte(k) >= low && byte(k) <= high
        }
        switch byte(0) {
        case 0xC2...0xDF:
            if continuation(1) { return 2 }
        case 0xE0:
            if continuation(1, 0xA0) && continuation(2) { return 3 }
        case 0xE1...0xEC, 0xEE...0xEF:
            if continuation(1) && continuation(2) { return 3 }
        case 0xED:
            if continuation(1, 0x80, 0x9F) && continuation(2) { return 3 }
        case 0xF0:
            if continuation(1, 0x90) && continuation(2) && continuation(3) { return 4 }
        case 0xF1...0xF3:
            if continuation(1) && continuation(2) && continuation(3) { return 4 }
        case 0xF4:
            if continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) { return 4 }
        default:
            break
        }
        return nil
    }
}
