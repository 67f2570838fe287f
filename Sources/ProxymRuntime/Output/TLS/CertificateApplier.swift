import Logging
import ProxymHAProxy
import ProxymPosix

/// Carries out certificate changes on a running haproxy through its stats socket (Runtime API), one
/// request per connection, each answer checked, and checks afterwards that haproxy serves what it was
/// given (`show ssl cert`: the serial). The files are written before any of this (the caller's job),
/// so a failure here costs a reload, never a wrong certificate after one.
final class CertificateApplier {
    private let loop: EventLoop
    private let logger: Logger
    private let timeout: Duration
    /// The crt-list file as haproxy knows it (the path in the bind line).
    private let crtList: String

    init(loop: EventLoop, logger: Logger, timeout: Duration, crtList: String) {
        self.loop = loop
        self.logger = logger
        self.timeout = timeout
        self.crtList = crtList
    }

    /// Runs `steps` against `socket`; calls back with nil when haproxy serves the new state, else the
    /// reason it does not (the caller then reloads).
    func apply(_ steps: [CertificatePlanner.Step], socket: String, completion: @escaping (String?) -> Void) {
        var requests: [CertificateCommands.Request] = []
        var verify: [(path: String, serial: String)] = []
        for step in steps {
            var pem: String?
            switch step {
            case .update(let certificate), .add(let certificate):
                // The checked copy, as written: the bytes a reload would load.
                guard let bytes = try? FileSystem.readFile(certificate.path, limit: CertificateStore.maxBundleSize) else {
                    completion("cannot read \(certificate.path)")
                    return
                }
                pem = String(decoding: bytes, as: UTF8.self)
                verify.append((certificate.path, certificate.facts.serial))
            case .remove:
                break
            }
            guard let stepRequests = CertificateCommands.requests(for: step, list: crtList, pem: pem) else {
                completion("\(step): the bundle cannot be sent through the Runtime API")
                return
            }
            requests += stepRequests
        }
        run(requests, index: 0, socket: socket) { [weak self] problem in
            guard let self else { return }
            if let problem {
                completion(problem)
                return
            }
            self.checkSerials(verify, socket: socket, completion: completion)
        }
    }

    /// Whether haproxy serves exactly `state`: the crt-list's lines (in order) and each certificate's
    /// serial. Calls back with nil when it does, else what differs.
    func verify(_ state: CertificateState, socket: String, completion: @escaping (String?) -> Void) {
        CLIExchange.run(loop: loop, path: socket, request: "show ssl crt-list \(crtList)", timeout: timeout) {
            [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let failure):
                completion("stats socket: \(failure)")
            case .success(let answer):
                let lines = CertificateApplier.parseCrtList(answer)
                if lines != state.list.lines {
                    completion("haproxy's crt-list differs from the file")
                    return
                }
                let serials = state.certificates.values.sorted { $0.path < $1.path }.map { ($0.path, $0.facts.serial) }
                self.checkSerials(serials, socket: socket, completion: completion)
            }
        }
    }

    /// Lines of `show ssl crt-list <list>` (without `-n`): `<path>[ <filters>]`, after a `# <list>` line.
    static func parseCrtList(_ answer: String) -> [CrtList.Line] {
        var lines: [CrtList.Line] = []
        for raw in answer.split(separator: "\n") {
            let line = raw.trimmingBlanks(alsoCR: true)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ").map(String.init)
            lines.append(CrtList.Line(path: words[0], filters: Array(words.dropFirst())))
        }
        return lines
    }

    private func run(
        _ requests: [CertificateCommands.Request], index: Int, socket: String, completion: @escaping (String?) -> Void
    ) {
        guard index < requests.count else {
            completion(nil)
            return
        }
        let request = requests[index]
        logger.debug("Runtime API", metadata: ["command": "\(request.summary)"])
        CLIExchange.run(loop: loop, path: socket, request: request.text, timeout: timeout) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let failure):
                completion("stats socket: \(failure)")
            case .success(let answer) where request.succeeded(answer):
                self.run(requests, index: index + 1, socket: socket, completion: completion)
            case .success(let answer):
                let said = LogText.lines(Array(answer.utf8), limit: 3).joined(separator: " | ")
                let problem = "\(request.summary): haproxy said \(said.isEmpty ? "nothing" : said)"
                // A failed commit leaves the transaction open; drop it so the next attempt starts clean.
                if let transaction = request.transaction {
                    let abort = CertificateCommands.abort(transaction)
                    CLIExchange.run(loop: self.loop, path: socket, request: abort.text, timeout: self.timeout) { _ in
                        completion(problem)
                    }
                    return
                }
                completion(problem)
            }
        }
    }

    private func checkSerials(_ expected: [(path: String, serial: String)], socket: String, completion: @escaping (String?) -> Void) {
        guard let (path, serial) = expected.first else {
            completion(nil)
            return
        }
        let show = CertificateCommands.show(path)
        CLIExchange.run(loop: loop, path: socket, request: show.text, timeout: timeout) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let failure):
                completion("stats socket: \(failure)")
            case .success(let answer):
                let served = CertificateCommands.serial(inShow: answer)
                guard served == serial else {
                    completion("haproxy serves serial \(served ?? "none") for \(path), expected \(serial)")
                    return
                }
                self.checkSerials(Array(expected.dropFirst()), socket: socket, completion: completion)
            }
        }
    }
}
