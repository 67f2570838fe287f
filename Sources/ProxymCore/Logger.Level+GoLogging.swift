import Logging

/// `PROXYM_LOG_APPLOG_LEVEL`: `critical`, `debug`, `error`, `info`, `notice` or `warning`, any case.
///
/// nil for anything else: the original silently fell back to INFO, the caller decides (and can say so).
public func parseLogLevel(_ text: String) -> Logger.Level? {
    switch text.lowercased() {
    case "critical": return .critical
    case "debug": return .debug
    case "error": return .error
    case "info": return .info
    case "notice": return .notice
    case "warning": return .warning
    default: return nil
    }
}

extension Logger.Level {
    /// The name op/go-logging prints for `%{level}`. It has no TRACE: trace prints as DEBUG.
    public var goLoggingName: String {
        switch self {
        case .trace, .debug: return "DEBUG"
        case .info: return "INFO"
        case .notice: return "NOTICE"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    /// go-logging's numeric level (`%{level:d}`): CRITICAL 0 ... DEBUG 5.
    var goLoggingValue: Int {
        switch self {
        case .critical: return 0
        case .error: return 1
        case .warning: return 2
        case .notice: return 3
        case .info: return 4
        case .debug, .trace: return 5
        }
    }

    /// go-logging's `%{color}` escape for the level: `normal`, `bold` (`%{color:bold}`); INFO has none.
    func goLoggingColor(bold: Bool) -> String {
        let code: Int
        switch self {
        case .critical: code = 35  // magenta
        case .error: code = 31  // red
        case .warning: code = 33  // yellow
        case .notice: code = 32  // green
        case .info: return ""
        case .debug, .trace: code = 36  // cyan
        }
        return bold ? "\u{1B}[\(code);1m" : "\u{1B}[\(code)m"
    }
}
