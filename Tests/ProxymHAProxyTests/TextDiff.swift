/// A readable line diff for golden mismatches: `-` expected (golden), `+` actual, `  ` common, with a
/// few lines of context; control characters and trailing blanks are made visible.
enum TextDiff {
    static func diff(expected: String, actual: String, context: Int = 3) -> String {
        let old = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let new = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

        // Longest common subsequence table; golden files are small.
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: new.count + 1), count: old.count + 1)
        for i in stride(from: old.count - 1, through: 0, by: -1) {
            for j in stride(from: new.count - 1, through: 0, by: -1) {
                lcs[i][j] = old[i] == new[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op {
            case same(String)
            case removed(String)
            case added(String)
        }
        var ops: [Op] = []
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if i < old.count && j < new.count && old[i] == new[j] {
                ops.append(.same(old[i]))
                i += 1
                j += 1
            } else if j < new.count && (i == old.count || lcs[i][j + 1] >= lcs[i + 1][j]) {
                ops.append(.added(new[j]))
                j += 1
            } else {
                ops.append(.removed(old[i]))
                i += 1
            }
        }

        var keep = [Bool](repeating: false, count: ops.count)
        for (index, op) in ops.enumerated() {
            if case .same = op { continue }
            for k in max(0, index - context)...min(ops.count - 1, index + context) { keep[k] = true }
        }
        var out = "--- golden\n+++ rendered\n"
        var skipped = false
        for (index, op) in ops.enumerated() {
            guard keep[index] else {
                skipped = true
                continue
            }
            if skipped {
                out += "  ...\n"
                skipped = false
            }
            switch op {
            case .same(let line): out += "  " + visible(line) + "\n"
            case .removed(let line): out += "- " + visible(line) + "\n"
            case .added(let line): out += "+ " + visible(line) + "\n"
            }
        }
        return out
    }

    static func visible(_ line: String) -> String {
        var out = ""
        for scalar in line.unicodeScalars {
            switch scalar {
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F):
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        if out.hasSuffix(" ") { out += "$" }
        return out
    }
}
