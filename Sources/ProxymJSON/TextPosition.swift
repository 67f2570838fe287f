/// A place in a document as ``JSONReader`` and the streaming decoders report it: byte offset, line
/// (by `\n`) and column (by Unicode scalars, a leading byte order mark not counted).
public struct TextPosition: Hashable, Sendable {
    public var offset = 0
    public var line = 1
    public var column = 1

    public init() {}

    /// Moves past `bytes`, which start at this position: one pass, eight bytes at a time.
    public mutating func advance(over bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        var i = 0
        if offset == 0 && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func hasNewline(_ w: UInt64) -> Bool {
            // Exactly the bytes equal to '\n' get their high bit set (no borrow between bytes).
            let x = w ^ (ones &* 0x0A)
            return ~(((x & low) &+ low) | x) & high != 0
        }
        while i + 8 <= bytes.count {
            // Most bodies are one line of ASCII: 32 bytes at a time where that holds.
            if i + 32 <= bytes.count {
                let a = start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let b = start.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let c = start.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let d = start.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                if (a | b | c | d) & high == 0 && !hasNewline(a) && !hasNewline(b) && !hasNewline(c) && !hasNewline(d) {
                    column += 32
                    i += 32
                    continue
                }
            }
            let word = start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if !hasNewline(word) {
                // A continuation byte has bit 7 set and bit 6 clear.
                column += 8 - (word & ~(word << 1) & high).nonzeroBitCount
            } else {
                for k in i..<(i + 8) { step(bytes[k]) }
            }
            i += 8
        }
        while i < bytes.count {
            step(bytes[i])
            i += 1
        }
        offset += bytes.count
    }

    @inline(__always)
    private mutating func step(_ byte: UInt8) {
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }
}
