/// A request method. Methods are case-sensitive (`get` is not `GET`), so this is the exact token.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    /// - Precondition: `rawValue` is a non-empty token (RFC 9110 section 9.1).
    public init(rawValue: String) {
        precondition(
            !rawValue.isEmpty && rawValue.utf8.allSatisfy(ASCII.isTokenChar),
            "a method is a non-empty token"
        )
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) { self.init(rawValue: value) }

    /// A token the parser has already checked.
    init(validated rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let get: HTTPMethod = "GET"
    public static let head: HTTPMethod = "HEAD"
    public static let post: HTTPMethod = "POST"
    public static let put: HTTPMethod = "PUT"
    public static let delete: HTTPMethod = "DELETE"
    public static let options: HTTPMethod = "OPTIONS"
    public static let patch: HTTPMethod = "PATCH"
    public static let connect: HTTPMethod = "CONNECT"
    public static let trace: HTTPMethod = "TRACE"
}
