import ProxymCore
import ProxymHTTP

/// The status listener's answers: which path gives what. Pure: the daemon hands it closures that
/// assemble the current values on request (on the loop, so they see one consistent state).
public struct StatusRouter {
    public var snapshot: () -> StatusSnapshot
    public var metrics: (StatusSnapshot, HealthVerdict) -> [MetricFamily]
    /// `/api/v1/services` (JSON text) and `/api/v1/config` (the live config, redacted; nil: none yet).
    public var services: () -> String = { "{\"services\":[],\"skipped\":[]}\n" }
    public var config: () -> String? = { nil }
    public var staleAfter: Duration
    public var patience: Duration

    public init(
        staleAfter: Duration, patience: Duration = .seconds(5), snapshot: @escaping () -> StatusSnapshot,
        metrics: @escaping (StatusSnapshot, HealthVerdict) -> [MetricFamily] = { _, _ in [] }
    ) {
        self.staleAfter = staleAfter
        self.patience = patience
        self.snapshot = snapshot
        self.metrics = metrics
    }

    /// Every path, for 404 answers and the README.
    public static let paths = ["/", "/healthz", "/api/v1/status", "/api/v1/services", "/api/v1/config", "/metrics"]

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        guard request.method == .get || request.method == .head else {
            return .methodNotAllowed(allowing: [.get, .head])
        }
        switch request.path {
        case "/", "/index.html":
            return HTTPResponse(
                status: .ok,
                headers: [
                    "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    // Everything is inline; nothing may be loaded from elsewhere.
                    "Content-Security-Policy":
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'",
                ],
                body: Array(StatusPage.html(status: statusDocument(), services: services()).utf8))
        case "/healthz":
            let verdict = HealthVerdict.evaluate(snapshot(), staleAfter: staleAfter, patience: patience)
            return text(verdict.healthy ? .ok : .serviceUnavailable, StatusJSON.healthText(verdict))
        case "/api/v1/status":
            return json(statusDocument())
        case "/api/v1/services":
            return json(services())
        case "/api/v1/config":
            guard let text = config() else {
                return text(.notFound, "no config applied yet (or no haproxy output)\n")
            }
            return self.text(.ok, ConfigRedaction.redact(text))
        case "/metrics":
            let current = snapshot()
            let verdict = HealthVerdict.evaluate(current, staleAfter: staleAfter, patience: patience)
            return HTTPResponse(
                status: .ok, headers: ["Content-Type": MetricsText.contentType, "Cache-Control": "no-store"],
                body: Array(MetricsText.render(metrics(current, verdict)).utf8))
        default:
            return text(.notFound, "not found; try \(Self.paths.joined(separator: ", "))\n")
        }
    }

    func statusDocument() -> String {
        let current = snapshot()
        let verdict = HealthVerdict.evaluate(current, staleAfter: staleAfter, patience: patience)
        return StatusJSON.render(current, verdict: verdict, patience: patience)
    }

    func text(_ status: HTTPStatus, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Cache-Control": "no-store"], text: body)
    }

    func json(_ body: String) -> HTTPResponse {
        HTTPResponse(
            status: .ok,
            headers: ["Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"],
            body: Array(body.utf8))
    }
}
