import Logging
import ProxymCore
import ProxymModel
import ProxymPosix
import Testing

@testable import ProxymRuntime

@Suite(.timeLimit(.minutes(1)))
struct LogSinkTests {
    // MARK: metadata

    @Test(arguments: [
        ("plain", "plain"),
        ("", #""""#),
        ("two words", #""two words""#),
        (#"say "hi""#, #""say \"hi\"""#),
        ("line1\nline2", #""line1\nline2""#),
        ("cr\rlf", #""cr\rlf""#),
        ("tab\there", #""tab\there""#),
        ("a=b", #""a=b""#),
        (#"back\slash"#, #"back\slash"#),
        (#"back\ "slash""#, #""back\\ \"slash\"""#),
        ("bell\u{7}", #""bell\u{7}""#),
        ("del\u{7F}", #""del\u{7f}""#),
        ("esc\u{1B}[31m", #""esc\u{1b}[31m""#),
        ("ünïcödé", "ünïcödé"),
    ])
    func quoting(value: String, rendered: String) {
        #expect(LogSink.quoted(value) == rendered)
        #expect(LogSink.render(["k": .string(value)]) == "k=" + rendered)
    }

    @Test func metadataIsSortedByKey() {
        #expect(LogSink.render([:]) == nil)
        #expect(LogSink.render(["zeta": "1", "alpha": "two words", "mid": "x"]) == #"alpha="two words" mid=x zeta=1"#)
        // Non-string values are rendered, then quoted like strings.
        #expect(LogSink.render(["list": .array(["a", "b c"])]) == #"list="[\"a\", \"b c\"]""#)
    }

    /// Values an attacker can put into a service file or an HTTP request end up in metadata.
    static let hostileValues = [
        "x\nfake=1 [ERROR] injected",
        "x\r\n<3>2024 proxym[1]: forged journal line",
        "\" injected=\"yes",
        "a\\\" b=\\\"c",
        "\u{0}\u{1}\u{1F}\u{7F}",
        "\n\n\n",
        "trailing backslash\\",
    ]

    @Test(arguments: hostileValues)
    func aHostileValueStaysOneValueOnOneLine(value: String) throws {
        let rendered = try #require(LogSink.render(["before": "1", "evil": .string(value), "next": "2"]))
        #expect(!rendered.contains("\n") && !rendered.contains("\r"))
        #expect(!rendered.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        // Parsed back (key=value, quoted values with backslash escapes): the same three keys.
        #expect(try parseMetadata(rendered) == ["before": "1", "evil": value, "next": "2"])

        // Through the whole line format too, with the value also in the message.
        let record = LogRecord(
            time: BrokenDownTime(
                year: 2024,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5,
                weekday: 2,
                yearDay: 2,
                utcOffsetSeconds: 0,
                zoneAbbreviation: "UTC"
            ),
            level: .error,
            message: LogSink.oneLine("message " + value),
            file: "f.swift",
            function: "f()",
            line: 1,
            metadata: rendered
        )
        let line = try LogFormat(LogFormat.defaultFormat).format(record)
        #expect(!line.contains("\n") && !line.contains("\r"), "\(line)")
    }

    // MARK: messages

    @Test(arguments: [
        ("no controls", "no controls"),
        ("a\nb", #"a\nb"#),
        ("a\r\nb", #"a\r\nb"#),
        ("tab\tkept", "tab\tkept"),
        ("esc\u{1B}", #"esc\u{1b}"#),
        ("nul\u{0}", #"nul\u{0}"#),
        ("", ""),
    ])
    func oneLine(message: String, expected: String) {
        #expect(LogSink.oneLine(message) == expected)
    }

    // MARK: journal

    @Test func parseJournalStream() {
        #expect(LogSink.parseJournalStream("8:12345").map { [$0.device, $0.inode] } == [8, 12345])
        #expect(LogSink.parseJournalStream("0:0").map { [$0.device, $0.inode] } == [0, 0])
        #expect(
            LogSink.parseJournalStream("18446744073709551615:1").map { [$0.device, $0.inode] } == [UInt64.max, 1]
        )
        for bad in [nil, "", "8", "8:", ":8", "a:b", "8:1:2", "-1:2", " 8:1", "8:1\n", "8;1", "18446744073709551616:1"]
        {
            #expect(LogSink.parseJournalStream(bad) == nil, "\(bad ?? "nil")")
        }
    }

    @Test func syslogPriorities() {
        let expected: [(Logger.Level, Int)] = [
            (.critical, 2), (.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7),
        ]
        for (level, priority) in expected {
            #expect(LogSink.syslogPriority(level) == priority, "\(level)")
        }
    }

    @Test func thresholdLetsErrorsThrough() {
        let quiet = LogSink(
            format: try! LogFormat(LogFormat.defaultFormat),
            appLevel: .critical,
            allToStderr: false,
            environment: [:],
            program: "proxym"
        )
        #expect(quiet.threshold == .error)
        let chatty = LogSink(
            format: try! LogFormat(LogFormat.defaultFormat),
            appLevel: .debug,
            allToStderr: false,
            environment: [:],
            program: "proxym"
        )
        #expect(chatty.threshold == .debug)
        #expect(!chatty.stdoutIsJournal && !chatty.stderrIsJournal)
    }

    // MARK: the real thing, in a child process (it writes to fds 1 and 2)

    @Test func oneEventIsOneLineOnStdoutWithTheJournalPriority() async throws {
        let result = try await #require(processExitsWith: .success, observing: [\.standardOutputContent]) {
            // stdout is a pipe to the parent; pretend it is the journal by naming its identity.
            let identity = CurrentProcess.fileIdentity(1)!
            let sink = LogSink(
                format: try! LogFormat("%{level} %{message}"),
                appLevel: .info,
                allToStderr: false,
                environment: ["JOURNAL_STREAM": "\(identity.device):\(identity.inode)"],
                program: "proxym"
            )
            let logger = Logger.proxym(sink: sink)
            logger.info("first\nINFO forged line", metadata: ["value": "x\n<3>ERROR forged", "plain": "ok"])
            logger.notice("second")
            logger.debug("below the level: not written")
        }
        let lines = String(decoding: result.standardOutputContent, as: UTF8.self).split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        #expect(
            lines == [
                #"<6>INFO first\nINFO forged line plain=ok value="x\n<3>ERROR forged""#,
                "<5>NOTICE second",
                "",
            ]
        )
    }
}

/// Parses `key=value key="quoted \"value\""`, undoing `LogSink.quoted`'s escapes.
func parseMetadata(_ text: String) throws -> [String: String] {
    struct Malformed: Error {}
    var result: [String: String] = [:]
    var scalars = Array(text.unicodeScalars)[...]
    while !scalars.isEmpty {
        guard let equals = scalars.firstIndex(of: "=") else { throw Malformed() }
        let key = String(String.UnicodeScalarView(scalars[scalars.startIndex..<equals]))
        scalars = scalars[(equals + 1)...]
        var value = String.UnicodeScalarView()
        if scalars.first == "\"" {
            scalars = scalars.dropFirst()
            while true {
                guard let c = scalars.popFirst() else { throw Malformed() }
                if c == "\"" { break }
                guard c == "\\" else {
                    value.append(c)
                    continue
                }
                guard let e = scalars.popFirst() else { throw Malformed() }
                switch e {
                case "n": value.append("\n")
                case "r": value.append("\r")
                case "t": value.append("\t")
                case "\"", "\\": value.append(e)
                case "u":
                    guard scalars.popFirst() == "{", let close = scalars.firstIndex(of: "}") else { throw Malformed() }
                    let hex = String(String.UnicodeScalarView(scalars[scalars.startIndex..<close]))
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw Malformed()
                    }
                    value.append(scalar)
                    scalars = scalars[(close + 1)...]
                default: throw Malformed()
                }
            }
        } else {
            while let c = scalars.first, c != " " {
                value.append(c)
                scalars = scalars.dropFirst()
            }
        }
        guard result.updateValue(String(value), forKey: key) == nil else { throw Malformed() }
        if scalars.first == " " { scalars = scalars.dropFirst() } else if !scalars.isEmpty { throw Malformed() }
    }
    return result
}
