// TEMPORARY until the real LogFormat lands.
import Logging
public struct LogFormat: Sendable {
    public static let defaultFormat = "%{time:02.01.2006 15:04:05} [%{level}] %{longfunc}: %{message}"
    public init(_ format: String) throws {}
}
public func parseLogLevel(_ text: String) -> Logger.Level? {
    switch text.lowercased() {
    case "critical": return .critical
    case "error": return .error
    case "warning": return .warning
    case "notice": return .notice
    case "info": return .info
    case "debug": return .debug
    default: return nil
    }
}
