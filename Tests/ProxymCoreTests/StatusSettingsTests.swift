import ProxymCore
import Testing

@Suite struct StatusSettingsTests {
    func parse(_ env: [String: String]) -> SettingsReport { Settings.parse(environment: env) }

    @Test func loopbackByDefaultEmptyTurnsItOff() {
        #expect(parse([:]).settings.status.address == .init(host: "127.0.0.1", port: 9911))
        #expect(parse([:]).settings.status.staleAfter == .seconds(120))
        let off = parse(["PROXYM_STATUS_ADDRESS": ""])
        #expect(off.settings.status.address == nil)
        #expect(off.errors.isEmpty && off.warnings.isEmpty)
        #expect(parse(["PROXYM_STATUS_ADDRESS": "  "]).settings.status.address == nil)
    }

    @Test func addressesAndTheirMistakes() {
        #expect(parse(["PROXYM_STATUS_ADDRESS": "0.0.0.0:80"]).settings.status.address == .init(host: "0.0.0.0", port: 80))
        let v6 = parse(["PROXYM_STATUS_ADDRESS": "[::1]:9911"]).settings.status.address
        #expect(v6 == .init(host: "::1", port: 9911))
        #expect(v6?.description == "[::1]:9911")
        #expect(v6?.isLoopback == true)
        for bad in ["9911", "localhost:9911", "127.0.0.1:0", "127.0.0.1:70000", "::1:9911", "1.2.3:4", "[x]:1"] {
            let report = parse(["PROXYM_STATUS_ADDRESS": bad])
            #expect(report.errors.contains { $0.hasPrefix("PROXYM_STATUS_ADDRESS: \"\(bad)\" is not IP:port") }, "\(bad): \(report.errors)")
        }
        #expect(parse(["PROXYM_STATUS_STALE_AFTER": "0"]).errors == ["PROXYM_STATUS_STALE_AFTER: must be longer than 0"])
    }

    @Test func haproxysExporterNeedsAPortOfItsOwn() {
        let base = [
            "PROXYM_HAPROXY_ENABLED": "1", "PROXYM_HAPROXY_CONFIG_FILE_PATH": "/tmp/h.cfg", "PROXYM_HAPROXY_HTTP_PORT": "8080",
        ]
        let ok = parse(base.merging(["PROXYM_HAPROXY_PROMETHEUS_ADDRESS": "127.0.0.1:8405"]) { $1 })
        #expect(ok.errors.isEmpty)
        #expect(ok.settings.haproxy.prometheusAddress == .init(host: "127.0.0.1", port: 8405))
        #expect(parse(base).settings.haproxy.prometheusAddress == nil)
        let clash = parse(base.merging(["PROXYM_HAPROXY_PROMETHEUS_ADDRESS": "127.0.0.1:8080"]) { $1 })
        #expect(clash.errors == ["PROXYM_HAPROXY_PROMETHEUS_ADDRESS: port 8080 is already haproxy's HTTP or HTTPS port"])
        let https = parse(
            base.merging(["PROXYM_HAPROXY_PROMETHEUS_ADDRESS": "127.0.0.1:8443", "PROXYM_HAPROXY_HTTPS_PORT": "8443"]) { $1 })
        #expect(https.errors.contains("PROXYM_HAPROXY_PROMETHEUS_ADDRESS: port 8443 is already haproxy's HTTP or HTTPS port"))
        #expect(!parse(["PROXYM_HAPROXY_PROMETHEUS_ADDRESS": "nope"]).errors.isEmpty)
    }
}
