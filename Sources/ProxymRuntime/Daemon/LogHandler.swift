import Logging
import ProxymCore
import ProxymPosix
import Synchronization

/// Where log lines go, decided once at startup. Shared by every copy of the handler.
///
/// Like the original proxym: the application log ("appLog") goes to stdout at the configured level,
/// errors ("errorLog") to stderr. When a stream is connected to the journal (`JOURNAL_STREAM` names
/// its device:inode) each line starts with `<N>` so journald records the priority. One event is one
/// line: newlines inside messages are escaped.
public final class LogSink: Sendable {
    public let format: LogFormat
    public let appLevel: Logger.Level
    /// `render`/`check` print the config on stdout: every log line then goes to stderr.
    public let allToStderr: Bool
    let stdoutIsJournal: Bool
    let stderrIsJournal: Bool
    let program: String
    let pid: Int32
    private let sequence = Atomic<UInt64>(0)
    /// Repeated lines (notice and above) collapsed per kind; nil = every line is written.
    private let repeats: Mutex<LogRateLimiter<String, Suppressed>?>
    private let collapsesRepeats: Bool
    /// Arms the timer that says the counts of collapsed lines (set by `flushRepeats(on:)`); armed
    /// only while lines are being collapsed, so an idle daemon has no timer for it.
    private let flushTimer = Mutex<FlushTimer>(FlushTimer())

    struct FlushTimer: @unchecked Sendable {
        var arm: ((Instant) -> Void)?
        var armed = false
    }

    /// A line left out, kept for the summary that counts it.
    struct Suppressed: @unchecked Sendable {
        var event: LogEvent
        var handlerMetadata: Logger.Metadata
    }

    /// - Parameter repeatInterval: `PROXYM_LOG_REPEAT_INTERVAL`: at most `LogSink.repeatBurst` lines of one
    ///   kind (level, call site, message) per interval, then one line with the count; zero = off.
    public init(
        format: LogFormat, appLevel: Logger.Level, allToStderr: Bool, environment: [String: String], program: String,
        repeatInterval: Duration = .zero
    ) {
        self.collapsesRepeats = repeatInterval > .zero
        self.repeats = Mutex(
            repeatInterval > .zero
                ? LogRateLimiter(interval: repeatInterval, burst: LogSink.repeatBurst, overflowKey: "(other lines)") : nil)
        self.format = format
        self.appLevel = appLevel
        self.allToStderr = allToStderr
        let journal = LogSink.parseJournalStream(environment["JOURNAL_STREAM"])
        func isJournal(_ fd: CInt) -> Bool {
            guard let journal, let identity = CurrentProcess.fileIdentity(fd) else { return false }
            return identity.device == journal.device && identity.inode == journal.inode
        }
        self.stdoutIsJournal = isJournal(1)
        self.stderrIsJournal = isJournal(2)
        self.program = program
        self.pid = CurrentProcess.pid
    }

    /// `JOURNAL_STREAM=<device>:<inode>` (decimal).
    static func parseJournalStream(_ value: String?) -> (device: UInt64, inode: UInt64)? {
        guard let value, let colon = value.firstIndex(of: ":"),
            let device = UInt64(value[..<colon]), let inode = UInt64(value[value.index(after: colon)...])
        else { return nil }
        return (device, inode)
    }

    /// The lowest level any destination accepts (errors always pass, as the original's ErrorLog).
    var threshold: Logger.Level { min(appLevel, .error) }

    /// Lines of one kind written per interval before they are collapsed.
    public static let repeatBurst = 5

    func write(_ event: LogEvent, handlerMetadata: Logger.Metadata) {
        guard collapsesRepeats, event.level >= .notice else {
            render(event, handlerMetadata: handlerMetadata)
            return
        }
        let key = "\(event.level)|\(event.file):\(event.line)|\(event.message)"
        let now = Instant(nanoseconds: MonotonicClock.nanoseconds())
        let suppressed = Suppressed(event: event, handlerMetadata: handlerMetadata)
        let (write, summaries) = repeats.withLock { $0?.admit(key, suppressed, at: now) ?? (true, []) }
        writeSummaries(summaries)
        if write { render(event, handlerMetadata: handlerMetadata) } else { armFlush() }
    }

    /// A line was left out: make sure its count will be said when its interval ends, even if no
    /// other line comes.
    private func armFlush() {
        guard let due = repeats.withLock({ $0?.nextExpiry }) else { return }
        let arm = flushTimer.withLock { timer -> ((Instant) -> Void)? in
            guard !timer.armed, let arm = timer.arm else { return nil }
            timer.armed = true
            return arm
        }
        arm?(due)
    }

    /// Writes the counts of collapsed lines whose interval is over (a timer calls it while lines are
    /// collapsed, so the count of a flood that stopped is still said).
    public func flushRepeats() {
        guard collapsesRepeats else { return }
        let now = Instant(nanoseconds: MonotonicClock.nanoseconds())
        writeSummaries(repeats.withLock { $0?.expire(at: now) ?? [] })
    }

    /// After a flush: when to flush again (a kind is still collapsed), or nil (the timer rests until
    /// the next line left out).
    func nextFlush() -> Instant? {
        repeats.withLock { limiter in
            guard let limiter, limiter.isCollapsing else { return nil }
            return limiter.nextExpiry
        }
    }

    private func writeSummaries(_ summaries: [LogRateLimiter<String, Suppressed>.Summary]) {
        for summary in summaries {
            var event = summary.last.event
            event.message = "\(event.message) \(LogRateLimiter<String, Suppressed>.note(summary))"
            render(event, handlerMetadata: summary.last.handlerMetadata)
        }
    }

    private func render(_ event: LogEvent, handlerMetadata: Logger.Metadata) {
        let toStderr = allToStderr || event.level >= .error
        if !toStderr && event.level < appLevel { return }
        var metadata = handlerMetadata
        if let extra = event.metadata { metadata.merge(extra) { _, new in new } }
        if let error = event.error { metadata["error"] = "\(error)" }
        let now = WallClock.now()
        let time = WallClock.localTime(seconds: now.seconds)
        let record = LogRecord(
            time: time, nanosecond: Int(now.nanoseconds), level: event.level,
            message: LogSink.oneLine(event.message.description), module: toStderr && event.level >= .error ? "errorLog" : "appLog",
            program: program, pid: pid, id: sequence.add(1, ordering: .relaxed).newValue,
            file: event.file, function: event.function, line: event.line,
            metadata: LogSink.render(metadata))
        let journal = toStderr ? stderrIsJournal : stdoutIsJournal
        var line = journal ? "<\(LogSink.syslogPriority(event.level))>" : ""
        line += format.format(record)
        line += "\n"
        try? CurrentProcess.writeAll(fd: toStderr ? 2 : 1, bytes: Array(line.utf8))
    }

    /// sd-daemon(3) priorities.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: return 2
        case .error: return 3
        case .warning: return 4
        case .notice: return 5
        case .info: return 6
        case .debug, .trace: return 7
        }
    }

    /// `key=value` pairs sorted by key; values with blanks, quotes or control characters are quoted
    /// and escaped, so a hostile value can neither break the line nor fake another key.
    static func render(_ metadata: Logger.Metadata) -> String? {
        guard !metadata.isEmpty else { return nil }
        return metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\(quoted("\($0.value)"))" }.joined(separator: " ")
    }

    static func quoted(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7F }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Newlines and other control characters in a message are escaped: one event, one line.
    static func oneLine(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { return message }
        var out = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 { out += "\\u{\(String(scalar.value, radix: 16))}" } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// The swift-log handler: a small value that forwards to the shared `LogSink`.
public struct ProxymLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let sink: LogSink

    public init(sink: LogSink) {
        self.sink = sink
        self.logLevel = sink.threshold
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) { sink.write(event, handlerMetadata: metadata) }
}

extension Logger {
    /// A logger writing through `sink`, for the daemon and the one-shot commands.
    public static func proxym(sink: LogSink) -> Logger {
        Logger(label: "proxym") { _ in ProxymLogHandler(sink: sink) }
    }
}

extension LogSink {
    /// Says the counts of collapsed lines on `loop` when their interval ends. The timer exists only
    /// while lines are being collapsed: an idle daemon does not wake up for it.
    public func flushRepeats(on loop: EventLoop) {
        flushTimer.withLock { timer in
            timer.arm = { [weak self, weak loop] due in
                guard let self, let loop else { return }
                self.scheduleFlush(at: due, on: loop)
            }
        }
    }

    private func scheduleFlush(at due: Instant, on loop: EventLoop) {
        loop.schedule(at: due) { [weak self, weak loop] in
            guard let self, let loop else { return }
            self.flushRepeats()
            if let next = self.nextFlush() {
                self.scheduleFlush(at: next, on: loop)
            } else {
                self.flushTimer.withLock { $0.armed = false }
            }
        }
    }
}
