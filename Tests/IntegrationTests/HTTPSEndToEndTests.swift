import ProxymPosix
import ProxymTestSupport
import Testing

let curlPath = which("curl")

extension Sandbox {
    /// HTTPS on a free port with a certificate directory `certs/` (0700) and a test CA.
    func https(_ extra: [String: String] = [:]) throws -> (port: UInt16, env: [String: String]) {
        let port = try freeTCPPort()
        if !FileSystem.exists(certificates) { try FileSystem.mkdir(certificates, mode: 0o700) }
        let env = masterWorker(runtimeAPI: false).merging([
            "PROXYM_HAPROXY_HTTPS_PORT": String(port), "PROXYM_HAPROXY_TLS_CERTS_PATH": certificates,
        ]) { $1 }.merging(extra) { $1 }
        return (port, env)
    }

    var certificates: String { root + "/certs" }

    /// A test CA in `pki/`.
    func testPKI() throws -> TestPKI {
        try FileSystem.mkdir(root + "/pki")
        return try TestPKI(directory: root + "/pki")
    }

    /// Puts a bundle into the certificate directory the careful way (temp file, rename).
    func putCertificate(_ name: String, _ text: String) throws {
        try writeFile(certificates + "/." + name + ".tmp", text, mode: 0o600)
        try FileSystem.rename(from: certificates + "/." + name + ".tmp", to: certificates + "/" + name)
    }

    /// The current worker's pid (master-worker mode).
    var workerPID: Int32? { showProc()?.workers.first }
}

/// HTTPS at the front door through a real haproxy 2.6 on 127.0.0.1, checked with real TLS clients
/// (curl verifying against the test CA; `openssl s_server` as a TLS backend).
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: haveHAProxy && curlPath != nil, "needs haproxy and curl"))
struct HTTPSEndToEndTests {
    @Test func sniChoosesTheCertificateOverHTTP2WithHSTSAndForwardedProto() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let pki = try sandbox.testPKI()
            let shopCertificate = try pki.issue("shop.test", dnsNames: ["shop.test", "www.shop.test"])
            let apiCertificate = try pki.issue("api.test", key: .rsa(2048))
            let (httpsPort, env) = try sandbox.https()
            try sandbox.putCertificate("shop.pem", shopCertificate.bundleText)
            try sandbox.putCertificate("api.pem", apiCertificate.bundleText)
            let blue = try Backend(name: "blue", directory: dir)
            let green = try Backend(name: "green", directory: dir)
            try sandbox.writeService(
                "shop.json",
                """
                {"id": "/shop", "domains": ["shop.test", "www.shop.test"], "servicePort": \(sandbox.httpPort),
                 "hsts": 300, "hosts": [{"ip": "127.0.0.1", "port": \(blue.port)}]}
                """)
            try sandbox.writeService(
                "api.json", sandbox.service(id: "/api", domain: "api.test", port: sandbox.httpPort, backends: [green]))
            let proxym = try sandbox.start(env)
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")

            func probe(_ host: String, path: String = "/") throws -> TLSProbe {
                try TLSProbe.get(host: host, port: httpsPort, path: path, caFile: pki.caCertificate)
            }
            var shop = try probe("www.shop.test")
            #expect(waitUntil(timeout: .seconds(5)) {
                shop = (try? probe("www.shop.test")) ?? shop
                return shop.status == 200
            })
            #expect(shop.exitCode == 0, "\(shop.stderr)\n\(proxym.log)")
            #expect(shop.serial == (try TestPKI.field("serial", of: shopCertificate.certificate)))
            #expect(shop.httpVersion == "2")
            #expect(shop.text == "blue")
            #expect(shop.header("strict-transport-security") == "max-age=300")
            #expect(shop.header("x-seen-forwarded-proto") == "https")
            let api = try probe("api.test")
            #expect(api.exitCode == 0 && api.text == "green")
            #expect(api.serial == (try TestPKI.field("serial", of: apiCertificate.certificate)))
            #expect(api.header("strict-transport-security") == nil)

            // Plain HTTP: served, and a client's X-Forwarded-Proto is replaced.
            let plain = try TLSProbe.get(
                host: "api.test", port: sandbox.httpPort, caFile: nil, plain: true,
                extra: ["-H", "X-Forwarded-Proto: https"])
            #expect(plain.status == 200 && plain.text == "green")
            #expect(plain.header("x-seen-forwarded-proto") == "http")

            // No SNI match: the default (self-signed) certificate, which curl refuses.
            let unknown = try probe("unknown.test")
            #expect(unknown.exitCode == 60, "\(unknown.stderr)")
            let insecure = try TLSProbe.get(host: "unknown.test", port: httpsPort, caFile: nil, extra: ["-k"])
            #expect(insecure.subject.contains("proxym default certificate"), "\(insecure.subject)")
            sandbox.tearDown()
        }
    }

    @Test func aCertificateDroppedInIsServedWithinASecondWithoutAReloadAndABrokenOneCostsOnlyItself() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let pki = try sandbox.testPKI()
            let (httpsPort, env) = try sandbox.https()
            let shop = try pki.issue("shop.test")
            try sandbox.putCertificate("shop.pem", shop.bundleText)
            let blue = try Backend(name: "blue", directory: dir)
            for (name, domain) in [("shop", "shop.test"), ("new", "new.test")] {
                try sandbox.writeService(
                    name + ".json", sandbox.service(id: "/" + name, domain: domain, port: sandbox.httpPort, backends: [blue]))
            }
            let proxym = try sandbox.start(env)
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            func probe(_ host: String) -> TLSProbe? {
                try? TLSProbe.get(host: host, port: httpsPort, caFile: pki.caCertificate)
            }
            #expect(waitUntil(timeout: .seconds(5)) { probe("shop.test")?.exitCode == 0 })
            let worker = try #require(sandbox.workerPID)

            // A new certificate: served within a second, no reload.
            let fresh = try pki.issue("new.test")
            let dropped = MonotonicClock.nanoseconds()
            try sandbox.putCertificate("new.pem", fresh.bundleText)
            let freshSerial = try TestPKI.field("serial", of: fresh.certificate)
            #expect(waitUntil(timeout: .seconds(5), poll: .milliseconds(10)) { probe("new.test")?.serial == freshSerial })
            let servedAfter = Double(MonotonicClock.nanoseconds() - dropped) / 1e9
            print("HTTPS: a certificate dropped into the directory was served after \(servedAfter) s")
            #expect(servedAfter < 1.0)
            #expect(sandbox.workerPID == worker)
            #expect(proxym.log.contains("certificates changed through the Runtime API"))

            // Replaced: the new serial, still no reload.
            let renewed = try pki.issue("shop.test")
            try sandbox.putCertificate("shop.pem", renewed.bundleText)
            let renewedSerial = try TestPKI.field("serial", of: renewed.certificate)
            #expect(waitUntil(timeout: .seconds(5), poll: .milliseconds(10)) { probe("shop.test")?.serial == renewedSerial })
            #expect(sandbox.workerPID == worker)

            // Broken (the key of another certificate): an ERROR names the file, STATUS says so, the last
            // good version stays served, and the other certificate is untouched.
            try sandbox.putCertificate("shop.pem", renewed.certificateText + fresh.keyText)
            #expect(proxym.waitForLog("the private key does not match the certificate"))
            #expect(sandbox.notify.waitFor { $0.contains { $0.hasPrefix("STATUS=") && $0.contains("1 refused: shop.pem") } })
            #expect(probe("shop.test")?.serial == renewedSerial)
            #expect(probe("new.test")?.serial == freshSerial)
            #expect(!proxym.log.contains("PRIVATE KEY"))

            // Removed: the default certificate answers, and the checked copy goes away.
            try FileSystem.unlink(sandbox.certificates + "/new.pem")
            #expect(waitUntil(timeout: .seconds(5)) { probe("new.test")?.exitCode == 60 })
            #expect(waitUntil(timeout: .seconds(5)) { !FileSystem.exists(dir + "/proxym-tls/certs/new.pem") })
            #expect(sandbox.workerPID == worker)

            // A reload loads what the files say: the last good shop.pem, no new.pem.
            try proxym.signal(.hup)
            #expect(sandbox.notify.waitFor { $0.filter { $0 == "READY=1" }.count >= 2 })
            #expect(waitUntil(timeout: .seconds(5)) { probe("shop.test")?.serial == renewedSerial })
            sandbox.tearDown()
        }
    }

    @Test func passthroughReachesATLSBackendBesideTerminatedHosts() throws {
        try Binaries.require()
        let openssl = try #require(which("openssl"))
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let pki = try sandbox.testPKI()
            let (httpsPort, env) = try sandbox.https()
            let shop = try pki.issue("shop.test")
            try sandbox.putCertificate("shop.pem", shop.bundleText)
            // The TLS backend: openssl s_server with a certificate of its own.
            let dbCertificate = try pki.issue("db.test")
            let dbPort = try freeTCPPort()
            let server = try LoggedChild(
                executable: openssl,
                arguments: [
                    "s_server", "-accept", "127.0.0.1:\(dbPort)", "-cert", dbCertificate.certificate, "-key", dbCertificate.key,
                    "-www", "-quiet",
                ],
                environment: [:], logPath: dir + "/s_server.log")
            defer { server.kill() }
            #expect(waitUntil(timeout: .seconds(5)) { canConnect(port: dbPort) })
            let blue = try Backend(name: "blue", directory: dir)
            try sandbox.writeService(
                "shop.json", sandbox.service(id: "/shop", domain: "shop.test", port: sandbox.httpPort, backends: [blue]))
            let dbListen = try freeTCPPort()
            try sandbox.writeService(
                "db.json",
                """
                {"id": "/db", "domain": "db.test", "servicePort": \(dbListen), "tlsPassthrough": true,
                 "hosts": [{"ip": "127.0.0.1", "port": \(dbPort)}]}
                """)
            let proxym = try sandbox.start(env)
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")

            var db: TLSProbe?
            #expect(waitUntil(timeout: .seconds(5)) {
                db = try? TLSProbe.get(host: "db.test", port: httpsPort, caFile: pki.caCertificate)
                return db?.exitCode == 0
            }, "\(db?.stderr ?? "") \(proxym.log)")
            // The client saw the backend's own certificate: haproxy did not terminate TLS.
            #expect(db?.serial == (try TestPKI.field("serial", of: dbCertificate.certificate)))
            #expect(db?.body.contains("s_server") == true)
            // Side by side: the terminated host on the same port.
            let terminated = try TLSProbe.get(host: "shop.test", port: httpsPort, caFile: pki.caCertificate)
            #expect(terminated.exitCode == 0 && terminated.text == "blue")
            #expect(terminated.serial == (try TestPKI.field("serial", of: shop.certificate)))
            #expect(terminated.header("x-seen-forwarded-proto") == "https")
            sandbox.tearDown()
        }
    }
}

/// ACME end to end: Debian's pebble validates HTTP-01 by connecting to haproxy's HTTP frontend, which
/// routes `/.well-known/acme-challenge/` to Debian's lego run by proxym; the certificate is issued,
/// installed, served, renewed; a pebble that is gone costs nothing but a clear STATUS.
@Suite(
    .serialized, .timeLimit(.minutes(4)),
    .enabled(if: haveHAProxy && curlPath != nil && Pebble.isInstalled && which("lego") != nil, "needs haproxy, curl, pebble, lego"))
struct ACMEEndToEndTests {
    @Test func pebbleValidatesThroughHAProxyAndTheCertificateIsServedAndRenewed() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            try FileSystem.mkdir(dir + "/pebble")
            // Certificates valid 40 s: renewed at half their lifetime.
            let pebble = try Pebble(directory: dir + "/pebble", validationPort: sandbox.httpPort, validity: 40)
            let acmePort = try freeTCPPort()
            let (httpsPort, env) = try sandbox.https([
                "PROXYM_ACME_ENABLED": "1", "PROXYM_ACME_DIRECTORY": pebble.directoryURL,
                "PROXYM_ACME_EMAIL": "ops@example.test", "PROXYM_ACME_CA_FILE": pebble.caFile,
                "PROXYM_ACME_HTTP_PORT": String(acmePort),
            ])
            let blue = try Backend(name: "blue", directory: dir)
            // The service redirects to HTTPS: the challenge path must still reach lego over HTTP.
            try sandbox.writeService(
                "app.json",
                """
                {"id": "/app", "domain": "app.test", "servicePort": \(sandbox.httpPort), "redirectToHttps": true,
                 "hosts": [{"ip": "127.0.0.1", "port": \(blue.port)}]}
                """)
            try sandbox.writeService(
                "manual.json",
                """
                {"id": "/manual", "domain": "manual.test", "servicePort": \(sandbox.httpPort), "acme": false,
                 "hosts": [{"ip": "127.0.0.1", "port": \(blue.port)}]}
                """)
            let started = MonotonicClock.nanoseconds()
            let proxym = try sandbox.start(env)
            #expect(sandbox.notify.waitFor { $0.contains("READY=1") }, "\(proxym.log)")
            let name = sandbox.certificates + "/acme-app.test.pem"
            #expect(waitUntil(timeout: .seconds(60)) { FileSystem.exists(name) }, "\(proxym.log)")
            try writeFile(dir + "/pebble-root.pem", try pebble.issuerRoot())
            var served: TLSProbe?
            #expect(waitUntil(timeout: .seconds(10), poll: .milliseconds(20)) {
                served = try? TLSProbe.get(host: "app.test", port: httpsPort, caFile: dir + "/pebble-root.pem")
                return served?.exitCode == 0
            }, "\(served?.stderr ?? "") \(proxym.log)")
            let issued = Double(MonotonicClock.nanoseconds() - started) / 1e9
            print("ACME: from proxym's start to app.test served with pebble's certificate: \(issued) s")
            #expect(served?.text == "blue")
            #expect(!FileSystem.exists(sandbox.certificates + "/acme-manual.test.pem"))
            let worker = sandbox.workerPID

            // Renewed at half its lifetime: a new certificate served, without a reload.
            let firstSerial = served?.serial
            var last: TLSProbe?
            #expect(waitUntil(timeout: .seconds(60), poll: .milliseconds(100)) {
                last = try? TLSProbe.get(host: "app.test", port: httpsPort, caFile: dir + "/pebble-root.pem")
                return last?.exitCode == 0 && last?.serial != firstSerial
            }, "first \(firstSerial ?? "") last \(last?.serial ?? "") \(last?.stderr ?? "") \(proxym.log)")
            #expect(sandbox.workerPID == worker)
            #expect(proxym.log.contains("renewing certificate"))

            // pebble gone: the next order fails, STATUS says why, everything else keeps working.
            pebble.stop()
            try FileSystem.unlink(name)
            #expect(
                sandbox.notify.waitFor(timeout: .seconds(30)) {
                    $0.contains { $0.hasPrefix("STATUS=") && $0.contains("acme:") && $0.contains("failing (app.test:") }
                }, "\(proxym.log)")
            #expect(sandbox.bodyFor(host: "manual.test") == "blue")
            sandbox.tearDown()
        }
    }
}

/// `proxym check` with HTTPS: the certificates are checked (a broken one fails the check and is
/// named), each HTTPS virtual host is told what it will be served with, haproxy -c runs on the
/// rendering with checked copies, and the real state directory is never touched.
@Suite(.timeLimit(.minutes(2)), .enabled(if: haveHAProxy && which("openssl") != nil))
struct HTTPSCheckTests {
    @Test func checkValidatesCertificatesAndSaysWhatEachHostIsServedWith() throws {
        try Binaries.require()
        try withTemporaryDirectory { dir in
            let sandbox = try Sandbox(root: dir)
            let pki = try sandbox.testPKI()
            let (httpsPort, _) = try sandbox.https()
            try sandbox.putCertificate("wild.pem", try pki.issue("*.example.test").bundleText)
            try sandbox.putCertificate("api.pem", try pki.issue("api.example.test").bundleText)
            for (name, domain) in [("shop", "shop.example.test"), ("api", "api.example.test"), ("other", "other.test")] {
                try sandbox.writeService(name + ".json", sandbox.service(id: "/" + name, domain: domain, port: sandbox.httpPort, backends: []))
            }
            let environment = sandbox.environment([
                "PROXYM_HAPROXY_HTTPS_PORT": String(httpsPort), "PROXYM_HAPROXY_TLS_CERTS_PATH": sandbox.certificates,
            ]).filter { $0.key != "NOTIFY_SOCKET" }.map { "\($0.key)=\($0.value)" }
            func check() throws -> CompletedProcess {
                try runToCompletion(Binaries.proxym, ["check"], environment: environment, timeout: .seconds(60))
            }
            let good = try check()
            #expect(good.status == .exited(0), "\(good.stderr)")
            #expect(good.stderr.contains("domain=api.example.test") && good.stderr.contains("certificate=\"api.pem (exact name)\""))
            #expect(good.stderr.contains("certificate=\"wild.pem (wildcard)\""), "\(good.stderr)")
            #expect(good.stderr.contains("HTTPS virtual host has no certificate covering it"), "\(good.stderr)")
            #expect(good.stderr.contains("domain=other.test"))
            #expect(!FileSystem.exists(dir + "/proxym-tls"), "check wrote the real state directory")

            // A broken bundle: the check fails and names it.
            try sandbox.putCertificate("broken.pem", "not a bundle")
            let bad = try check()
            #expect(bad.status == .exited(1), "\(bad.stderr)")
            #expect(bad.stderr.contains("certificate refused") && bad.stderr.contains("file=broken.pem"), "\(bad.stderr)")
        }
    }
}
