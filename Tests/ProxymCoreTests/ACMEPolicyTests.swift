import ProxymCore
import ProxymModel
import Testing

@Suite struct ACMEPolicyTests {
    let t0: Int64 = 1_800_000_000
    let day: Int64 = 86_400

    @Test func firstOrdersComeBeforeRenewalsAndOperatorsCertificatesAreLeftAlone() {
        var policy = ACMEPolicy()
        let wanted: [String: ACMEPolicy.Coverage] = [
            "b.test": .none, "a.test": .acme(notBefore: t0 - 80 * day, notAfter: t0 + 10 * day),
            "c.test": .operatorCertificate, "d.test": .acme(notBefore: t0 - day, notAfter: t0 + 89 * day),
        ]
        #expect(policy.next(wanted, now: t0) == ACMEPolicy.Order(domain: "b.test", renewal: false))
        policy.started("b.test", now: t0)
        #expect(policy.next(wanted, now: t0) == nil)  // one at a time
        policy.succeeded("b.test", now: t0 + 10)
        var after = wanted
        after["b.test"] = .acme(notBefore: t0, notAfter: t0 + 90 * day)
        #expect(policy.next(after, now: t0 + 10) == ACMEPolicy.Order(domain: "a.test", renewal: true))
        policy.started("a.test", now: t0 + 10)
        policy.succeeded("a.test", now: t0 + 20)
        after["a.test"] = .acme(notBefore: t0, notAfter: t0 + 90 * day)
        #expect(policy.next(after, now: t0 + 20) == nil)
        // d.test renews 30 days before its expiry.
        #expect(policy.nextWakeUp(after, now: t0 + 20) == t0 + 59 * day)
        let states = policy.status(after, now: t0 + 20)
        #expect(states.map(\.state) == [.issued, .issued, .operatorCertificate, .issued])
        #expect(states[0].renewAt == t0 + 60 * day)
    }

    @Test func shortLivedCertificatesRenewAtHalfTheirLifetime() {
        let policy = ACMEPolicy(options: .init(renewBefore: 30 * 86_400))
        #expect(policy.renewAt(notBefore: t0, notAfter: t0 + 120) == t0 + 60)
        #expect(policy.renewAt(notBefore: t0, notAfter: t0 + 90 * day) == t0 + 60 * day)
    }

    @Test func failuresBackOffAndTheHourlyCapHolds() {
        var policy = ACMEPolicy(options: .init(maxAttemptsPerHour: 3, firstRetry: 60, maxRetry: 3600))
        let wanted: [String: ACMEPolicy.Coverage] = ["a.test": .none]
        var now = t0
        var attempts: [Int64] = []
        // Retry as soon as the policy allows, for two hours.
        while now < t0 + 7200 {
            if policy.next(wanted, now: now) != nil {
                attempts.append(now - t0)
                policy.started("a.test", now: now)
                policy.failed("a.test", reason: "connection refused", now: now + 5)
            }
            now = policy.nextWakeUp(wanted, now: now) ?? now + 1
        }
        // 60 s after the failure, then 120 s, then the cap (3 per hour) waits for the first attempt to age out.
        #expect(Array(attempts.prefix(4)) == [0, 65, 190, 3600])
        for (index, time) in attempts.enumerated() where index >= 3 {
            #expect(attempts.filter { $0 > time - 3600 && $0 <= time }.count <= 3)
        }
        let status = policy.status(wanted, now: now)
        #expect(status.first?.state == .failing)
        #expect(status.first?.reason == "connection refused")
        policy.succeeded("a.test", now: now)
        #expect(policy.status(wanted, now: now).first?.consecutiveFailures == 0)
    }

    @Test func domainsNoLongerWantedAreForgotten() {
        var policy = ACMEPolicy()
        policy.started("a.test", now: t0)
        policy.failed("a.test", reason: "x", now: t0)
        policy.retain([])
        #expect(policy.status(["a.test": .none], now: t0).first?.consecutiveFailures == 0)
    }
}

@Suite struct CertificateValidityTests {
    @Test func expiredAndNotYetValidAreNamedWithTheirDates() {
        let facts = CertificateFacts(
            commonName: "a.test", dnsNames: [], notBefore: 1_800_000_000, notAfter: 1_800_086_400, serial: "01", issuer: "CA",
            keyType: .ed25519, chainLength: 0, fingerprint: "")
        #expect(CertificateValidity.problem(facts, now: 1_800_000_100) == nil)
        #expect(CertificateValidity.problem(facts, now: 1_800_086_400) == "expired on 2027-01-16 08:00:00 UTC")
        #expect(CertificateValidity.problem(facts, now: 1_799_999_999) == "not valid before 2027-01-15 08:00:00 UTC")
    }
}
