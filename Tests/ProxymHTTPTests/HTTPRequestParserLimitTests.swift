import ProxymHTTP
import Testing

/// Each limit exactly met passes and exceeded by one byte fails, with either line end; lengths count
/// line ends.
@Suite("HTTP request parser limits")
struct HTTPRequestParserLimitTests {
    static let small = HTTPLimits(
        maxRequestLineLength: 32,
        maxHeaderSectionLength: 48,
        maxHeaderCount: 3,
        maxBodyLength: 10
    )

    /// `GET /aaa… HTTP/1.1` with its line end exactly `length` bytes long.
    static func requestLine(length: Int, crlf: Bool) -> String {
        let fixed = "GET / HTTP/1.1".utf8.count + (crlf ? 2 : 1)
        return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1" + (crlf ? "\r\n" : "\n")
    }

    /// A header section (fields and the empty line) exactly `length` bytes long.
    static func headerSection(length: Int, crlf: Bool) -> String {
        let end = crlf ? "\r\n" : "\n"
        let fixed = "Host: h".utf8.count + "X: ".utf8.count + 3 * end.utf8.count
        return "Host: h" + end + "X: " + String(repeating: "v", count: length - fixed) + end + end
    }

    @Test("request line at the limit passes, one byte over is 414", arguments: [false, true])
    func requestLine(crlf: Bool) {
        let end = crlf ? "\r\n" : "\n"
        let fits = Self.requestLine(length: 32, crlf: crlf) + "Host: h" + end + end
        let over = Self.requestLine(length: 33, crlf: crlf) + "Host: h" + end + end
        #expect(parseRequests(Array(fits.utf8), limits: Self.small).requests.count == 1)
        #expect(parseRequests(Array(over.utf8), limits: Self.small).error?.status == .uriTooLong)
        for input in [fits, over] { expectSameAtEverySplit(Array(input.utf8)) { parseRequests($0, limits: Self.small) } }
    }

    @Test("header section at the limit passes, one byte over is 431", arguments: [false, true])
    func headerSection(crlf: Bool) {
        let line = crlf ? "GET / HTTP/1.1\r\n" : "GET / HTTP/1.1\n"
        let fits = line + Self.headerSection(length: 48, crlf: crlf)
        let over = line + Self.headerSection(length: 49, crlf: crlf)
        #expect(parseRequests(Array(fits.utf8), limits: Self.small).requests.count == 1)
        #expect(parseRequests(Array(over.utf8), limits: Self.small).error?.status == .requestHeaderFieldsTooLarge)
        for input in [fits, over] { expectSameAtEverySplit(Array(input.utf8)) { parseRequests($0, limits: Self.small) } }
    }

    @Test("header count at the limit passes, one more is 431")
    func headerCount() {
        let fits = "GET / HTTP/1.1\nHost: h\nA: 1\nB: 2\n\n"
        let over = "GET / HTTP/1.1\nHost: h\nA: 1\nB: 2\nC: 3\n\n"
        #expect(parseRequests(Array(fits.utf8), limits: Self.small).requests.count == 1)
        #expect(parseRequests(Array(over.utf8), limits: Self.small).error?.status == .requestHeaderFieldsTooLarge)
    }

    @Test("trailers have their own section and count allowance")
    func trailers() {
        let fits = "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n0\nA: 1\nB: 2\nC: 3\n\n"
        let outcome = parseRequests(Array(fits.utf8), limits: HTTPLimits(maxHeaderCount: 3))
        #expect(outcome.requests.first?.trailers.count == 3)
        let long =
            "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n0\nA: " + String(repeating: "x", count: 60)
            + "\n\n"
        #expect(parseRequests(Array(long.utf8), limits: Self.small).error?.status == .requestHeaderFieldsTooLarge)
    }

    @Test("body at the limit passes, one byte over is 413, by length or by chunks")
    func body() {
        let fits = "POST / HTTP/1.1\nHost: h\nContent-Length: 10\n\n0123456789"
        let chunkedFits = "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n4\n0123\n6\n456789\n0\n\n"
        let chunkedOver = "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n4\n0123\n7\n"
        #expect(parseRequests(Array(fits.utf8), limits: Self.small).requests.first?.body.count == 10)
        #expect(parseRequests(Array(chunkedFits.utf8), limits: Self.small).requests.first?.body.count == 10)
        #expect(parseRequests(Array(chunkedOver.utf8), limits: Self.small).error?.status == .contentTooLarge)
        let none = HTTPLimits(maxBodyLength: 0)
        #expect(
            parseRequests(Array("POST / HTTP/1.1\nHost: h\nContent-Length: 0\n\n".utf8), limits: none).requests.count
                == 1
        )
        #expect(
            parseRequests(Array("POST / HTTP/1.1\nHost: h\nContent-Length: 1\n\n".utf8), limits: none).error?.status
                == .contentTooLarge
        )
    }

    @Test("the default limits: 8 KiB request line, 16 KiB of headers, 100 fields, 1 MiB body")
    func defaults() {
        let limits = HTTPLimits.default
        #expect(limits.maxRequestLineLength == 8192)
        #expect(limits.maxHeaderSectionLength == 16384)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxBodyLength == 1_048_576)

        let line8K = Self.requestLine(length: 8192, crlf: true) + "Host: h\r\n\r\n"
        let line8KPlus = Self.requestLine(length: 8193, crlf: true)
        #expect(parseRequests(Array(line8K.utf8)).requests.count == 1)
        #expect(parseRequests(Array(line8KPlus.utf8)).error?.status == .uriTooLong)
        let headers16K = "GET / HTTP/1.1\r\n" + Self.headerSection(length: 16384, crlf: true)
        let headers16KPlus = "GET / HTTP/1.1\r\n" + Self.headerSection(length: 16385, crlf: true)
        #expect(parseRequests(Array(headers16K.utf8)).requests.count == 1)
        #expect(parseRequests(Array(headers16KPlus.utf8)).error?.status == .requestHeaderFieldsTooLarge)
        // Byte by byte too: a line arriving one byte at a time is scanned once, not once per byte.
        for input in [line8K, line8KPlus, headers16K, headers16KPlus] {
            let bytes = Array(input.utf8)
            #expect(parseRequests(bytes.indices.map { bytes[$0..<($0 + 1)] }) == parseRequests(bytes))
        }

        let fields100 = "GET / HTTP/1.1\r\nHost: h\r\n" + (1..<100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        let fields101 = "GET / HTTP/1.1\r\nHost: h\r\n" + (1...100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(parseRequests(Array(fields100.utf8)).requests.first?.headers.count == 100)
        #expect(parseRequests(Array(fields101.utf8)).error?.status == .requestHeaderFieldsTooLarge)

        let mebibyte = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let bodyFits = Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n".utf8) + mebibyte
        #expect(parseRequests(bodyFits).requests.first?.body == mebibyte)
        let chunked =
            Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n".utf8) + mebibyte
            + Array("\r\n1\r\n".utf8)
        #expect(parseRequests(chunked).error?.status == .contentTooLarge)
    }

    @Test("a megabyte body fed in small reads arrives whole")
    func largeBodyInReads() {
        let body = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bytes = Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n".utf8) + body
        let reads = stride(from: 0, to: bytes.count, by: 1000).map { bytes[$0..<min($0 + 1000, bytes.count)] }
        #expect(parseRequests(reads).requests.first?.body == body)
    }
}
