import ProxymPosix
import ProxymTestSupport
import Testing

/// The status listener must not be the daemon's weak side: malformed and oversized requests get
/// their 4xx and a closed connection, a flood of idle connections is capped (the oldest makes room),
/// a half-sent request stalls nobody, and through all of it haproxy keeps being driven.
@Suite struct StatusListenerHostileTests {
    /// An open client connection (kept in an array: `OwnedFD` is not copyable).
    final class Held {
        var fd: OwnedFD?
        init(_ fd: consuming OwnedFD) { self.fd = consume fd }
    }

    @Test func hostileClientsCostTheDaemonNothing() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let (sandbox, blue) = try Sandbox.withBlue(in: dir)
            try sandbox.writeService(
                "web.json",
                """
                {"id": "web", "domain": "web.example.com", "protocol": "tcp", "servicePort": \(sandbox.httpPort), "hosts": [{"ip": "127.0.0.1", "port": \(blue.port)}]}
                """)
            let proxym = try sandbox.startReady()
            let port = sandbox.statusPort

            // Garbage, an endless request line, a huge header section, a body where none belongs.
            #expect(statusCode(rawExchange(port: port, Array("\u{16}\u{03}\u{01}\u{02}\0\0hello\r\n\r\n".utf8))) == 400)
            let longLine = "GET /" + String(repeating: "a", count: 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
            #expect(statusCode(rawExchange(port: port, Array(longLine.utf8))) == 414)
            let bigHeaders = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-Junk: " + String(repeating: "j", count: 1000) + "\r\n", count: 40) + "\r\n"
            #expect(statusCode(rawExchange(port: port, Array(bigHeaders.utf8))) == 431)
            let lying = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
            #expect([400, 413].contains(statusCode(rawExchange(port: port, Array(lying.utf8))) ?? 0))
            // Pipelined requests are answered in order, then the connection closes as asked.
            let pipelined = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let answers = String(decoding: rawExchange(port: port, Array(pipelined.utf8)) ?? [], as: UTF8.self)
            #expect(answers.hasPrefix("HTTP/1.1 200 OK") && answers.contains("HTTP/1.1 404 Not Found"), "\(answers)")

            // A half-sent request stalls nobody.
            let slow = try Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .seconds(2))
            try Socket.sendAll(slow.rawValue, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8))
            #expect(httpGet(port: port, path: "/healthz", timeout: .seconds(2))?.status == 200)

            // A flood of idle connections: the listener keeps at most 64; at the cap the oldest idle one
            // is closed to make room, so a real request is still answered.
            var held: [Held] = []
            for _ in 0..<100 {
                if let fd = try? Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .seconds(2)) { held.append(Held(fd)) }
            }
            #expect(held.count == 100)
            let served = httpGet(port: port, path: "/healthz", timeout: .seconds(2))
            #expect(served?.status == 200, "\(String(describing: served))")
            // Meanwhile the daemon still follows a change and drives haproxy.
            let green = try Backend(name: "green", directory: dir)
            sandbox.retained.append(green)
            try sandbox.writeService(
                "web.json",
                """
                {"id": "web", "domain": "web.example.com", "protocol": "tcp", "servicePort": \(sandbox.httpPort), "hosts": [{"ip": "127.0.0.1", "port": \(green.port)}]}
                """)
            #expect(sandbox.waitForBackend("green", host: "web.example.com") != nil, "\(proxym.log)")
            held.removeAll()  // closes them
            _ = consume slow
            #expect(
                waitUntil(timeout: .seconds(5)) { httpGet(port: port, path: "/healthz", timeout: .seconds(1))?.status == 200 },
                "\(proxym.log)")
            #expect(!proxym.hasExited)
            #expect(proxym.log.contains("too many connections"))
        }
    }
}
