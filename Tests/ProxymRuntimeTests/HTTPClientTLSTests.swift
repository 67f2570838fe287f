import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// HTTPS against `openssl s_server` on 127.0.0.1 with a throwaway self-signed certificate.
@Suite(.timeLimit(.minutes(1)), .enabled(if: which("openssl") != nil))
struct HTTPClientTLSTests {
    /// Runs `body` with the URL of a TLS server answering `GET /` with 200, and its CA file.
    func withTLSServer(_ body: (_ url: String, _ caFile: String) throws -> Void) throws {
        let openssl = try #require(which("openssl"))
        try withTemporaryDirectory { directory in
            let cert = directory + "/cert.pem"
            let key = directory + "/key.pem"
            let made = try runToCompletion(
                openssl,
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                ],
                environment: [],
                timeout: .seconds(20)
            )
            try #require(made.status == .exited(0), "\(made.stderr)")
            let port = try freeTCPPort()
            let guardian = ProcessGuard()
            let server = try Spawn.start(
                executable: openssl,
                arguments: ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet"],
                environment: [],
                stdout: .null,
                stderr: .null
            )
            guardian.track(server.pid)
            defer { guardian.killAll() }
            let ready = waitUntil(timeout: .seconds(10)) {
                (try? Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .milliseconds(100))) != nil
            }
            try #require(ready, "openssl s_server did not start")
            try body("https://127.0.0.1:\(port)/", cert)
        }
    }

    @Test func httpsWithTheRightCAFileWorks() throws {
        try withTLSServer { url, caFile in
            let loop = try EventLoop()
            let client = try HTTPClient(loop: loop)
            var request = Request(.get, url)
            request.caFile = caFile
            let response = try fetch(client, loop, request).get()
            #expect(response.status == 200)
            #expect(response.bodyText.contains("s_server"))
        }
    }

    @Test func anUntrustedCertificateFailsAsTLS() throws {
        try withTLSServer { url, _ in
            let loop = try EventLoop()
            let client = try HTTPClient(loop: loop)
            var request = Request(.get, url)
            request.caFile = "/etc/ssl/certs/ca-certificates.crt"  // the system store: does not know ours
            let failure = try #require(try fetch(client, loop, request).failure)
            #expect(failure.kind == .tls, "\(failure)")
            #expect(failure.message.contains("certificate"))
            // TCP was up, TLS was not: the request was never sent.
            #expect(!failure.connected)
            #expect(!failure.isServerUnreachable)
        }
    }

    @Test func aMissingCAFileFailsAsTLS() throws {
        try withTLSServer { url, _ in
            let loop = try EventLoop()
            let client = try HTTPClient(loop: loop)
            var request = Request(.get, url)
            request.caFile = "/nonexistent/ca.pem"
            let failure = try #require(try fetch(client, loop, request).failure)
            #expect(failure.kind == .tls, "\(failure)")
        }
    }
}
