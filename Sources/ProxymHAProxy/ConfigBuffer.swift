import ProxymModel

/// Where the renderer writes: the same calls fill a buffer of the exact size (``ConfigWriter``, the
/// usual way) or a growing one (``ConfigBuffer``, should the size ever be off).
protocol ConfigOutput {
    mutating func append(_ literal: StaticString)
    mutating func append(_ text: String)
    mutating func append(byte: UInt8)
    mutating func append(decimal value: UInt32)
    /// Bytes written so far.
    var position: Int { get }
    /// Where the server lines of the plan's service `index` were written (``RenderMemo`` keeps them;
    /// only ``ConfigWriter`` records them, and only when asked to).
    mutating func serverLines(of index: Int, at range: Range<Int>)
}

extension ConfigOutput {
    /// `ip:port` as HAProxy reads a server address (the text of ``Host/description``), IPv4 written
    /// digit by digit.
    mutating func append(host: Host) {
        if case .ipv4(let v) = host.address {
            append(decimal: v >> 24)
            append(byte: UInt8(ascii: "."))
            append(decimal: (v >> 16) & 0xFF)
            append(byte: UInt8(ascii: "."))
            append(decimal: (v >> 8) & 0xFF)
            append(byte: UInt8(ascii: "."))
            append(decimal: v & 0xFF)
        } else {
            append(host.address.haproxyText)
        }
        append(byte: UInt8(ascii: ":"))
        append(decimal: UInt32(host.port))
    }
}

enum ConfigSize {
    /// Digits of `value` in decimal.
    @inline(__always)
    static func digits(_ value: UInt32) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    /// The length of `append(host:)`'s text.
    static func host(_ host: Host) -> Int {
        let address: Int
        if case .ipv4(let v) = host.address {
            address = digits(v >> 24) + digits((v >> 16) & 0xFF) + digits((v >> 8) & 0xFF) + digits(v & 0xFF) + 3
        } else {
            address = host.address.haproxyText.utf8.count
        }
        return address + 1 + digits(UInt32(host.port))
    }
}

/// Writes into memory of a size computed beforehand (the text's own buffer: no copy, no growth).
/// Running past the end sets `overflowed` and writes nothing more.
struct ConfigWriter: ConfigOutput {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false
    /// By the plan's service index, where its server lines are (nil: not recorded, or not rendered).
    private(set) var servers: [Range<Int>?]?

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>, recordingServersOf serviceCount: Int? = nil) {
        base = buffer.baseAddress!
        capacity = buffer.count
        servers = serviceCount.map { Array(repeating: nil, count: $0) }
    }

    var position: Int { count }

    mutating func serverLines(of index: Int, at range: Range<Int>) {
        if servers != nil { servers![index] = range }
    }

    @inline(__always)
    private mutating func room(_ n: Int) -> Bool {
        if count + n <= capacity { return true }
        overflowed = true
        return false
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        let n = literal.utf8CodeUnitCount
        guard room(n) else { return }
        (base + count).update(from: literal.utf8Start, count: n)
        count += n
    }

    @inline(__always)
    mutating func append(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard room(bytes.count), let source = bytes.baseAddress else { return }
            (base + count).update(from: source, count: bytes.count)
            count += bytes.count
        }
        if done == nil {
            for byte in text.utf8 { append(byte: byte) }
        }
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        guard room(1) else { return }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(decimal value: UInt32) {
        let n = ConfigSize.digits(value)
        guard room(n) else { return }
        var rest = value
        var i = count + n - 1
        repeat {
            base[i] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            i -= 1
        } while rest > 0
        count += n
    }
}

/// A growing buffer, for when the computed size fell short (never expected; the text stays right).
struct ConfigBuffer: ConfigOutput {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    mutating func append(decimal value: UInt32) {
        bytes.append(contentsOf: String(value).utf8)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    var position: Int { bytes.count }

    func serverLines(of index: Int, at range: Range<Int>) {}
}

/// Counts what the same calls would write: the exact size of text written by a function generic over
/// ``ConfigOutput`` (the renderer's newer sections are sized this way: one writer, no second count to
/// keep in step).
struct ConfigCounter: ConfigOutput {
    private(set) var count = 0

    @inline(__always)
    mutating func append(_ literal: StaticString) { count += literal.utf8CodeUnitCount }

    @inline(__always)
    mutating func append(_ text: String) { count += text.utf8.count }

    @inline(__always)
    mutating func append(byte: UInt8) { count += 1 }

    @inline(__always)
    mutating func append(decimal value: UInt32) { count += ConfigSize.digits(value) }

    var position: Int { count }

    func serverLines(of index: Int, at range: Range<Int>) {}

    /// The size of what `write` writes.
    static func size(_ write: (inout ConfigCounter) -> Void) -> Int {
        var counter = ConfigCounter()
        write(&counter)
        return counter.count
    }
}
