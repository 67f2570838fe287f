import ProxymHAProxy
import ProxymModel
import Testing

/// A served certificate for tests: `names` as SANs, the first one as CN.
func served(
    _ name: String, names: [String], key: CertificateFacts.KeyType = .ecdsa(curve: "prime256v1"), revision: UInt64 = 1,
    size: Int = 2000, directory: String = "/s/certs"
) -> ServedCertificate {
    let facts = CertificateFacts(
        commonName: names.first ?? "", dnsNames: names, notBefore: 0, notAfter: 2_000_000_000, serial: "0\(revision)",
        issuer: "CA", keyType: key, chainLength: 0, fingerprint: "F\(revision)")
    let path = name == CrtList.defaultName ? "/s/default.pem" : directory + "/" + name
    return ServedCertificate(name: name, path: path, facts: facts, revision: revision, size: size)
}

let defaultCertificate = served(CrtList.defaultName, names: ["proxym default certificate"])

func state(_ certificates: [ServedCertificate], pins: [CertificatePin] = [], default base: ServedCertificate = defaultCertificate)
    -> CertificateState
{
    let (list, _) = CrtList.make(defaultCertificate: base, certificates: certificates, pins: pins)
    var byPath = [base.path: base]
    for certificate in certificates { byPath[certificate.path] = certificate }
    return CertificateState(list: list, certificates: byPath)
}

@Suite struct CrtListTests {
    @Test func theDefaultComesFirstThenPinsThenEveryCertificateByName() throws {
        let shop = served("shop.pem", names: ["shop.test", "www.shop.test"])
        let wild = served("wild.pem", names: ["*.test"])
        let pin = CertificatePin(certificate: "wild.pem", domains: ["shop.test", "api.test"], serviceID: try ServiceID("/shop"))
        let missing = CertificatePin(certificate: "gone.pem", domains: ["x.test"], serviceID: try ServiceID("/x"))
        let (list, notes) = CrtList.make(defaultCertificate: defaultCertificate, certificates: [wild, shop], pins: [pin, missing])
        #expect(
            list.text == """
                /s/default.pem !*
                /s/certs/wild.pem api.test shop.test
                /s/certs/shop.pem
                /s/certs/wild.pem

                """)
        #expect(notes.map(\.description) == [
            "service /x: certificate gone.pem is not served (missing or invalid); its domains get the certificate their names select"
        ])
    }
}

@Suite struct CertificateSelectionTests {
    @Test func exactBeforeWildcardPinsFirstECDSABeforeRSAAndTheDefaultLast() throws {
        let shopRSA = served("a-shop-rsa.pem", names: ["shop.test"], key: .rsa(bits: 2048))
        let shopEC = served("b-shop-ec.pem", names: ["shop.test"])
        let wild = served("wild.pem", names: ["*.test"])
        let other = served("other.pem", names: ["other.test"])
        let pin = CertificatePin(certificate: "other.pem", domains: ["pinned.test"], serviceID: try ServiceID("/p"))
        let current = state([shopRSA, shopEC, wild, other], pins: [pin])
        func choose(_ host: String) -> String? {
            CertificateSelection.choose(host: host, list: current.list, certificates: current.certificates)?.description
        }
        #expect(choose("shop.test") == "b-shop-ec.pem (exact name)")
        #expect(choose("SHOP.test") == "b-shop-ec.pem (exact name)")
        #expect(choose("api.test") == "wild.pem (wildcard)")
        #expect(choose("a.b.test") == "the default certificate (no certificate matches)")
        #expect(choose("pinned.test") == "other.pem (pinned by the service)")
        #expect(
            CertificateSelection.choose(host: "pinned.test", list: current.list, certificates: current.certificates)?.coversHost
                == false)
        #expect(choose("test") == "the default certificate (no certificate matches)")
    }
}

@Suite struct CertificatePlannerTests {
    let a = served("a.pem", names: ["a.test"])
    let b = served("b.pem", names: ["b.test"])
    let c = served("c.pem", names: ["c.test"])

    @Test func nothingKnownMeansReload() {
        #expect(CertificatePlanner.decide(live: nil, new: state([a])) == .reload(reasons: ["the certificates haproxy serves are not known"]))
        #expect(CertificatePlanner.decide(live: state([a]), new: state([a])) == .unchanged)
    }

    @Test func aNewVersionIsSetAndCommitted() {
        var a2 = a
        a2.revision = 2
        #expect(CertificatePlanner.decide(live: state([a, b]), new: state([a2, b])) == .runtime([.update(a2)]))
        var newDefault = defaultCertificate
        newDefault.revision = 9
        #expect(
            CertificatePlanner.decide(live: state([a]), new: state([a], default: newDefault)) == .runtime([.update(newDefault)]))
    }

    @Test func aNewCertificateIsAddedAndAGoneOneRemoved() {
        #expect(CertificatePlanner.decide(live: state([a]), new: state([a, c])) == .runtime([.add(c)]))
        // b sorts before c in the file, but shares no name with c: appending it at runtime serves the same.
        #expect(CertificatePlanner.decide(live: state([a, c]), new: state([a, b, c])) == .runtime([.add(b)]))
        #expect(CertificatePlanner.decide(live: state([a, b]), new: state([a])) == .runtime([.remove(path: b.path)]))
        #expect(CertificatePlanner.decide(live: state([a, b]), new: state([b, c])) == .runtime([.remove(path: a.path), .add(c)]))
    }

    @Test func orderThatDecidesWhoServesANameNeedsAReload() throws {
        // a2 covers a.test too and sorts before a: the file says a2 serves a.test, runtime would append it.
        let overlap = served("0-a.pem", names: ["a.test", "x.test"])
        let decision = CertificatePlanner.decide(live: state([a]), new: state([overlap, a]))
        #expect(decision == .reload(reasons: ["0-a.pem shares a name with a.pem, which comes after it"]))
        // Appended last, it serves nothing a.pem does not already: runtime is fine.
        let last = served("z.pem", names: ["a.test"])
        #expect(CertificatePlanner.decide(live: state([a]), new: state([a, last])) == .runtime([.add(last)]))
    }

    @Test func pinsAndTooLargeBundlesNeedAReload() throws {
        let pin = CertificatePin(certificate: "a.pem", domains: ["b.test"], serviceID: try ServiceID("/b"))
        #expect(
            CertificatePlanner.decide(live: state([a, b]), new: state([a, b], pins: [pin]))
                == .reload(reasons: ["the certificate pinned for b.test changed"]))
        var big = a
        big.revision = 3
        big.size = 20_000
        guard case .reload(let reasons) = CertificatePlanner.decide(live: state([a]), new: state([big])) else {
            Issue.record("expected a reload")
            return
        }
        #expect(reasons == ["a.pem is 20000 bytes, more than a Runtime API request may carry"])
    }
}

@Suite struct CertificateCommandsTests {
    let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"

    @Test func anUpdateIsOneTransactionCommittedOnTheSameConnection() throws {
        let certificate = served("a.pem", names: ["a.test"])
        let requests = try #require(CertificateCommands.requests(for: .update(certificate), list: "/s/crt-list", pem: pem))
        #expect(requests.map(\.text) == [
            "set ssl cert /s/certs/a.pem <<\n" + pem + "\ncommit ssl cert /s/certs/a.pem\n"
        ])
        #expect(requests[0].transaction == "/s/certs/a.pem")
        #expect(requests[0].succeeded("Transaction created for certificate /s/certs/a.pem!\n\nCommitting /s/certs/a.pem\nSuccess!\n"))
        #expect(!requests[0].succeeded("Transaction created\n\nCommitting\nFailed!\ninconsistencies between private key and certificate loaded"))
    }

    @Test func anAddCreatesCommitsAndListsAndARemovalUndoesIt() throws {
        let certificate = served("a.pem", names: ["a.test"])
        let add = try #require(CertificateCommands.requests(for: .add(certificate), list: "/s/crt-list", pem: pem))
        #expect(add.map(\.summary) == [
            "new ssl cert /s/certs/a.pem", "set ssl cert /s/certs/a.pem; commit ssl cert /s/certs/a.pem",
            "add ssl crt-list /s/crt-list /s/certs/a.pem",
        ])
        let remove = try #require(CertificateCommands.requests(for: .remove(path: "/s/certs/a.pem"), list: "/s/crt-list", pem: nil))
        #expect(remove.map(\.text) == ["del ssl crt-list /s/crt-list /s/certs/a.pem\n", "del ssl cert /s/certs/a.pem\n"])
    }

    @Test func aBlankLineInsideThePayloadIsRefused() {
        let certificate = served("a.pem", names: ["a.test"])
        let broken = pem.replacingOccurrences("-----BEGIN PRIVATE KEY-----", "\n-----BEGIN PRIVATE KEY-----")
        #expect(CertificateCommands.requests(for: .update(certificate), list: "/s/crt-list", pem: broken) == nil)
        #expect(CertificateCommands.requests(for: .update(certificate), list: "/s/crt-list", pem: "") == nil)
        // CRLF endings and a trailing blank line are fine.
        let crlf = pem.replacingOccurrences("\n", "\r\n") + "\r\n"
        #expect(CertificateCommands.requests(for: .update(certificate), list: "/s/crt-list", pem: crlf)?.first?.text.contains("\r") == false)
    }

    @Test func theSerialOfShowSslCert() {
        let answer = "Filename: /s/certs/a.pem\nStatus: Used\nSerial: 2429dc33e9\nnotBefore: Dec  2 15:14:53 2026 GMT\n"
        #expect(CertificateCommands.serial(inShow: answer) == "2429DC33E9")
        #expect(CertificateCommands.serial(inShow: "Can't display the certificate\n") == nil)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
