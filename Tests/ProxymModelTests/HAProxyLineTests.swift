import ProxymModel
import Testing

/// The haproxy 2.6 tokenizer and the per-service line check (issue 11, class 1): a line is judged by
/// the words haproxy will act on, so no quoting, escaping or directive gets a section keyword past it.
@Suite struct HAProxyLineTests {
    func words(_ line: String) throws -> [String] { try HAProxyLine(line).words }

    /// The lines of the haproxy 2.6 reference table, with the words haproxy 2.6.12 reads.
    @Test func tokenizesLikeHAProxy() throws {
        let cases: [(String, [String])] = [
            ("backend z", ["backend", "z"]),
            ("\"backend\" z", ["backend", "z"]),
            ("'backend' z", ["backend", "z"]),
            ("ba\"ck\"end z", ["backend", "z"]),
            ("b'ack'end z", ["backend", "z"]),
            ("\"back\"end z", ["backend", "z"]),
            ("\\x62ackend z", ["backend", "z"]),
            ("    backend z", ["backend", "z"]),
            ("backend\tz", ["backend", "z"]),
            ("backend\u{0B}z", ["backend", "z"]),
            ("backend\u{0C}z", ["backend", "z"]),
            ("BACKEND z", ["BACKEND", "z"]),
            ("\\ backend z", [" backend", "z"]),
            ("backend\\ z", ["backend z"]),
            ("backend#z", ["backend"]),
            ("\"\" backend z", ["", "backend", "z"]),
            ("${KW} z", ["${KW}", "z"]),
            ("option x\\", ["option", "x\\"]),
            ("opt\\1ion", ["opt\\1ion"]),
            ("http-request set-header X 'a \"b\" $c # d'", ["http-request", "set-header", "X", "a \"b\" $c # d"]),
            ("http-request set-header X \"a 'b' # \\$c\"", ["http-request", "set-header", "X", "a 'b' # $c"]),
            ("# only a comment", []),
            ("   ", []),
            ("balance leastconn # the rest", ["balance", "leastconn"]),
        ]
        for (line, expected) in cases {
            #expect(try words(line) == expected, "\(line)")
        }
        let expanded = try HAProxyLine("\"${KW}\" z \"x$HOME\" '$NOT'")
        #expect(expanded.expandedWords == [0, 2])
        #expect(try HAProxyLine("\"${NOPE-backend}\" z").expandedWords == [0])
    }

    @Test func syntaxHAProxyRejects() {
        #expect(throws: HAProxyLine.SyntaxError.dollarWithoutName) { try HAProxyLine("http-response set-header X \"5$\"") }
        #expect(throws: HAProxyLine.SyntaxError.unterminatedQuote) { try HAProxyLine("option \"x") }
        #expect(throws: HAProxyLine.SyntaxError.unterminatedQuote) { try HAProxyLine("option 'x") }
        #expect(throws: HAProxyLine.SyntaxError.badHexEscape) { try HAProxyLine("\\x6 backend") }
        #expect(throws: HAProxyLine.SyntaxError.unterminatedVariable) { try HAProxyLine("x \"${A\"") }
    }

    func rejection(_ line: String, allowEnvironment: Bool = true) -> OptionLine.Rejection? {
        if case .failure(let rejection)? = OptionLine.check(line, allowEnvironment: allowEnvironment) { return rejection }
        return nil
    }

    /// Every section keyword, however it is written, is refused as opening a section.
    @Test(arguments: OptionLine.sectionKeywords.sorted())
    func everySectionKeywordIsRefusedInEveryDisguise(_ keyword: String) {
        let first = keyword.unicodeScalars.first!
        let hex = "\\x" + String(first.value, radix: 16) + String(keyword.dropFirst())
        let split = String(keyword.prefix(1)) + "\"" + String(keyword.dropFirst()) + "\""
        let variants = [
            "\(keyword) x", "  \(keyword) x", "\t\(keyword)\tx", "\"\(keyword)\" x", "'\(keyword)' x", "\(hex) x",
            "\(split) x", "\(keyword)", "\(keyword)#x", "\(keyword)'' x", "\"\"\(keyword) x",
            "\(keyword) x\r",
        ]
        for line in variants {
            #expect(rejection(line) == .opensSection(keyword), "\(line)")
        }
        // Not a keyword: a different word (case matters to haproxy) or an escaped blank inside it.
        #expect(rejection("\(keyword.uppercased()) x") != .opensSection(keyword))
        #expect(rejection("\(keyword)\\ x") != .opensSection(keyword))
    }

    @Test(arguments: [".if 0", ".if 1", ".elif 1", ".else", ".endif", ".diag \"m\"", ".notice \"m\"", ".warning \"m\"", ".alert \"m\"", "\".if\" 0", "'.endif'", ".foo", "\\x2eendif"])
    func directivesAreRefused(_ line: String) {
        guard case .directive? = rejection(line) else {
            Issue.record("\(line): \(String(describing: rejection(line)))")
            return
        }
    }

    @Test func otherLinesHAProxyWouldReadDifferently() {
        #expect(rejection("\"\" http-request deny") == .emptyFirstWord)
        #expect(rejection("\"${UNSET}\" http-request deny") == .firstWordNotBare("\"${UNSET}\""))
        #expect(rejection("\"http-request\" deny") == .firstWordNotBare("\"http-request\""))
        #expect(rejection("http-req\"\"uest deny") == .firstWordNotBare("http-req\"\"uest"))
        #expect(rejection("option\\ foo") == .firstWordNotBare("option\\"))
        #expect(rejection("[scope] backend z") == .scopeLine)
        #expect(rejection("option forwardfor\rbackend z") == .controlCharacter)
        #expect(rejection("option\u{0}x") == .controlCharacter)
        #expect(rejection("option x\u{1b}") == .controlCharacter)
        #expect(rejection("option x\u{85}") == .controlCharacter)
        #expect(rejection("http-response set-header X \"5$\"") == .syntax(.dollarWithoutName))
        #expect(rejection("option \"x") == .syntax(.unterminatedQuote))
        #expect(rejection("acl a " + Array(repeating: "w", count: 62).joined(separator: " ")) == .tooManyWords(64))
        let leak = "http-request return status 200 string \"v=${PROXYM_SECRET}\""
        #expect(rejection(leak, allowEnvironment: false) == .environment)
        #expect(OptionLine.check(leak, allowEnvironment: true) == .success(leak))
    }

    @Test func ordinaryLinesPassTrimmed() {
        for line in [
            "balance leastconn", "option httpchk GET /health", "http-request deny if { path_beg /admin }",
            "timeout server 5s # a comment", "http-request set-header X-A 'b c'", "acl a " + Array(repeating: "w", count: 61).joined(separator: " "),
            "no option httpclose", "stick-table type ip size 1m",
        ] {
            #expect(OptionLine.check("\t " + line + " \r", allowEnvironment: false) == .success(line), "\(line)")
        }
        #expect(OptionLine.check("", allowEnvironment: false) == nil)
        #expect(OptionLine.check("  # note", allowEnvironment: false) == nil)
    }

    @Test func linesOfATextNameTheirNumbers() {
        let text = "balance leastconn\r\n\n\"backend\" x\r\n# c\n.if 0\nserver extra 10.0.0.9:80\n.endif\n"
        let (accepted, dropped) = OptionLine.lines(of: text, allowEnvironment: true)
        #expect(accepted == ["balance leastconn", "server extra 10.0.0.9:80"])
        #expect(dropped.map(\.lineNumber) == [3, 5, 7])
        #expect(dropped[0].description == "line 3 \"\\\"backend\\\" x\\r\" left out: 'backend' would open a new section")
    }
}
