import ProxymCore
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTLS
import ProxymTestSupport
import Testing

/// Automatic certificates with Debian's `lego` against Debian's `pebble` on 127.0.0.1, validation
/// for real (pebble connects to lego's HTTP-01 listener here; through haproxy in the end-to-end test).
@Suite(.timeLimit(.minutes(3)), .enabled(if: Pebble.isInstalled && which("lego") != nil))
struct ACMEManagerTests {
    @Test func ordersRenewsAndReportsAServerThatIsGone() throws {
        try withTemporaryDirectory { dir in
            let h = try CertificateStoreTests.Harness(dir: dir)
            try FileSystem.mkdir(dir + "/pebble")
            let acmePort = try freeTCPPort()
            // Certificates valid 30 s: renewed at half their lifetime, 15 s after they are issued.
            let pebble = try Pebble(directory: dir + "/pebble", validationPort: acmePort, validity: 30)
            var settings = h.settings
            settings.acme.enabled = true
            settings.acme.directory = pebble.directoryURL
            settings.acme.email = "ops@example.test"
            settings.acme.caFile = pebble.caFile
            settings.acme.httpPort = acmePort
            let acme = ACMEManager(settings: settings, store: h.store, loop: h.loop, logger: h.log.logger, environment: childEnvironment)
            var statusChanges = 0
            acme.onStatusChange = { statusChanges += 1 }

            // An operator's certificate covers op.test: left alone. IPs and wildcards cannot be ordered.
            let operatorCertificate = try h.pki.issue("op.test")
            try h.put("op.pem", operatorCertificate.bundleText)
            #expect(try h.waitForChange("op.pem"))
            let started = MonotonicClock.nanoseconds()
            acme.update(domains: ["app.test", "op.test", "10.1.2.3", "*.wild.test"])
            #expect(acme.status.map(\.domain) == ["app.test", "op.test"])
            #expect(acme.status.first { $0.domain == "op.test" }?.state == .operatorCertificate)
            #expect(acme.status.first { $0.domain == "app.test" }?.state == .ordering)

            let name = "acme-app.test.pem"
            #expect(try pump(h.loop, timeout: .seconds(60)) { h.store.served[name] != nil })
            let issuedAfter = Double(MonotonicClock.nanoseconds() - started) / 1e9
            print("ACME: app.test ordered from pebble and served by the store in \(issuedAfter) s")
            let first = try #require(h.store.served[name])
            #expect(first.facts.sniNames.contains("app.test"))
            #expect(acme.status.first { $0.domain == "app.test" }?.state == .issued)
            #expect(try FileSystem.stat(h.input + "/" + name).permissions == 0o600)
            // The chain lego got verifies against pebble's root.
            try writeFile(dir + "/pebble-root.pem", try pebble.issuerRoot())
            let verified = try runToCompletion(
                which("openssl")!, ["verify", "-CAfile", dir + "/pebble-root.pem", "-untrusted", first.path, first.path])
            #expect(verified.status == .exited(0), "\(verified.stdout) \(verified.stderr)")

            // Renewed at half its lifetime: a new serial, a later expiry.
            #expect(try pump(h.loop, timeout: .seconds(60)) { h.store.served[name]?.facts.serial != first.facts.serial })
            let renewed = try #require(h.store.served[name])
            #expect(renewed.facts.notAfter > first.facts.notAfter)
            #expect(h.log.lines().contains { $0.contains("renewing certificate") && $0.contains("app.test") })

            // The ACME server goes away; the certificate is removed, so a new one is wanted: the order
            // fails, STATUS says why, and the policy waits before trying again.
            pebble.stop()
            try FileSystem.unlink(h.input + "/" + name)
            #expect(try pump(h.loop, timeout: .seconds(5)) { h.store.served[name] == nil })
            acme.update(domains: ["app.test", "op.test"])
            #expect(try pump(h.loop, timeout: .seconds(30)) { acme.status.first?.state == .failing })
            let failing = try #require(acme.status.first)
            #expect(failing.reason?.contains("connection refused") == true, "\(failing.reason ?? "")")
            #expect(failing.nextAttempt != nil)
            #expect(acme.statusNote?.contains("1 failing (app.test: ") == true, "\(acme.statusNote ?? "")")
            #expect(h.log.lines(atLeast: .error).contains { $0.contains("certificate order failed") })
            #expect(statusChanges >= 4)
            // Nothing of a private key in the log.
            #expect(!h.log.lines().contains { $0.contains("PRIVATE KEY") })

            var stopped = false
            acme.stop { stopped = true }
            #expect(stopped)
        }
    }
}
