import ProxymCore

/// One metric family in the Prometheus text exposition format (version 0.0.4): name, help, type and
/// its samples. Pure values: every part of the daemon that has something to count says it as
/// families; `MetricsText` writes them.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public struct Sample: Sendable, Equatable {
        /// Appended to the family's name: `_bucket`, `_sum`, `_count` for histograms, else "".
        public var suffix: String
        public var labels: [(String, String)]
        public var value: Double

        public init(suffix: String = "", labels: [(String, String)] = [], value: Double) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }

        public static func == (a: Sample, b: Sample) -> Bool {
            a.suffix == b.suffix && a.value == b.value && a.labels.elementsEqual(b.labels) { $0 == $1 }
        }
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }

    /// A family with one unlabelled sample.
    public static func single(_ name: String, _ kind: Kind, _ help: String, _ value: Double) -> MetricFamily {
        MetricFamily(name, kind, help, [Sample(value: value)])
    }
}

/// A cumulative histogram with fixed upper bounds (seconds), as Prometheus keeps them.
public struct Histogram: Sendable, Equatable {
    public let bounds: [Double]
    /// Per bound, the observations at or below it (not cumulative; `samples` accumulates).
    private var counts: [Int]
    public private(set) var count = 0
    public private(set) var sum = 0.0

    /// From 1 ms to 30 s: a refresh stage of a small config takes about a millisecond, `haproxy -c`
    /// of a large one tens of seconds.
    public static let refreshBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    public init(bounds: [Double] = Histogram.refreshBounds) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double) {
        count += 1
        sum += value
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
    }

    public mutating func observe(_ duration: Duration) { observe(StatusJSON.seconds(duration)) }

    /// `_bucket` (cumulative, `le` last, `+Inf` included), `_sum`, `_count`.
    public func samples(labels: [(String, String)] = []) -> [MetricFamily.Sample] {
        var out: [MetricFamily.Sample] = []
        var running = 0
        for (bound, n) in zip(bounds, counts) {
            running += n
            out.append(.init(suffix: "_bucket", labels: labels + [("le", MetricsText.number(bound))], value: Double(running)))
        }
        out.append(.init(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: Double(count)))
        out.append(.init(suffix: "_sum", labels: labels, value: sum))
        out.append(.init(suffix: "_count", labels: labels, value: Double(count)))
        return out
    }
}

/// Writes families in the text exposition format: `# HELP`, `# TYPE`, then one line a sample, label
/// values escaped (backslash, quote, newline).
public enum MetricsText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                out += family.name + sample.suffix
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " " + number(sample.value) + "\n"
            }
        }
        return out
    }

    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}

/// What the daemon counts about its refreshes, for `/metrics`: refreshes by trigger and result, the
/// duration of each stage and of the whole refresh, and the safety guard's holds.
public struct RefreshMetrics: Sendable, Equatable {
    /// The stages a refresh is timed in: a source's read (`fetch`), `merge` (and the guard),
    /// `render`, `check` (`haproxy -c`), `apply` (install and reload, or the Runtime API).
    public static let stages = ["fetch", "merge", "render", "check", "apply"]

    public private(set) var refreshes: [Key: Int] = [:]
    public private(set) var stageDurations: [String: Histogram] = [:]
    public private(set) var refreshDuration = Histogram()

    public struct Key: Sendable, Hashable {
        public var trigger: String
        public var result: RefreshResult
    }

    public init() {
        for stage in Self.stages { stageDurations[stage] = Histogram() }
    }

    public mutating func refreshFinished(trigger reason: String, result: RefreshResult, duration: Duration) {
        refreshes[Key(trigger: Self.triggerKind(reason), result: result), default: 0] += 1
        refreshDuration.observe(duration)
    }

    public mutating func stage(_ name: String, took duration: Duration) {
        stageDurations[name, default: Histogram()].observe(duration)
    }

    public func count(result: RefreshResult) -> Int { refreshes.filter { $0.key.result == result }.values.reduce(0, +) }

    /// A refresh's first reason as a label with few values: `startup`, `sighup`, `sigusr1`, `file`,
    /// `marathon`, `certificate`, `retry`, `guard`, `haproxy`, `other`.
    public static func triggerKind(_ reason: String) -> String {
        let lower = reason.lowercased()
        let kinds: [(String, String)] = [
            ("startup", "startup"), ("sighup", "sighup"), ("sigusr1", "sigusr1"), ("retry marathon", "marathon"),
            ("retry", "retry"), ("periodic marathon", "marathon"), ("marathon", "marathon"), ("file ", "file"),
            ("directory ", "file"), ("inotify", "file"), ("certificate", "certificate"), ("safety guard", "guard"),
            ("haproxy", "haproxy"),
        ]
        return kinds.first { lower.hasPrefix($0.0) }?.1 ?? "other"
    }
}
