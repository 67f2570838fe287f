/// One configuration line as haproxy 2.6 reads it (`parse_line()`): leading blanks skipped, words
/// split at unquoted, unescaped blanks (space, tab, VT, FF), `#` outside quotes ends the line (even
/// inside a word), quotes may open and close anywhere in a word and are removed, single quotes keep
/// everything literal, a backslash outside single quotes escapes (`\ `, `\\`, `\#`, `\'`, `\"`, `\t`,
/// `\n`, `\r`, `\xNN`; other pairs keep the backslash), and inside double quotes `$NAME`, `${NAME}`,
/// `${NAME-default}` and `${NAME[*]}` are environment variables, whose value proxym cannot know.
///
/// Pure: it decides what a line *is* to haproxy, so a per-service line is judged by the words
/// haproxy will act on, never by pattern matching the raw text.
public struct HAProxyLine: Sendable, Hashable {
    /// The words after unquoting and unescaping. Parts that come from an environment variable are
    /// not expanded: a word holding one is flagged in `expandedWords`.
    public var words: [String]
    /// Indexes of words that contain an environment variable (unknown content).
    public var expandedWords: Set<Int>

    /// Why haproxy would not read the line as plain words (it would fail the whole file).
    public enum SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        case unterminatedQuote
        case badHexEscape
        case dollarWithoutName
        case unterminatedVariable

        public var description: String {
            switch self {
            case .unterminatedQuote: return "a quote is not closed"
            case .badHexEscape: return "\\x is not followed by two hex digits"
            case .dollarWithoutName: return "'$' inside double quotes without a variable name (fatal in haproxy)"
            case .unterminatedVariable: return "'${' without a closing '}'"
            }
        }
    }

    /// The first word as haproxy sees it (empty for a blank or comment-only line, and for `""`).
    public var firstWord: String { words.first ?? "" }

    public static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C
    }

    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    static func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (byte >= 0x30 && byte <= 0x39) }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// The byte the backslash at `bytes[i]` stands for, and how many bytes the escape takes (a backslash
    /// that escapes nothing stands for itself).
    private static func unescape(
        _ bytes: [UInt8], at i: Int, inDoubleQuotes double: Bool
    ) throws(SyntaxError) -> (byte: UInt8, length: Int) {
        let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
        switch next {
        case UInt8(ascii: " "), UInt8(ascii: "\\"), UInt8(ascii: "#"), UInt8(ascii: "'"), UInt8(ascii: "\""):
            return (next!, 2)
        case UInt8(ascii: "$") where double:
            return (next!, 2)
        case UInt8(ascii: "t"):
            return (0x09, 2)
        case UInt8(ascii: "n"):
            return (0x0A, 2)
        case UInt8(ascii: "r"):
            return (0x0D, 2)
        case UInt8(ascii: "x"):
            guard i + 3 < bytes.count, let high = hexValue(bytes[i + 2]), let low = hexValue(bytes[i + 3])
            else { throw .badHexEscape }
            return (high << 4 | low, 4)
        default:
            return (bytes[i], 1)
        }
    }

    /// The end of the environment variable (`$NAME`, `${NAME}`, with an optional `.` before the name)
    /// whose `$` is at `bytes[i]`.
    private static func variableEnd(_ bytes: [UInt8], from i: Int) throws(SyntaxError) -> Int {
        var j = i + 1
        if j < bytes.count, bytes[j] == UInt8(ascii: "{") {
            j += 1
            if j < bytes.count, bytes[j] == UInt8(ascii: ".") { j += 1 }
            guard j < bytes.count, isNameStart(bytes[j]) else { throw .dollarWithoutName }
            while j < bytes.count, bytes[j] != UInt8(ascii: "}") { j += 1 }
            guard j < bytes.count else { throw .unterminatedVariable }
            j += 1
        } else {
            if j < bytes.count, bytes[j] == UInt8(ascii: ".") { j += 1 }
            guard j < bytes.count, isNameStart(bytes[j]) else { throw .dollarWithoutName }
            while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
        }
        return j
    }

    /// Tokenizes one line (no line break in it).
    public init(_ line: String) throws(SyntaxError) {
        let bytes = Array(line.utf8)
        var words: [[UInt8]] = []
        var expanded: Set<Int> = []
        var current: [UInt8] = []
        var inWord = false
        var single = false
        var double = false
        var i = 0
        while i < bytes.count, Self.isBlank(bytes[i]) { i += 1 }
        func endWord() {
            words.append(current)
            current = []
            inWord = false
        }
        while i < bytes.count {
            let c = bytes[i]
            if single {
                if c == UInt8(ascii: "'") { single = false } else { current.append(c) }
                i += 1
                continue
            }
            if c == UInt8(ascii: "#") && !double { break }
            if c == UInt8(ascii: "'") && !double {
                single = true
                inWord = true
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") {
                double.toggle()
                inWord = true
                i += 1
                continue
            }
            if c == UInt8(ascii: "\\") {
                inWord = true
                let (byte, length) = try Self.unescape(bytes, at: i, inDoubleQuotes: double)
                current.append(byte)
                i += length
                continue
            }
            if Self.isBlank(c) && !double {
                if inWord || !current.isEmpty { endWord() }
                while i < bytes.count, Self.isBlank(bytes[i]) { i += 1 }
                continue
            }
            if c == UInt8(ascii: "$") && double {
                // An environment variable: its value is unknown here; the word is flagged.
                let j = try Self.variableEnd(bytes, from: i)
                expanded.insert(words.count)
                inWord = true
                current += bytes[i..<j]
                i = j
                continue
            }
            inWord = true
            current.append(c)
            i += 1
        }
        if single || double { throw .unterminatedQuote }
        if inWord || !current.isEmpty { endWord() }
        self.words = words.map { String(decoding: $0, as: UTF8.self) }
        self.expandedWords = expanded
    }
}

/// What may go into a service's own section (`backend`/`listen`) from an options `config` file or a
/// Marathon `proxym.port.<n>.config` label: lines that stay inside that section, judged by the words
/// haproxy 2.6 will see (``HAProxyLine``).
public enum OptionLine {
    /// Keywords that open a section in haproxy 2.6 (the `REGISTER_CONFIG_SECTION`s) and in later
    /// versions: a line starting with one would move the service's `server` lines elsewhere.
    public static let sectionKeywords: Set<String> = [
        "global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "mailers", "resolvers",
        "program", "http-errors", "ring", "log-forward", "cache", "fcgi-app", "namespace_list",
        // Later versions (a config may be checked by a newer haproxy).
        "traces", "crt-store", "acme", "dynamic-update",
    ]

    /// The most words haproxy 2.6 accepts on a line (more is fatal).
    public static let maxWords = 63

    /// Why a line is left out.
    public enum Rejection: Error, Sendable, Hashable, CustomStringConvertible {
        case controlCharacter
        case syntax(HAProxyLine.SyntaxError)
        case scopeLine
        case emptyFirstWord
        case firstWordNotBare(String)
        case opensSection(String)
        case directive(String)
        case environment
        case tooManyWords(Int)

        public var description: String {
            switch self {
            case .controlCharacter: return "it holds a control character"
            case .syntax(let error): return "haproxy would reject the whole file: \(error)"
            case .scopeLine: return "'[' starts a scope line"
            case .emptyFirstWord: return "its first word is empty: haproxy would drop it without a word"
            case .firstWordNotBare(let word):
                return "its first word '\(ValidationError.escaped(word, limit: 40))' is quoted or escaped: write keywords bare"
            case .opensSection(let word): return "'\(word)' would open a new section"
            case .directive(let word):
                return "'\(ValidationError.escaped(word, limit: 40))' is a directive (.if/.endif/.alert ...), which acts across sections"
            case .environment: return "it uses environment variables (\"$NAME\", \"${NAME}\"), which would leak haproxy's environment"
            case .tooManyWords(let count): return "\(count) words, more than haproxy reads on a line (\(maxWords))"
            }
        }
    }

    /// The verdict on one line (its tab, CR and surrounding blanks may still be there). `nil` with
    /// a blank or comment-only line: nothing to add, nothing to report. `allowEnvironment`: the
    /// operator's own options files may use haproxy's environment (never in the first word);
    /// lines from a service's labels may not.
    public static func check(_ line: String, allowEnvironment: Bool) -> Result<String, Rejection>? {
        var scalars = Substring(line).unicodeScalars[...]
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars.removeLast() }
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        if scalars.isEmpty { return nil }
        let text = String(String.UnicodeScalarView(scalars))
        if scalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) }) {
            return .failure(.controlCharacter)
        }
        if scalars.first == "[" { return .failure(.scopeLine) }
        let parsed: HAProxyLine
        do {
            parsed = try HAProxyLine(text)
        } catch {
            return .failure(.syntax(error))
        }
        if parsed.words.isEmpty { return nil }  // a comment
        let first = parsed.firstWord
        // Directives and sections first: they are the dangerous ones, however they are written.
        if first.hasPrefix(".") { return .failure(.directive(first)) }
        if sectionKeywords.contains(first) { return .failure(.opensSection(first)) }
        if first.isEmpty { return .failure(.emptyFirstWord) }
        // Written bare: the raw text starts with exactly that word, then a blank or the end.
        let raw = text.utf8.prefix { !HAProxyLine.isBlank($0) }
        guard raw.elementsEqual(first.utf8), !parsed.expandedWords.contains(0) else {
            return .failure(.firstWordNotBare(String(decoding: raw, as: UTF8.self)))
        }
        if !allowEnvironment && !parsed.expandedWords.isEmpty { return .failure(.environment) }
        if parsed.words.count > maxWords { return .failure(.tooManyWords(parsed.words.count)) }
        return .success(text)
    }

    /// A line that was left out, for a WARNING naming where it came from.
    public struct Dropped: Sendable, Hashable {
        /// 1-based, in the text it came from.
        public var lineNumber: Int
        public var line: String
        public var rejection: Rejection

        public init(lineNumber: Int, line: String, rejection: Rejection) {
            self.lineNumber = lineNumber
            self.line = line
            self.rejection = rejection
        }

        public var description: String {
            "line \(lineNumber) \"\(ValidationError.escaped(line, limit: 120))\" left out: \(rejection)"
        }
    }

    /// Every line of a text (split at LF; CRLF files welcome): the accepted ones, trimmed, and the
    /// dropped ones with their line numbers.
    public static func lines(of text: String, allowEnvironment: Bool) -> (accepted: [String], dropped: [Dropped]) {
        var accepted: [String] = []
        var dropped: [Dropped] = []
        var number = 0
        // By bytes: "\r\n" is one Character, so a String split at "\n" would not see it.
        for bytes in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let line = String(decoding: bytes, as: UTF8.self)
            switch check(line, allowEnvironment: allowEnvironment) {
            case nil: continue
            case .success(let kept)?: accepted.append(kept)
            case .failure(let rejection)?: dropped.append(Dropped(lineNumber: number, line: line, rejection: rejection))
            }
        }
        return (accepted, dropped)
    }
}
