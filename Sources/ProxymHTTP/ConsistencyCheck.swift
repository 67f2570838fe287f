/// The properties the fuzz targets check, in one place so `FuzzHTTPRequest`, `FuzzSSE` and the tests
/// that replay fuzz crashers agree on them. `package`, not `public`: not part of the API.
///
/// Each function returns the violated properties (empty when all hold) instead of trapping, so a
/// test can report them; the fuzz harnesses trap on a non-empty result.
package enum ConsistencyCheck {
    /// What parsing a byte stream produced, everything the caller can observe.
    package struct HTTPTranscript: Hashable, CustomStringConvertible {
        package var requests: [HTTPRequest] = []
        package var error: HTTPParseError?
        package var hasPartialRequest = false
        package var isClosed = false
        package var bufferedByteCount = 0

        package var description: String {
            "\(requests.count) requests \(requests.map { "\($0.method) \($0.target) body=\($0.body.count)" }), "
                + "error: \(error.map(String.init(describing:)) ?? "none"), partial: \(hasPartialRequest), "
                + "closed: \(isClosed), buffered: \(bufferedByteCount)"
        }
    }

    package struct SSETranscript: Hashable, CustomStringConvertible {
        package var events: [SSEEvent] = []
        package var error: SSEParseError?
        package var heartbeats = 0
        package var bytesSeen = 0
        package var retry: Int?
        package var lastEventID = ""
        package var hasPendingEvent = false

        package var description: String {
            "\(events.count) events \(events.map { $0.event ?? "-" }), error: \(error.map(\.description) ?? "none"), "
                + "heartbeats: \(heartbeats), bytes: \(bytesSeen), retry: \(retry.map(String.init) ?? "nil"), "
                + "id: \(lastEventID.debugDescription), pending: \(hasPendingEvent)"
        }
    }

    /// Feeds `chunks` in order, draining ``HTTPRequestParser/next()`` after each.
    package static func parseHTTP(_ chunks: [ArraySlice<UInt8>], limits: HTTPLimits = .default) -> HTTPTranscript {
        var parser = HTTPRequestParser(limits: limits)
        var transcript = HTTPTranscript()
        for chunk in chunks {
            parser.feed(chunk)
            do {
                while let request = try parser.next() { transcript.requests.append(request) }
            } catch {
                transcript.error = error
            }
        }
        transcript.hasPartialRequest = parser.hasPartialRequest
        transcript.isClosed = parser.isClosed
        transcript.bufferedByteCount = parser.bufferedByteCount
        return transcript
    }

    /// Feeds `chunks` in order, draining ``SSEParser/next()`` after each.
    package static func parseSSE(
        _ chunks: [ArraySlice<UInt8>],
        maxEventLength: Int = SSEParser.defaultMaxEventLength
    )
        -> SSETranscript
    {
        var parser = SSEParser(maxEventLength: maxEventLength)
        var transcript = SSETranscript()
        for chunk in chunks {
            parser.feed(chunk)
            do {
                while let event = try parser.next() { transcript.events.append(event) }
            } catch {
                transcript.error = error
            }
        }
        transcript.heartbeats = parser.heartbeats
        transcript.bytesSeen = parser.bytesSeen
        transcript.retry = parser.retry
        transcript.lastEventID = parser.lastEventID
        transcript.hasPendingEvent = parser.hasPendingEvent
        return transcript
    }

    /// `input` cut at each offset in `offsets` (sorted, clamped, duplicates allowed).
    package static func split(_ input: [UInt8], at offsets: [Int]) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        for offset in offsets.map({ min(max($0, 0), input.count) }).sorted() {
            chunks.append(input[start..<max(start, offset)])
            start = max(start, offset)
        }
        chunks.append(input[start...])
        return chunks
    }

    /// One chunk per byte.
    package static func bytewise(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        input.indices.map { input[$0..<($0 + 1)] }
    }

    /// A few cuts that depend on the input, so the fuzzer explores them too.
    static func cuts(_ input: [UInt8]) -> [[Int]] {
        let count = input.count
        guard count > 1 else { return [] }
        let seed = Int(input[0]) &* 31 &+ Int(input[count - 1])
        return [[count / 2], [count / 3, 2 * count / 3], [seed % count], [1, count - 1], [seed % count, count / 2]]
    }

    // MARK: - Request parser

    /// Whole, byte by byte and cut at a few places parse the same; every request, serialised again,
    /// parses back to itself; a response built from it is framed correctly.
    package static func httpRequestParser(_ input: [UInt8], limits: HTTPLimits = .default) -> [String] {
        var violations: [String] = []
        let whole = parseHTTP([input[...]], limits: limits)
        let bytewise = parseHTTP(bytewise(input), limits: limits)
        if bytewise != whole {
            violations.append("byte by byte: \(bytewise)\n       whole: \(whole)")
        }
        for offsets in cuts(input) {
            let cut = parseHTTP(split(input, at: offsets), limits: limits)
            if cut != whole { violations.append("cut at \(offsets): \(cut)\n       whole: \(whole)") }
        }
        for (index, request) in whole.requests.enumerated() {
            violations += requestRoundTrip(request, limits: limits).map { "request \(index): \($0)" }
            violations += responseFraming(for: request).map { "response to request \(index): \($0)" }
        }
        return violations
    }

    /// Serialising loses the framing fields (replaced by one `Content-Length`), trailers, line-end
    /// style and optional whitespace; parse it with limits loose enough for the added bytes.
    static func requestRoundTrip(_ request: HTTPRequest, limits: HTTPLimits) -> [String] {
        var expected = request
        expected.headers.remove(name: "Content-Length")
        expected.headers.remove(name: "Transfer-Encoding")
        if !request.body.isEmpty { expected.headers.add(name: "Content-Length", value: String(request.body.count)) }
        expected.trailers = [:]
        let loose = HTTPLimits(
            maxRequestLineLength: limits.maxRequestLineLength * 2,
            maxHeaderSectionLength: limits.maxHeaderSectionLength * 3 + 64,
            maxHeaderCount: limits.maxHeaderCount + 1,
            maxBodyLength: limits.maxBodyLength
        )
        let again = parseHTTP([request.serialized()[...]], limits: loose)
        guard again.error == nil, again.requests == [expected], !again.hasPartialRequest else {
            return ["re-parsed serialisation differs: \(again)"]
        }
        return []
    }

    /// A response echoing the request's fields and body: its head must parse as a header section
    /// (read by swapping the status line for a request line), announce the body's exact length and
    /// the connection's fate, and hold nothing else.
    static func responseFraming(for request: HTTPRequest) -> [String] {
        let statuses: [HTTPStatus] = [.ok, .badRequest, .notFound, .methodNotAllowed, .contentTooLarge, .noContent]
        let status = statuses[request.body.count % statuses.count]
        var headers = request.headers
        headers.remove(name: "Host")  // the echo is read back as an HTTP/1.0 request: at most one Host
        let response = HTTPResponse(status: status, headers: headers, body: request.body)
        let bytes = response.serialized(keepAlive: request.keepAlive)
        let statusLine = Array("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n".utf8)
        guard bytes.starts(with: statusLine) else { return ["bad status line"] }
        let asRequest = Array("GET / HTTP/1.0\r\n".utf8) + bytes[statusLine.count...]
        let loose = HTTPLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 1 << 20, maxHeaderCount: 1000)
        let parsed = parseHTTP([asRequest[...]], limits: loose)
        guard parsed.error == nil, parsed.requests.count == 1, !parsed.hasPartialRequest,
            parsed.bufferedByteCount == 0, let echo = parsed.requests.first
        else { return ["response does not re-parse: \(parsed)"] }
        var expected = headers
        expected.remove(name: "Content-Length")
        expected.remove(name: "Connection")
        expected.remove(name: "Transfer-Encoding")
        if !status.forbidsBody { expected.add(name: "Content-Length", value: String(request.body.count)) }
        expected.add(name: "Connection", value: request.keepAlive ? "keep-alive" : "close")
        var violations: [String] = []
        if echo.headers != expected { violations.append("headers differ: \(echo.headers) vs \(expected)") }
        if echo.body != (status.forbidsBody ? [] : request.body) { violations.append("body differs") }
        return violations
    }

    // MARK: - SSE parser

    /// Whole, byte by byte and cut at a few places parse the same; names and data hold no line
    /// ends other than data's `\n` separators; every event, written out again, parses back to itself.
    package static func sseParser(_ input: [UInt8], maxEventLength: Int = SSEParser.defaultMaxEventLength) -> [String] {
        var violations: [String] = []
        let whole = parseSSE([input[...]], maxEventLength: maxEventLength)
        let bytewise = parseSSE(bytewise(input), maxEventLength: maxEventLength)
        if bytewise != whole { violations.append("byte by byte: \(bytewise)\n       whole: \(whole)") }
        for offsets in cuts(input) {
            let cut = parseSSE(split(input, at: offsets), maxEventLength: maxEventLength)
            if cut != whole { violations.append("cut at \(offsets): \(cut)\n       whole: \(whole)") }
        }
        if whole.bytesSeen != input.count { violations.append("bytesSeen \(whole.bytesSeen) != \(input.count)") }
        for (index, event) in whole.events.enumerated() {
            if event.data.utf8.contains(ASCII.cr) { violations.append("event \(index): CR in data") }
            for text in [event.event, event.id].compactMap({ $0 })
            where text.utf8.contains(where: { $0 == ASCII.cr || $0 == ASCII.lf }) {
                violations.append("event \(index): line end in a name or id")
            }
            let again = parseSSE([serialize(event)[...]], maxEventLength: Int.max)
            if again.events != [event] || again.error != nil {
                violations.append("event \(index): re-parsed serialisation differs: \(again)")
            }
        }
        return violations
    }

    /// `event:`, `id:` and one `data:` per line, then an empty line.
    static func serialize(_ event: SSEEvent) -> [UInt8] {
        var out: [UInt8] = []
        if let name = event.event { out += Array("event: \(name)\n".utf8) }
        if let id = event.id { out += Array("id: \(id)\n".utf8) }
        for line in event.data.split(separator: "\n", omittingEmptySubsequences: false) {
            out += Array("data: \(line)\n".utf8)
        }
        out.append(ASCII.lf)
        return out
    }
}
