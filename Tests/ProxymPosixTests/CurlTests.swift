import Glibc
import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct CurlTests {
    @Test func versionIsReported() {
        let parts = Curl.version.split(separator: ".")
        #expect(parts.count >= 2)
        #expect(Int(parts[0]) ?? 0 >= 7)
        // Debian's libcurl resolves names on a helper thread (HTTPClient documents what that means).
        #expect(Curl.hasAsynchronousResolver)
    }

    @Test func codesDescribeThemselves() {
        #expect(Curl.Code.couldNotConnect.description == "Couldn't connect to server")
        #expect(Curl.Code.operationTimedOut.description == "Timeout was reached")
        #expect(Curl.Code(rawValue: 7) == .couldNotConnect)
        #expect(Curl.MultiCode.badSocket.description.lowercased().contains("socket"))
    }

    @Test func settingABadOptionValueNamesTheOption() throws {
        let easy = try CurlEasy()
        try easy.set(.url, "http://127.0.0.1/")
        try easy.set(.followLocation, true)
        try easy.set(.maxFileSize, 1 << 20)
        try easy.setHeaders(["Accept: text/event-stream", "Expect:"])
        try easy.setBody(Array("x\0y".utf8))
        try easy.setBody([])
        let error = #expect(throws: CurlError.self) { try easy.set(.protocols, "no-such-protocol") }
        #expect(error?.call == "curl_easy_setopt(CURLOPT_PROTOCOLS_STR)")
        #expect(error?.description.contains("curl code") == true)
    }

    @Test func anUnusedEasyHandleReportsNothing() throws {
        let easy = try CurlEasy()
        #expect(easy.responseCode == 0)
        #expect(easy.errorMessage == "")
        #expect(easy.primaryIP == nil)
        #expect(easy.connectTime == .zero)
    }
}

/// Drives a `CurlMulti` with poll(2) on one thread, with a tiny HTTP server in the same poll set.
final class CurlPollDriver {
    let multi: CurlMulti
    var watched: [CInt: CurlMulti.Interest] = [:]
    var log: [(fd: CInt, interest: CurlMulti.Interest)] = []
    var timerDeadline: UInt64?
    /// The fds handed to onSocket were open and close-on-exec when handed over.
    var allCloseOnExec = true

    init() throws {
        multi = try CurlMulti()
        multi.onSocket = { [unowned self] fd, interest in
            self.log.append((fd, interest))
            if interest == .remove {
                self.watched[fd] = nil
            } else {
                self.watched[fd] = interest
                if (try? Descriptor.isCloseOnExec(fd)) != true { self.allCloseOnExec = false }
            }
        }
        multi.onTimer = { [unowned self] delay in
            self.timerDeadline = delay.map {
                MonotonicClock.nanoseconds() + UInt64($0.components.seconds) * 1_000_000_000
                    + UInt64($0.components.attoseconds / 1_000_000_000)
            }
        }
    }

    /// Polls the watched fds plus `extra` until `done()` or the time limit; `onExtra` gets the
    /// extra fds that were ready.
    func run(
        extra: () -> [CInt] = { [] },
        onExtra: (CInt) -> Void = { _ in },
        timeout: Duration = .seconds(10),
        until done: () -> Bool
    ) throws {
        let limit = MonotonicClock.nanoseconds() + UInt64(timeout.components.seconds) * 1_000_000_000
        while !done() && MonotonicClock.nanoseconds() < limit {
            var entries: [Poll.Entry] = watched.map { fd, interest in
                let events: Poll.Events =
                    switch interest {
                    case .read: .in
                    case .write: .out
                    case .readWrite: [.in, .out]
                    case .remove: []
                    }
                return Poll.Entry(fd: fd, events: events)
            }
            let extraFDs = extra()
            entries += extraFDs.map { Poll.Entry(fd: $0, events: .in) }
            var wait = Duration.milliseconds(100)
            if let timerDeadline {
                let now = MonotonicClock.nanoseconds()
                wait = min(wait, .nanoseconds(Int64(timerDeadline > now ? timerDeadline - now : 0)))
            }
            try Poll.wait(&entries, timeout: wait)
            for entry in entries where !entry.returned.isEmpty {
                if extraFDs.contains(entry.fd) {
                    onExtra(entry.fd)
                    continue
                }
                var readiness: CurlMulti.Readiness = []
                if entry.returned.contains(.in) || entry.returned.contains(.hup) { readiness.insert(.readable) }
                if entry.returned.contains(.out) { readiness.insert(.writable) }
                if entry.returned.contains(.err) { readiness.insert(.error) }
                multi.socketAction(entry.fd, readiness: readiness)
            }
            if let deadline = timerDeadline, MonotonicClock.nanoseconds() >= deadline {
                timerDeadline = nil
                multi.timeoutAction()
            }
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct CurlMultiTests {
    @Test func aTransferDrivenByPollCompletes() throws {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        var connections: [CInt] = []
        defer { for fd in connections { try? Descriptor.close(fd) } }
        var request: [UInt8] = []
        let driver = try CurlPollDriver()
        let easy = try CurlEasy()
        try easy.set(.url, "http://127.0.0.1:\(listener.port)/v2/info")
        var body: [UInt8] = []
        var headerLines: [String] = []
        easy.onBody = {
            body += $0
            return true
        }
        easy.onHeaderLine = {
            headerLines.append(String(decoding: $0, as: UTF8.self))
            return true
        }
        try driver.multi.add(easy)
        #expect(driver.multi.transferCount == 1)
        var done: (easy: CurlEasy, result: Curl.Code)?
        try driver.run(
            extra: { [listener.fd.rawValue] + connections },
            onExtra: { fd in
                if fd == listener.fd.rawValue {
                    if case .ready(let connection)? = try? Socket.accept(fd) {
                        connections.append(connection.release())
                    }
                    return
                }
                guard case .ready(let chunk)? = try? Descriptor.read(fd, maxBytes: 4096), !chunk.isEmpty else { return }
                request += chunk
                if request.count >= 4 && Array(request.suffix(4)) == [13, 10, 13, 10] {
                    _ = try? Socket.send(fd, Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello".utf8))
                }
            },
            until: {
                if done == nil { done = driver.multi.nextDone() }
                return done != nil
            }
        )
        let finished = try #require(done)
        #expect(finished.easy === easy)
        #expect(finished.result == .ok)
        #expect(easy.responseCode == 200)
        #expect(body == Array("hello".utf8))
        #expect(headerLines.first == "HTTP/1.1 200 OK\r\n")
        #expect(headerLines.contains("X-A: b\r\n"))
        #expect(headerLines.last == "\r\n")
        #expect(easy.primaryIP == "127.0.0.1")
        #expect(easy.connectTime > .zero)
        #expect(String(decoding: request, as: UTF8.self).hasPrefix("GET /v2/info HTTP/1.1\r\n"))
        #expect(driver.allCloseOnExec)
        #expect(!driver.log.isEmpty)

        driver.multi.remove(easy)
        #expect(driver.multi.transferCount == 0)
        // The connection is cached: open, but no longer watched.
        #expect(driver.watched.isEmpty)
        #expect(driver.multi.watchedCount == 0)
        #expect(driver.multi.openSocketCount == 1)
        driver.multi.close()
        #expect(driver.multi.openSocketCount == 0)
        #expect(driver.multi.isClosed)
    }

    /// libcurl 7.88 closes a socket that never connected with plain close(2) (curl/curl#11439):
    /// the multi handle must still report `.remove` for the fd it handed out, and lose track of
    /// nothing.
    @Test func aSocketClosedByLibcurlBeforeConnectingIsRetired() throws {
        let listener = try FullBacklogListener()
        let driver = try CurlPollDriver()
        let easy = try CurlEasy()
        try easy.set(.url, "http://127.0.0.1:\(listener.port)/")
        try easy.set(.connectTimeoutMilliseconds, 200)
        try driver.multi.add(easy)
        var done: (easy: CurlEasy, result: Curl.Code)?
        try driver.run {
            if done == nil { done = driver.multi.nextDone() }
            return done != nil
        }
        #expect(done?.result == .operationTimedOut)
        #expect(driver.watched.isEmpty)
        #expect(driver.multi.watchedCount == 0)
        #expect(driver.multi.openSocketCount == 0)
        let handedOut = Set(driver.log.filter { $0.interest != .remove }.map(\.fd))
        let removed = Set(driver.log.filter { $0.interest == .remove }.map(\.fd))
        #expect(!handedOut.isEmpty)
        #expect(handedOut == removed)
        driver.multi.remove(easy)
        driver.multi.close()
    }

    @Test func cancellingWhileConnectingLeavesNothingBehind() throws {
        let listener = try FullBacklogListener()
        let driver = try CurlPollDriver()
        let easy = try CurlEasy()
        try easy.set(.url, "http://127.0.0.1:\(listener.port)/")
        try driver.multi.add(easy)
        try driver.run(timeout: .seconds(5)) { !driver.watched.isEmpty }
        #expect(driver.multi.openSocketCount == 1)
        driver.multi.remove(easy)
        #expect(driver.watched.isEmpty)
        #expect(driver.multi.openSocketCount == 0)
        driver.multi.close()
    }

    @Test func callingBackIntoTheMultiHandleFromACallbackTraps() async {
        await #expect(processExitsWith: .failure) {
            let multi = try CurlMulti()
            multi.onTimer = { _ in multi.timeoutAction() }
            let easy = try CurlEasy()
            try easy.set(.url, "http://127.0.0.1:1/")
            try multi.add(easy)
        }
    }
}
