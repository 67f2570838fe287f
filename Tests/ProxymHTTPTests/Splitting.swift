import ProxymHTTP
import Testing

/// Everything a caller can observe after feeding a byte stream to a request parser.
struct RequestOutcome: Hashable, CustomStringConvertible {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError?
    var hasPartialRequest = false
    var isClosed = false
    var bufferedByteCount = 0

    var description: String {
        "\(requests.count) requests, error: \(error.map(String.init(describing:)) ?? "none"), "
            + "partial: \(hasPartialRequest), closed: \(isClosed), buffered: \(bufferedByteCount)"
    }
}

/// Everything a caller can observe after feeding a byte stream to an SSE parser.
struct SSEOutcome: Hashable, CustomStringConvertible {
    var events: [SSEEvent] = []
    var error: SSEParseError?
    var heartbeats = 0
    var bytesSeen = 0
    var retry: Int?
    var lastEventID = ""
    var hasPendingEvent = false

    var description: String {
        "\(events), error: \(error.map(\.description) ?? "none"), heartbeats: \(heartbeats), "
            + "bytes: \(bytesSeen), retry: \(retry.map(String.init) ?? "nil"), id: \(lastEventID.debugDescription), "
            + "pending: \(hasPendingEvent)"
    }
}

/// Feeds the chunks in order, calling `next()` until nil after each, the way a connection would.
func parseRequests(_ chunks: [ArraySlice<UInt8>], limits: HTTPLimits = .default) -> RequestOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = RequestOutcome()
    for chunk in chunks {
        parser.feed(chunk)
        do {
            while let request = try parser.next() { outcome.requests.append(request) }
        } catch {
            outcome.error = error
        }
    }
    outcome.hasPartialRequest = parser.hasPartialRequest
    outcome.isClosed = parser.isClosed
    outcome.bufferedByteCount = parser.bufferedByteCount
    return outcome
}

func parseRequests(_ bytes: [UInt8], limits: HTTPLimits = .default) -> RequestOutcome {
    parseRequests([bytes[...]], limits: limits)
}

func parseEvents(_ chunks: [ArraySlice<UInt8>], maxEventLength: Int = SSEParser.defaultMaxEventLength) -> SSEOutcome {
    var parser = SSEParser(maxEventLength: maxEventLength)
    var outcome = SSEOutcome()
    for chunk in chunks {
        parser.feed(chunk)
        do {
            while let event = try parser.next() { outcome.events.append(event) }
        } catch {
            outcome.error = error
        }
    }
    outcome.heartbeats = parser.heartbeats
    outcome.bytesSeen = parser.bytesSeen
    outcome.retry = parser.retry
    outcome.lastEventID = parser.lastEventID
    outcome.hasPendingEvent = parser.hasPendingEvent
    return outcome
}

func parseEvents(_ bytes: [UInt8], maxEventLength: Int = SSEParser.defaultMaxEventLength) -> SSEOutcome {
    parseEvents([bytes[...]], maxEventLength: maxEventLength)
}

/// The input cut in two at every offset (0 and count included), then one chunk per byte.
func everySplit(_ bytes: [UInt8]) -> [(label: String, chunks: [ArraySlice<UInt8>])] {
    var splits = (0...bytes.count).map { offset in
        (label: "split at \(offset)", chunks: [bytes[..<offset], bytes[offset...]])
    }
    splits.append((label: "byte by byte", chunks: bytes.indices.map { bytes[$0..<($0 + 1)] }))
    return splits
}

/// Whole, cut in two at every offset and byte by byte give the same observable outcome (`parse` feeds
/// the chunks to a fresh parser and says what a caller would see).
func expectSameAtEverySplit<Outcome: Equatable & CustomStringConvertible>(
    _ bytes: [UInt8],
    label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ parse: ([ArraySlice<UInt8>]) -> Outcome
) {
    let whole = parse([bytes[...]])
    for split in everySplit(bytes) {
        let outcome = parse(split.chunks)
        if outcome != whole {
            Issue.record("\(label) \(split.label): \(outcome)\nwhole: \(whole)", sourceLocation: sourceLocation)
            return
        }
    }
}

extension [UInt8] {
    /// Test inputs are written with `\n`; `crlf` turns each into `\r\n`.
    init(_ text: String, crlf: Bool) {
        self = Array((crlf ? text.replacing("\n", with: "\r\n") : text).utf8)
    }
}
