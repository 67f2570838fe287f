// libFuzzer entry point for the service decoders: service files, Marathon's apps and tasks bodies,
// Marathon events. No top-level code: a plain `swift build` links this as an executable that does
// nothing, and a fuzz build (-parse-as-library, -sanitize=fuzzer) gets its `main` from libFuzzer.
// Run: scripts/fuzz.sh
import ProxymFuzzChecks

/// No crash; decoders agree with themselves; a decoded service round-trips through its canonical
/// encoding; whatever is decoded renders only lines the renderer means to write (`ServiceFuzzCheck`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServiceJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: start == nil ? 0 : count))
    let violations = ServiceFuzzCheck.check(input)
    if !violations.isEmpty {
        fatalError("service decoder property violated:\n" + violations.joined(separator: "\n"))
    }
    return 0
}
