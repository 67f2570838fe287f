/// The protocol version of a request line, `HTTP/<major>.<minor>`.
///
/// The parser accepts major version 1 only. A minor version above 1 is kept as sent and treated as
/// HTTP/1.1 (RFC 9110 section 2.5).
public struct HTTPVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    /// - Precondition: both are single decimal digits, as the grammar allows.
    public init(major: Int, minor: Int) {
        precondition((0...9).contains(major) && (0...9).contains(minor), "HTTP version digits are 0...9")
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// `HTTP/1.1`
    public var description: String { "HTTP/\(major).\(minor)" }

    public static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
