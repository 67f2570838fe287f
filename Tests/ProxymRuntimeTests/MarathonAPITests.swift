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
}
