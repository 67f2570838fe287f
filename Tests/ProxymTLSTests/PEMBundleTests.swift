import ProxymModel
import ProxymPosix
import ProxymTLS
import ProxymTestSupport
import Testing

/// Bundles made by the real `openssl` command, read by `PEMBundle` (OpenSSL, as haproxy reads them).
@Suite(.timeLimit(.minutes(2)))
struct PEMBundleTests {
    private func inspect(_ text: String) -> Result<InspectedBundle, BundleProblem> {
        PEMBundle.inspect(Array(text.utf8))
    }

    private func problem(_ text: String) -> String? {
        if case .failure(let problem) = inspect(text) { return problem.reason }
        return nil
    }

    @Test func readsTheFactsOfAnECDSABundle() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            let leaf = try pki.issue("shop.test", dnsNames: ["shop.test", "WWW.Shop.test", "*.cdn.shop.test"], days: 20)
            let bundle = try inspect(leaf.bundleText).get()
            let facts = bundle.facts
            #expect(facts.commonName == "shop.test")
            #expect(facts.dnsNames == ["shop.test", "www.shop.test", "*.cdn.shop.test"])
            #expect(facts.sniNames == ["shop.test", "www.shop.test", "*.cdn.shop.test"])
            #expect(facts.keyType == .ecdsa(curve: "prime256v1"))
            #expect(facts.issuer == "proxym test CA")
            #expect(facts.chainLength == 0)
            #expect(facts.warnings.isEmpty)
            #expect(facts.serial == (try TestPKI.field("serial", of: leaf.certificate)))
            let fingerprint = try TestPKI.openssl(["x509", "-in", leaf.certificate, "-noout", "-fingerprint", "-sha256"])
            #expect(fingerprint.contains(facts.fingerprint.chunked))
            let now = WallClock.now().seconds
            #expect(abs(facts.notBefore - now) < 120)
            #expect(abs(facts.notAfter - (now + 20 * 86_400)) < 120)
            #expect(facts.covers("shop.test") && facts.covers("www.shop.test") && facts.covers("a.cdn.shop.test"))
            #expect(!facts.covers("a.b.cdn.shop.test") && !facts.covers("cdn.shop.test") && !facts.covers("other.test"))
        }
    }

    @Test func readsRSAKeysAndTheCommonNameWithoutSANs() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            let leaf = try pki.issue("legacy.test", dnsNames: [], key: .rsa(2048))
            let facts = try inspect(leaf.bundleText).get().facts
            #expect(facts.keyType == .rsa(bits: 2048))
            #expect(facts.dnsNames.isEmpty)
            #expect(facts.sniNames == ["legacy.test"])
        }
    }

    @Test func theKeyMayComeFirstAndBlankLinesAndCRLFAreFine() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            let leaf = try pki.issue("a.test")
            let reference = try inspect(leaf.bundleText).get()
            let messy = "# a comment\r\n\r\n" + leaf.keyText.replacingNewlines("\r\n") + "\r\n\r\n" + leaf.certificateText
            let bundle = try inspect(messy).get()
            #expect(bundle.facts == reference.facts)
            // What proxym hands haproxy: certificate, then key, OpenSSL's own encoding, no blank line
            // (a blank line ends a Runtime API payload).
            let text = String(decoding: bundle.canonicalPEM, as: UTF8.self)
            #expect(!text.contains("\n\n") && !text.contains("\r") && !text.contains("comment"))
            #expect(text.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
            #expect(text.contains("-----BEGIN PRIVATE KEY-----\n"))
            #expect(try inspect(text).get() == bundle)
            #expect(!"\(bundle)".contains("PRIVATE"))
        }
    }

    @Test func theChainFollowsTheLeaf() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            try pki.useIntermediate()
            let leaf = try pki.issue("chained.test")
            let bundle = try inspect(leaf.bundleText).get()
            #expect(bundle.facts.chainLength == 1)
            #expect(bundle.facts.issuer == "proxym test intermediate")
            #expect(bundle.facts.warnings.isEmpty)
            #expect(String(decoding: bundle.canonicalPEM, as: UTF8.self).components("BEGIN CERTIFICATE") == 2)
            // The intermediate is verified as the chain: openssl verify agrees with what we hand on.
            let canonical = directory + "/canonical.pem"
            try FileSystem.writeFile(canonical, contents: bundle.canonicalPEM, mode: 0o600)
            let verified = try runToCompletion(
                which("openssl")!, ["verify", "-CAfile", pki.caCertificate, "-untrusted", canonical, leaf.certificate])
            #expect(verified.status == .exited(0), "\(verified.stderr)")

            // Leaf + the root instead of its issuer: loads, but the chain is wrong: a warning.
            let wrongChain = leaf.certificateText + (try readTextFile(pki.caCertificate)) + leaf.keyText
            let warned = try inspect(wrongChain).get()
            #expect(warned.facts.warnings.count == 1)
            #expect(warned.facts.warnings.first?.contains("out of order") == true)
        }
    }

    @Test func brokenBundlesAreNamedPrecisely() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            let one = try pki.issue("one.test")
            let two = try pki.issue("two.test")
            #expect(problem("") == "the file is empty")
            #expect(problem("hello, I am not a certificate\n") == "no PEM data (not a certificate bundle)")
            #expect(problem(one.keyText) == "no certificate in the file")
            #expect(problem(one.certificateText)?.hasPrefix("no private key in the file") == true)
            #expect(problem(one.certificateText + two.keyText) == "the private key does not match the certificate")
            // Intermediate (here: another leaf) before the leaf: haproxy takes it as the leaf.
            #expect(problem(two.certificateText + one.certificateText + one.keyText) == "the private key does not match the certificate")
            let cut = String(one.certificateText.prefix(200)) + "\n-----END CERTIFICATE-----\n" + one.keyText
            #expect(problem(cut)?.hasPrefix("not a valid PEM file") == true || problem(cut)?.hasPrefix("cannot read the certificate") == true)
            #expect(problem(String(repeating: "A", count: PEMBundle.sizeLimit + 1))?.hasPrefix("larger than") == true)

            // An encrypted key: haproxy cannot prompt for the passphrase.
            let encrypted = try TestPKI.openssl(["pkey", "-in", one.key, "-aes256", "-passout", "pass:secret"])
            let encryptedProblem = problem(one.certificateText + encrypted)
            #expect(encryptedProblem?.contains("encrypted") == true)
            #expect(encryptedProblem?.contains("secret") == false)

            // RSA 1024: OpenSSL's security level refuses it in a TLS context (haproxy: "unable to load
            // SSL certificate into SSL Context"), though `haproxy -c` is the only other place to learn it.
            let weak = try pki.issue("weak.test", key: .rsa(1024))
            let weakProblem = problem(weak.bundleText)
            #expect(weakProblem?.contains("too small") == true, "\(weakProblem ?? "accepted")")
            #expect(weakProblem?.contains("PRIVATE") == false)
        }
    }

    @Test func otherBlocksAreLeftOutWithAWarning() throws {
        try withTemporaryDirectory { directory in
            let pki = try TestPKI(directory: directory)
            let leaf = try pki.issue("dh.test")
            let parameters = try TestPKI.openssl(["ecparam", "-name", "prime256v1"])
            let bundle = try inspect(leaf.bundleText + parameters).get()
            #expect(bundle.facts.warnings == ["left out: EC PARAMETERS (proxym serves the certificate, its chain and its key)"])
            #expect(!String(decoding: bundle.canonicalPEM, as: UTF8.self).contains("PARAMETERS"))
        }
    }

    @Test func aSelfSignedDefaultCertificateIsAValidBundle() throws {
        let pem = try PEMBundle.selfSigned(commonName: "proxym default certificate", days: 3650)
        let bundle = try PEMBundle.inspect(pem).get()
        #expect(bundle.facts.commonName == "proxym default certificate")
        #expect(bundle.facts.keyType == .ecdsa(curve: "prime256v1"))
        #expect(bundle.facts.issuer == "proxym default certificate")
        let now = WallClock.now().seconds
        #expect(bundle.facts.notBefore <= now && bundle.facts.notAfter > now + 3600 * 86_400)
        #expect(try PEMBundle.selfSigned(commonName: "x", days: 1) != (try PEMBundle.selfSigned(commonName: "x", days: 1)))
    }
}

extension String {
    fileprivate var chunked: String {
        var out = ""
        for (index, character) in enumerated() {
            if index > 0 && index % 2 == 0 { out.append(":") }
            out.append(character)
        }
        return out
    }

    fileprivate func replacingNewlines(_ with: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: with)
    }

    fileprivate func components(_ needle: String) -> Int {
        var count = 0
        var rest = Substring(self)
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
