import Glibc
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTLS
import ProxymTestSupport
import Testing

/// The certificate directory watched with real inotify, bundles made by the real `openssl`.
@Suite(.timeLimit(.minutes(2)))
struct CertificateStoreTests {
    final class Harness {
        let dir: String
        let loop: EventLoop
        let log = TestLog()
        let pki: TestPKI
        var settings = TLSSettings()
        var store: CertificateStore!
        var reasons: [String] = []

        var input: String { dir + "/certs" }

        init(dir: String, defaultCertificate: String? = nil) throws {
            self.dir = dir
            loop = try EventLoop()
            try FileSystem.mkdir(dir + "/pki")
            pki = try TestPKI(directory: dir + "/pki")
            try FileSystem.mkdir(dir + "/certs", mode: 0o700)
            settings.httpsPort = 8443
            settings.certificatesPath = dir + "/certs"
            settings.statePath = dir + "/state"
            settings.defaultCertificate = defaultCertificate
            try start()
        }

        /// A new store on the same directories (proxym restarted).
        func start() throws {
            store?.stop {}
            store = CertificateStore(settings: settings, loop: loop, logger: log.logger)
            try store.start { [weak self] reason in self?.reasons.append(reason.description) }
        }

        /// Writes a bundle the way an operator's tool would: a temp file renamed into place.
        func put(_ name: String, _ text: String) throws {
            try writeFile(input + "/.\(name).tmp", text, mode: 0o600)
            try FileSystem.rename(from: input + "/.\(name).tmp", to: input + "/" + name)
        }

        /// Steps the loop until a refresh was asked for `name` (or the time is up).
        @discardableResult
        func waitForChange(_ name: String, timeout: Duration = .seconds(5)) throws -> Bool {
            try pump(loop, timeout: timeout) { reasons.contains { $0.contains(name) } }
        }

        func live(_ name: String) throws -> [UInt8] {
            try FileSystem.readFile(settings.liveCertificatesPath + "/" + name, limit: 1 << 20)
        }
    }

    @Test func aBundleDroppedInIsCheckedCopiedPrivatelyAndAnnounced() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            #expect(h.store.served.isEmpty)
            #expect(h.store.defaultSource == "self-signed")
            let leaf = try h.pki.issue("shop.test", dnsNames: ["shop.test", "www.shop.test"])
            try h.put("shop.pem", leaf.bundleText)
            #expect(try h.waitForChange("shop.pem"))
            let served = try #require(h.store.served["shop.pem"])
            #expect(served.facts.sniNames == ["shop.test", "www.shop.test"])
            #expect(served.path == h.settings.liveCertificatesPath + "/shop.pem")
            // The copy: OpenSSL's encoding, 0600, in a 0700 directory that only proxym may read.
            let copy = try h.live("shop.pem")
            #expect(try PEMBundle.inspect(copy).get().facts == served.facts)
            #expect(try FileSystem.stat(served.path).permissions == 0o600)
            #expect(try FileSystem.stat(h.settings.statePath).permissions == 0o700)
            #expect(try FileSystem.stat(h.settings.liveCertificatesPath).permissions == 0o700)
            #expect(try FileSystem.stat(h.settings.defaultBundlePath).permissions == 0o600)
            // The crt-list names the copies, the default first.
            let (state, _) = h.store.state(pins: [])
            #expect(state.list.lines.map(\.path) == [h.settings.defaultBundlePath, served.path])
            // Nothing of the key reached the log.
            let keyBody = leaf.keyText.split(separator: "\n")[1]
            #expect(!h.log.lines().contains { $0.contains("PRIVATE") || $0.contains(keyBody) })
            #expect(h.log.contains("certificate added"))
        }
    }

    @Test func aBrokenVersionCostsOnlyItselfAndTheLastGoodStays() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let shop = try h.pki.issue("shop.test")
            let other = try h.pki.issue("other.test")
            let expired = try h.pki.issue("shop.test", days: -1)
            try h.put("shop.pem", shop.bundleText)
            try h.put("other.pem", other.bundleText)
            #expect(try h.waitForChange("other.pem"))
            let good = try h.live("shop.pem")
            let cases: [(text: String, reason: String)] = [
                (shop.certificateText + other.keyText, "the private key does not match the certificate"),
                (expired.bundleText, "expired on"),
                ("garbage", "no PEM data"),
                (shop.certificateText, "no private key"),
            ]
            for (text, reason) in cases {
                h.reasons = []
                try h.put("shop.pem", text)
                #expect(try pump(h.loop, timeout: .seconds(5)) { h.store.invalid["shop.pem"]?.contains(reason) == true })
                // Nothing served changed; the refresh asked for only updates STATUS.
                #expect(h.reasons.allSatisfy { $0.hasSuffix("refused or fixed") })
                #expect(try h.live("shop.pem") == good)
                #expect(h.store.served["shop.pem"] != nil && h.store.served["other.pem"] != nil)
                #expect(h.log.lines(atLeast: .error).contains { $0.contains("file=shop.pem") && $0.contains(reason) })
            }
            #expect(h.store.statusNote?.contains("1 refused: shop.pem") == true)
            // Fixed: served again, and the note is gone.
            let renewed = try h.pki.issue("shop.test")
            h.reasons = []
            try h.put("shop.pem", renewed.bundleText)
            #expect(try h.waitForChange("shop.pem changed"))
            #expect(h.store.served["shop.pem"]?.facts.serial == (try TestPKI.field("serial", of: renewed.certificate)))
            #expect(h.store.statusNote == nil)
        }
    }

    @Test func aFIFOOrADirectoryNamedLikeABundleNeverBlocksNorCounts() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            #expect(mkfifo(h.input + "/fifo.pem", 0o600) == 0)
            try FileSystem.mkdir(h.input + "/dir.pem")
            let leaf = try h.pki.issue("a.test")
            try h.put("a.pem", leaf.bundleText)
            #expect(try h.waitForChange("a.pem"))
            // A full rescan (as after an overflow) reads the FIFO without waiting for a writer.
            let started = MonotonicClock.nanoseconds()
            try h.start()
            #expect(MonotonicClock.nanoseconds() - started < 5_000_000_000)
            #expect(h.store.invalid["fifo.pem"] == "not a regular file")
            #expect(h.store.invalid["dir.pem"] == "not a regular file")
            #expect(h.store.served.keys.sorted() == ["a.pem"])
        }
    }

    @Test func aRemovedBundleStopsBeingServedAndItsCopyGoesOnceHAProxyLetGo() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let leaf = try h.pki.issue("a.test")
            try h.put("a.pem", leaf.bundleText)
            #expect(try h.waitForChange("a.pem"))
            let (before, _) = h.store.state(pins: [])
            h.reasons = []
            try FileSystem.unlink(h.input + "/a.pem")
            #expect(try h.waitForChange("a.pem"))
            #expect(h.store.served.isEmpty)
            // haproxy still names it: kept.
            h.store.collectGarbage(keeping: before)
            #expect(FileSystem.exists(h.settings.liveCertificatesPath + "/a.pem"))
            let (after, _) = h.store.state(pins: [])
            h.store.collectGarbage(keeping: after)
            #expect(!FileSystem.exists(h.settings.liveCertificatesPath + "/a.pem"))
        }
    }

    @Test func afterARestartABrokenFileIsStillServedFromItsLastGoodCopy() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir)
            let leaf = try h.pki.issue("a.test")
            try h.put("a.pem", leaf.bundleText)
            #expect(try h.waitForChange("a.pem"))
            let placeholder = try FileSystem.readFile(h.settings.defaultBundlePath, limit: 1 << 20)
            h.store.stop {}
            try writeFile(h.input + "/a.pem", "broken while proxym was down")
            try h.start()
            #expect(h.store.served["a.pem"]?.facts.commonName == "a.test")
            #expect(h.store.invalid["a.pem"]?.contains("no PEM data") == true)
            // The self-signed default is kept across restarts (no needless change for haproxy).
            #expect(try FileSystem.readFile(h.settings.defaultBundlePath, limit: 1 << 20) == placeholder)
        }
    }

    @Test func theConfiguredDefaultFollowsItsFile() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir, defaultCertificate: "main.pem")
            #expect(h.store.defaultSource == "self-signed")  // not there yet
            #expect(h.log.contains("the default certificate cannot be served"))
            let main = try h.pki.issue("main.test")
            try h.put("main.pem", main.bundleText)
            #expect(try h.waitForChange("main.pem"))
            #expect(h.store.defaultSource == "main.pem")
            #expect(h.store.defaultCertificate?.facts.commonName == "main.test")
            #expect(try FileSystem.readFile(h.settings.defaultBundlePath, limit: 1 << 20) == (try h.live("main.pem")))
        }
    }

    @Test func aStateDirectoryOthersMayReadIsRefused() throws {
        try withTemporaryDirectory { dir in
            try FileSystem.mkdir(dir + "/state", mode: 0o755)
            #expect(chmod(dir + "/state", 0o755) == 0)
            let loop = try EventLoop()
            var settings = TLSSettings()
            settings.httpsPort = 8443
            settings.certificatesPath = dir
            settings.statePath = dir + "/state"
            let store = CertificateStore(settings: settings, loop: loop, logger: TestLog().logger)
            let error = #expect(throws: GeneratorFailure.self) { try store.start { _ in } }
            #expect(error?.message.contains("chmod 700") == true)
        }
    }
}
