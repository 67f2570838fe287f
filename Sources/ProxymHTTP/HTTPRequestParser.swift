/// An incremental HTTP/1.1 request parser: bytes in as they arrive, complete requests out.
///
/// ```swift
/// parser.feed(bytesJustRead)
/// do {
///     while let request = try parser.next() { answer(request, keepAlive: request.keepAlive) }
///     if parser.takeContinueRequest() { write(HTTPResponse.continueInterim) }
/// } catch {
///     write(HTTPResponse(error: error).serialized(keepAlive: false)); close()
/// }
/// ```
///
/// The result depends only on the bytes, never on how they were split into chunks: feeding a
/// request whole, byte by byte, or cut anywhere gives the same requests and the same error. An error
/// is reported as soon as the bytes so far make it certain, without waiting for more.
///
/// Framing follows RFC 9112: a body is delimited by `Content-Length` or by `Transfer-Encoding:
/// chunked` (extensions ignored, trailers kept in ``HTTPRequest/trailers``), otherwise it is empty.
/// Lines may end in CRLF or a bare LF; a bare CR is not a line end. Empty lines before a request
/// line are skipped. Refused as 400: obsolete line folding, whitespace before a field name's colon,
/// control characters, both `Content-Length` and `Transfer-Encoding`, differing `Content-Length`
/// values, a `Transfer-Encoding` on HTTP/1.0, an HTTP/1.1 request without exactly one `Host`.
///
/// Memory: after ``next()`` returns nil, the parser holds at most one partial request, so at most
/// the ``HTTPLimits`` plus one chunk fed since. Errors are final: once ``next()`` has thrown, it
/// throws the same error again and ``feed(_:)-(some Collection<UInt8>)`` drops its input. After a
/// request whose ``HTTPRequest/keepAlive`` is false the parser is ``isClosed`` and drops what
/// follows (a client must not pipeline after `Connection: close`).
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPLimits

    /// Bytes fed and not yet consumed start at `readIndex`; `[readIndex, scanIndex)` is known to hold
    /// no line end, so a line arriving byte by byte is scanned once, not once per byte.
    var buffer: [UInt8] = []
    var readIndex = 0
    var scanIndex = 0
    var state: State = .requestLine

    // The request being assembled.
    var method = HTTPMethod.get
    var target = ""
    var version = HTTPVersion.http1_1
    var headers = HTTPHeaders()
    var trailers = HTTPHeaders()
    var body: [UInt8] = []
    /// Bytes of the header (or trailer) section so far, line ends included.
    var sectionLength = 0
    var continuePending = false

    enum State: Sendable, Hashable {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case closed
        case failed(HTTPParseError)
    }

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    // MARK: - Input

    /// Appends bytes just read from the connection. Call ``next()`` until it returns nil afterwards.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        guard prepareForInput() else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes just read from the connection. Call ``next()`` until it returns nil afterwards.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard prepareForInput() else { return }
        buffer.append(contentsOf: bytes)
    }

    // MARK: - Output

    /// The next complete request, or nil when more bytes are needed.
    ///
    /// - Throws: ``HTTPParseError``: answer with its ``HTTPParseError/status`` and close.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        switch state {
        case .failed(let error): throw error
        case .closed: return nil
        default: break
        }
        do {
            return try step()
        } catch {
            state = .failed(error)
            buffer = []
            readIndex = 0
            scanIndex = 0
            resetRequest()
            throw error
        }
    }

    /// True once for each request that asked `Expect: 100-continue` and whose head is complete but
    /// whose body has not all arrived: write ``HTTPResponse/continueInterim`` so the client sends it.
    /// Check after ``next()`` has returned nil.
    public mutating func takeContinueRequest() -> Bool {
        defer { continuePending = false }
        return continuePending
    }

    // MARK: - State for the connection's owner

    /// Whether part of a request has arrived but not all of it (after ``next()`` returned nil). A
    /// server times this out as a slow client; when false, the connection is idle between requests.
    public var hasPartialRequest: Bool {
        switch state {
        case .requestLine: readIndex < buffer.count
        case .closed, .failed: false
        default: true
        }
    }

    /// Whether the last request asked to close the connection: further input is ignored.
    public var isClosed: Bool { state == .closed }

    /// The error ``next()`` threw, if any.
    public var error: HTTPParseError? {
        if case .failed(let error) = state { error } else { nil }
    }

    /// Bytes held that ``next()`` has not consumed yet.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    // MARK: - Steps

    /// What one step of the state machine came to.
    private enum Progress {
        /// Take the next step (the state may have changed).
        case advanced
        /// The bytes so far are used up.
        case needMore
        case request(HTTPRequest)
    }

    private mutating func step() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            let progress: Progress
            switch state {
            case .requestLine: progress = try requestLineStep()
            case .headers: progress = try fieldLineStep(isTrailer: false)
            case .trailers: progress = try fieldLineStep(isTrailer: true)
            case .body(let remaining): progress = bodyStep(remaining: remaining)
            case .chunkSize: progress = try chunkSizeStep()
            case .chunkData(let remaining): progress = chunkDataStep(remaining: remaining)
            case .chunkEnd: progress = try chunkEndStep()
            case .closed, .failed: return nil
            }
            switch progress {
            case .advanced: continue
            case .needMore: return nil
            case .request(let request): return request
            }
        }
    }

    @inline(__always)
    private mutating func requestLineStep() throws(HTTPParseError) -> Progress {
        guard let line = try takeLine(limit: limits.maxRequestLineLength, used: 0, tooLong: .requestLineTooLong) else {
            return .needMore
        }
        if line.content.isEmpty { return .advanced }  // RFC 9112 section 2.2: skip empty lines before a request
        try parseRequestLine(line.content)
        sectionLength = 0
        state = .headers
        return .advanced
    }

    /// A header line, or a trailer line; the empty line ends the head (or the request).
    @inline(__always)
    private mutating func fieldLineStep(isTrailer: Bool) throws(HTTPParseError) -> Progress {
        let limit = limits.maxHeaderSectionLength
        guard let line = try takeLine(limit: limit, used: sectionLength, tooLong: .headersTooLong) else {
            return .needMore
        }
        sectionLength += line.length
        if line.content.isEmpty {
            if isTrailer { return .request(complete()) }
            if let request = try finishHead() { return .request(request) }
        } else if isTrailer {
            let field = try parseField(line.content, count: trailers.count)
            trailers.add(name: field.name, value: field.value)
        } else {
            let field = try parseField(line.content, count: headers.count)
            if headers.isEmpty { headers.reserveCapacity(16) }
            headers.add(name: field.name, value: field.value)
        }
        return .advanced
    }

    @inline(__always)
    private mutating func bodyStep(remaining: Int) -> Progress {
        let taken = takeBody(upTo: remaining)
        if taken == remaining { return .request(complete()) }
        state = .body(remaining: remaining - taken)
        return .needMore
    }

    @inline(__always)
    private mutating func chunkSizeStep() throws(HTTPParseError) -> Progress {
        guard let line = try takeLine(limit: HTTPLimits.maxChunkLineLength, used: 0, tooLong: .chunkLineTooLong) else {
            return .needMore
        }
        let size = try parseChunkSize(line.content)
        if size == 0 {
            sectionLength = 0
            state = .trailers
        } else {
            state = .chunkData(remaining: size)
        }
        return .advanced
    }

    @inline(__always)
    private mutating func chunkDataStep(remaining: Int) -> Progress {
        let taken = takeBody(upTo: remaining)
        guard taken == remaining else {
            state = .chunkData(remaining: remaining - taken)
            return .needMore
        }
        state = .chunkEnd
        return .advanced
    }

    @inline(__always)
    private mutating func chunkEndStep() throws(HTTPParseError) -> Progress {
        // Only CRLF or LF may follow chunk data: a line of at most 2 bytes, and empty.
        guard let line = try takeLine(limit: 2, used: 0, tooLong: .chunkOverrun) else { return .needMore }
        guard line.content.isEmpty else { throw HTTPParseError.chunkOverrun }
        state = .chunkSize
        return .advanced
    }

    /// The next line, without its line end (LF, or CRLF), as a range of `buffer`; nil if no line end
    /// has arrived yet. `length` counts the line end too. Throws `tooLong` as soon as `used` plus the
    /// line (with at least a 1-byte line end) is certain to exceed `limit`.
    private mutating func takeLine(
        limit: Int,
        used: Int,
        tooLong: HTTPParseError
    ) throws(HTTPParseError) -> (content: Range<Int>, length: Int)? {
        let end = buffer.count
        let lineFeed: Int? = buffer.withUnsafeBufferPointer { bytes in
            var index = scanIndex
            while index < end {
                if bytes[index] == ASCII.lf { return index }
                index += 1
            }
            return nil
        }
        guard let lineFeed else {
            scanIndex = end
            if used + (end - readIndex) + 1 > limit { throw tooLong }
            return nil
        }
        let start = readIndex
        let length = lineFeed + 1 - start
        if used + length > limit { throw tooLong }
        readIndex = lineFeed + 1
        scanIndex = readIndex
        let contentEnd = lineFeed > start && buffer[lineFeed - 1] == ASCII.cr ? lineFeed - 1 : lineFeed
        return (start..<contentEnd, length)
    }

    /// Moves up to `remaining` buffered bytes into the body; returns how many.
    private mutating func takeBody(upTo remaining: Int) -> Int {
        let count = min(buffer.count - readIndex, remaining)
        if count > 0 {
            body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
            readIndex += count
            scanIndex = readIndex
        }
        return count
    }

    mutating func complete() -> HTTPRequest {
        let request = HTTPRequest(
            method: method,
            target: target,
            version: version,
            headers: headers,
            body: body,
            trailers: trailers
        )
        resetRequest()
        state = request.keepAlive ? .requestLine : .closed
        if state == .closed {
            buffer = []
            readIndex = 0
            scanIndex = 0
        }
        return request
    }

    private mutating func resetRequest() {
        target = ""
        headers = HTTPHeaders()
        trailers = HTTPHeaders()
        body = []
        sectionLength = 0
        continuePending = false
    }

    /// Drops consumed bytes (amortised: only when they are at least half the buffer, or all of it);
    /// returns false when input is no longer wanted.
    private mutating func prepareForInput() -> Bool {
        switch state {
        case .closed, .failed: return false
        default: break
        }
        InputBuffer.compact(&buffer, readIndex: &readIndex, scanIndex: &scanIndex)
        return true
    }
}

extension HTTPParseError {
    static let requestLineTooLong = HTTPParseError(.requestLineTooLong, "the request line is too long")
    static let headersTooLong = HTTPParseError(.headersTooLarge, "the header section is too long")
    static let chunkLineTooLong = HTTPParseError.malformed("a chunk size line is too long")
    static let chunkOverrun = HTTPParseError.malformed("chunk data is not followed by a line end")
    static let bodyTooLarge = HTTPParseError(.bodyTooLarge, "the body is too large")
}
