import ProxymCore
import Testing

@Suite struct EnvironmentFileTests {
    @Test func readsTheOriginalConfFormat() throws {
        let text = """
            PROXYM_FILE_CONFIGS_PATH=/etc/proxym/file
            # Set to '1' to enabled module 'file'
            PROXYM_FILE_ENABLED=0

            PROXYM_MARATHON_HTTP_HOST=
            export PROXYM_HAPROXY_RELOAD_COMMAND="systemctl reload haproxy"
            PROXYM_LOG_FORMAT='%{level} %{message}'
            """
        let env = try EnvironmentFile.parse(text)
        #expect(env["PROXYM_FILE_CONFIGS_PATH"] == "/etc/proxym/file")
        #expect(env["PROXYM_FILE_ENABLED"] == "0")
        #expect(env["PROXYM_MARATHON_HTTP_HOST"] == "")
        #expect(env["PROXYM_HAPROXY_RELOAD_COMMAND"] == "systemctl reload haproxy")
        #expect(env["PROXYM_LOG_FORMAT"] == "%{level} %{message}")
        #expect(env.count == 5)
    }

    @Test(arguments: ["JUSTAWORD", "1BAD=x", "BAD KEY=x", "=x"])
    func rejectsBadLines(_ line: String) {
        #expect(throws: EnvironmentFile.ParseError.self) { try EnvironmentFile.parse("A=1\n" + line) }
    }
}
