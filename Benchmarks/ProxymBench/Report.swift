/// Samples of one figure, and the table they end up in.
struct Samples {
    enum Unit { case milliseconds, mebibytes, count }

    var unit: Unit
    private(set) var values: [Double] = []

    init(_ unit: Unit) { self.unit = unit }

    mutating func add(_ value: Double) { values.append(value) }
    mutating func addNanoseconds(_ value: UInt64) { values.append(Double(value) / 1e6) }
    mutating func addNanoseconds(_ value: Int64) { values.append(Double(value) / 1e6) }

    var count: Int { values.count }
    var sorted: [Double] { values.sorted() }
    var median: Double? {
        let s = sorted
        guard !s.isEmpty else { return nil }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    /// Nearest rank: with fewer than 100 samples, the largest.
    var p99: Double? {
        let s = sorted
        guard !s.isEmpty else { return nil }
        let rank = Int((0.99 * Double(s.count)).rounded(.up))
        return s[Swift.max(0, Swift.min(s.count, rank) - 1)]
    }
    var max: Double? { values.max() }

    /// `12.3 / 15.1` (median / p99), or a single figure for one sample.
    var cell: String {
        guard let median, let p99 else { return "–" }
        if count == 1 || unit == .count && median == p99 { return format(median) }
        return "\(format(median)) / \(format(p99))"
    }

    func format(_ value: Double) -> String {
        switch unit {
        case .milliseconds: return fixed(value, value < 10 ? 2 : 1)
        case .mebibytes: return fixed(value, 1)
        case .count: return fixed(value, value == value.rounded() ? 0 : 1)
        }
    }
}

/// `value` with `decimals` digits after the point (no Foundation).
func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
    if decimals > 0 {
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: Swift.max(0, decimals - digits.count)) + digits
    }
    return text
}

/// Rows of figures, one column per N; printed as a Markdown table.
struct Table {
    var sizes: [Int]
    var sizeHeader: String
    private(set) var rows: [(label: String, target: String, cells: [Int: String])] = []

    init(sizes: [Int], sizeHeader: String) {
        self.sizes = sizes
        self.sizeHeader = sizeHeader
    }

    mutating func set(_ label: String, target: String = "", size: Int, _ cell: String) {
        if let index = rows.firstIndex(where: { $0.label == label }) {
            rows[index].cells[size] = cell
            if !target.isEmpty { rows[index].target = target }
        } else {
            rows.append((label, target, [size: cell]))
        }
    }

    func markdown() -> String {
        var lines: [String] = []
        lines.append("| \(sizeHeader) | " + sizes.map { grouped($0) }.joined(separator: " | ") + " | target |")
        lines.append("|---|" + sizes.map { _ in "---:|" }.joined() + "---|")
        for row in rows {
            lines.append(
                "| \(row.label) | " + sizes.map { row.cells[$0] ?? "–" }.joined(separator: " | ") + " | \(row.target) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// `10,000`.
func grouped(_ n: Int) -> String {
    var digits = Array(String(n))
    var out: [Character] = []
    while digits.count > 3 {
        out = [","] + digits.suffix(3) + out
        digits.removeLast(3)
    }
    return String(digits + out)
}

func mib(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

/// Progress on stderr, so stdout holds only the tables.
func progress(_ text: String) {
    writeStderr(text + "\n")
}
