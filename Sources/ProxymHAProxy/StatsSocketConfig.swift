import ProxymModel
/// The `stats socket` lines of a configuration's `global` section: which UNIX sockets haproxy will
/// listen on for its CLI, at which level, and whether they hand the listeners to a new process (`-x`).
public enum StatsSocketConfig {
    public struct Declared: Sendable, Hashable {
        /// The socket's path (`unix@` prefix removed).
        public var path: String
        /// `level admin`: the Runtime API's `set server` needs it.
        public var isAdmin: Bool
        /// `expose-fd listeners`: a new process started with `-x <path>` takes the listening sockets.
        public var exposesListeners: Bool

        public init(path: String, isAdmin: Bool, exposesListeners: Bool) {
            self.path = path
            self.isAdmin = isAdmin
            self.exposesListeners = exposesListeners
        }
    }

    /// Every UNIX-socket `stats socket` line in the `global` section(s), in order.
    public static func declared(in config: String) -> [Declared] {
        var result: [Declared] = []
        var inGlobal = false
        // "\r\n" is one Character: split on it too, or a CRLF file would be one long line.
        for line in config.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            // Any control character (a CRLF file's \r, say) separates words, as the renderer drops them.
            let words = line.unicodeScalars.split(whereSeparator: { $0 == " " || ConfigText.isControl($0) })
                .map { Substring(String(String.UnicodeScalarView($0))) }
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            if OptionLine.sectionKeywords.contains(String(first)) {
                inGlobal = first == "global"
                continue
            }
            guard inGlobal, words.count >= 3, first == "stats", words[1] == "socket" else { continue }
            var address = words[2]
            if address.hasPrefix("unix@") { address = address.dropFirst(5) }
            guard address.hasPrefix("/") else { continue }
            var isAdmin = false
            var exposes = false
            for index in words.indices.dropFirst(3).dropLast() {
                if words[index] == "level" && words[index + 1] == "admin" { isAdmin = true }
                if words[index] == "expose-fd" && words[index + 1] == "listeners" { exposes = true }
            }
            result.append(Declared(path: String(address), isAdmin: isAdmin, exposesListeners: exposes))
        }
        return result
    }

    /// The line proxym adds for `path` (whitespace and control characters removed from it).
    public static func line(for path: String) -> String {
        var clean = String.UnicodeScalarView()
        for scalar in path.unicodeScalars where !ConfigText.isControl(scalar) && scalar != " " { clean.append(scalar) }
        return "  stats socket \(String(clean)) mode 600 level admin expose-fd listeners"
    }

    /// `config` with an admin socket at `path`: unchanged when a `stats socket` line already names
    /// that path; otherwise the line is added right after the first `global` line (or a `global`
    /// section holding only it is put first).
    public static func ensuring(_ path: String, in config: String) -> String {
        if declared(in: config).contains(where: { $0.path == path }) { return config }
        let added = line(for: path)
        var lines = config.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let index = lines.firstIndex(where: { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first == "global" }) {
            lines.insert(added, at: index + 1)
            return lines.joined(separator: "\n")
        }
        return "global\n\(added)\n\n" + config
    }
}
