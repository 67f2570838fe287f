/// The checks on Marathon URLs (`PROXYM_MARATHON_SERVERS`, `PROXYM_MARATHON_CALLBACK_URL`).
enum MarathonURL {
    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A server entry as a base URL: `http://` added when there is no scheme, trailing `/` removed.
    static func server(_ entry: Substring) -> Result<String, Problem> {
        let lower = entry.lowercased()
        let url: Substring
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            url = entry
        } else if entry.contains("://") {
            return .failure(Problem("must use http:// or https://"))
        } else {
            url = "http://" + entry
        }
        // The scheme in lower case (`HTTPS://` works, but logs and comparisons read better).
        let schemeLength = url.lowercased().hasPrefix("https://") ? 8 : 7
        var trimmed = url
        while trimmed.hasSuffix("/") && trimmed.count > schemeLength { trimmed = trimmed.dropLast() }
        let normalized = trimmed.prefix(schemeLength).lowercased() + trimmed.dropFirst(schemeLength)
        return check(Substring(normalized)).map { _ in normalized }
    }

    /// Checks `http(s)://[user[:pass]@]host[:port][/path]` loosely: a host is there, nothing blank or
    /// control, no query or fragment.
    static func check(_ url: Substring) -> Result<Void, Problem> {
        let lower = url.lowercased()
        guard let schemeEnd = lower.hasPrefix("http://") ? 7 : lower.hasPrefix("https://") ? 8 : nil else {
            return .failure(Problem("must use http:// or https://"))
        }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(Problem("must not contain spaces or control characters"))
        }
        guard !url.contains("?") && !url.contains("#") else {
            return .failure(Problem("must not have a query or fragment"))
        }
        let rest = url.dropFirst(schemeEnd)
        var authority = rest.prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host = authority.hasPrefix("[") ? authority : authority.prefix { $0 != ":" }
        guard !host.isEmpty, host != "[" else { return .failure(Problem("has no host")) }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            let port = authority[authority.index(after: colon)...]
            guard let number = Int(port), number >= 1, number <= 65535 else {
                return .failure(Problem("has an invalid port"))
            }
        }
        return .success(())
    }

    /// The URL with any `user:password@` shown as `***@`, for messages.
    static func redactingCredentials(_ url: Substring) -> String {
        let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        let authorityEnd = url[schemeEnd...].firstIndex(of: "/") ?? url.endIndex
        guard let at = url[schemeEnd..<authorityEnd].lastIndex(of: "@") else { return String(url) }
        return String(url[..<schemeEnd]) + "***" + String(url[at...])
    }
}
