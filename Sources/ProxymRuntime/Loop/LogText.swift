import ProxymModel

/// Child output as log lines: split on newlines, control characters escaped, at most 40 lines.
enum LogText {
    static func lines(_ bytes: [UInt8], limit: Int = 40) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [String] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let trimmed = String(line.trimmingBlanks(alsoCR: true))
            if trimmed.isEmpty { continue }
            if out.count == limit {
                out.append("... (output cut)")
                break
            }
            out.append(ValidationError.escaped(trimmed, limit: 400))
        }
        return out
    }
}

extension ChildProcess.Outcome {
    /// `exited with status 1`, `timed out after 30 seconds (killed by SIGTERM)`.
    func summary(timeout: Duration) -> String {
        timedOut ? "timed out after \(timeout) (\(status))" : "\(status)"
    }
}
