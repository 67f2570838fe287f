import ProxymModel

/// Reads `KEY=VALUE` files like `/etc/proxym/proxym.conf` (the format of systemd's `EnvironmentFile=`):
/// `#`/`;` comment lines, blank lines, optional single or double quotes around the value, an optional
/// leading `export `. Used by `proxym --config FILE`, so the daemon reads the same file systemd does.
public enum EnvironmentFile {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [String: String] {
        var result: [String: String] = [:]
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = rawLine.trimmingBlanks()
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count) }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: number, message: "expected KEY=VALUE")
            }
            let key = String(line[..<eq].trimmingBlanks())
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                !(key.first!.isNumber)
            else {
                throw ParseError(line: number, message: "\"\(key)\" is not a variable name")
            }
            var value = String(line[line.index(after: eq)...].trimmingBlanks())
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            result[key] = value
        }
        return result
    }
}
