/// Where a backend server lives: an IPv4 or IPv6 literal, or a DNS host name (Marathon reports agent
/// host names). Parsed strictly so that the rendered `server` line can only ever hold an address.
public enum HostAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    case ipv4(UInt32)
    /// 16 bytes, network order.
    case ipv6([UInt8])
    /// Lower-cased DNS name.
    case hostname(String)

    public init(_ raw: String, field: String = "ip") throws(ValidationError) {
        if let v4 = HostAddress.parseIPv4(Substring(raw)) {
            self = .ipv4(v4)
            return
        }
        if raw.utf8.contains(UInt8(ascii: ":")) {
            var text = Substring(raw)
            if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
            guard let v6 = HostAddress.parseIPv6(text) else {
                if raw.utf8.lazy.filter({ $0 == UInt8(ascii: ":") }).count == 1 {
                    // `10.0.0.1:31001` or `agent-1:31001`: a port where only an address belongs.
                    throw ValidationError(field: field, reason: "must be an address without a port", value: raw)
                }
                throw ValidationError(field: field, reason: "is not a valid IPv6 address", value: raw)
            }
            self = .ipv6(v6)
            return
        }
        guard !raw.isEmpty else { throw ValidationError(field: field, reason: "must not be empty") }
        // Something that looks numeric but did not parse as IPv4 is a typo, not a host name.
        if raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }) {
            throw ValidationError(field: field, reason: "is not a valid IPv4 address", value: raw)
        }
        guard let name = try? DomainName(raw, field: field), !name.hasPort else {
            throw ValidationError(field: field, reason: "is neither an IP address nor a host name", value: raw)
        }
        self = .hostname(name.rawValue)
    }

    /// Where a backend server may be reached: an address as `init`, but not the unspecified
    /// `0.0.0.0` or `::` (haproxy would take either as "this host" and send the traffic to itself;
    /// it is a task or file that has no address yet, not a place to send traffic).
    public static func backend(_ raw: String, field: String = "ip") throws(ValidationError) -> HostAddress {
        let address = try HostAddress(raw, field: field)
        guard !address.isUnspecified else {
            throw ValidationError(field: field, reason: "is the unspecified address, not one a server can be reached at", value: raw)
        }
        return address
    }

    /// `0.0.0.0` or `::` (any spelling).
    public var isUnspecified: Bool {
        switch self {
        case .ipv4(let v): return v == 0
        case .ipv6(let bytes): return bytes.allSatisfy { $0 == 0 }
        case .hostname: return false
        }
    }

    public var isHostname: Bool {
        if case .hostname = self { return true }
        return false
    }

    /// The address as HAProxy reads it in front of `:<port>` (IPv6 in brackets).
    public var haproxyText: String {
        switch self {
        case .ipv6: return "[" + description + "]"
        default: return description
        }
    }

    public var description: String {
        switch self {
        case .ipv4(let v):
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        case .ipv6(let bytes):
            return HostAddress.formatIPv6(bytes)
        case .hostname(let name):
            return name
        }
    }

    public static func < (lhs: HostAddress, rhs: HostAddress) -> Bool {
        switch (lhs, rhs) {
        case (.ipv4(let a), .ipv4(let b)): return a < b
        case (.ipv6(let a), .ipv6(let b)): return a.lexicographicallyPrecedes(b)
        case (.hostname(let a), .hostname(let b)): return a < b
        default: return lhs.rank < rhs.rank
        }
    }

    private var rank: Int {
        switch self {
        case .ipv4: return 0
        case .ipv6: return 1
        case .hostname: return 2
        }
    }

    /// Dotted quad, four decimal octets 0-255, no leading zeros (which some parsers read as octal).
    static func parseIPv4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var current: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | current
                octets += 1
                current = 0
                digits = 0
                continue
            }
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            if digits == 0 { leadingZero = byte == 0x30 } else if leadingZero { return nil }
            current = current * 10 + UInt32(byte - 0x30)
            digits += 1
            guard digits <= 3, current <= 255 else { return nil }
        }
        guard digits > 0, octets == 3 else { return nil }
        return value << 8 | current
    }

    /// RFC 4291 text form: eight groups, one `::`, an optional dotted-quad tail. No zone ids.
    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count >= 2, text.utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var index = 0
        // "::" at the start or end produces empty parts we must account for.
        if text.hasPrefix("::") { index = 1 } else if text.hasPrefix(":") { return nil }
        if text.hasSuffix(":") && !text.hasSuffix("::") { return nil }
        while index < parts.count {
            let part = parts[index]
            if part.isEmpty {
                if sawGap {
                    // Only the trailing empty part of a final "::" is allowed here.
                    if index == parts.count - 1 && text.hasSuffix("::") { index += 1; continue }
                    return nil
                }
                sawGap = true
                index += 1
                if index == parts.count - 1 && parts[index].isEmpty { index += 1 }
                continue
            }
            if index == parts.count - 1, part.contains(".") {
                guard let v4 = parseIPv4(part) else { return nil }
                let groups = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                if sawGap { tail += groups } else { head += groups }
                index += 1
                continue
            }
            guard let group = parseHexGroup(part) else { return nil }
            if sawGap { tail.append(group) } else { head.append(group) }
            index += 1
        }
        let total = head.count + tail.count
        if sawGap {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let groups = head + Array(repeating: 0, count: 8 - total) + tail
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for g in groups {
            bytes.append(UInt8(g >> 8))
            bytes.append(UInt8(g & 0xFF))
        }
        return bytes
    }

    /// One to four hex digits. (`UInt16(_:radix:)` would also take a sign: `+1`, `-0`.)
    static func parseHexGroup(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.utf8.count <= 4 else { return nil }
        var value: UInt16 = 0
        for byte in text.utf8 {
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// RFC 5952 canonical text: lower-case hex, the longest run (>= 2) of zero groups as `::`; an
    /// IPv4-mapped address (`::ffff:0:0/96`) keeps its dotted quad, as section 5 recommends.
    static func formatIPv6(_ bytes: [UInt8]) -> String {
        precondition(bytes.count == 16, "HostAddress.ipv6 holds exactly 16 bytes")
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return "::ffff:\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
        }
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
        var bestStart = -1
        var bestLength = 1
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        var out = ""
        i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLength
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(groups[i], radix: 16)
            i += 1
        }
        return out
    }
}
