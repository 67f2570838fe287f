// libFuzzer entry point for the HTTP request parser. No top-level code: a plain `swift build` links
// this as an executable that does nothing, and a fuzz build (-parse-as-library, -sanitize=fuzzer)
// gets its `main` from libFuzzer. Run: scripts/fuzz.sh
import ProxymHTTP

/// Whole input, byte by byte and cut at a few places parse the same (default and small limits);
/// every parsed request re-serialises to itself; a response echoing it is framed correctly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: start == nil ? 0 : count))
    // Small limits too, so the fuzzer's short inputs reach every limit path.
    let smallLimits = HTTPLimits(
        maxRequestLineLength: 64,
        maxHeaderSectionLength: 128,
        maxHeaderCount: 4,
        maxBodyLength: 64
    )
    let violations =
        ConsistencyCheck.httpRequestParser(input) + ConsistencyCheck.httpRequestParser(input, limits: smallLimits)
    if !violations.isEmpty {
        fatalError("HTTP request parser property violated:\n" + violations.joined(separator: "\n"))
    }
    return 0
}
