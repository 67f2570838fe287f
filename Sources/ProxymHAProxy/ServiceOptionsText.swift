import ProxymModel

/// One options directory's files as text -> what the renderer takes (pure; the runtime reads the
/// files). `config`: lines for the service's own section, each checked as haproxy 2.6 would read it
/// (``OptionLine``: no section keyword, no `.if`/`.endif` or other directive, nothing haproxy would
/// refuse or silently drop); `domains`: extra host names, one a line. What is left out is said with
/// its file and line number.
public enum ServiceOptionsText {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// "config" or "domains".
        public var file: String
        /// 1-based.
        public var lineNumber: Int
        public var message: String

        public var description: String { "\(file) line \(lineNumber): \(message)" }
    }

    public static func parse(config: String?, domains: String?) -> (options: ServiceOptions, problems: [Problem]) {
        var options = ServiceOptions()
        var problems: [Problem] = []
        if let config {
            // The operator's own file may use haproxy's environment after the first word.
            let (accepted, dropped) = OptionLine.lines(of: config, allowEnvironment: true)
            options.configLines = accepted
            problems += dropped.map {
                Problem(
                    file: "config", lineNumber: $0.lineNumber,
                    message: "\"\(ValidationError.escaped($0.line, limit: 120))\" left out: \($0.rejection)")
            }
        }
        if let domains {
            var number = 0
            for bytes in domains.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
                number += 1
                let name = String(String(decoding: bytes, as: UTF8.self).trimmingBlanks(alsoCR: true))
                if name.isEmpty || name.hasPrefix("#") { continue }
                do {
                    let domain = try DomainName(name, field: "domains")
                    if !options.extraDomains.contains(domain) { options.extraDomains.append(domain) }
                } catch {
                    problems.append(Problem(file: "domains", lineNumber: number, message: "invalid domain left out: \(error)"))
                }
            }
        }
        return (options, problems)
    }
}
