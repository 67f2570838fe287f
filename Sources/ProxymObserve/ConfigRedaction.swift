/// `GET /api/v1/config`: the live haproxy config with its secrets replaced by `<redacted>`: the
/// passwords of `userlist` users (`password`, `insecure-password`), `stats auth` credentials,
/// `setenv`/`presetenv` values, and any header set to an Authorization or cookie value.
public enum ConfigRedaction {
    public static let mask = "<redacted>"

    public static func redact(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(redactLine).joined(separator: "\n")
    }

    static func redactLine(_ line: Substring) -> String {
        let indent = line.prefix { $0 == " " || $0 == "\t" }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first?.lowercased() else { return String(line) }
        var kept = words.map(String.init)
        switch first {
        case "user":
            // user <name> [password|insecure-password <secret>] [groups ...]
            for i in kept.indices.dropLast() where ["password", "insecure-password"].contains(kept[i].lowercased()) {
                kept[i + 1] = mask
            }
        case "stats" where kept.count >= 3 && kept[1].lowercased() == "auth":
            kept[2...] = [mask]
        case "setenv", "presetenv":
            if kept.count >= 3 { kept[2...] = [mask] }
        default:
            let lower = line.lowercased()
            guard lower.contains("authorization") || lower.contains("cookie") || lower.contains("password")
                || lower.contains("secret") || lower.contains("token")
            else { return String(line) }
            // Keep the directive and the header name; what follows is not shown.
            if let index = kept.firstIndex(where: {
                let w = $0.lowercased()
                return w.contains("authorization") || w.contains("cookie") || w.contains("password") || w.contains("secret")
                    || w.contains("token")
            }), index + 1 < kept.count {
                kept[(index + 1)...] = [mask]
            }
        }
        return String(indent) + kept.joined(separator: " ")
    }
}
