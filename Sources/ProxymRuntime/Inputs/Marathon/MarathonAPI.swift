import Logging
import ProxymCore

/// Requests to Marathon with failover: servers are tried in order starting with the last one that
/// worked (the original proxym only ever used the first). A server is skipped when it cannot be
/// reached or answers 5xx (Marathon answers 502 while it has no leader); anything else (a 4xx, a
/// body) is the answer. Redirects to the leader are followed with the credentials kept.
final class MarathonAPI {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        /// Some server was reached: it answered 5xx, or the transfer broke after connecting (cut
        /// short, timed out). Then a smaller request may still work; when false, nothing answered.
        var reachedServer = false
        var description: String { message }
    }

    private let settings: Settings.Marathon
    private let client: HTTPClient
    private let logger: Logger
    /// Index of the server that answered last (sticky).
    private(set) var current = 0

    init(settings: Settings.Marathon, client: HTTPClient, logger: Logger) {
        self.settings = settings
        self.client = client
        self.logger = logger
    }

    /// The current server, for logs (credentials removed).
    var currentServer: String { HTTPClient.redact(settings.servers[current]) }

    func makeRequest(_ method: HTTPClient.Method, server: Int, path: String, body: [UInt8] = []) -> HTTPClient.Request {
        var request = HTTPClient.Request(method, settings.servers[server] + path, body: body)
        request.headers.append(name: "Accept", value: "application/json")
        if !body.isEmpty { request.headers.append(name: "Content-Type", value: "application/json") }
        request.connectTimeout = settings.connectTimeout
        request.timeout = settings.timeout
        if let username = settings.username {
            request.basicAuth = HTTPClient.BasicAuth(username: username, password: settings.password ?? "")
        }
        if let token = settings.authToken { request.authorization = "token=\(token)" }
        request.caFile = settings.caFile
        request.maxBodySize = 512 << 20
        return request
    }

    /// Sends to the servers in turn until one gives an answer. `retryTimeouts`: a timeout after the
    /// connection was made may have reached the server; retry elsewhere only for idempotent calls.
    func send(
        _ method: HTTPClient.Method, _ path: String, body: [UInt8] = [], retryTimeouts: Bool = true,
        completion: @escaping (Result<HTTPClient.Response, Failure>) -> Void
    ) {
        attempt(
            method, path, body: body, retryTimeouts: retryTimeouts, tried: 0, errors: [:], reached: false,
            completion: completion)
    }

    /// `errors` are kept per server index, so the message reads the same whichever server came first
    /// (the daemon logs a failing source again only when its message changes).
    private func attempt(
        _ method: HTTPClient.Method, _ path: String, body: [UInt8], retryTimeouts: Bool, tried: Int, errors: [Int: String],
        reached: Bool, completion: @escaping (Result<HTTPClient.Response, Failure>) -> Void
    ) {
        let index = current
        let request = makeRequest(method, server: index, path: path, body: body)
        client.send(request) { [weak self] result in
            guard let self else { return }
            let server = HTTPClient.redact(self.settings.servers[index])
            var error: String?
            var reached = reached
            switch result {
            case .success(let response) where response.isServerError:
                error = "\(server): HTTP \(response.status)"
                reached = true
            case .success(let response):
                if index != self.current || tried > 0 {
                    self.logger.notice("using Marathon server", metadata: ["server": "\(server)"])
                }
                completion(.success(response))
                return
            case .failure(let failure):
                error = "\(server): \(failure.message)"
                reached = reached || failure.connected
                let retryable = failure.isServerUnreachable || (retryTimeouts && failure.kind == .timeout)
                if !retryable {
                    let message = Self.join(errors.merging([index: error!]) { $1 })
                    completion(.failure(Failure(message: message, reachedServer: reached)))
                    return
                }
            }
            let errors = errors.merging([index: error!]) { $1 }
            let next = tried + 1
            guard next < self.settings.servers.count else {
                completion(.failure(Failure(message: Self.join(errors), reachedServer: reached)))
                return
            }
            self.logger.warning("Marathon server failed; trying the next one", metadata: ["error": "\(error!)"])
            self.current = (index + 1) % self.settings.servers.count
            self.attempt(
                method, path, body: body, retryTimeouts: retryTimeouts, tried: next, errors: errors, reached: reached,
                completion: completion)
        }
    }

    /// How a streamed request ended: the final status, and for a status `stream` did not take in
    /// pieces, the first bytes of its body (for the log).
    struct StreamEnd {
        var status: Int
        var excerpt: [UInt8]
        /// `onData` asked to stop; the rest of the body was not read.
        var stopped = false
    }

    /// A GET whose body is handed over as it arrives, with the failover of `send`: a server that
    /// cannot be reached, or answers 5xx before anything else, is skipped for the next one. Once a
    /// server answers with another status, `wants(status)` says whether its body goes to `onData`
    /// piece by piece (`onData` returns false to stop reading); the body of any other status is kept
    /// (its first KiB) for `completion`. A transfer that breaks after the answer began fails with
    /// `reachedServer`, as a body cut short does with `send`.
    func stream(
        _ path: String, wants: @escaping (Int) -> Bool, onData: @escaping ([UInt8]) -> Bool,
        completion: @escaping (Result<StreamEnd, Failure>) -> Void
    ) {
        streamAttempt(path, wants: wants, onData: onData, tried: 0, errors: [:], reached: false, completion: completion)
    }

    private func streamAttempt(
        _ path: String, wants: @escaping (Int) -> Bool, onData: @escaping ([UInt8]) -> Bool, tried: Int,
        errors: [Int: String], reached: Bool, completion: @escaping (Result<StreamEnd, Failure>) -> Void
    ) {
        let index = current
        let server = HTTPClient.redact(settings.servers[index])
        var status: Int?
        var streaming = false
        var excerpt: [UInt8] = []
        var transfer: HTTPClient.Transfer?
        // The next server, or the end: the same bookkeeping as `attempt`.
        let failOver: (String, Bool, Bool) -> Void = { [weak self] error, reachedNow, retryable in
            guard let self else { return }
            let errors = errors.merging([index: error]) { $1 }
            let reached = reached || reachedNow
            let next = tried + 1
            guard retryable, next < self.settings.servers.count else {
                completion(.failure(Failure(message: Self.join(errors), reachedServer: reached)))
                return
            }
            self.logger.warning("Marathon server failed; trying the next one", metadata: ["error": "\(error)"])
            self.current = (index + 1) % self.settings.servers.count
            self.streamAttempt(
                path, wants: wants, onData: onData, tried: next, errors: errors, reached: reached, completion: completion)
        }
        // Callbacks never run inside `client.stream`, so `transfer` is set before any of them runs.
        // The transfer holds these closures and they hold `transfer`: every way out sets it to nil.
        transfer = client.stream(
            makeRequest(.get, server: index, path: path),
            onHeaders: { [weak self] code, _ in
                guard let self else { return }
                status = code
                if (500..<600).contains(code) {
                    transfer?.cancel()
                    transfer = nil
                    failOver("\(server): HTTP \(code)", true, true)
                    return
                }
                if index != self.current || tried > 0 {
                    self.logger.notice("using Marathon server", metadata: ["server": "\(server)"])
                }
                streaming = wants(code)
            },
            onData: { bytes in
                if streaming {
                    if !onData(bytes) {
                        transfer?.cancel()
                        transfer = nil
                        completion(.success(StreamEnd(status: status ?? 0, excerpt: [], stopped: true)))
                    }
                } else if excerpt.count < 1024 {
                    excerpt += bytes.prefix(1024 - excerpt.count)
                }
            },
            completion: { result in
                transfer = nil
                switch result {
                case .success:
                    completion(.success(StreamEnd(status: status ?? 0, excerpt: excerpt)))
                case .failure(let failure) where status != nil:
                    // The answer had begun (and may have been handed out): cut short or too slow.
                    let errors = errors.merging([index: "\(server): \(failure.message)"]) { $1 }
                    completion(.failure(Failure(message: Self.join(errors), reachedServer: true)))
                case .failure(let failure):
                    failOver("\(server): \(failure.message)", failure.connected, failure.isServerUnreachable || failure.kind == .timeout)
                }
            })
    }

    private static func join(_ errors: [Int: String]) -> String {
        errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: "; ")
    }

    /// A server failed outside `send` (the event stream): move on to the next one.
    func rotate() {
        current = (current + 1) % settings.servers.count
    }
}

/// Exponential backoff with a cap: 1 s, 2 s, 4 s ... `cap`; `reset()` after a success.
struct Backoff {
    let initial: Duration
    let cap: Duration
    private(set) var next: Duration

    init(initial: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.initial = initial
        self.cap = cap
        self.next = initial
    }

    mutating func take() -> Duration {
        let delay = next
        next = min(next * 2, cap)
        return delay
    }

    mutating func reset() { next = initial }
}
