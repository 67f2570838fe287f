import ProxymModel

/// Cleaning of free text (global config, option lines, the bind address) before it goes into the file.
///
/// Everything that comes from the typed model (ids, domains, addresses, ports) is safe by construction;
/// these helpers cover the operator-supplied strings, so that none of them can carry a line break or
/// another control character into the configuration.
enum ConfigText {
    /// True for C0 and C1 control characters and DEL (Unicode general category Cc).
    @inline(__always)
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }

    /// The global config with `\r` and other control characters removed (newline and tab kept), ending
    /// in a newline unless it is empty.
    static func globalConfig(_ raw: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars where scalar == "\n" || scalar == "\t" || !isControl(scalar) {
            out.append(scalar)
        }
        var text = String(out)
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        return text
    }

    /// The option lines as they go into a section: each element split at `\n` (so a whole file may be
    /// passed as one element), tab turned into a space, every other control character (`\r` of CRLF
    /// files included) removed, spaces trimmed, empty lines dropped.
    static func optionLines(_ raw: [String]) -> [String] {
        var lines: [String] = []
        for element in raw {
            var current = String.UnicodeScalarView()
            for scalar in element.unicodeScalars {
                if scalar == "\n" {
                    appendTrimmed(current, to: &lines)
                    current = String.UnicodeScalarView()
                } else if scalar == "\t" {
                    current.append(" ")
                } else if !isControl(scalar) {
                    current.append(scalar)
                }
            }
            appendTrimmed(current, to: &lines)
        }
        return lines
    }

    private static func appendTrimmed(_ scalars: String.UnicodeScalarView, to lines: inout [String]) {
        var slice = Substring.UnicodeScalarView(scalars)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        if !slice.isEmpty { lines.append(String(String.UnicodeScalarView(slice))) }
    }

    /// The address part of a `bind` line, without the port: IPv4 as is, IPv6 canonical and in brackets
    /// (`[::1]`, which HAProxy 2.6 accepts in `bind` and `server`).
    ///
    /// The caller has validated the address. Should it still be something else, it is written with
    /// whitespace and control characters removed: `haproxy -c` then rejects the file and the old
    /// configuration stays live, which is louder and safer than silently binding everywhere.
    static func bindHost(_ raw: String) -> String {
        var text = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars where !isControl(scalar) && scalar != " " { text.append(scalar) }
        let cleaned = String(text)
        if let address = try? HostAddress(cleaned), !address.isHostname { return address.haproxyText }
        if cleaned.contains(":") && !cleaned.hasPrefix("[") { return "[" + cleaned + "]" }
        return cleaned
    }
}
