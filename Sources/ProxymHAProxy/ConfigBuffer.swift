import ProxymModel

/// The configuration being written: one growing UTF-8 buffer, reserved once for the expected size,
/// appended to without building a `String` per line (a config of 15,000 servers is a million bytes).
struct ConfigBuffer {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    /// A non-negative integer in decimal.
    mutating func append(decimal value: UInt32) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[9 - count] = 0x30 &+ UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            bytes.append(contentsOf: buffer[(10 - count)...])
        }
    }

    /// `ip:port` as HAProxy reads a server address (the text of ``Host/description``), IPv4 written
    /// straight into the buffer.
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

    /// The text (the renderer only ever appends valid UTF-8).
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
