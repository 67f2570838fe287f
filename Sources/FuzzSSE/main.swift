// libFuzzer entry point for the SSE parser. No top-level code: a plain `swift build` links this as
// an executable that does nothing, and a fuzz build (-parse-as-library, -sanitize=fuzzer) gets its
// `main` from libFuzzer. Run: scripts/fuzz.sh
import ProxymHTTP

/// Whole input, byte by byte and cut at a few places parse the same (default and a 64-byte event
/// limit); names and data hold no stray line ends; every event re-serialises to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: start == nil ? 0 : count))
    let violations = ConsistencyCheck.sseParser(input) + ConsistencyCheck.sseParser(input, maxEventLength: 64)
    if !violations.isEmpty {
        fatalError("SSE parser property violated:\n" + violations.joined(separator: "\n"))
    }
    return 0
}
