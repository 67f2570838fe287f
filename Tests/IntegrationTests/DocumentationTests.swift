import ProxymCore
import ProxymPosix
import ProxymTestSupport
import Testing

/// The README is part of the product: it must name every setting the parser reads, and keep the two
/// newcomer commands the Makefile and CI actually run.
@Suite struct DocumentationTests {
    let readme = (try? readTextFile(repositoryRoot + "/README.md")) ?? ""

    @Test func readmeListsEverySetting() {
        for name in Settings.declarations.map(\.name) {
            #expect(readme.contains("`\(name)`"), "README.md does not document \(name)")
        }
    }

    /// A default that is a value (not "(unset)" or a description) stands in the README's table as
    /// the declaration has it: `| `NAME` | `default` |`.
    @Test func readmeStatesEachDefaultValue() {
        for setting in Settings.declarations where !setting.describesDefault {
            let row = "| `\(setting.name)` | `\(setting.shownDefault)` |"
            #expect(readme.contains(row), "README.md has no row \(row)")
        }
    }

    @Test func readmeQuickStartMatchesTheMakefileAndCI() throws {
        #expect(readme.contains("make run "))
        #expect(readme.contains("make test "))
        let makefile = try readTextFile(repositoryRoot + "/Makefile")
        #expect(makefile.contains("\nrun: "))
        #expect(makefile.contains("\ntest: "))
        let ci = try readTextFile(repositoryRoot + "/.ci/run")
        #expect(ci.contains("\nmake test\n"), ".ci/run must call the README's test command")
    }
}
