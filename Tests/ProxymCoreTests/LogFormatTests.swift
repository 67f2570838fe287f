import Logging
import ProxymModel
import ProxymCore
import Testing

/// Wednesday 2026-11-25 14:03:07.123456789 CET (+01:00), day 329 of the year.
private let cet = BrokenDownTime(
    year: 2026,
    month: 11,
    day: 25,
    hour: 14,
    minute: 3,
    second: 7,
    weekday: 3,
    yearDay: 329,
    utcOffsetSeconds: 3600,
    zoneAbbreviation: "CET"
)
/// Monday 2026-01-05 09:04:05 UTC, day 5.
private let utc = BrokenDownTime(
    year: 2026,
    month: 1,
    day: 5,
    hour: 9,
    minute: 4,
    second: 5,
    weekday: 1,
    yearDay: 5,
    utcOffsetSeconds: 0,
    zoneAbbreviation: "UTC"
)
/// The same wall clock in Newfoundland, -03:30.
private let nst = BrokenDownTime(
    year: 2026,
    month: 1,
    day: 5,
    hour: 9,
    minute: 4,
    second: 5,
    weekday: 1,
    yearDay: 5,
    utcOffsetSeconds: -12_600,
    zoneAbbreviation: "NST"
)

private func record(
    time: BrokenDownTime = cet,
    nanosecond: Int = 123_456_789,
    level: Logger.Level = .info,
    message: String = "refresh started",
    id: UInt64 = 7,
    file: String = "ProxymRuntime/Daemon.swift",
    function: String = "refresh(reason:)",
    metadata: String? = nil
) -> LogRecord {
    LogRecord(
        time: time,
        nanosecond: nanosecond,
        level: level,
        message: message,
        module: "appLog",
        program: "proxym",
        pid: 1234,
        id: id,
        file: file,
        function: function,
        line: 42,
        metadata: metadata
    )
}

private func format(_ format: String, _ record: LogRecord = record()) throws -> String {
    try LogFormat(format).format(record)
}

@Suite struct LogFormatTests {
    @Test func defaultFormatMatchesTheOriginal() throws {
        #expect(LogFormat.defaultFormat == "%{time:02.01.2006 15:04:05} [%{level}] %{longfunc}: %{message}")
        #expect(try format(LogFormat.defaultFormat) == "25.11.2026 14:03:07 [INFO] Daemon.refresh: refresh started")
    }

    // MARK: - Verbs

    @Test(arguments: [
        ("%{level}", "INFO"),
        ("%{id}", "7"),
        ("%{pid}", "1234"),
        ("%{program}", "proxym"),
        ("%{module}", "appLog"),
        ("%{message}", "refresh started"),
        ("%{longfile}", "ProxymRuntime/Daemon.swift:42"),
        ("%{shortfile}", "Daemon.swift:42"),
        ("%{longpkg}", "ProxymRuntime"),
        ("%{shortpkg}", "ProxymRuntime"),
        ("%{longfunc}", "Daemon.refresh"),
        ("%{shortfunc}", "refresh"),
        ("%{callpath}", "Daemon.refresh"),
        ("%{callpath:3}", "Daemon.refresh"),
        ("%{time}", "2026-11-25T14:03:07.123+01:00"),
        ("%{color}%{level}%{color:reset}", "INFO\u{1B}[0m"),
    ])
    func eachVerb(format text: String, expected: String) throws {
        #expect(try format(text) == expected)
    }

    @Test func functionNamesFollowTheFileAndDropArgumentLabels() throws {
        let reload = record(file: "ProxymRuntime/Daemon+Reload.swift", function: "reload()")
        #expect(
            try format("%{longfunc} %{shortfunc} %{shortfile}", reload) == "Daemon.reload reload Daemon+Reload.swift:42"
        )
        let initializer = record(file: "ProxymPosix/Epoll.swift", function: "init(maxEvents:)")
        #expect(try format("%{longfunc} %{longpkg}", initializer) == "Epoll.init ProxymPosix")
        let property = record(file: "proxym/main.swift", function: "description")
        #expect(try format("%{longfunc}", property) == "main.description")
        let unknown = record(file: "Loose.swift", function: "")
        #expect(
            try format("%{longfunc} %{shortfunc} %{longpkg} %{longfile}", unknown) == "Loose.??? ??? ??? Loose.swift:42"
        )
    }

    @Test(arguments: [
        (Logger.Level.trace, "DEBUG", 5, "\u{1B}[36m"), (.debug, "DEBUG", 5, "\u{1B}[36m"), (.info, "INFO", 4, ""),
        (.notice, "NOTICE", 3, "\u{1B}[32m"), (.warning, "WARNING", 2, "\u{1B}[33m"),
        (.error, "ERROR", 1, "\u{1B}[31m"),
        (.critical, "CRITICAL", 0, "\u{1B}[35m"),
    ])
    func levelsMapToGoLogging(level: Logger.Level, name: String, number: Int, color: String) throws {
        let line = try format("%{level} %{level:d} %{color}x%{color:reset}", record(level: level))
        #expect(line == "\(name) \(number) \(color)x\u{1B}[0m")
    }

    @Test func boldColor() throws {
        #expect(try format("%{color:bold}%{level}", record(level: .critical)) == "\u{1B}[35;1mCRITICAL")
        #expect(try format("%{color:anything}%{level}", record(level: .error)) == "\u{1B}[31mERROR")
    }

    @Test func metadataFollowsTheMessage() throws {
        let withMetadata = record(metadata: "service.id=/web reload.generation=3")
        #expect(try format("%{message}|", withMetadata) == "refresh started service.id=/web reload.generation=3|")
        #expect(try format("%{message}|", record(metadata: "")) == "refresh started|")
        #expect(try format("%{message:.7s}", withMetadata) == "refresh")
    }

    // MARK: - Go time layouts

    /// Expected values follow Go's documented `time.Format` semantics for the same instant.
    @Test(arguments: [
        // Every token, at 2026-11-25 14:03:07.123456789 CET.
        ("2006", "2026"), ("06", "26"), ("01", "11"), ("1", "11"), ("Jan", "Nov"), ("January", "November"),
        ("02", "25"), ("2", "25"), ("_2", "25"), ("15", "14"), ("03", "02"), ("3", "2"), ("04", "03"), ("4", "3"),
        ("05", "07"), ("5", "7"), ("PM", "PM"), ("pm", "pm"), ("Mon", "Wed"), ("Monday", "Wednesday"),
        ("MST", "CET"), ("-0700", "+0100"), ("-07:00", "+01:00"), ("-07", "+01"), ("Z0700", "+0100"),
        ("Z07:00", "+01:00"), ("Z07", "+01"), ("-070000", "+010000"), ("-07:00:00", "+01:00:00"),
        ("Z070000", "+010000"), ("Z07:00:00", "+01:00:00"), ("002", "329"), ("__2", "329"),
        // Fractional seconds.
        ("05.000", "07.123"), ("05.000000", "07.123456"), ("05.000000000", "07.123456789"), ("05.999", "07.123"),
        ("05.9", "07.1"), ("05,000", "07,123"), ("05,999999999", "07,123456789"), ("05.0000000000", "07.123456789"),
        // Go's named layouts.
        ("2006-01-02T15:04:05.999Z07:00", "2026-11-25T14:03:07.123+01:00"),
        ("Mon, 02 Jan 2006 15:04:05 MST", "Wed, 25 Nov 2026 14:03:07 CET"),
        ("Mon Jan _2 15:04:05 2006", "Wed Nov 25 14:03:07 2026"),
        ("02 Jan 06 15:04 -0700", "25 Nov 26 14:03 +0100"),
        ("3:04PM", "2:03PM"),
        ("02.01.2006 15:04:05", "25.11.2026 14:03:07"),
        // Literal text and Go's scanning quirks.
        ("Janet", "Janet"), ("Jan2006", "Nov2026"), ("Mont", "Mont"), ("Mondays", "Wednesdays"), ("_2006", "_2026"),
        ("__2006", "329026"), ("15:04:05.0001", "14:03:07.0011"), ("T15h", "T14h"), ("05.", "07."), ("05.x", "07.x"),
        ("at 15\\}04", "at 14\\}03"), ("ünïcödé 15", "ünïcödé 14"),
    ])
    func goTimeLayoutAtCET(layout: String, expected: String) throws {
        #expect(try format("%{time:\(layout)}") == expected)
    }

    @Test(arguments: [
        ("_2", " 5"), ("2", "5"), ("02", "05"), ("1", "1"), ("01", "01"), ("3", "9"), ("03", "09"), ("PM", "AM"),
        ("pm", "am"), ("__2", "  5"), ("002", "005"), ("Z07:00", "Z"), ("Z0700", "Z"), ("Z07", "Z"), ("Z07:00:00", "Z"),
        ("-07:00", "+00:00"), ("-0700", "+0000"), ("MST", "UTC"), ("05.999", "05.12"), ("05.000", "05.120"),
        ("05.99", "05.12"), ("05.9", "05.1"), ("05,999", "05,12"),
        ("Mon Jan _2 15:04:05 2006", "Mon Jan  5 09:04:05 2026"), ("Monday January", "Monday January"),
    ])
    func goTimeLayoutAtUTC(layout: String, expected: String) throws {
        #expect(try format("%{time:\(layout)}", record(time: utc, nanosecond: 120_000_000)) == expected)
    }

    @Test func fractionOfZeroNanoseconds() throws {
        let whole = record(time: utc, nanosecond: 0)
        #expect(try format("%{time:15:04:05.999}", whole) == "09:04:05")
        #expect(try format("%{time:15:04:05.000}", whole) == "09:04:05.000")
        #expect(try format("%{time}", whole) == "2026-01-05T09:04:05Z")
        // Digits beyond the precision are cut, not rounded: .9999 ms shows as .999.
        #expect(try format("%{time:.000}", record(nanosecond: 999_999_999)) == ".999")
        #expect(try format("%{time:.999}", record(nanosecond: 1)) == "")
    }

    @Test func negativeAndUnnamedZones() throws {
        #expect(
            try format("%{time:-0700 -07:00 -07 Z07:00 Z0700 MST -07:00:00}", record(time: nst))
                == "-0330 -03:30 -03 -03:30 -0330 NST -03:30:00"
        )
        var unnamed = nst
        unnamed.zoneAbbreviation = ""
        #expect(try format("%{time:MST}", record(time: unnamed)) == "-0330")
    }

    @Test func twelveHourClockAtMidnightAndNoon() throws {
        var midnight = utc
        midnight.hour = 0
        #expect(try format("%{time:3 03 PM}", record(time: midnight)) == "12 12 AM")
        var noon = utc
        noon.hour = 12
        #expect(try format("%{time:3 03 PM pm}", record(time: noon)) == "12 12 PM pm")
    }

    // MARK: - Go fmt flags

    @Test(arguments: [
        ("%{level:.4s}", "INFO"), ("%{level:.1s}", "I"), ("%{level:-8s}|", "INFO    |"), ("%{level:8s}|", "    INFO|"),
        ("%{level:08s}", "0000INFO"), ("%{level:-08s}|", "INFO    |"), ("%{level:3s}", "INFO"), ("%{level:v}", "INFO"),
        ("%{level:q}", "\"INFO\""), ("%{level:x}", "494e464f"), ("%{level:X}", "494E464F"),
        ("%{level: x}", "49 4e 46 4f"), ("%{level:.2x}", "494e"), ("%{level:10x}|", "  494e464f|"),
        ("%{level:d}", "4"), ("%{level:03d}", "004"), ("%{level:o}", "4"),
        ("%{id:03x}", "007"), ("%{id:5d}|", "    7|"), ("%{id:-5d}|", "7    |"), ("%{id:+d}", "+7"), ("%{id: d}", " 7"),
        ("%{id:+05d}", "+0007"), ("%{id:.3d}", "007"), ("%{id:6.3d}|", "   007|"), ("%{id:06.3d}|", "   007|"),
        ("%{id:-05d}|", "7    |"), ("%{id:v}", "7"), ("%{id:+v}", "7"), ("%{id:5v}|", "    7|"), ("%{id:o}", "7"),
        ("%{pid:x}", "4d2"), ("%{pid:X}", "4D2"), ("%{pid:o}", "2322"), ("%{pid:08d}", "00001234"),
        ("%{pid:s}", "%!s(int=1234)"), ("%{id:s}", "%!s(uint64=7)"), ("%{message:d}", "%!d(string=refresh started)"),
        ("%{message:.7s}", "refresh"), ("%{message:12.7s}|", "     refresh|"), ("%{message:s!}", "refresh started!"),
        ("%{id:d%%}", "7%"), ("%{module:-8s}|", "appLog  |"), ("%{program:q}", "\"proxym\""),
    ])
    func goFmtFlags(format text: String, expected: String) throws {
        #expect(try format(text) == expected)
    }

    @Test func integersEdgeCases() throws {
        #expect(try format("%{id:.0d}|", record(id: 0)) == "|")
        #expect(try format("%{id:3.0d}|", record(id: 0)) == "   |")
        #expect(try format("%{id:x} %{id:X} %{id:o}", record(id: 255)) == "ff FF 377")
        #expect(try format("%{id}", record(id: .max)) == "18446744073709551615")
        #expect(try format("%{id:q}", record(id: 65)) == "'A'")
        #expect(try format("%{id:q}", record(id: 7)) == "'\\a'")
        #expect(try format("%{id:q}", record(id: 0x1F600)) == "'😀'")
        #expect(try format("%{id:+q}", record(id: 0x1F600)) == "'\\U0001f600'")
        #expect(try format("%{id:q}", record(id: 0x11_0000)) == "'�'")
        #expect(try format("%{id:q}", record(id: 0xD800)) == "'�'")
    }

    @Test func quotedStringsEscapeLikeStrconvQuote() throws {
        let tricky = record(message: "say \"hi\"\n\tüñ\u{7}\u{0}\u{7F}\u{A0}\\")
        #expect(try format("%{message:q}", tricky) == #""say \"hi\"\n\tüñ\a\x00\x7f\u00a0\\""#)
        #expect(try format("%{message:+q}", tricky) == #""say \"hi\"\n\t\u00fc\u00f1\a\x00\x7f\u00a0\\""#)
        #expect(try format("%{message:.3q}", tricky) == #""say""#)
    }

    @Test func widthCountsUnicodeScalars() throws {
        #expect(try format("%{message:6s}|", record(message: "ünï")) == "   ünï|")
        #expect(try format("%{message:.2s}", record(message: "ünï")) == "ün")
    }

    // MARK: - Parsing

    @Test func unknownVerbIsAnError() {
        #expect(throws: LogFormatError.unknownVerb("foo")) { try LogFormat("%{foo}") }
        #expect(throws: LogFormatError.unknownVerb("levle")) { try LogFormat("%{level} %{levle:s}") }
        #expect(throws: LogFormatError.unknownVerb("times")) { try LogFormat("%{times:15:04}") }
        let description = LogFormatError.unknownVerb("foo").description
        #expect(description.contains("%{foo}"))
    }

    @Test(arguments: [
        ("%{id:#x}", "id", "#x"), ("%{id:*d}", "id", "*d"), ("%{level:d%s}", "level", "d%s"),
        ("%{level:f}", "level", "f"),
        ("%{level:5}", "level", "5"), ("%{id:99999999d}", "id", "99999999d"),
        ("%{id:.99999999999999999999999d}", "id", ".99999999999999999999999d"),
        ("%{callpath:x}", "callpath", "x"), ("%{message:[1]s}", "message", "[1]s"),
    ])
    func unsupportedLayoutIsAnError(format text: String, verb: String, layout: String) {
        #expect(throws: LogFormatError.unsupportedLayout(verb: verb, layout: layout)) { try LogFormat(text) }
    }

    @Test(arguments: ["", "plain text", "%d %s", "%{Level}", "%{}", "%{level:}", "%{level"])
    func formatWithoutPlaceholdersIsAnError(text: String) {
        #expect(throws: LogFormatError.noPlaceholders(format: text)) { try LogFormat(text) }
    }

    @Test func percentNotFollowedByBraceIsLiteral() throws {
        #expect(try format("100% %d %s %%{level} %{Level} %{level}x") == "100% %d %s %INFO %{Level} INFOx")
        #expect(try format("%{message} %{level:} %") == "refresh started %{level:} %")
        #expect(try format("%{level}%") == "INFO%")
        #expect(try format("%{ level} %{level}") == "%{ level} INFO")
    }

    @Test func layoutEndsAtTheFirstUnescapedBraceAndNotAcrossANewline() throws {
        #expect(try format("%{time:15\\}04}") == "14\\}03")
        #expect(try format("%{time:15\n04} %{level}") == "%{time:15\n04} INFO")
        #expect(try format("%{time:15:04}}") == "14:03}")
        #expect(try format("%{level:s}%{message:.3s}") == "INFOref")
    }

    // MARK: - Levels and times

    @Test func parseLogLevelAcceptsTheOriginalNamesInAnyCase() {
        #expect(parseLogLevel("critical") == .critical)
        #expect(parseLogLevel("DEBUG") == .debug)
        #expect(parseLogLevel("Error") == .error)
        #expect(parseLogLevel("info") == .info)
        #expect(parseLogLevel("NoTiCe") == .notice)
        #expect(parseLogLevel("WARNING") == .warning)
        for other in ["", "trace", "warn", " info", "info ", "fatal", "5"] {
            #expect(parseLogLevel(other) == nil, "\(other)")
        }
    }

    @Test func brokenDownTimeFromUnixSeconds() {
        #expect(BrokenDownTime(unixSeconds: 1_795_611_787, utcOffsetSeconds: 3600, zoneAbbreviation: "CET") == cet)
        #expect(BrokenDownTime(unixSeconds: 1_767_603_845) == utc)
        #expect(BrokenDownTime(unixSeconds: 1_767_616_445, utcOffsetSeconds: -12_600, zoneAbbreviation: "NST") == nst)
        #expect(
            BrokenDownTime(unixSeconds: 0)
                == BrokenDownTime(
                    year: 1970,
                    month: 1,
                    day: 1,
                    hour: 0,
                    minute: 0,
                    second: 0,
                    weekday: 4,
                    yearDay: 1,
                    utcOffsetSeconds: 0,
                    zoneAbbreviation: "UTC"
                )
        )
        #expect(
            BrokenDownTime(unixSeconds: -86_401)
                == BrokenDownTime(
                    year: 1969,
                    month: 12,
                    day: 30,
                    hour: 23,
                    minute: 59,
                    second: 59,
                    weekday: 2,
                    yearDay: 364,
                    utcOffsetSeconds: 0,
                    zoneAbbreviation: "UTC"
                )
        )
        let leapDay = BrokenDownTime(unixSeconds: 951_868_799)
        #expect([leapDay.year, leapDay.month, leapDay.day, leapDay.weekday, leapDay.yearDay] == [2000, 2, 29, 2, 60])
        let year2100 = BrokenDownTime(unixSeconds: 4_102_444_800)
        #expect(
            [year2100.year, year2100.month, year2100.day, year2100.weekday, year2100.yearDay] == [2100, 1, 1, 5, 1]
        )
        #expect(BrokenDownTime(unixSeconds: 0, utcOffsetSeconds: 3600).zoneAbbreviation == "")
    }
}
