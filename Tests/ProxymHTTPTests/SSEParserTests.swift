import ProxymHTTP
import Testing

struct SSECase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let events: [SSEEvent]
    var heartbeats = 0
    var retry: Int? = nil
    var lastEventID = ""
    var pending = false

    var testDescription: String { name }
}

let sseCases: [SSECase] = [
    SSECase(
        name: "event and data (Marathon 0.11+)",
        bytes: Array("event: status_update_event\r\ndata: {\"a\":1}\r\n\r\n".utf8),
        events: [SSEEvent(event: "status_update_event", data: "{\"a\":1}")]
    ),
    SSECase(
        name: "data only (Marathon 0.9, 0.10)",
        bytes: Array("data: {\"eventType\":\"x\"}\n\ndata: {}\n\n".utf8),
        events: [SSEEvent(data: "{\"eventType\":\"x\"}"), SSEEvent(data: "{}")]
    ),
    SSECase(
        name: "several data lines joined with LF",
        bytes: Array("data: {\"a\":1}\ndata: {\"b\":2}\ndata\ndata:\n\n".utf8),
        events: [SSEEvent(data: "{\"a\":1}\n{\"b\":2}\n\n")]
    ),
    SSECase(
        name: "lines end in CR, LF or CRLF, mixed",
        bytes: Array("event: a\rdata: 1\r\rdata: 2\r\n\r\nevent: c\ndata: 3\r\n\n".utf8),
        events: [SSEEvent(event: "a", data: "1"), SSEEvent(data: "2"), SSEEvent(event: "c", data: "3")]
    ),
    SSECase(
        name: "one leading space stripped, no more",
        bytes: Array("event:x\ndata:  two\ndata:\tthree\n\n".utf8),
        events: [SSEEvent(event: "x", data: " two\n\tthree")]
    ),
    SSECase(
        name: "colons after the first belong to the value",
        bytes: Array("data: a: b:c\n\n".utf8),
        events: [SSEEvent(data: "a: b:c")]
    ),
    SSECase(
        name: "comments and unknown fields ignored",
        bytes: Array(": hello\n:\nfoo: bar\nDATA: no\ndata: yes\nevent : no\n\n".utf8),
        events: [SSEEvent(data: "yes")]
    ),
    SSECase(
        name: "an empty data field dispatches an empty event",
        bytes: Array("data:\n\ndata\n\n".utf8),
        events: [SSEEvent(data: ""), SSEEvent(data: "")]
    ),
    SSECase(
        name: "event without data dispatches nothing, and its type does not leak",
        bytes: Array("event: lonely\n\ndata: next\n\n".utf8),
        events: [SSEEvent(data: "next")]
    ),
    SSECase(
        name: "the last event type wins",
        bytes: Array("event: a\nevent: b\ndata: x\n\n".utf8),
        events: [SSEEvent(event: "b", data: "x")]
    ),
    SSECase(
        name: "an empty event type is the default type",
        bytes: Array("event:\ndata: x\n\n".utf8),
        events: [SSEEvent(data: "x")]
    ),
    SSECase(
        name: "ids persist, an empty id resets, an id with NUL is ignored",
        bytes: Array("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 7\nid: x\u{0}y\ndata: d\n\n".utf8),
        events: [
            SSEEvent(data: "a", id: "1"), SSEEvent(data: "b", id: "1"), SSEEvent(data: "c"),
            SSEEvent(data: "d", id: "7"),
        ],
        lastEventID: "7"
    ),
    SSECase(
        name: "retry takes digits only",
        bytes: Array("retry: 2500\n\nretry: 1x\n\nretry:\n\nretry: -5\n\n".utf8),
        events: [],
        retry: 2500
    ),
    SSECase(
        name: "retry saturates",
        bytes: Array("retry: 99999999999999999999999999\n\n".utf8),
        events: [],
        retry: Int.max
    ),
    SSECase(
        name: "bare line ends are heartbeats (Jetty's CRLF every 10 s)",
        bytes: Array("\r\n\r\ndata: x\r\n\r\n\r\n".utf8),
        events: [SSEEvent(data: "x")],
        heartbeats: 3
    ),
    SSECase(
        name: "a comment-only block is a heartbeat, a field-only block is not",
        bytes: Array(": ping\n\nevent: x\n\nid: 3\n\n".utf8),
        events: [],
        heartbeats: 1,
        lastEventID: "3"
    ),
    SSECase(
        name: "a leading byte order mark is skipped, a later one is not",
        bytes: [0xEF, 0xBB, 0xBF] + Array("data: a\n\n\u{FEFF}data: b\n\n".utf8),
        events: [SSEEvent(data: "a")],
        heartbeats: 0
    ),
    SSECase(
        name: "a byte order mark alone on the first line is an empty line",
        bytes: [0xEF, 0xBB, 0xBF, 0x0A],
        events: [],
        heartbeats: 1
    ),
    SSECase(
        name: "invalid UTF-8 replaced",
        bytes: Array("event: a".utf8) + [0xFF] + Array("\ndata: b".utf8) + [0xC3] + Array("\n\n".utf8),
        events: [SSEEvent(event: "a\u{FFFD}", data: "b\u{FFFD}")]
    ),
    SSECase(
        name: "an event cut off by the end of the stream is not dispatched",
        bytes: Array("data: complete\n\nevent: status_update_event\ndata: {\"cut\":".utf8),
        events: [SSEEvent(data: "complete")],
        pending: true
    ),
    SSECase(
        name: "a CR at the very end waits for a possible LF",
        bytes: Array("data: x\r\r".utf8),
        events: [SSEEvent(data: "x")]
    ),
    SSECase(
        name: "no line ends at all",
        bytes: Array("data: x".utf8),
        events: [],
        pending: true
    ),
    SSECase(name: "empty stream", bytes: [], events: []),
]

/// The real samples, read from the repository's recorded Marathon payloads at test time.
enum SSEFixtures {
    /// `<repository>/Tests/Fixtures/marathon/sse`, relative to this file.
    static let directory: String = {
        var path = #filePath
        for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures/marathon/sse"
    }()
}

@Suite("SSE parser")
struct SSEParserTests {
    @Test("WHATWG event stream rules", arguments: sseCases)
    func table(_ testCase: SSECase) {
        let outcome = parseEvents(testCase.bytes)
        #expect(outcome.error == nil)
        #expect(outcome.events == testCase.events)
        #expect(outcome.heartbeats == testCase.heartbeats)
        #expect(outcome.retry == testCase.retry)
        #expect(outcome.lastEventID == testCase.lastEventID)
        #expect(outcome.hasPendingEvent == testCase.pending)
        #expect(outcome.bytesSeen == testCase.bytes.count)
    }

    @Test("the same events cut anywhere and byte by byte", arguments: sseCases)
    func splits(_ testCase: SSECase) {
        expectSameAtEverySplit(testCase.bytes) { parseEvents($0) }
    }

    @Test("Marathon's samples: events, names and heartbeats")
    func marathonSamples() throws {
        let samples = try loadSamples()
        let byName = Dictionary(uniqueKeysWithValues: samples.map { ($0.name, $0.bytes) })

        let raml = try #require(byName["v2-events__marathon-docs-raml__event-and-data-lines__m0.11+.txt"])
        let ramlOutcome = parseEvents(raml)
        #expect(
            ramlOutcome.events.map(\.event) == ["event_stream_attached", "status_update_event", "status_update_event"]
        )
        #expect(ramlOutcome.heartbeats == 1)  // the file ends with one more empty line
        #expect(!ramlOutcome.hasPendingEvent)

        let dataOnly = try #require(byName["v2-events__marathon-docs__data-lines-only__m0.9-0.10.txt"])
        let dataOnlyOutcome = parseEvents(dataOnly)
        // The second event's block has no empty line after it: the sample stops mid-stream.
        #expect(dataOnlyOutcome.events.map(\.event) == [nil])
        #expect(dataOnlyOutcome.events.first?.data.contains(#""eventType":"event_stream_attached""#) == true)
        #expect(dataOnlyOutcome.hasPendingEvent)

        let attach = try #require(byName["v2-events__marathon-docs__curl-attach__m1.x.txt"])
        let attachOutcome = parseEvents(attach)
        #expect(attachOutcome.events.isEmpty)
        #expect(attachOutcome.hasPendingEvent)
        // Once the empty line arrives, the event is there.
        #expect(parseEvents(attach + [0x0A]).events.map(\.event) == ["event_stream_attached"])
    }

    @Test("every sample: each data line is one JSON object naming the event, whatever the line ends")
    func everySample() throws {
        for sample in try loadSamples() {
            // Complete the last block, then try each line-end style Jetty or a proxy might use.
            let bytes = sample.bytes + [0x0A]
            let lf = parseEvents(bytes)
            #expect(!lf.events.isEmpty, "\(sample.name)")
            for event in lf.events {
                #expect(event.data.hasPrefix("{") && event.data.hasSuffix("}"), "\(sample.name)")
                #expect(!event.data.contains("\n"), "\(sample.name)")
                if let name = event.event {
                    #expect(event.data.contains("\"eventType\":\"\(name)\""), "\(sample.name)")
                }
            }
            let crlf = bytes.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
            let cr = bytes.map { $0 == 0x0A ? 0x0D : $0 }
            #expect(parseEvents(crlf).events == lf.events, "\(sample.name) CRLF")
            #expect(parseEvents(cr).events == lf.events, "\(sample.name) CR")
        }
    }

    @Test("every sample parses the same cut anywhere and byte by byte, with any line ends")
    func sampleSplits() throws {
        for sample in try loadSamples() {
            expectSameAtEverySplit(sample.bytes, label: sample.name) { parseEvents($0) }
            expectSameAtEverySplit(
                sample.bytes.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] },
                label: sample.name + " CRLF"
            ) { parseEvents($0) }
            expectSameAtEverySplit(sample.bytes.map { $0 == 0x0A ? 0x0D : $0 }, label: sample.name + " CR") {
                parseEvents($0)
            }
        }
    }

    @Test("an event at the size limit passes, one byte more fails")
    func eventLimit() {
        // The block's lines count without their line ends: "data: " + 4 bytes = 10.
        let fits = Array("data: abcd\n\n".utf8)
        let over = Array("data: abcde\n\n".utf8)
        #expect(parseEvents(fits, maxEventLength: 10).events == [SSEEvent(data: "abcd")])
        #expect(parseEvents(over, maxEventLength: 10).error == SSEParseError(maxEventLength: 10))
        // Every line of the block counts, comments and field names included.
        let twoLines = Array("event: a\ndata: b\n\n".utf8)
        #expect(parseEvents(twoLines, maxEventLength: 15).events.count == 1)
        #expect(parseEvents(twoLines, maxEventLength: 14).error != nil)
        // A line that never ends fails as soon as it is too long, not when it ends.
        let endless = Array(repeating: UInt8(ascii: "a"), count: 11)
        #expect(parseEvents(endless, maxEventLength: 10).error != nil)
        // The leading byte order mark does not count.
        #expect(parseEvents([0xEF, 0xBB, 0xBF] + fits, maxEventLength: 10).events.count == 1)
        for bytes in [fits, over, twoLines, endless, [0xEF, 0xBB, 0xBF] + fits, [0xEF, 0xBB, 0xBF] + over] {
            for limit in [1, 2, 3, 9, 10, 11, 14, 15] {
                expectSameAtEverySplit(bytes, label: "limit \(limit)") { parseEvents($0, maxEventLength: limit) }
            }
        }
        #expect(SSEParser().maxEventLength == 4 << 20)
    }

    @Test("an error is final, and bytes keep counting")
    func errorsAreSticky() {
        var parser = SSEParser(maxEventLength: 4)
        parser.feed(Array("data: too long\n\n".utf8))
        #expect(throws: SSEParseError(maxEventLength: 4)) { try parser.next() }
        parser.feed(Array("data: a\n\n".utf8))
        #expect(throws: SSEParseError(maxEventLength: 4)) { try parser.next() }
        #expect(parser.error != nil)
        #expect(parser.bytesSeen == 25)
    }

    @Test("heartbeats and bytes are visible between reads")
    func liveness() throws {
        var parser = SSEParser()
        parser.feed(Array("\r".utf8))
        let none = try parser.next()
        #expect(none == nil)
        #expect(parser.heartbeats == 1)
        parser.feed(Array("\n".utf8))  // the LF of that CRLF: no second heartbeat
        let stillNone = try parser.next()
        #expect(stillNone == nil)
        #expect(parser.heartbeats == 1)
        #expect(parser.bytesSeen == 2)
        Array("\r\n".utf8).withUnsafeBytes { parser.feed($0) }
        _ = try parser.next()
        #expect(parser.heartbeats == 2)
        #expect(parser.bytesSeen == 4)
        #expect(!parser.hasPendingEvent)
    }

    @Test("a large event arriving in small reads")
    func largeEvent() {
        let payload = String(repeating: "x", count: 3 << 20)
        let bytes = Array("event: deployment_info\ndata: \(payload)\n\n".utf8)
        let reads = stride(from: 0, to: bytes.count, by: 1500).map { bytes[$0..<min($0 + 1500, bytes.count)] }
        #expect(parseEvents(reads).events == [SSEEvent(event: "deployment_info", data: payload)])
    }

    func loadSamples(sourceLocation: SourceLocation = #_sourceLocation) throws -> [(name: String, bytes: [UInt8])] {
        let names = try #require(
            try? listDirectory(SSEFixtures.directory),
            "missing \(SSEFixtures.directory)",
            sourceLocation: sourceLocation
        )
        let samples = try names.filter { $0.hasSuffix(".txt") }.sorted().map { name in
            (
                name: name,
                bytes: try #require(readFile(SSEFixtures.directory + "/" + name), sourceLocation: sourceLocation)
            )
        }
        try #require(samples.count >= 3, "expected the Marathon SSE samples in \(SSEFixtures.directory)")
        return samples
    }
}
