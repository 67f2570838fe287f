/// The stats socket requests that carry out a ``CertificatePlanner/Step`` (haproxy 2.6, management
/// guide §9.3), and what their answers must say. Pure: the runtime sends each request on its own
/// connection and checks the answer with `succeeded`.
///
/// Payload rules (checked): the first line ends with ` <<`, the payload follows, one empty line ends
/// it; an empty line *inside* the payload would end it early and run the rest as commands, so a
/// bundle with one is refused here (proxym's bundles are re-encoded by OpenSSL and have none).
public enum CertificateCommands {
    public struct Request: Sendable, Hashable, CustomStringConvertible {
        /// The bytes to send (ends with a newline).
        public var text: String
        /// A phrase the answer must contain when the request worked.
        public var expect: [String]
        /// For logs: the command without any payload.
        public var summary: String
        /// The certificate whose transaction this request opens: `abort ssl cert` it when it fails.
        public var transaction: String? = nil

        public var description: String { summary }

        /// Whether haproxy's `answer` says the request worked.
        public func succeeded(_ answer: String) -> Bool { expect.contains { answer.contains($0) } }
    }

    /// The requests for one step, in order; nil when the bundle cannot be sent (a blank line in it).
    /// `pem` is the bundle's text for `.update` and `.add`.
    public static func requests(for step: CertificatePlanner.Step, list: String, pem: String?) -> [Request]? {
        switch step {
        case .update(let certificate):
            guard let pem, let transaction = setAndCommit(certificate.path, pem: pem) else { return nil }
            return [transaction]
        case .add(let certificate):
            guard let pem, let transaction = setAndCommit(certificate.path, pem: pem) else { return nil }
            return [
                Request(
                    text: "new ssl cert \(certificate.path)\n", expect: ["New empty certificate store"],
                    summary: "new ssl cert \(certificate.path)"),
                transaction,
                Request(
                    text: "add ssl crt-list \(list) \(certificate.path)\n", expect: ["Success!"],
                    summary: "add ssl crt-list \(list) \(certificate.path)"),
            ]
        case .remove(let path):
            return [
                Request(
                    text: "del ssl crt-list \(list) \(path)\n", expect: ["deleted in crtlist"],
                    summary: "del ssl crt-list \(list) \(path)"),
                Request(text: "del ssl cert \(path)\n", expect: ["deleted!"], summary: "del ssl cert \(path)"),
            ]
        }
    }

    /// `set ssl cert <path> <<`, the bundle, the empty line, then `commit ssl cert <path>`, in one
    /// request (checked: haproxy runs the commit after the payload on the same connection).
    static func setAndCommit(_ path: String, pem: String) -> Request? {
        var lines: [Substring] = []
        for line in pem.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            lines.append(trimmed)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty, !lines.contains(where: \.isEmpty) else { return nil }
        var text = "set ssl cert \(path) <<\n"
        for line in lines {
            text += line
            text += "\n"
        }
        text += "\ncommit ssl cert \(path)\n"
        return Request(
            text: text, expect: ["Success!"], summary: "set ssl cert \(path); commit ssl cert \(path)", transaction: path)
    }

    /// Drops a transaction a failed commit left open (haproxy keeps it otherwise, checked).
    public static func abort(_ path: String) -> Request {
        Request(text: "abort ssl cert \(path)\n", expect: ["aborted"], summary: "abort ssl cert \(path)")
    }

    public static func show(_ path: String) -> Request {
        Request(text: "show ssl cert \(path)\n", expect: ["Serial:"], summary: "show ssl cert \(path)")
    }

    /// The `Serial:` line of a `show ssl cert <path>` answer (upper-case hex), nil when absent.
    public static func serial(inShow answer: String) -> String? {
        for line in answer.split(separator: "\n") where line.hasPrefix("Serial:") {
            return String(line.dropFirst("Serial:".count).filter { $0 != " " && $0 != "\t" && $0 != "\r" }).uppercased()
        }
        return nil
    }
}
