/// The input buffer the incremental parsers (``HTTPRequestParser``, ``SSEParser``) share the upkeep of:
/// bytes before `readIndex` are consumed, `scanIndex` is where the search for a line end resumes.
enum InputBuffer {
    /// An idle parser keeps at most this much buffer capacity.
    static let retainedCapacity = 64 << 10

    /// Drops the consumed bytes, amortised: only when they are all of the buffer (whose capacity is
    /// kept up to ``retainedCapacity``), or at least 4 KiB and at least half of it.
    static func compact(_ buffer: inout [UInt8], readIndex: inout Int, scanIndex: inout Int) {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            if buffer.capacity > retainedCapacity {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
            readIndex = 0
            scanIndex = 0
        } else if readIndex >= 4096, readIndex >= buffer.count - readIndex {
            buffer.removeSubrange(..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }
}
