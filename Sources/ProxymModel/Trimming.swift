extension StringProtocol {
    /// Without leading and trailing spaces and tabs, and carriage returns when `alsoCR` (lines that
    /// may end in CRLF). Nothing else: a line break inside a value stays, to be refused. The one trim
    /// helper of proxym (settings, option files, labels, HTTP header values, haproxy's answers).
    @inlinable
    public func trimmingBlanks(alsoCR: Bool = false) -> Substring {
        let text = Substring(self)
        let bytes = text.utf8
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || (alsoCR && byte == 0x0D) }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return Substring(bytes[start..<end])
    }
}
