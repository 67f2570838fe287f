/// haproxy's own Prometheus exporter (PROMEX, built into Debian's haproxy 2.6): one frontend that
/// answers `GET /metrics` with haproxy's metrics and 404 elsewhere. Added after the global config's
/// `defaults` (`PROXYM_HAPROXY_PROMETHEUS_ADDRESS`).
public enum PrometheusExporter {
    public static let frontendName = "proxym-prometheus"

    /// The frontend's text; `host` an IPv4 or IPv6 literal.
    public static func section(host: String, port: UInt16) -> String {
        """

        frontend \(frontendName)
          bind \(ConfigText.bindHost(host)):\(port)
          mode http
          no log
          http-request use-service prometheus-exporter if { path /metrics }
          http-request return status 404 content-type text/plain string "haproxy metrics are at /metrics"

        """
    }
}
