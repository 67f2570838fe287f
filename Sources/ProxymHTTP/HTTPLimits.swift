/// Bounds on one request, so a broken or hostile client costs at most this much memory.
///
/// Lengths count every byte on the wire, line ends included.
public struct HTTPLimits: Sendable, Hashable {
    /// The request line with its line end (and any empty lines before it are not counted). Over it:
    /// 414.
    public let maxRequestLineLength: Int
    /// The header field lines plus the empty line that ends them, line ends included. Over it: 431.
    /// A chunked body's trailer section has its own allowance of the same size.
    public let maxHeaderSectionLength: Int
    /// Header field lines (a repeated name counts each time). Over it: 431. Trailers likewise.
    public let maxHeaderCount: Int
    /// The body after any chunked framing is removed. Over it: 413.
    public let maxBodyLength: Int

    /// - Precondition: every length is at least 16 bytes and `maxHeaderCount` at least 1, and none is
    ///   negative (`maxBodyLength` may be 0: no bodies at all).
    public init(
        maxRequestLineLength: Int = 8 << 10,
        maxHeaderSectionLength: Int = 16 << 10,
        maxHeaderCount: Int = 100,
        maxBodyLength: Int = 1 << 20
    ) {
        precondition(maxRequestLineLength >= 16, "maxRequestLineLength must be at least 16")
        precondition(maxHeaderSectionLength >= 16, "maxHeaderSectionLength must be at least 16")
        precondition(maxHeaderCount >= 1, "maxHeaderCount must be at least 1")
        precondition(maxBodyLength >= 0, "maxBodyLength must not be negative")
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderSectionLength = maxHeaderSectionLength
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyLength = maxBodyLength
    }

    /// 8 KiB request line, 16 KiB of headers, 100 header lines, 1 MiB body: room for any Marathon
    /// event (the largest, a deployment with its plans, stays well under 1 MiB).
    public static let `default` = HTTPLimits()

    /// A chunk-size line (size and extensions) with its line end. Over it: 400. Not configurable:
    /// clients send a handful of hex digits.
    static let maxChunkLineLength = 1024
}
