import FoundationEssentials
import ProxymModel
import ProxymPosix
import ProxymTestSupport
import Testing

@testable import ProxymHAProxy

/// The vhost map (`RenderOptions.vhostMap`, marathon-lb's `--haproxy-map`): plain virtual hosts above
/// the threshold go through one map file, path/weight/redirect rules stay acl rules before it; below
/// the threshold (or without the option) the text is exactly what it was; the pair passes
/// `haproxy -c`, at 2,000 hosts too.
@Suite struct VHostMapRendererTests {
    static let mapPath = "/proxym-golden/haproxy.cfg.vhosts.map"
    static let service = RoutingRendererTests.service
    static let paths = RoutingRendererTests.paths

    /// HTTP on 8080, HTTPS on 8443: a plain vhost with two domains, another plain one, path rules on
    /// one of them, a weighted vhost, a redirect, a negative-weight path rule on a plain vhost.
    static func services() throws -> [Service] {
        [
            try service("/web", ["web.example.com", "www.example.com"], 8080, [("10.0.0.1", 8080)], nil, .none),
            try service("/shop", ["shop.example.com"], 8080, [("10.0.0.2", 8080)], nil, .none),
            try service("/api", ["shop.example.com"], 8080, [("10.0.0.3", 8080)], nil, try ServiceRouting(paths: paths("/api"))),
            try service("/special", ["special.example.com"], 8080, [("10.0.0.4", 8080)], nil, try ServiceRouting(weight: 5)),
            try service("/redir", ["redir.example.com"], 8080, [("10.0.0.5", 8080)], nil, try ServiceRouting(redirectToHttps: true)),
            try service("/old", ["old.example.com"], 8080, [("10.0.0.6", 8080)], nil, .none),
            try service("/oldapi", ["old.example.com"], 8080, [("10.0.0.7", 8080)], nil, try ServiceRouting(paths: paths("/x"), weight: -1)),
        ]
    }

    static func options(threshold: Int) -> RenderOptions {
        var options = RenderOptions(globalConfig: HTTPSRendererTests.global, httpPort: 8080)
        options.https = HTTPSOptions(port: 8443, crtList: RoutingRendererTests.crtList)
        options.vhostMap = VHostMapOptions(path: mapPath, threshold: threshold)
        return options
    }

    static let directory = RoutingRendererTests.directory

    @Test func rendersGolden() throws {
        let services = try Self.services()
        let rendering = HAProxyRenderer.renderWithNotes(services, options: Self.options(threshold: 2))
        let map = try #require(rendering.vhostMap)
        let configPath = Self.directory + "/vhost-map.cfg"
        let mapPath = Self.directory + "/vhost-map.map"
        if ProcessEnvironment.value("RECORD_GOLDEN") == "1" {
            try writeFile(configPath, rendering.text)
            try writeFile(mapPath, map.text)
            Issue.record("recorded \(configPath); unset RECORD_GOLDEN and run again")
            return
        }
        let expected = try readTextFile(configPath)
        if rendering.text != expected {
            Issue.record("vhost-map differs from its golden\n\(TextDiff.diff(expected: expected, actual: rendering.text))")
        }
        #expect(map.text == (try readTextFile(mapPath)))
        #expect(rendering.notes.isEmpty, "\(rendering.notes)")
        #expect(HAProxyRenderer.sizeIsExact(services, options: Self.options(threshold: 2)))
        #expect(HAProxyRenderer.renderWithNotes(services.reversed(), options: Self.options(threshold: 2)) == rendering)
        // Plain hosts are in the map (with the non-standard ports), the rest stays acl rules.
        #expect(
            map.entries.map(\.key) == [
                "shop.example.com", "shop.example.com:8080", "shop.example.com:8443",
                "web.example.com", "web.example.com:8080", "web.example.com:8443",
                "www.example.com", "www.example.com:8080", "www.example.com:8443",
            ])
        #expect(Set(map.entries.map(\.backend)) == ["shop_cluster", "web_cluster"])
        let useBackend = rendering.text.split(separator: "\n").filter { $0.hasPrefix("  use_backend") }
        // Both frontends: the acl rules in their order, then the map, last.
        let once = [
            "  use_backend special_cluster if host_special",
            "  use_backend api_cluster if host_api { path_beg /api }",
            "  use_backend old_cluster if host_old",
            "  use_backend redir_cluster if host_redir",
            "  use_backend oldapi_cluster if host_oldapi { path_beg /x }",
            "  use_backend %[req.hdr(host),lower,map_str(\(Self.mapPath))]",
        ]
        #expect(useBackend == (once + once).map { Substring($0) })
        #expect(!rendering.text.contains("acl host_web") && !rendering.text.contains("acl host_shop"))
    }

    @Test(.enabled(if: HAProxyCheck.isAvailable && which("openssl") != nil))
    func goldenPassesHAProxyCheck() throws {
        try withTemporaryDirectory { dir in
            let pki = try TestPKI(directory: dir)
            let leaf = try pki.issue("shop.example.com")
            try writeFile(dir + "/crt-list", leaf.bundle + " !*\n")
            try writeFile(dir + "/haproxy.cfg.vhosts.map", try readTextFile(Self.directory + "/vhost-map.map"))
            let golden = try readTextFile(Self.directory + "/vhost-map.cfg")
            try writeFile(
                dir + "/haproxy.cfg",
                golden.replacingOccurrences(RoutingRendererTests.crtList, dir + "/crt-list")
                    .replacingOccurrences(Self.mapPath, dir + "/haproxy.cfg.vhosts.map"))
            let result = HAProxyCheck.check(configPath: dir + "/haproxy.cfg")
            #expect(result.exitStatus == 0, "\(result)")
            #expect(!result.output.contains("[ALERT]") && !result.output.contains("[WARNING]"), "\(result)")
            // Without its map the config is refused: the check does read it.
            try FileSystem.unlink(dir + "/haproxy.cfg.vhosts.map")
            #expect(HAProxyCheck.check(configPath: dir + "/haproxy.cfg").exitStatus != 0)
        }
    }

    /// At or below the threshold (or 0, or no option): exactly the text without the option.
    @Test func belowTheThresholdIsTheOutputOfBefore() throws {
        var all: [([Service], RenderOptions)] = try RoutingRendererTests.cases.map { (try $0.services(), $0.options) }
        all.append((try Self.services(), Self.options(threshold: 1)))
        for (services, options) in all {
            var plain = options
            plain.vhostMap = nil
            let before = HAProxyRenderer.render(services, options: plain)
            for threshold in [0, -1, 9, 1000] {
                var mapped = options
                mapped.vhostMap = VHostMapOptions(path: Self.mapPath, threshold: threshold)
                let rendering = HAProxyRenderer.renderWithNotes(services, options: mapped)
                #expect(rendering.text == before)
                #expect(rendering.vhostMap == nil)
            }
        }
        // 3 plain hosts: a threshold of 3 keeps acl rules, 2 maps them.
        var options = Self.options(threshold: 3)
        #expect(HAProxyRenderer.renderWithNotes(try Self.services(), options: options).vhostMap == nil)
        options.vhostMap?.threshold = 2
        #expect(HAProxyRenderer.renderWithNotes(try Self.services(), options: options).vhostMap != nil)
    }

    /// A path haproxy could not read as one argument: no map, acl rules as before.
    @Test func unusablePathMeansNoMap() throws {
        var options = Self.options(threshold: 1)
        options.vhostMap?.path = "/etc/haproxy/my map,x"
        #expect(HAProxyRenderer.renderWithNotes(try Self.services(), options: options).vhostMap == nil)
        #expect(!HAProxyMapText.isUsablePath("relative.map"))
        #expect(HAProxyMapText.isUsablePath("/etc/haproxy/haproxy.cfg.vhosts.map"))
        for key in ["a b", "a\nb", "A.example.com", "", "#x", "a;b"] { #expect(!HAProxyMapText.isUsableKey(key), "\(key)") }
        #expect(HAProxyMapText.isUsableKey("shop.example.com:8080"))
    }

    /// 2,000 virtual hosts: one map line each, no acl, `haproxy -c` accepts the pair.
    @Test(.enabled(if: HAProxyCheck.isAvailable))
    func twoThousandHostsValidate() throws {
        let services = try (0..<2000).map { index in
            try Self.service(
                "/app\(index)", ["app\(index).example.com"], 80, [("10.0.\(index / 250).\(index % 250 + 1)", 8080)], nil, .none)
        }
        try withTemporaryDirectory { dir in
            var options = RenderOptions(globalConfig: HTTPSRendererTests.global, httpPort: 80)
            options.vhostMap = VHostMapOptions(path: dir + "/haproxy.cfg.vhosts.map", threshold: 100)
            let rendering = HAProxyRenderer.renderWithNotes(services, options: options)
            let map = try #require(rendering.vhostMap)
            #expect(map.entries.count == 2000)
            #expect(!rendering.text.contains("acl host_"))
            #expect(HAProxyRenderer.sizeIsExact(services, options: options))
            try writeFile(map.path, map.text)
            try writeFile(dir + "/haproxy.cfg", rendering.text)
            let result = HAProxyCheck.check(configPath: dir + "/haproxy.cfg")
            #expect(result.exitStatus == 0, "\(result)")
            #expect(!result.output.contains("[ALERT]") && !result.output.contains("[WARNING]"), "\(result)")
        }
    }

    /// Runtime API commands between two maps: adds and sets before deletes; `show map` parsed back.
    @Test func mapCommandsAndShowMap() throws {
        func map(_ pairs: [(String, String)]) -> VHostMap {
            VHostMap(path: "/m.map", entries: pairs.map { VHostMap.Entry(key: $0.0, backend: $0.1) })
        }
        let live = map([("a.example.com", "a_cluster"), ("b.example.com", "b_cluster"), ("c.example.com", "c_cluster")])
        let new = map([("a.example.com", "a_cluster"), ("b.example.com", "c_cluster"), ("d.example.com", "a_cluster")])
        #expect(
            new.commands(from: live).map(\.description) == [
                "set map /m.map b.example.com c_cluster", "add map /m.map d.example.com a_cluster", "del map /m.map c.example.com",
            ])
        #expect(live.commands(from: live).isEmpty)
        let shown = "0x55d0c8a1b2c0 b.example.com c_cluster\n0x55d0c8a1b2f0 a.example.com a_cluster\r\n\n0x1 d.example.com a_cluster\n"
        #expect(VHostMap.parseShowMap(shown) == new.entries)
        #expect(VHostMap.parseShowMap("Unknown map identifier.\n").isEmpty)
    }
}
