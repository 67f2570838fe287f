/// An incremental parser for a `text/event-stream` body (the WHATWG HTML "Server-sent events"
/// interpretation rules), fed with chunks as they arrive.
///
/// ```swift
/// sse.feed(bytesJustRead)            // bytesSeen grows: the stream is alive
/// while let event = try sse.next() { handle(event) }
/// ```
///
/// Lines end in CRLF, LF or a lone CR (a CR at the end of one chunk and an LF at the start of the
/// next still make one line end). A line starting with `:` is a comment; otherwise the text up to
/// the first `:` is the field name and the rest, less one leading space, its value (a line without
/// `:` is a field with an empty value). `event` sets the type, `data` appends a line, `id` sets the
/// last event ID (unless it holds NUL), `retry` sets ``retry`` (digits only), other names are
/// ignored. An empty line dispatches the event if any `data` arrived; otherwise it dispatches
/// nothing and, if no field arrived either, counts as a heartbeat (Jetty's bare CRLF every 10 s).
/// A leading UTF-8 byte order mark is skipped; text is decoded as UTF-8 with invalid bytes replaced
/// by U+FFFD. An event cut off by the end of the stream is never dispatched.
///
/// The result depends only on the bytes, never on how they were split into chunks.
public struct SSEParser: Sendable {
    /// Largest event: the bytes of all lines since the last empty line (field names, comments and
    /// the line being received included, line ends not). Over it, ``next()`` throws.
    public let maxEventLength: Int

    /// 4 MiB: a Marathon deployment event with full plans is a few hundred KiB at most.
    public static let defaultMaxEventLength = 4 << 20

    /// Every byte fed so far, heartbeats and comments included: compare before and after a read to
    /// tell a live stream from a silent one.
    public private(set) var bytesSeen = 0
    /// Empty lines that ended a block holding no field (bare line ends, or only comments).
    public private(set) var heartbeats = 0
    /// The reconnection time in milliseconds from the last valid `retry:` field, if any.
    public private(set) var retry: Int?
    /// The last event ID buffer; send it as `Last-Event-ID` when reconnecting (Marathon ignores it).
    public private(set) var lastEventID = ""

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// `[readIndex, scanIndex)` holds no line end.
    private var scanIndex = 0
    /// The previous line ended in CR: an LF right after it belongs to that line end.
    private var skipLineFeed = false
    private var atStreamStart = true
    /// Bytes of the lines of the current block (see ``maxEventLength``).
    private var blockLength = 0
    private var blockHasField = false
    private var eventType: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var failure: SSEParseError?

    /// - Precondition: `maxEventLength` is positive.
    public init(maxEventLength: Int = SSEParser.defaultMaxEventLength) {
        precondition(maxEventLength > 0, "maxEventLength must be positive")
        self.maxEventLength = maxEventLength
    }

    /// Appends bytes just read. Call ``next()`` until it returns nil afterwards.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        bytesSeen += bytes.count
        guard prepareForInput() else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes just read. Call ``next()`` until it returns nil afterwards.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        bytesSeen += bytes.count
        guard prepareForInput() else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Whether part of an event (or of a line) has arrived and not been dispatched.
    public var hasPendingEvent: Bool { blockLength > 0 || readIndex < buffer.count }

    /// The error ``next()`` threw, if any. Errors are final: the stream must be reconnected.
    public var error: SSEParseError? { failure }

    /// The next dispatched event, or nil when more bytes are needed.
    public mutating func next() throws(SSEParseError) -> SSEEvent? {
        if let failure { throw failure }
        while true {
            if skipLineFeed {
                guard readIndex < buffer.count else { return nil }
                if buffer[readIndex] == ASCII.lf { readIndex += 1 }
                skipLineFeed = false
                scanIndex = max(scanIndex, readIndex)
            }
            let end = buffer.count
            let lineEnd: Int? = buffer.withUnsafeBufferPointer { bytes in
                var index = scanIndex
                while index < end {
                    if bytes[index] == ASCII.lf || bytes[index] == ASCII.cr { return index }
                    index += 1
                }
                return nil
            }
            guard let lineEnd else {
                scanIndex = end
                if blockLength + (end - readIndex) - pendingByteOrderMark() > maxEventLength { throw fail() }
                return nil
            }
            var start = readIndex
            skipLineFeed = buffer[lineEnd] == ASCII.cr
            readIndex = lineEnd + 1
            scanIndex = readIndex
            if atStreamStart {
                atStreamStart = false
                if buffer[start..<lineEnd].starts(with: SSEParser.byteOrderMark) { start += 3 }
            }
            if start == lineEnd {
                if let event = dispatch() { return event }
                continue
            }
            blockLength += lineEnd - start
            if blockLength > maxEventLength { throw fail() }
            process(start..<lineEnd)
        }
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// How many bytes of the partial first line may still turn out to be a byte order mark, which
    /// does not count towards ``maxEventLength``; 0 after the first line.
    private func pendingByteOrderMark() -> Int {
        guard atStreamStart else { return 0 }
        return zip(buffer[readIndex...], SSEParser.byteOrderMark).prefix { $0 == $1 }.count
    }

    private mutating func process(_ line: Range<Int>) {
        let bytes = buffer[line]
        guard bytes.first != ASCII.colon else { return }  // a comment
        blockHasField = true
        let colon = bytes.firstIndex(of: ASCII.colon) ?? line.upperBound
        let name = bytes[..<colon]
        var valueStart = colon < line.upperBound ? colon + 1 : colon
        if valueStart < line.upperBound, buffer[valueStart] == ASCII.space { valueStart += 1 }
        let value = buffer[valueStart..<line.upperBound]
        if name.elementsEqual("data".utf8) {
            data.append(contentsOf: value)
            data.append(ASCII.lf)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventType.removeAll(keepingCapacity: true)
            eventType.append(contentsOf: value)
        } else if name.elementsEqual("id".utf8) {
            if !value.contains(ASCII.nul) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if name.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy(ASCII.isDigit) {
                var milliseconds = 0
                for digit in value {
                    let (times10, overflow1) = milliseconds.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                    milliseconds = overflow1 || overflow2 ? Int.max : sum
                }
                retry = milliseconds
            }
        }
    }

    /// An empty line: dispatch the block's event, if it has data, and start a new block.
    private mutating func dispatch() -> SSEEvent? {
        defer {
            eventType.removeAll(keepingCapacity: true)
            data.removeAll(keepingCapacity: data.capacity <= 64 << 10)
            hasData = false
            blockLength = 0
            blockHasField = false
        }
        guard hasData else {
            if !blockHasField { heartbeats += 1 }
            return nil
        }
        return SSEEvent(
            event: eventType.isEmpty ? nil : String(decoding: eventType, as: UTF8.self),
            data: String(decoding: data.dropLast(), as: UTF8.self),
            id: lastEventID.isEmpty ? nil : lastEventID
        )
    }

    private mutating func fail() -> SSEParseError {
        let error = SSEParseError(maxEventLength: maxEventLength)
        failure = error
        buffer = []
        readIndex = 0
        scanIndex = 0
        eventType = []
        data = []
        hasData = false
        blockLength = 0
        blockHasField = false
        skipLineFeed = false
        return error
    }

    /// Drops consumed bytes (amortised); returns false once the parser has failed.
    private mutating func prepareForInput() -> Bool {
        guard failure == nil else { return false }
        InputBuffer.compact(&buffer, readIndex: &readIndex, scanIndex: &scanIndex)
        return true
    }
}
