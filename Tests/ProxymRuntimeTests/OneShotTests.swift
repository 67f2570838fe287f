import ProxymCore
import ProxymPosix
import ProxymRuntime
import ProxymTestSupport
import Testing

/// `proxym render` / `proxym check` on the repository's `examples/`, with a real `haproxy -c`.
@Suite(.timeLimit(.minutes(1)), .enabled(if: haproxyPath != nil))
struct OneShotTests {
    static let examples = repositoryRoot() + "/examples"

    /// The settings examples/run.sh exports, read the way the CLI reads them.
    func settings(services: String = examples + "/services", options: String = examples + "/haproxy") throws -> Settings
    {
        let report = Settings.parse(environment: [
            "PROXYM_FILE_ENABLED": "1",
            "PROXYM_FILE_CONFIGS_PATH": services,
            "PROXYM_HAPROXY_ENABLED": "1",
            "PROXYM_HAPROXY_BINARY_PATH": haproxyPath!,
            "PROXYM_HAPROXY_CONFIG_FILE_PATH": "/nonexistent/haproxy.cfg",
            "PROXYM_HAPROXY_PID_PATH": "/nonexistent/haproxy.pid",
            "PROXYM_HAPROXY_OPTIONS_PATH": options,
            "PROXYM_HAPROXY_HTTP_PORT": "8080",
            "PROXYM_HAPROXY_BIND_ADDRESS": "127.0.0.1",
        ])
        #expect(report.errors.isEmpty, "\(report.errors)")
        return report.settings
    }

    @Test func renderOfTheExamplesIsAcceptedByHAProxy() throws {
        try withTemporaryDirectory { dir in
            let log = TestLog()
            let rendered = try OneShot.render(
                settings: try settings(),
                environment: childEnvironment,
                logger: log.logger
            )
            #expect(rendered.serviceCount == 3)
            #expect(rendered.problemCount == 0)
            #expect(rendered.config.hasPrefix("# Put first in the generated config"))
            #expect(rendered.config.contains("www.shop.example.com"))
            #expect(rendered.config.contains("bind 127.0.0.1:8080"))
            #expect(rendered.config.contains("listen cache"))
            // Deterministic.
            #expect(
                try OneShot.render(settings: try settings(), environment: childEnvironment, logger: log.logger).config
                    == rendered.config
            )

            try writeFile(dir + "/haproxy.cfg", rendered.config)
            let check = try runToCompletion(haproxyPath!, ["-c", "-f", dir + "/haproxy.cfg"], timeout: .seconds(20))
            #expect(check.status == .exited(0), "\(check.stdout)\(check.stderr)")
            #expect(!log.entries.contains { $0.level >= .warning }, "\(log.lines(atLeast: .warning))")
        }
    }

    @Test func checkOfTheExamplesIsOk() throws {
        try withTemporaryDirectory { dir in
            let log = TestLog()
            let checked = try OneShot.check(
                settings: try settings(),
                environment: childEnvironment,
                logger: log.logger,
                keepAt: nil
            )
            #expect(checked.ok)
            #expect(checked.serviceCount == 3)
            #expect(checked.problemCount == 0)

            // --output: the checked file is kept, and it is the rendering.
            let kept = dir + "/checked.cfg"
            let again = try OneShot.check(
                settings: try settings(),
                environment: childEnvironment,
                logger: log.logger,
                keepAt: kept
            )
            #expect(again.ok)
            let rendered = try OneShot.render(
                settings: try settings(),
                environment: childEnvironment,
                logger: log.logger
            )
            #expect(try readTextFile(kept) == rendered.config)
        }
    }

    @Test func checkFailsForABrokenServiceFile() throws {
        try withTemporaryDirectory { dir in
            let services = dir + "/services"
            try copyTree(from: Self.examples + "/services", to: services)
            try writeFile(services + "/broken.json", #"{"id": "/broken", "servicePort": 80"#)
            let log = TestLog()
            let checked = try OneShot.check(
                settings: try settings(services: services),
                environment: childEnvironment,
                logger: log.logger,
                keepAt: nil
            )
            #expect(!checked.ok)
            #expect(checked.problemCount == 1)
            #expect(checked.serviceCount == 3, "the good files still count")
            #expect(log.entries.contains { $0.level == .error && $0.metadata["file"] == "broken.json" })
        }
    }

    @Test func checkFailsWhenHAProxyRejectsTheConfig() throws {
        try withTemporaryDirectory { dir in
            let options = dir + "/haproxy"
            try copyTree(from: Self.examples + "/haproxy", to: options)
            let config = options + "/shop.example.com_8080/config"
            try writeFile(config, try readTextFile(config) + "bogus_keyword 1\n")
            let log = TestLog()
            let checked = try OneShot.check(
                settings: try settings(options: options),
                environment: childEnvironment,
                logger: log.logger,
                keepAt: nil
            )
            #expect(!checked.ok)
            #expect(checked.problemCount == 1)
            #expect(checked.serviceCount == 3)
            #expect(
                log.messages(atLeast: .error).contains { $0.hasPrefix("haproxy: ") && $0.contains("bogus_keyword") }
            )
            #expect(log.messages(atLeast: .error).contains("haproxy rejected the config"))
        }
    }

    @Test func renderCountsAMissingServicesDirectoryAsAProblem() throws {
        try withTemporaryDirectory { dir in
            let log = TestLog()
            let rendered = try OneShot.render(
                settings: try settings(services: dir + "/missing"),
                environment: childEnvironment,
                logger: log.logger
            )
            #expect(rendered.serviceCount == 0)
            #expect(rendered.problemCount == 1)
            // Still a config haproxy accepts (the http-in frontend is always there).
            #expect(rendered.config.contains("frontend http-in"))
        }
    }

    /// check's temp file must be its own: not a name another check (a parallel test, another user in
    /// /tmp) can hold or race for.
    @Test func checkUsesAPrivateTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            // Something squats every name a predictable scheme could pick.
            try FileSystem.mkdir(dir + "/proxym-check-\(CurrentProcess.pid).cfg")
            try writeFile(dir + "/proxym-check-\(CurrentProcess.pid).cfg/keep", "x")
            var environment = childEnvironment
            environment["TMPDIR"] = dir
            let checked = try OneShot.check(
                settings: try settings(),
                environment: environment,
                logger: TestLog().logger,
                keepAt: nil
            )
            #expect(checked.ok)
            // Nothing left behind in TMPDIR.
            #expect(try FileSystem.listDirectory(dir).map(\.name) == ["proxym-check-\(CurrentProcess.pid).cfg"])
        }
    }
}
