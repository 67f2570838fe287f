import ProxymPosix
import ProxymTestSupport
import Testing

/// The status page in a real browser: Debian's headless Chromium loads http://127.0.0.1:<port>/,
/// the DOM it renders shows the services and, after a broken file is dropped, that problem; and it
/// takes a screenshot. `PROXYM_SCREENSHOT_DIR` set: the screenshot is copied there.
@Suite struct StatusPageTests {
    static func chromium(_ arguments: [String], dir: String) throws -> CompletedProcess {
        let binary = try #require(which("chromium"), "chromium is needed (Debian package chromium; make deps)")
        if !FileSystem.exists(dir + "/chromium-profile") { try FileSystem.mkdir(dir + "/chromium-profile") }
        return try runToCompletion(
            binary,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--user-data-dir=\(dir)/chromium-profile",
                // Loopback only: no proxy, no DNS look-ups.
                "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ] + arguments,
            environment: ["PATH=/usr/bin:/bin", "HOME=\(dir)"], timeout: .seconds(90))
    }

    @Test func chromiumShowsServicesAndABrokenFile() throws {
        try Binaries.require()
        try #require(haveHAProxy, "haproxy is needed")
        try withTemporaryDirectory { dir in
            let (sandbox, blue) = try Sandbox.withBlue(in: dir)
            try sandbox.writeService("web.json", sandbox.service(id: "web", domain: "web.example.com", port: 10001, backends: [blue]))
            try sandbox.writeService("api.json", sandbox.service(id: "api", domain: "api.example.com", port: 10002, backends: [blue]))
            try sandbox.startReady()
            let url = "http://127.0.0.1:\(sandbox.statusPort)/"

            // The page itself: self-contained (no external reference), HTML.
            let page = try #require(httpGet(port: sandbox.statusPort, path: "/", timeout: .seconds(3)))
            #expect(page.status == 200)
            #expect(!page.body.contains("http://") && !page.body.contains("https://") && !page.body.contains("src="))

            var dom = try Self.chromium(["--dump-dom", url], dir: dir)
            #expect(dom.status == .exited(0), "\(dom.stderr.suffix(2000))")
            #expect(dom.stdout.contains("<div id=\"verdict\" class=\"ok\">HEALTHY</div>"), "\(dom.stdout.suffix(3000))")
            #expect(dom.stdout.contains("<code>web</code>") && dom.stdout.contains("web.example.com"), "\(dom.stdout.suffix(3000))")
            #expect(dom.stdout.contains("<code>api</code>") && dom.stdout.contains("api.example.com"))
            #expect(dom.stdout.contains("127.0.0.1:\(blue.port)"))

            // A broken file: the page names it among the problems.
            try writeFile(sandbox.services + "/broken.json", "{\"id\": \"broken\", \"domain\": ")
            #expect(
                waitUntil(timeout: .seconds(5)) {
                    httpGet(port: sandbox.statusPort, path: "/api/v1/services", timeout: .seconds(2))?.body.contains("broken.json") == true
                })
            dom = try Self.chromium(["--dump-dom", url], dir: dir)
            #expect(dom.status == .exited(0), "\(dom.stderr.suffix(2000))")
            let problems = dom.stdout.split(separator: "<ul id=\"problems\">").last?.split(separator: "</ul>").first ?? ""
            #expect(problems.contains("broken.json"), "\(dom.stdout.suffix(3000))")
            #expect(dom.stdout.contains("<code>web</code>"))  // the good services stay

            let screenshot = dir + "/status-page.png"
            let shot = try Self.chromium(["--screenshot=\(screenshot)", "--window-size=1280,1100", url], dir: dir)
            #expect(shot.status == .exited(0), "\(shot.stderr.suffix(2000))")
            let png = try FileSystem.readFile(screenshot, limit: 32 << 20)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
            #expect(png.count > 10_000, "a blank screenshot? \(png.count) bytes")
            if let keep = ProcessEnvironment.current()["PROXYM_SCREENSHOT_DIR"], !keep.isEmpty {
                try FileSystem.writeFile(keep + "/status-page.png", contents: png)
            }
        }
    }
}
