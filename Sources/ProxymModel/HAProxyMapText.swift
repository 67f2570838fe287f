/// What may go into an haproxy map file and the Runtime API commands that change one
/// (`add map <path> <key> <value>`): shared by the settings check and the renderer.
public enum HAProxyMapText {
    /// A key haproxy reads back as one word and the Runtime API as one argument: `[a-z0-9._:-]`, at
    /// most 300 bytes. ``DomainName`` gives nothing else; checked again because one bad key would
    /// corrupt the file for every other host.
    public static func isUsableKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 300
            && key.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2e || byte == 0x5f
                    || byte == 0x3a || byte == 0x2d
            }
    }

    /// A path usable inside `map_str(...)` and on a Runtime API command line: absolute, printable
    /// ASCII without blanks, quotes, backslashes or any of `,();#%[]{}$`.
    public static func isUsablePath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.count <= 4096
            && path.utf8.allSatisfy { byte in
                byte > 0x20 && byte < 0x7f && !"\"'\\,();#%[]{}$".utf8.contains(byte)
            }
    }
}
