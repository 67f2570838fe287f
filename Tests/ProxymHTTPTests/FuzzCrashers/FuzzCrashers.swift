/// Inputs on which a fuzz target (`scripts/fuzz.sh`) crashed or found a property violated, kept as
/// byte literals so a normal `swift test` replays them (`FuzzTests`) without package resources.
///
/// To add one: `scripts/fuzz.sh` prints each artifact as a literal; paste it into the list of its
/// target with a name saying what broke, fix the bug, and keep the entry.
enum FuzzCrashers {
    struct Crasher: Sendable {
        let name: String
        let bytes: [UInt8]
    }

    /// Crashers of `FuzzHTTPRequest`.
    static let httpRequest: [Crasher] = []

    /// Crashers of `FuzzSSE`.
    static let sse: [Crasher] = []
}
