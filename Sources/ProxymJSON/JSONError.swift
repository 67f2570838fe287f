/// Why a document is not JSON, and where.
///
/// `line` and `column` are 1-based; a column counts Unicode scalars from the start of the line, so it
/// matches what an editor shows. `offset` is the 0-based byte offset. `message` never contains raw
/// control characters or bytes from the document other than printable ASCII.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int
    public var message: String

    public init(line: Int, column: Int, offset: Int, message: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.message = message
    }

    /// `line 3, column 14: expected ',' or '}' after object member`
    public var description: String { "line \(line), column \(column): \(message)" }
}
