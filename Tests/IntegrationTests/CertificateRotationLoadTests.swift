import ProxymPosix
import ProxymTestSupport
import Testing

/// A certificate replaced again and again under HTTPS load: `wrk` over TLS for 20 s (keep-alive and a
/// new TLS connection per request) while the served certificate is replaced every 0.5 s through the
/// Runtime API. Zero failed requests, haproxy's worker unchanged, every new certificate served.
extension LongRuns {
    @Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: curlPath != nil))
    struct CertificateRotationLoadTests {
        static let duration: Duration = .seconds(20)

        @Test func certificatesReplacedUnderHTTPSLoadFailNoRequest() throws {
            try Binaries.require()
            let wrk = try #require(wrkPath, "wrk is missing: `make test` installs it (apt-get install wrk)")
            try withTemporaryDirectory { dir in
                let sandbox = try Sandbox(root: dir)
                let pki = try sandbox.testPKI()
                let (httpsPort, env) = try sandbox.https()
                // wrk takes the SNI from the URL's host: localhost resolves to 127.0.0.1.
                let names = ["localhost", "web.test"]
                try sandbox.putCertificate("web.pem", try pki.issue("web.test", dnsNames: names).bundleText)
                let blue = try Backend(name: "blue", directory: dir)
                try sandbox.writeService(
                    "web.json", sandbox.service(id: "/web", domain: "web.test", port: sandbox.httpPort, backends: [blue]))
                let proxym = try sandbox.start(env)
                #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
                #expect(waitUntil(timeout: .seconds(5)) {
                    (try? TLSProbe.get(host: "web.test", port: httpsPort, caFile: pki.caCertificate))?.exitCode == 0
                })
                let worker = try #require(sandbox.workerPID)
                // Certificates made beforehand: the rotation loop only renames files in.
                let bundles = try (0..<8).map { _ in try pki.issue("web.test", dnsNames: names) }

                func load(_ keepAlive: Bool, _ log: String) throws -> LoggedChild {
                    var arguments = ["-t1", "-c8", "-d\(Self.duration.components.seconds + 1)s", "--timeout", "5s", "-H", "Host: web.test"]
                    if !keepAlive { arguments += ["-H", "Connection: close"] }
                    arguments.append("https://localhost:\(httpsPort)/")
                    return try LoggedChild(executable: wrk, arguments: arguments, environment: [:], logPath: dir + "/" + log)
                }
                let keepAlive = try load(true, "wrk-keepalive.log")
                let close = try load(false, "wrk-close.log")
                MonotonicClock.sleep(.milliseconds(500))
                var rotations = 0
                var served = 0
                var latencies: [Double] = []
                let end = MonotonicClock.nanoseconds() + UInt64(Self.duration.components.seconds) * 1_000_000_000
                while MonotonicClock.nanoseconds() < end {
                    let bundle = bundles[rotations % bundles.count]
                    let serial = try TestPKI.field("serial", of: bundle.certificate)
                    let start = MonotonicClock.nanoseconds()
                    try sandbox.putCertificate("web.pem", bundle.bundleText)
                    rotations += 1
                    if waitUntil(timeout: .seconds(3), poll: .milliseconds(10), {
                        (try? TLSProbe.get(host: "web.test", port: httpsPort, caFile: pki.caCertificate))?.serial == serial
                    }) {
                        served += 1
                        latencies.append(Double(MonotonicClock.nanoseconds() - start) / 1e9)
                    }
                    MonotonicClock.sleep(.milliseconds(500))
                }
                let results = try [keepAlive, close].map { child -> LoadGenerator.Result in
                    #expect(child.waitForExit(timeout: .seconds(30)) == .exited(0), "wrk: \(child.log)")
                    return try #require(LoadGenerator.parse(child.log), "wrk: \(child.log)")
                }
                let total = results[0] + results[1]
                latencies.sort()
                let median = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
                let worst = latencies.last ?? 0
                print(
                    """
                    certificate rotation under HTTPS load (\(Self.duration), wrk -c8 keep-alive + -c8 Connection: close):
                      \(rotations) replacements, \(served) seen served (median \(median) s, worst \(worst) s after the rename)
                      keep-alive: \(results[0])
                      close:      \(results[1])
                      worker pid \(worker) -> \(sandbox.workerPID.map(String.init) ?? "?")
                    """)
                #expect(total.requests > 1000)
                #expect(total.failed == 0, "\(total)")
                #expect(served == rotations)
                #expect(sandbox.workerPID == worker)
                #expect(!proxym.log.contains("reload needed"))
                sandbox.tearDown()
            }
        }
    }
}
