import Glibc

/// Comparisons of a rendered text's UTF-8 with bytes, in place (a config of megabytes is neither
/// copied into an array nor compared whole when a part decides).
enum TextBytes {
    /// Whether `bytes` (a file's content) are `text`'s UTF-8.
    static func equal(_ bytes: [UInt8]?, _ text: String) -> Bool {
        guard let bytes, bytes.count == text.utf8.count else { return false }
        if bytes.isEmpty { return true }
        var text = text
        return text.withUTF8 { utf8 in
            bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, utf8.baseAddress!, utf8.count) == 0 }
        }
    }

    /// True when the UTF-8 of `a` and `b` differ in length or within `range`: then the files they
    /// make differ, found without comparing the rest. False says nothing.
    static func differ(_ a: String, _ b: String, within range: Range<Int>) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                if a.count != b.count { return true }
                guard range.upperBound <= a.count, !range.isEmpty else { return false }
                return memcmp(a.baseAddress! + range.lowerBound, b.baseAddress! + range.lowerBound, range.count) != 0
            }
        }
    }
}
