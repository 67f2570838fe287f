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

    /// What a buffered answer may weigh unless the caller says otherwise: `/v2/info`, the event
    /// subscriptions and their errors are a few hundred bytes (snapshots are streamed, or bounded by
    /// what the last good one weighed: `MarathonModule.BodyLimits`).
    static let smallBodyLimit = 1 << 20

    func makeRequest(
        _ method: HTTPClient.Method, server: Int, path: String, body: [UInt8] = [], maxBodySize: Int = smallBodyLimit
    ) -> HTTPClient.Request {
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
        request.maxBodySize = maxBodySize
        return request
    }

    /// How one try on one server ended.
    enum TryEnd<Value> {
        /// The server gave the answer (whatever its status): the request is over.
        case answered(Value)
        /// The server failed (`reached`: it was connected to); `tryNext`: another server may do better.
        case failed(String, reached: Bool, tryNext: Bool)
    }

    /// One try: the server's index, and how many servers were tried before it.
    struct Try {
        var index: Int
        var tried: Int
    }

    /// The failover loop of `send` and `stream`: `attempt` tries the server it is given and ends with a
    /// `TryEnd`; a failure that allows it moves on to the next server (each is tried once, starting
    /// with the current one). The message names each server's error, kept per server index, so it
    /// reads the same whichever server came first (the daemon logs a failing source again only when
    /// its message changes).
    private func failover<Value>(
        _ attempt: @escaping (Try, _ end: @escaping (TryEnd<Value>) -> Void) -> Void,
        completion: @escaping (Result<Value, Failure>) -> Void
    ) {
        failover(Try(index: current, tried: 0), errors: [:], reached: false, attempt, completion: completion)
    }

    private func failover<Value>(
        _ this: Try, errors: [Int: String], reached: Bool,
        _ attempt: @escaping (Try, _ end: @escaping (TryEnd<Value>) -> Void) -> Void,
        completion: @escaping (Result<Value, Failure>) -> Void
    ) {
        attempt(this) { [weak self] end in
            switch end {
            case .answered(let value):
                completion(.success(value))
            case .failed(let error, let reachedNow, let tryNext):
                guard let self else { return }
                let errors = errors.merging([this.index: error]) { $1 }
                let reached = reached || reachedNow
                let next = this.tried + 1
                guard tryNext, next < self.settings.servers.count else {
                    completion(.failure(Failure(message: Self.join(errors), reachedServer: reached)))
                    return
                }
                self.logger.warning("Marathon server failed; trying the next one", metadata: ["error": "\(error)"])
                self.current = (this.index + 1) % self.settings.servers.count
                self.failover(Try(index: self.current, tried: next), errors: errors, reached: reached, attempt, completion: completion)
            }
        }
    }

    /// A server answered: say so when it is not the one that answered before.
    private func answering(_ this: Try) {
        if this.index != current || this.tried > 0 {
            logger.notice("using Marathon server", metadata: ["server": "\(server(this))"])
        }
    }

    private func server(_ this: Try) -> String { HTTPClient.redact(settings.servers[this.index]) }

    /// Sends to the servers in turn until one gives an answer. `retryTimeouts`: a timeout after the
    /// connection was made may have reached the server; retry elsewhere only for idempotent calls.
    func send(
        _ method: HTTPClient.Method, _ path: String, body: [UInt8] = [], retryTimeouts: Bool = true,
        maxBodySize: Int = smallBodyLimit, completion: @escaping (Result<HTTPClient.Response, Failure>) -> Void
    ) {
        failover(
            { [weak self] this, end in
                guard let self else { return }
                self.client.send(
                    self.makeRequest(method, server: this.index, path: path, body: body, maxBodySize: maxBodySize)
                ) { [weak self] result in
                    guard let self else { return }
                    switch result {
                    case .success(let response) where response.isServerError:
                        end(.failed("\(self.server(this)): HTTP \(response.status)", reached: true, tryNext: true))
                    case .success(let response):
                        self.answering(this)
                        end(.answered(response))
                    case .failure(let failure):
                        let retryable = failure.isServerUnreachable || (retryTimeouts && failure.kind == .timeout)
                        end(.failed("\(self.server(this)): \(failure.message)", reached: failure.connected, tryNext: retryable))
                    }
                }
            }, completion: completion)
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
        failover(
            { [weak self] this, end in
                self?.streamTry(this, path: path, wants: wants, onData: onData, end: end)
            }, completion: completion)
    }

    private func streamTry(
        _ this: Try, path: String, wants: @escaping (Int) -> Bool, onData: @escaping ([UInt8]) -> Bool,
        end: @escaping (TryEnd<StreamEnd>) -> Void
    ) {
        let server = server(this)
        var status: Int?
        var streaming = false
        var excerpt: [UInt8] = []
        var transfer: HTTPClient.Transfer?
        // Callbacks never run inside `client.stream`, so `transfer` is set before any of them runs.
        // The transfer holds these closures and they hold `transfer`: every way out sets it to nil.
        transfer = client.stream(
            makeRequest(.get, server: this.index, path: path),
            onHeaders: { [weak self] code, _ in
                guard let self else { return }
                status = code
                if (500..<600).contains(code) {
                    transfer?.cancel()
                    transfer = nil
                    end(.failed("\(server): HTTP \(code)", reached: true, tryNext: true))
                    return
                }
                self.answering(this)
                streaming = wants(code)
            },
            onData: { bytes in
                if streaming {
                    if !onData(bytes) {
                        transfer?.cancel()
                        transfer = nil
                        end(.answered(StreamEnd(status: status ?? 0, excerpt: [], stopped: true)))
                    }
                } else if excerpt.count < 1024 {
                    excerpt += bytes.prefix(1024 - excerpt.count)
                }
            },
            completion: { result in
                transfer = nil
                switch result {
                case .success:
                    end(.answered(StreamEnd(status: status ?? 0, excerpt: excerpt)))
                case .failure(let failure) where status != nil:
                    // The answer had begun (and may have been handed out): cut short or too slow.
                    end(.failed("\(server): \(failure.message)", reached: true, tryNext: false))
                case .failure(let failure):
                    end(
                        .failed(
                            "\(server): \(failure.message)", reached: failure.connected,
                            tryNext: failure.isServerUnreachable || failure.kind == .timeout))
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
