import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix
@testable import ProxymRuntime
import ProxymTestSupport
import Testing

/// Certificates changed in a real haproxy 2.6 through its Runtime API, checked with real TLS clients
/// (curl, verifying against the test CA).
@Suite(.timeLimit(.minutes(2)), .enabled(if: haproxyPath != nil && which("curl") != nil))
struct CertificateApplierTests {
    @Test func newChangedAndRemovedCertificatesReachHAProxyWithoutAReload() throws {
        try withTemporaryDirectory { dir in
            let h = try CertificateStoreTests.Harness(dir: dir)
            let a1 = try h.pki.issue("a.test")
            let b = try h.pki.issue("b.test")
            try h.put("a.pem", a1.bundleText)
            try h.put("b.pem", b.bundleText)
            #expect(try h.waitForChange("b.pem"))
            var (live, _) = h.store.state(pins: [])
            try FileSystem.writeFile(h.settings.crtListPath, contents: Array(live.list.text.utf8), mode: 0o600)

            let port = try freeTCPPort()
            let socket = dir + "/admin.sock"
            let config = dir + "/haproxy.cfg"
            try writeFile(
                config,
                """
                global
                  stats socket \(socket) mode 600 level admin
                defaults
                  mode http
                  timeout connect 1s
                  timeout client 5s
                  timeout server 5s
                frontend https-in
                  bind 127.0.0.1:\(port) ssl crt-list \(h.settings.crtListPath) alpn h2,http/1.1
                  http-request return status 200 content-type text/plain lf-string "sni=%[ssl_fc_sni]"

                """)
            let guardian = ProcessGuard()
            let haproxy = try Spawn.start(executable: haproxyPath!, arguments: ["-W", "-db", "-f", config], environment: [])
            guardian.track(haproxy.pid)
            #expect(waitUntil(timeout: .seconds(10)) { cliRequest(path: socket, "show info") != nil })
            let worker = workerPID(socket)

            func probe(_ host: String) throws -> TLSProbe {
                try TLSProbe.get(host: host, port: port, caFile: h.pki.caCertificate)
            }
            let first = try probe("a.test")
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(first.serial == (try TestPKI.field("serial", of: a1.certificate)))
            #expect(first.httpVersion == "2")
            #expect(first.body == "sni=a.test")

            let applier = CertificateApplier(
                loop: h.loop, logger: h.log.logger, timeout: .seconds(5), crtList: h.settings.crtListPath)
            func apply(_ new: CertificateState) throws -> String?? {
                guard case .runtime(let steps) = CertificatePlanner.decide(live: live, new: new) else {
                    Issue.record("expected a runtime change, got \(CertificatePlanner.decide(live: live, new: new))")
                    return nil
                }
                try FileSystem.writeFile(h.settings.crtListPath, contents: Array(new.list.text.utf8), mode: 0o600)
                var result: String??
                applier.apply(steps, socket: socket) { result = .some($0) }
                try pump(h.loop, timeout: .seconds(10)) { result != nil }
                if result == .some(nil) { live = new }
                return result
            }

            // A new version of a.pem.
            let a2 = try h.pki.issue("a.test")
            h.reasons = []
            try h.put("a.pem", a2.bundleText)
            #expect(try h.waitForChange("a.pem"))
            #expect(try apply(h.store.state(pins: []).state) == .some(nil))
            #expect(try probe("a.test").serial == (try TestPKI.field("serial", of: a2.certificate)))

            // A new file: c.pem.
            let c = try h.pki.issue("c.test")
            try h.put("c.pem", c.bundleText)
            #expect(try h.waitForChange("c.pem"))
            #expect(try apply(h.store.state(pins: []).state) == .some(nil))
            let third = try probe("c.test")
            #expect(third.exitCode == 0)
            #expect(third.serial == (try TestPKI.field("serial", of: c.certificate)))

            // b.pem removed: b.test now gets the default certificate.
            try FileSystem.unlink(h.input + "/b.pem")
            #expect(try h.waitForChange("b.pem"))
            #expect(try apply(h.store.state(pins: []).state) == .some(nil))
            let fallback = try TLSProbe.get(host: "b.test", port: port, caFile: nil, extra: ["-k"])
            #expect(fallback.subject.contains("proxym default certificate"), "\(fallback.subject)")

            // haproxy serves what the files say, and still does after a reload.
            var verified: String??
            applier.verify(live, socket: socket) { verified = .some($0) }
            try pump(h.loop) { verified != nil }
            #expect(verified == .some(nil))
            #expect(workerPID(socket) == worker)
            try kill(pid: haproxy.pid, signal: .usr2)
            #expect(waitUntil(timeout: .seconds(10)) { workerPID(socket).map { $0 != worker } ?? false })
            #expect(try probe("a.test").serial == (try TestPKI.field("serial", of: a2.certificate)))
            #expect(try probe("c.test").exitCode == 0)
            verified = nil
            applier.verify(live, socket: socket) { verified = .some($0) }
            try pump(h.loop) { verified != nil }
            #expect(verified == .some(nil))

            // A bundle haproxy refuses at commit (it was not checked by the store): the answer says so,
            // the transaction is aborted, the old version stays.
            let other = try h.pki.issue("other.test")
            let broken = h.settings.liveCertificatesPath + "/a.pem"
            try writeFile(broken, a2.certificateText + other.keyText, mode: 0o600)
            var bad = live.certificates[broken]!
            bad.revision &+= 1
            var failure: String??
            applier.apply([.update(bad)], socket: socket) { failure = .some($0) }
            try pump(h.loop) { failure != nil }
            #expect(failure??.contains("set ssl cert") == true, "\(String(describing: failure))")
            let transactions = cliRequest(path: socket, "show ssl cert") ?? ""
            #expect(!transactions.contains("*" + broken))
            #expect(try probe("a.test").serial == (try TestPKI.field("serial", of: a2.certificate)))
            guardian.killAll()
        }
    }

    func workerPID(_ socket: String) -> Int32? {
        guard let info = cliRequest(path: socket, "show info") else { return nil }
        for line in info.split(separator: "\n") where line.hasPrefix("Pid:") {
            return Int32(line.dropFirst(4).filter { $0 != " " })
        }
        return nil
    }
}
