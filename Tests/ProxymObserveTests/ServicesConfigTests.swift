import ProxymHTTP
import ProxymJSON
import ProxymModel
import ProxymObserve
import Testing

@Suite struct ConfigRedactionTests {
    @Test func secretsAreMaskedAndEverythingElseKept() {
        let config = """
            global
              setenv API_TOKEN abc123
              presetenv DB_PASS hunter2
            userlist admins
              user alice password $6$salt$hash groups ops
              user bob insecure-password plain
            listen stats
              bind 127.0.0.1:8404
              stats auth admin:s3cret
              http-request set-header Authorization "Bearer xyz"
            backend web_cluster
              server node1 127.0.0.1:8080 check

            """
        let redacted = ConfigRedaction.redact(config)
        for secret in ["abc123", "hunter2", "$6$salt$hash", "plain", "s3cret", "Bearer", "xyz"] {
            #expect(!redacted.contains(secret), "\(secret) still in:\n\(redacted)")
        }
        #expect(redacted.contains("  user alice password <redacted> groups ops\n"))
        #expect(redacted.contains("  stats auth <redacted>\n"))
        #expect(redacted.contains("  setenv API_TOKEN <redacted>\n"))
        #expect(redacted.contains("  http-request set-header Authorization <redacted>\n"))
        #expect(redacted.contains("  server node1 127.0.0.1:8080 check\n"))
        #expect(redacted.hasSuffix("check\n"))
    }
}

@Suite struct ServicesReportTests {
    @Test func servicesAndSkippedInputs() throws {
        var service = Service(
            id: try ServiceID("web"), domains: [try DomainName("web.example.com")], transport: .tcp, servicePort: 80,
            hosts: [Host(address: try HostAddress("10.0.0.2"), port: 31000)], source: "file")
        service.configLines = ["http-request set-header X-Secret s3cret"]
        service.routing = try ServiceRouting(
            paths: [try PathPrefix("/api")],
            auth: try BasicAuth(realm: "shop", users: [try .init(name: "ann", passwordHash: "$6$salt$hashhashhash")]))
        let text = ServicesReport.render(
            services: [service],
            skipped: [SkippedInput(source: "file", item: "bad.json", reason: "invalid JSON")], httpPort: 80, time: 5)
        #expect(!text.contains("s3cret"))
        #expect(!text.contains("hashhash") && !text.contains("ann"))
        let root = try #require(try JSONReader.parse(text).objectValue)
        let first = try #require(root["services"]?.arrayValue?.first?.objectValue)
        #expect(first["id"]?.stringValue == "web")
        #expect(first["http"]?.boolValue == true)
        #expect(first["servers"]?.arrayValue == [.string("10.0.0.2:31000")])
        #expect(first["domains"]?.arrayValue == [.string("web.example.com")])
        #expect(first["extraConfigLines"]?.numberValue?.int == 1)
        #expect(first["paths"]?.arrayValue == [.string("/api")])
        #expect(first["basicAuth"]?.boolValue == true)
        let skipped = try #require(root["skipped"]?.arrayValue?.first?.objectValue)
        #expect(skipped["item"]?.stringValue == "bad.json")
        #expect(skipped["reason"]?.stringValue == "invalid JSON")
    }
}

@Suite struct StatusPageRouteTests {
    @Test func thePageEmbedsBothDocumentsAndNothingFromElsewhere() {
        var router = StatusRouter(staleAfter: .seconds(120), snapshot: { sampleSnapshot() })
        router.services = { "{\"services\":[],\"skipped\":[{\"source\":\"file\",\"item\":\"x\",\"reason\":\"</script><b>\"}]}" }
        router.config = { "userlist u\n  user a password secret\n" }
        let page = router.respond(to: HTTPRequest(method: .get, target: "/", headers: ["Host": "x"], body: []))
        #expect(page.status == .ok)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<script id=\"status-data\" type=\"application/json\">{\"version\":\"9.9.9\""))
        #expect(page.headers.first { $0.name == "Content-Security-Policy" }?.value.contains("default-src 'none'") == true)
        let config = router.respond(to: HTTPRequest(method: .get, target: "/api/v1/config", headers: ["Host": "x"], body: []))
        #expect(String(decoding: config.body, as: UTF8.self) == "userlist u\n  user a password <redacted>\n")
        var empty = router
        empty.config = { nil }
        #expect(empty.respond(to: HTTPRequest(method: .get, target: "/api/v1/config", headers: ["Host": "x"], body: [])).status == .notFound)
    }
}
