import FoundationEssentials
import ProxymCore
import Testing

/// The Debian package (packaging/) stays true to the code: the man page and the default proxym.conf
/// name every variable the settings parser reads, the changelog carries `ProxymVersion.string`, the
/// default proxym.conf is valid, and the paths the unit, the haproxy drop-in and proxym.conf share agree.
@Suite struct PackagingTests {
    /// The repository root: this file is Tests/IntegrationTests/PackagingTests.swift.
    static let repository: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    func read(_ relativePath: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.repository + "/" + relativePath))
        return String(decoding: data, as: UTF8.self)
    }

    static var documentedNames: [String] { Settings.declarations.map(\.name) }

    /// `name` occurs in `text` as a whole word (not as the prefix of a longer variable name).
    static func containsWord(_ text: String, _ name: String) -> Bool {
        var rest = Substring(text)
        while let range = rest.firstRange(of: name) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            func isNamePart(_ c: Character?) -> Bool { c.map { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) } ?? false }
            if !isNamePart(before) && !isNamePart(after) { return true }
            rest = text[range.upperBound...]
        }
        return false
    }

    @Test func manPageNamesEveryVariable() throws {
        let man = try read("packaging/man/proxym.8")
        let missing = Self.documentedNames.filter { !Self.containsWord(man, $0) }
        #expect(missing.isEmpty, "not in packaging/man/proxym.8: \(missing)")
    }

    @Test func defaultConfigNamesEveryVariable() throws {
        let conf = try read("packaging/etc/proxym/proxym.conf")
        let missing = Self.documentedNames.filter { !Self.containsWord(conf, $0) }
        #expect(missing.isEmpty, "not in packaging/etc/proxym/proxym.conf: \(missing)")
    }

    @Test func changelogCarriesProxymVersion() throws {
        let firstLine = try read("packaging/debian/changelog").split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.hasPrefix("proxym (\(ProxymVersion.string)) "), "changelog starts: \(firstLine)")
    }

    @Test func defaultConfigIsValidAndWiredToHAProxyService() throws {
        let env = try EnvironmentFile.parse(try read("packaging/etc/proxym/proxym.conf"))
        let report = Settings.parse(environment: env)
        #expect(report.errors.isEmpty)
        #expect(report.warnings.isEmpty)
        let settings = report.settings
        #expect(settings.file.enabled)
        #expect(settings.file.configsPath == "/etc/proxym/services")
        #expect(settings.haproxy.enabled)
        #expect(settings.haproxy.optionsPath == "/etc/proxym/haproxy")
        #expect(settings.haproxy.reloadMethod == .command("systemctl reload haproxy.service"))

        // haproxy.service runs on the file proxym writes, the one the postinst seeds, inside the
        // unit's StateDirectory (the only place the sandbox lets proxym write).
        let haproxyEnv = try EnvironmentFile.parse(try read("packaging/systemd/haproxy.env"))
        #expect(haproxyEnv["CONFIG"] == settings.haproxy.configFilePath)
        #expect(try read("packaging/debian/proxym.postinst").contains("HAPROXY_FILE=$STATE_DIR/haproxy.cfg"))
        #expect(settings.haproxy.configFilePath == "/var/lib/proxym/haproxy.cfg")
        #expect(try read("packaging/debian/proxym.service").contains("\nStateDirectory=proxym\n"))
    }

    @Test func unitKeepsTheSystemdContract() throws {
        let unit = try read("packaging/debian/proxym.service")
        for line in [
            "Type=notify", "NotifyAccess=main", "EnvironmentFile=/etc/proxym/proxym.conf",
            "ExecStart=/usr/sbin/proxym run", "ExecReload=/usr/sbin/proxym reload --pid $MAINPID", "Restart=on-failure",
            "RestartPreventExitStatus=78", "ProtectSystem=strict", "NoNewPrivileges=yes",
        ] {
            #expect(unit.split(separator: "\n").contains(Substring(line)), "proxym.service lacks \(line)")
        }
        #expect(unit.contains("\nWatchdogSec="))
    }
}
