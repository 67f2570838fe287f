import ProxymModel

/// Whether a certificate can be served at a given time: the check neither `haproxy -c` nor
/// `commit ssl cert` makes (both accept an expired certificate, which clients then refuse). Pure:
/// the caller passes `now`.
public enum CertificateValidity {
    /// Why `facts` cannot be served at `now` (seconds since the Unix epoch); nil when it can.
    public static func problem(_ facts: CertificateFacts, now: Int64) -> String? {
        if facts.notAfter <= now { return "expired on \(utcText(facts.notAfter))" }
        if facts.notBefore > now { return "not valid before \(utcText(facts.notBefore))" }
        return nil
    }

    /// Seconds until `facts` expires (negative once it has).
    public static func remaining(_ facts: CertificateFacts, now: Int64) -> Int64 { facts.notAfter - now }

    /// `2026-12-01 15:14:53 UTC`.
    public static func utcText(_ seconds: Int64) -> String {
        let t = BrokenDownTime(unixSeconds: seconds, utcOffsetSeconds: 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(t.year)-\(two(t.month))-\(two(t.day)) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) UTC"
    }
}
