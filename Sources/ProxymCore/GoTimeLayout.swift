import ProxymModel

/// A Go `time.Format` layout (`02.01.2006 15:04:05`), compiled once.
///
/// Tokens are recognised exactly as Go's `nextStdChunk` does, scanning left to right: `2006 06 01 1 Jan
/// January 02 2 _2 15 03 3 04 4 05 5 PM pm Mon Monday MST -0700 -07:00 -07 -070000 -07:00:00 Z0700
/// Z07:00 Z07 Z070000 Z07:00:00 002 __2` and fractional seconds `.000`/`,000` (fixed digits) and
/// `.999`/`,999` (trailing zeros and then the separator trimmed). Everything else is literal text,
/// including `Jan` followed by a lower-case letter (`Janet`) and digit runs like `.0001`.
struct GoTimeLayout: Hashable, Sendable {
    enum Token: Hashable, Sendable {
        case longMonth, month, numMonth, zeroMonth
        case longWeekDay, weekDay
        case day, underDay, zeroDay, underYearDay, zeroYearDay
        case hour, hour12, zeroHour12, minute, zeroMinute, second, zeroSecond
        case longYear, year
        case pm, pmLower
        case zoneName
        case iso8601TZ, iso8601SecondsTZ, iso8601ShortTZ, iso8601ColonTZ, iso8601ColonSecondsTZ
        case numTZ, numSecondsTZ, numShortTZ, numColonTZ, numColonSecondsTZ
        /// `digits` 1-9 (Go prints at most nine); `trim` for the `9` form; `separator` `.` or `,`.
        case fraction(digits: Int, trim: Bool, separator: Character)
    }

    enum Chunk: Hashable, Sendable {
        case literal(String)
        case token(Token)
    }

    let chunks: [Chunk]

    /// RFC 3339 with milliseconds, go-logging's default for `%{time}`.
    static let goLoggingDefault = "2006-01-02T15:04:05.999Z07:00"

    init(_ layout: String) {
        let bytes = Array(layout.utf8)
        var chunks: [Chunk] = []
        var start = 0
        while start < bytes.count {
            guard let (tokenStart, token, next) = GoTimeLayout.nextToken(bytes, from: start) else {
                chunks.append(.literal(String(decoding: bytes[start...], as: UTF8.self)))
                break
            }
            if tokenStart > start {
                chunks.append(.literal(String(decoding: bytes[start..<tokenStart], as: UTF8.self)))
            }
            chunks.append(.token(token))
            start = next
        }
        self.chunks = chunks
    }

    /// Go's `nextStdChunk`: where the next token starts, which one it is, and where the text after it starts.
    private static func nextToken(_ b: [UInt8], from start: Int) -> (Int, Token, Int)? {
        func has(_ text: String, at i: Int) -> Bool {
            let t = Array(text.utf8)
            return i + t.count <= b.count && Array(b[i..<i + t.count]) == t
        }
        func isLower(_ i: Int) -> Bool { i < b.count && b[i] >= UInt8(ascii: "a") && b[i] <= UInt8(ascii: "z") }

        var i = start
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "J"):
                if has("Jan", at: i) {
                    if has("January", at: i) { return (i, .longMonth, i + 7) }
                    if !isLower(i + 3) { return (i, .month, i + 3) }
                }
            case UInt8(ascii: "M"):
                if has("Mon", at: i) {
                    if has("Monday", at: i) { return (i, .longWeekDay, i + 6) }
                    if !isLower(i + 3) { return (i, .weekDay, i + 3) }
                }
                if has("MST", at: i) { return (i, .zoneName, i + 3) }
            case UInt8(ascii: "0"):
                if i + 1 < b.count, b[i + 1] >= UInt8(ascii: "1"), b[i + 1] <= UInt8(ascii: "6") {
                    let tokens: [Token] = [.zeroMonth, .zeroDay, .zeroHour12, .zeroMinute, .zeroSecond, .year]
                    return (i, tokens[Int(b[i + 1] - UInt8(ascii: "1"))], i + 2)
                }
                if has("002", at: i) { return (i, .zeroYearDay, i + 3) }
            case UInt8(ascii: "1"):
                if has("15", at: i) { return (i, .hour, i + 2) }
                return (i, .numMonth, i + 1)
            case UInt8(ascii: "2"):
                if has("2006", at: i) { return (i, .longYear, i + 4) }
                return (i, .day, i + 1)
            case UInt8(ascii: "_"):
                if has("_2", at: i) {
                    // `_2006` is a literal `_` followed by the year.
                    if has("_2006", at: i) { return (i + 1, .longYear, i + 5) }
                    return (i, .underDay, i + 2)
                }
                if has("__2", at: i) { return (i, .underYearDay, i + 3) }
            case UInt8(ascii: "3"):
                return (i, .hour12, i + 1)
            case UInt8(ascii: "4"):
                return (i, .minute, i + 1)
            case UInt8(ascii: "5"):
                return (i, .second, i + 1)
            case UInt8(ascii: "P"):
                if has("PM", at: i) { return (i, .pm, i + 2) }
            case UInt8(ascii: "p"):
                if has("pm", at: i) { return (i, .pmLower, i + 2) }
            case UInt8(ascii: "-"), UInt8(ascii: "Z"):
                let iso8601 = b[i] == UInt8(ascii: "Z")
                for zone in zoneLayouts where has(zone.after, at: i + 1) {
                    return (i, iso8601 ? zone.iso8601 : zone.numeric, i + 1 + zone.after.utf8.count)
                }
            case UInt8(ascii: "."), UInt8(ascii: ","):
                if let (token, next) = fraction(b, at: i) { return (i, token, next) }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The zones Go writes as `-0700` (numeric) or `Z0700` (ISO 8601: `Z` for UTC), longest first: what
    /// follows the `-` or `Z`, and the token of each spelling.
    private static let zoneLayouts: [(after: String, numeric: Token, iso8601: Token)] = [
        ("070000", .numSecondsTZ, .iso8601SecondsTZ),
        ("07:00:00", .numColonSecondsTZ, .iso8601ColonSecondsTZ),
        ("0700", .numTZ, .iso8601TZ),
        ("07:00", .numColonTZ, .iso8601ColonTZ),
        ("07", .numShortTZ, .iso8601ShortTZ),
    ]

    /// A fraction of a second at `b[i]` (`.` or `,`, then a run of `0`s or of `9`s that no other digit
    /// follows): its token and where the text after it starts.
    private static func fraction(_ b: [UInt8], at i: Int) -> (Token, Int)? {
        guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "0") || b[i + 1] == UInt8(ascii: "9") else { return nil }
        let digit = b[i + 1]
        var j = i + 1
        while j < b.count && b[j] == digit { j += 1 }
        // Only a fraction if the run of digits ends here.
        if j < b.count && b[j] >= UInt8(ascii: "0") && b[j] <= UInt8(ascii: "9") { return nil }
        let separator: Character = b[i] == UInt8(ascii: ".") ? "." : ","
        return (Token.fraction(digits: min(j - (i + 1), 9), trim: digit == UInt8(ascii: "9"), separator: separator), j)
    }

    // MARK: - Formatting

    static let longDayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let longMonthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]

    func format(_ time: BrokenDownTime, nanosecond: Int) -> String {
        var out = ""
        for chunk in chunks {
            switch chunk {
            case .literal(let text): out += text
            case .token(let token): GoTimeLayout.append(token, time, nanosecond, to: &out)
            }
        }
        return out
    }

    private static func append(_ token: Token, _ t: BrokenDownTime, _ nanosecond: Int, to out: inout String) {
        let monthName = longMonthNames[min(max(t.month, 1), 12) - 1]
        let dayName = longDayNames[min(max(t.weekday, 0), 6)]
        switch token {
        case .year: out += padded(t.year % 100, 2)
        case .longYear: out += padded(t.year, 4)
        case .month: out += monthName.prefix(3)
        case .longMonth: out += monthName
        case .numMonth: out += padded(t.month, 0)
        case .zeroMonth: out += padded(t.month, 2)
        case .weekDay: out += dayName.prefix(3)
        case .longWeekDay: out += dayName
        case .day: out += padded(t.day, 0)
        case .underDay:
            if t.day < 10 { out += " " }
            out += padded(t.day, 0)
        case .zeroDay: out += padded(t.day, 2)
        case .underYearDay:
            if t.yearDay < 100 { out += t.yearDay < 10 ? "  " : " " }
            out += padded(t.yearDay, 0)
        case .zeroYearDay: out += padded(t.yearDay, 3)
        case .hour: out += padded(t.hour, 2)
        case .hour12: out += padded(t.hour % 12 == 0 ? 12 : t.hour % 12, 0)
        case .zeroHour12: out += padded(t.hour % 12 == 0 ? 12 : t.hour % 12, 2)
        case .minute: out += padded(t.minute, 0)
        case .zeroMinute: out += padded(t.minute, 2)
        case .second: out += padded(t.second, 0)
        case .zeroSecond: out += padded(t.second, 2)
        case .pm: out += t.hour >= 12 ? "PM" : "AM"
        case .pmLower: out += t.hour >= 12 ? "pm" : "am"
        case .zoneName:
            if !t.zoneAbbreviation.isEmpty {
                out += t.zoneAbbreviation
            } else {
                // No name known: Go prints the -0700 form.
                var zone = t.utcOffsetSeconds / 60
                if zone < 0 {
                    out += "-"
                    zone = -zone
                } else {
                    out += "+"
                }
                out += padded(zone / 60, 2) + padded(zone % 60, 2)
            }
        case .iso8601TZ, .iso8601SecondsTZ, .iso8601ShortTZ, .iso8601ColonTZ, .iso8601ColonSecondsTZ,
            .numTZ, .numSecondsTZ, .numShortTZ, .numColonTZ, .numColonSecondsTZ:
            appendZone(token, offset: t.utcOffsetSeconds, to: &out)
        case .fraction(let digits, let trim, let separator):
            if trim && nanosecond == 0 { return }
            var text = String(separator) + String(padded(nanosecond, 9).prefix(digits))
            if trim {
                while text.last == "0" { text.removeLast() }
                if text.count == 1 { return }  // only the separator is left
            }
            out += text
        }
    }

    /// Go's numeric zone formats; the `Z` forms print `Z` for UTC.
    private static func appendZone(_ token: Token, offset: Int, to out: inout String) {
        let isISO: Bool
        let colon: Bool
        let withMinutes: Bool
        let withSeconds: Bool
        switch token {
        case .iso8601TZ: (isISO, colon, withMinutes, withSeconds) = (true, false, true, false)
        case .iso8601ColonTZ: (isISO, colon, withMinutes, withSeconds) = (true, true, true, false)
        case .iso8601SecondsTZ: (isISO, colon, withMinutes, withSeconds) = (true, false, true, true)
        case .iso8601ColonSecondsTZ: (isISO, colon, withMinutes, withSeconds) = (true, true, true, true)
        case .iso8601ShortTZ: (isISO, colon, withMinutes, withSeconds) = (true, false, false, false)
        case .numTZ: (isISO, colon, withMinutes, withSeconds) = (false, false, true, false)
        case .numColonTZ: (isISO, colon, withMinutes, withSeconds) = (false, true, true, false)
        case .numSecondsTZ: (isISO, colon, withMinutes, withSeconds) = (false, false, true, true)
        case .numColonSecondsTZ: (isISO, colon, withMinutes, withSeconds) = (false, true, true, true)
        default: (isISO, colon, withMinutes, withSeconds) = (false, false, false, false)
        }
        if isISO && offset == 0 {
            out += "Z"
            return
        }
        var zone = offset / 60
        var absolute = offset
        if zone < 0 {
            out += "-"
            zone = -zone
            absolute = -absolute
        } else {
            out += "+"
        }
        out += padded(zone / 60, 2)
        if colon { out += ":" }
        if withMinutes { out += padded(zone % 60, 2) }
        if withSeconds {
            if colon { out += ":" }
            out += padded(absolute % 60, 2)
        }
    }

    /// Go's `appendInt(b, x, width)`: decimal, zero-padded to `width`, `-` before the padding.
    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let zeros = String(repeating: "0", count: max(0, width - digits.count))
        return (value < 0 ? "-" : "") + zeros + digits
    }
}
