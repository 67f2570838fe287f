/// A host name matched against the HTTP `Host` header, e.g. `shop.example.com` or `shop.example.com:8080`.
///
/// Stored lower-cased. Labels of `[a-z0-9_-]`, 1-63 bytes each, not starting or ending with `-`,
/// separated by single dots, 253 bytes at most, optionally followed by `:<port>` (1-65535, digits only,
/// no leading zero). No spaces, no control characters, nothing HAProxy would read
/// as a second ACL pattern or a comment.
public struct DomainName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ raw: String, field: String = "domain") throws(ValidationError) {
        guard !raw.isEmpty else { throw ValidationError(field: field, reason: "must not be empty") }
        var host = Substring(raw)
        if let colon = raw.utf8.lastIndex(of: UInt8(ascii: ":")) {
            host = raw[..<colon]
            let portText = raw[raw.utf8.index(after: colon)...]
            // Digits only: `UInt16(_:)` alone would also take a sign (`+80`).
            guard portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let port = UInt16(portText), port > 0, portText.first != "0"
            else {
                throw ValidationError(field: field, reason: "has an invalid ':port' suffix", value: raw)
            }
        }
        guard host.utf8.count <= 253 else {
            throw ValidationError(field: field, reason: "longer than 253 characters", value: raw)
        }
        var labelLength = 0
        var previous: UInt8 = UInt8(ascii: ".")
        for byte in host.utf8 {
            defer { previous = byte }
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else {
                    throw ValidationError(field: field, reason: "has an empty label", value: raw)
                }
                guard previous != UInt8(ascii: "-") else {
                    throw ValidationError(field: field, reason: "has a label that ends with '-'", value: raw)
                }
                labelLength = 0
                continue
            }
            // A leading '-' is not a host name (RFC 1123), and HAProxy would read `-f`, `-m`... in front
            // of an ACL pattern as a flag.
            guard labelLength > 0 || byte != UInt8(ascii: "-") else {
                throw ValidationError(field: field, reason: "has a label that starts with '-'", value: raw)
            }
            guard Charset.isAlnum(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") else {
                throw ValidationError(
                    field: field, reason: "may only contain letters, digits, '-', '_' and dots", value: raw)
            }
            labelLength += 1
            guard labelLength <= 63 else {
                throw ValidationError(field: field, reason: "has a label longer than 63 characters", value: raw)
            }
        }
        guard labelLength > 0 else { throw ValidationError(field: field, reason: "has an empty label", value: raw) }
        guard previous != UInt8(ascii: "-") else {
            throw ValidationError(field: field, reason: "has a label that ends with '-'", value: raw)
        }
        // Only ASCII is left at this point; most names are lower-case already.
        self.rawValue = raw.utf8.contains(where: { $0 &- 0x41 < 26 }) ? raw.lowercased() : raw
    }

    /// True when the name already carries a `:port` suffix.
    public var hasPort: Bool { rawValue.contains(":") }

    public var description: String { rawValue }

    public static func < (lhs: DomainName, rhs: DomainName) -> Bool { lhs.rawValue < rhs.rawValue }
}
