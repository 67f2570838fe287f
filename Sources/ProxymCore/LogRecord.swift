import Logging
import ProxymModel

/// One log event, with everything a `LogFormat` can print.
///
/// The runtime's log handler fills it: `time` from the wall clock (`localtime_r`), `file`/`function`/
/// `line` from swift-log's `#fileID`/`#function`/`#line`, `module` with the original's logger name
/// (`appLog` for stdout, `errorLog` for stderr), `id` with a per-process sequence number.
public struct LogRecord: Hashable, Sendable {
    public var time: BrokenDownTime
    /// 0-999_999_999, for the fractional-second layouts (`.000`, `.999`).
    public var nanosecond: Int
    public var level: Logger.Level
    public var message: String
    /// `%{module}`: the logger name (`appLog`, `errorLog`).
    public var module: String
    /// `%{program}`: the executable's base name.
    public var program: String
    public var pid: Int32
    /// `%{id}`: sequence number of the event.
    public var id: UInt64
    /// `#fileID`, e.g. `ProxymRuntime/Daemon.swift`.
    public var file: String
    /// `#function`, e.g. `refresh(reason:)`.
    public var function: String
    public var line: UInt
    /// Rendered metadata, `key=value key2=value2`: `%{message}` prints it after the message, separated
    /// by one space. nil or empty when there is none (or when the caller appended it to `message`).
    public var metadata: String?

    public init(
        time: BrokenDownTime,
        nanosecond: Int = 0,
        level: Logger.Level,
        message: String,
        module: String = "",
        program: String = "",
        pid: Int32 = 0,
        id: UInt64 = 0,
        file: String,
        function: String,
        line: UInt,
        metadata: String? = nil
    ) {
        self.time = time
        self.nanosecond = nanosecond
        self.level = level
        self.message = message
        self.module = module
        self.program = program
        self.pid = pid
        self.id = id
        self.file = file
        self.function = function
        self.line = line
        self.metadata = metadata
    }

    // MARK: - Go's caller verbs, mapped to Swift

    /// `%{message}`: the message, then the metadata if any.
    var fullMessage: String {
        guard let metadata, !metadata.isEmpty else { return message }
        return message + " " + metadata
    }

    /// `%{longpkg}` and `%{shortpkg}`: the module part of `#fileID` (`ProxymRuntime`); `???` (go-logging's
    /// marker for an unknown caller) when `file` has no module part.
    var package: String {
        guard let slash = file.firstIndex(of: "/"), slash != file.startIndex else { return "???" }
        return String(file[..<slash])
    }

    /// `Daemon.swift`.
    var fileName: String {
        guard let slash = file.lastIndex(of: "/") else { return file }
        return String(file[file.index(after: slash)...])
    }

    /// The type a file is named after: `Daemon` for `Daemon.swift` and for `Daemon+Reload.swift`.
    var typeName: String {
        var name = Substring(fileName)
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = name[..<dot] }
        if let plus = name.firstIndex(of: "+"), plus != name.startIndex { name = name[..<plus] }
        return String(name)
    }

    /// `%{shortfunc}`: `refresh` for `refresh(reason:)`; `???` when unknown.
    var shortFunction: String {
        let name = function.prefix { $0 != "(" }
        return name.isEmpty ? "???" : String(name)
    }

    /// `%{longfunc}` and `%{callpath}`: `Daemon.refresh`.
    var longFunction: String {
        let type = typeName
        return type.isEmpty ? shortFunction : type + "." + shortFunction
    }

    /// `%{longfile}`: `ProxymRuntime/Daemon.swift:42`.
    var longFile: String { "\(file):\(line)" }

    /// `%{shortfile}`: `Daemon.swift:42`.
    var shortFile: String { "\(fileName):\(line)" }
}
