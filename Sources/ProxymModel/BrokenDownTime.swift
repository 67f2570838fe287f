/// A wall-clock time split into fields, like `struct tm` (the runtime fills it from `localtime_r`).
///
/// Pure code never reads a clock or the time zone database; `init(unixSeconds:utcOffsetSeconds:...)`
/// covers UTC and fixed offsets for tests and for a runtime that prefers UTC.
public struct BrokenDownTime: Hashable, Sendable {
    public var year: Int
    /// 1-12.
    public var month: Int
    /// 1-31.
    public var day: Int
    /// 0-23.
    public var hour: Int
    public var minute: Int
    /// 0-60 (60 only for a leap second reported by the C library).
    public var second: Int
    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int
    /// 1-366.
    public var yearDay: Int
    /// East of UTC is positive (CET: 3600).
    public var utcOffsetSeconds: Int
    /// `CET`, `UTC`; empty when unknown (Go then prints the numeric offset for `MST`).
    public var zoneAbbreviation: String

    public init(
        year: Int,
        month: Int,
        day: Int,
        hour: Int,
        minute: Int,
        second: Int,
        weekday: Int,
        yearDay: Int,
        utcOffsetSeconds: Int,
        zoneAbbreviation: String
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.weekday = weekday
        self.yearDay = yearDay
        self.utcOffsetSeconds = utcOffsetSeconds
        self.zoneAbbreviation = zoneAbbreviation
    }

    /// The civil time `utcOffsetSeconds` east of UTC at `unixSeconds` (proleptic Gregorian calendar).
    /// `zoneAbbreviation` defaults to `UTC` for offset 0 and to empty otherwise.
    public init(unixSeconds: Int64, utcOffsetSeconds: Int = 0, zoneAbbreviation: String? = nil) {
        let local = unixSeconds + Int64(utcOffsetSeconds)
        let (days, secondsOfDay) = local.floorDivided(by: 86_400)
        let civil = BrokenDownTime.civil(fromDays: days)
        self.init(
            year: Int(civil.year),
            month: Int(civil.month),
            day: Int(civil.day),
            hour: Int(secondsOfDay / 3600),
            minute: Int(secondsOfDay % 3600 / 60),
            second: Int(secondsOfDay % 60),
            // 1970-01-01 was a Thursday (4).
            weekday: Int((days + 4).floorDivided(by: 7).remainder),
            yearDay: Int(days - BrokenDownTime.days(fromCivil: civil.year, 1, 1)) + 1,
            utcOffsetSeconds: utcOffsetSeconds,
            zoneAbbreviation: zoneAbbreviation ?? (utcOffsetSeconds == 0 ? "UTC" : "")
        )
    }

    /// Days since 1970-01-01 -> (year, month, day); Howard Hinnant's `civil_from_days`.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097).quotient
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// (year, month, day) -> days since 1970-01-01; Howard Hinnant's `days_from_civil`.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDivided(by: 400).quotient
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a remainder in `0..<divisor`.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}
