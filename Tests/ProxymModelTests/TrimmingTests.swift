import ProxymModel
import Testing

@Suite struct TrimmingTests {
    @Test(arguments: [
        ("", "", ""), ("  ", "", ""), (" \ta b\t ", "a b", "a b"), ("a\r", "a\r", "a"), ("\r a \r\n", "\r a \r\n", "a \r\n"),
        ("x\ny ", "x\ny", "x\ny"), ("\u{3000}a", "\u{3000}a", "\u{3000}a"), ("é ", "é", "é"),
    ])
    func blanksAreSpacesAndTabs(_ text: String, _ blanks: String, _ withCR: String) {
        #expect(text.trimmingBlanks() == blanks)
        #expect(text.trimmingBlanks(alsoCR: true) == withCR)
        #expect(Substring(text).trimmingBlanks() == blanks)
    }
}
