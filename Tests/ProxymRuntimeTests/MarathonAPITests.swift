import Logging
import ProxymCore
import ProxymPosix
import ProxymTestSupport
import Testing

@testable import ProxymRuntime

/// MarathonAPI's failover, in process: small servers on the test's loop.
@Suite(.timeLimit(.minutes(1)))
struct MarathonAPITests {
    let loop: EventLoop
    let client: HTTPClient
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init() throws {
        loop = try EventLoop()
        client = try HTTPClient(loop: loop)
    }

    func api(_ servers: [String], _ extra: [String: String] = [:]) throws -> MarathonAPI {
        var env = [
            "PROXYM_MARATHON_ENABLED": "1", "PROXYM_MARATHON_SERVERS": servers.joined(separator: ","),
            "PROXYM_MARATHON_EVENTS": "sse",
        ]
        env.merge(extra) { _, new in new }
        let report = Settings.parse(environment: env)
        try #require(report.errors.isEmpty, "\(report.errors)")
        return MarathonAPI(settings: report.settings.marathon, client: client, logger: logger)
    }

    func send(
        _ api: MarathonAPI, _ method: HTTPClient.Method = .get, _ path: String = "/v2/apps", retryTimeouts: Bool = true
    ) throws -> Result<HTTPClient.Response, MarathonAPI.Failure> {
        var result: Result<HTTPClient.Response, MarathonAPI.Failure>?
        api.send(method, path, retryTimeouts: retryTimeouts) { result = $0 }
        try pump(loop, timeout: .seconds(10)) { result != nil }
        return try #require(result)
    }

    static func ok(_ name: String) -> FakeHTTPServer.Reply {
        .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array("{\"from\":\"\(name)\"}".utf8))
    }

    @Test func aRefusedServerIsSkippedAndTheWorkingOneKept() throws {
        let refused = "http://127.0.0.1:\(try freeTCPPort())"
        let second = try FakeHTTPServer(loop: loop) { _ in Self.ok("second") }
        let api = try api([refused, second.url])
        for _ in 0..<3 {
            let response = try send(api).get()
            #expect(response.bodyText == "{\"from\":\"second\"}")
            #expect(api.current == 1)
        }
        #expect(second.requests.count == 3)
    }

    @Test func a5xxMovesOnAndLaterRequestsGoStraightToTheServerThatWorked() throws {
        let first = try FakeHTTPServer(loop: loop) { _ in .respond(status: 502, body: Array("no leader".utf8)) }
        var secondHealthy = true
        let second = try FakeHTTPServer(loop: loop) { _ in secondHealthy ? Self.ok("second") : .respond(status: 503) }
        let api = try api([first.url, second.url])
        #expect(try send(api).get().bodyText.contains("second"))
        #expect(try send(api).get().bodyText.contains("second"))
        #expect(first.requests.count == 1, "sticky: the failing server is not asked again")
        #expect(second.requests.count == 2)

        // The second fails and the first has recovered: around the list.
        secondHealthy = false
        first.handler = { _ in Self.ok("first") }
        #expect(try send(api).get().bodyText.contains("first"))
        #expect(api.current == 0)
    }

    @Test func a4xxIsAnAnswerNotAFailover() throws {
        let first = try FakeHTTPServer(loop: loop) { _ in .respond(status: 404, body: Array("{\"message\":\"nope\"}".utf8)) }
        let second = try FakeHTTPServer(loop: loop) { _ in Self.ok("second") }
        let api = try api([first.url, second.url])
        #expect(try send(api).get().status == 404)
        #expect(second.requests.isEmpty)
        #expect(api.current == 0)
    }

    @Test func whenEveryServerFailsTheMessageNamesEachInOrder() throws {
        let refused = "http://127.0.0.1:\(try freeTCPPort())"
        let failing = try FakeHTTPServer(loop: loop) { _ in .respond(status: 503) }
        let api = try api([refused, failing.url])
        let failure = try #require(try send(api).failure)
        let refusedAt = try #require(failure.message.firstRange(of: refused))
        let failingAt = try #require(failure.message.firstRange(of: failing.url + ": HTTP 503"))
        #expect(refusedAt.lowerBound < failingAt.lowerBound, "\(failure.message)")
        #expect(failure.reachedServer, "the second answered 503")

        let none = try self.api([refused, "http://127.0.0.1:\(try freeTCPPort())"])
        let unreachable = try #require(try send(none).failure)
        #expect(!unreachable.reachedServer, "\(unreachable.message)")
    }

    /// A POST that timed out after reaching the server may have been carried out: it is not resent
    /// elsewhere, even on a connection reused from an earlier request.
    @Test func aTimedOutPostIsNotSentToTheNextServer() throws {
        var posts = 0
        let first = try FakeHTTPServer(loop: loop) { request in
            if request.method == "POST" {
                posts += 1
                return .silence
            }
            return Self.ok("first")
        }
        let second = try FakeHTTPServer(loop: loop) { _ in Self.ok("second") }
        let api = try api([first.url, second.url], ["PROXYM_MARATHON_TIMEOUT": "500ms", "PROXYM_MARATHON_CONNECT_TIMEOUT": "500ms"])
        #expect(try send(api).get().bodyText.contains("first"))  // leaves a kept-alive connection
        let failure = try #require(try send(api, .post, "/v2/eventSubscriptions?callbackUrl=x", retryTimeouts: false).failure)
        #expect(posts == 1)
        #expect(second.requests.isEmpty, "resent to the second server: \(failure.message)")
        #expect(failure.reachedServer)
        #expect(first.acceptedCount == 1, "the POST went over the reused connection")

        // An idempotent GET that times out does move on.
        first.handler = { _ in .silence }
        #expect(try send(api).get().bodyText.contains("second"))
    }

    @Test func aRedirectToTheLeaderKeepsTheCredentials() throws {
        let leader = try FakeHTTPServer(loop: loop) { request in
            request.header("authorization") == "Basic dXNlcjpwYXNz" ? Self.ok("leader") : .respond(status: 401)
        }
        let standby = try FakeHTTPServer(loop: loop) { request in
            .respond(status: 307, headers: [("Location", leader.url + request.target)])
        }
        let api = try api([standby.url], ["PROXYM_MARATHON_USERNAME": "user", "PROXYM_MARATHON_PASSWORD": "pass"])
        let response = try send(api, .get, "/v2/apps?embed=apps.tasks").get()
        #expect(response.status == 200)
        #expect(response.bodyText.contains("leader"))
        #expect(leader.requests.first?.target == "/v2/apps?embed=apps.tasks")
        #expect(standby.requests.first?.header("authorization") == "Basic dXNlcjpwYXNz")
    }

    // MARK: stream (the snapshot, handed over as it arrives)

    struct Streamed {
        var result: Result<MarathonAPI.StreamEnd, MarathonAPI.Failure>
        var body: [UInt8]
        var pieces: Int
    }

    func stream(_ api: MarathonAPI, stopAfter: Int? = nil) throws -> Streamed {
        var result: Result<MarathonAPI.StreamEnd, MarathonAPI.Failure>?
        var body: [UInt8] = []
        var pieces = 0
        api.stream(
            "/v2/apps?embed=apps.tasks", wants: { $0 == 200 },
            onData: { bytes in
                body += bytes
                pieces += 1
                return stopAfter.map { body.count < $0 } ?? true
            },
            completion: { result = $0 })
        try pump(loop, timeout: .seconds(10)) { result != nil }
        return Streamed(result: try #require(result), body: body, pieces: pieces)
    }

    @Test func aStreamedBodyComesInPiecesAfterA5xxAndARefusedServer() throws {
        let refused = "http://127.0.0.1:\(try freeTCPPort())"
        let failing = try FakeHTTPServer(loop: loop) { _ in .respond(status: 502, body: Array("no leader".utf8)) }
        let big = Array(repeating: UInt8(ascii: "x"), count: 3 << 20)
        let working = try FakeHTTPServer(loop: loop) { _ in .respond(status: 200, body: big) }
        let api = try api([refused, failing.url, working.url])
        let streamed = try stream(api)
        let end = try streamed.result.get()
        #expect(end.status == 200 && !end.stopped && end.excerpt.isEmpty)
        #expect(streamed.body == big)
        #expect(streamed.pieces > 1, "a body of 3 MiB arrives in more than one piece")
        #expect(api.current == 2)
        #expect(working.requests.first?.target == "/v2/apps?embed=apps.tasks")
    }

    @Test func anUnwantedStatusIsAnAnswerWithAnExcerpt() throws {
        let first = try FakeHTTPServer(loop: loop) { _ in .respond(status: 404, body: Array("{\"message\":\"nope\"}".utf8)) }
        let second = try FakeHTTPServer(loop: loop) { _ in Self.ok("second") }
        let api = try api([first.url, second.url])
        let streamed = try stream(api)
        let end = try streamed.result.get()
        #expect(end.status == 404)
        #expect(String(decoding: end.excerpt, as: UTF8.self) == "{\"message\":\"nope\"}")
        #expect(streamed.body.isEmpty)
        #expect(second.requests.isEmpty)
    }

    @Test func aBodyCutShortFailsAsReachedAndIsNotAskedElsewhere() throws {
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"apps\":[".utf8)
        let cut = try FakeHTTPServer(loop: loop) { _ in .script([.send(head), .close]) }
        let second = try FakeHTTPServer(loop: loop) { _ in Self.ok("second") }
        let api = try api([cut.url, second.url])
        let streamed = try stream(api)
        let failure = try #require(streamed.result.failure)
        #expect(failure.reachedServer, "\(failure.message)")
        #expect(failure.message.contains(cut.url), "\(failure.message)")
        #expect(second.requests.isEmpty, "part of the body was handed out already")
        #expect(streamed.body == Array("{\"apps\":[".utf8))
    }

    @Test func theReaderCanStopTheTransfer() throws {
        let server = try FakeHTTPServer(loop: loop) { _ in
            .respond(status: 200, body: Array(repeating: UInt8(ascii: "y"), count: 4 << 20))
        }
        let api = try api([server.url])
        let streamed = try stream(api, stopAfter: 1)
        let end = try streamed.result.get()
        #expect(end.stopped && end.status == 200)
        #expect(streamed.body.count < 4 << 20)
        #expect(client.activeTransferCount == 0)
    }

    @Test func everyServerFailingBeforeAnAnswerFailsLikeSend() throws {
        let refused = "http://127.0.0.1:\(try freeTCPPort())"
        let failing = try FakeHTTPServer(loop: loop) { _ in .respond(status: 503) }
        let api = try api([refused, failing.url])
        let failure = try #require(try stream(api).result.failure)
        #expect(failure.message.contains(refused) && failure.message.contains(failing.url + ": HTTP 503"), "\(failure.message)")
        #expect(failure.reachedServer)
    }
}
