import ProxymCore
import ProxymModel
import ProxymPosix
import ProxymRuntime
import ProxymTestBuilders
import ProxymTestSupport
import Testing

/// The vhost map file (`PROXYM_HAPROXY_VHOST_MAP_THRESHOLD`) through the module, with a real
/// `haproxy -c`: written next to the config with its mode, checked with it, a change of the map
/// alone applied, the previous map back when haproxy rejects the config, removed below the threshold.
extension HAProxyModuleTests {
    static func mapped(_ web: [String], shop: [String] = ["shop.example.com"]) throws -> [Service] {
        [
            try makeService("/shop", domains: shop, port: 8080, hosts: [("127.0.0.1", 18082)]),
            try makeService("/web", domains: web, port: 8080, hosts: [("127.0.0.1", 18081)]),
        ]
    }

    @Test func theVHostMapIsWrittenCheckedAndFollowsItsHosts() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/haproxy.cfg", "", mode: 0o640)
            let h = try Harness(dir: dir) { settings, _ in settings.vhostMapThreshold = 1 }
            let mapPath = dir + "/haproxy.cfg.vhosts.map"
            let services = try Self.mapped(["web.example.com"])
            #expect(try h.apply(services) == .applied("applied, reload command succeeded"))
            let config = String(decoding: try h.live(), as: UTF8.self)
            #expect(config.contains("  use_backend %[req.hdr(host),lower,map_str(\(mapPath))]\n"))
            #expect(!config.contains("acl host_"))
            #expect(
                try readTextFile(mapPath)
                    == "shop.example.com shop_cluster\nshop.example.com:8080 shop_cluster\nweb.example.com web_cluster\nweb.example.com:8080 web_cluster\n"
            )
            #expect(try FileSystem.stat(mapPath).permissions == 0o640)
            #expect(h.checkCount == 1)
            #expect(try h.apply(services) == .unchanged("unchanged"))

            // A host added to an existing backend: the config text is the same, the map is not.
            let more = try Self.mapped(["web.example.com", "www.example.com"])
            #expect(try h.apply(more) == .applied("applied, reload command succeeded"))
            #expect(try readTextFile(mapPath).contains("www.example.com web_cluster\n"))
            #expect(String(decoding: try h.live(), as: UTF8.self) == config)
            #expect(h.reloads.count == 2)
            let mapBefore = try readTextFile(mapPath)

            // A config haproxy rejects: neither file changes.
            try FileSystem.mkdir(h.optionsPath + "/bad.example.com_8080")
            try writeFile(h.optionsPath + "/bad.example.com_8080/config", "bogus_keyword 1\n")
            let bad = more + [try makeService("/bad", domains: ["bad.example.com"], port: 8080, hosts: [("127.0.0.1", 18083)])]
            let outcome = try h.apply(bad)
            #expect(isFailed(outcome, retry: false), "\(outcome)")
            #expect(try readTextFile(mapPath) == mapBefore)
            #expect(String(decoding: try h.live(), as: UTF8.self) == config)
            #expect(try h.leftovers().isEmpty)

            // One plain host left (not above 1): acl rules again, the map file is gone.
            let one = [try makeService("/web", domains: ["web.example.com"], port: 8080, hosts: [("127.0.0.1", 18081)])]
            #expect(try h.apply(one) == .applied("applied, reload command succeeded"))
            #expect(String(decoding: try h.live(), as: UTF8.self).contains("acl host_web hdr(host) -i web.example.com"))
            #expect(!FileSystem.exists(mapPath))
        }
    }

    /// With the Runtime API on but nobody on the stats socket, a map-only change falls back to a
    /// reload, and the map file holds the new hosts.
    @Test func aMapChangeTheRuntimeAPICannotTakeReloads() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                settings.vhostMapThreshold = 1
                settings.runtimeAPI = true
                settings.statsSocket = dir + "/nobody.sock"
            }
            #expect(try h.apply(try Self.mapped(["web.example.com"])) == .applied("applied, reload command succeeded"))
            let outcome = try h.apply(try Self.mapped(["web.example.com", "www.example.com"]))
            #expect(outcome == .applied("applied, reload command succeeded (the Runtime API failed)"), "\(outcome)")
            #expect(h.reloads.count == 2)
            #expect(try readTextFile(dir + "/haproxy.cfg.vhosts.map").contains("www.example.com web_cluster\n"))
            #expect(h.log.messages(atLeast: .error).contains { $0.contains("the Runtime API change did not take") })
        }
    }

    /// The daemon leaving while the check runs: the map the check was to read goes back (here: there
    /// was none), so the files on disk still go together.
    @Test func cleanUpDuringTheCheckPutsTheMapBack() throws {
        try withTemporaryDirectory { dir in
            let h = try Harness(dir: dir) { settings, dir in
                try writeFile(
                    dir + "/slow-haproxy", "#!/bin/sh\n[ \"$1\" = -c ] && exec sleep 30\nexec '\(haproxyPath!)' \"$@\"\n",
                    mode: 0o755)
                settings.binaryPath = dir + "/slow-haproxy"
                settings.vhostMapThreshold = 1
            }
            var outcome: ApplyOutcome?
            h.module.apply(try Self.mapped(["web.example.com"]), force: false) { outcome = $0 }
            #expect(FileSystem.exists(dir + "/haproxy.cfg.vhosts.map"), "in place for the check")
            h.module.cleanUp()
            #expect(!FileSystem.exists(dir + "/haproxy.cfg.vhosts.map"))
            #expect(try h.leftovers().isEmpty)
            try pump(h.loop, timeout: .seconds(5)) { outcome != nil }
        }
    }
}
