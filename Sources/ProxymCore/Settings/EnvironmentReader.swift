import ProxymModel

/// Typed reads of `PROXYM_*` values. It collects errors and warnings instead of stopping at the
/// first, and records every name it is asked for: the names the parser reads are exactly
/// ``SettingsReport/namesRead`` (a test holds them against the declarations).
struct EnvironmentReader {
    private let env: [String: String]
    var errors: [String] = []
    var warnings: [String] = []
    /// Every name looked up.
    private(set) var namesRead: Set<String> = []
    /// The names ``string(_:)`` returned a value for.
    private var valued: Set<String> = []

    init(env: [String: String]) { self.env = env }

    /// The value as set, surrounding blanks trimmed (`""` when blank); nil when unset.
    mutating func raw(_ name: String) -> String? {
        namesRead.insert(name)
        return env[name].map { String($0.trimmingBlanks()) }
    }

    /// Whether ``string(_:)`` gave `name` a value (set, not blank, no control characters).
    func hasValue(_ name: String) -> Bool { valued.contains(name) }

    /// The names set in the environment that start with `prefix` (recorded as read).
    mutating func names(withPrefix prefix: String) -> [String] {
        let names = env.keys.filter { $0.hasPrefix(prefix) }
        namesRead.formUnion(names)
        return names
    }

    /// A set, non-empty value (surrounding blanks trimmed). Empty counts as unset, like envconfig.
    mutating func string(_ name: String) -> String? {
        guard let trimmed = raw(name), !trimmed.isEmpty else { return nil }
        if trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            errors.append("\(name): contains control characters")
            return nil
        }
        valued.insert(name)
        return trimmed
    }

    mutating func path(_ name: String) -> String? {
        guard let value = string(name) else { return nil }
        guard value.hasPrefix("/") else {
            errors.append("\(name): must be an absolute path (got \"\(value)\")")
            return nil
        }
        return value
    }

    /// Go's strconv.ParseBool spellings (what the original accepted) plus yes/no/on/off.
    mutating func bool(_ name: String) -> Bool? {
        guard let value = string(name) else { return nil }
        switch value.lowercased() {
        case "1", "t", "true", "yes", "y", "on": return true
        case "0", "f", "false", "no", "n", "off": return false
        default:
            errors.append("\(name): \"\(value)\" is not a boolean (use 1/true or 0/false)")
            return nil
        }
    }

    mutating func port(_ name: String) -> UInt16? {
        guard let value = string(name) else { return nil }
        guard let number = Int(value), number >= 1, number <= 65535 else {
            errors.append("\(name): \"\(value)\" is not a port number (1-65535)")
            return nil
        }
        return UInt16(number)
    }

    mutating func duration(_ name: String) -> Duration? {
        guard let value = string(name) else { return nil }
        guard let duration = parseDuration(value) else {
            errors.append("\(name): \"\(value)\" is not a duration (e.g. 100ms, 1.5s, 2m; a bare number means seconds)")
            return nil
        }
        return duration
    }
}

/// Go-style durations: `300ms`, `1.5s`, `2m30s`, `1h`; a bare number is seconds. Units: ns us µs ms s m h.
public func parseDuration(_ text: String) -> Duration? {
    if let seconds = Double(text), seconds >= 0, seconds.isFinite, !text.contains("e"), !text.contains("E") {
        return .nanoseconds(Int64(seconds * 1e9))
    }
    var total: Double = 0
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
        guard numberEnd != rest.startIndex, let number = Double(rest[..<numberEnd]) else { return nil }
        rest = rest[numberEnd...]
        let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
        let unit = rest[..<unitEnd]
        rest = rest[unitEnd...]
        guard let scale = durationUnits.first(where: { $0.name == unit })?.nanoseconds else { return nil }
        total += number * Double(scale)
    }
    guard total.isFinite, total < 9e18 else { return nil }
    return .nanoseconds(Int64(total))
}

/// A duration as ``parseDuration(_:)`` reads it, in the largest unit that writes it whole (`100ms`,
/// `5m`, `0s`).
public func formatDuration(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    if nanoseconds == 0 { return "0s" }
    let unit = durationUnits.reversed().first { nanoseconds % $0.nanoseconds == 0 } ?? durationUnits[0]
    return "\(nanoseconds / unit.nanoseconds)\(unit.name)"
}

/// Go's duration units, smallest first (`us` after `µs`, so that a default is written `us`).
private let durationUnits: [(name: Substring, nanoseconds: Int64)] = [
    ("ns", 1), ("µs", 1_000), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
]
