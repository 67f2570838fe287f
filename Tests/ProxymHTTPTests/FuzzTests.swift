import FoundationEssentials
import ProxymHTTP
import Testing

/// The fuzz targets' properties (`ConsistencyCheck`), checked on every test input and on every
/// crasher the fuzzers found. With `PROXYM_FUZZ_SEEDS=<dir>` in the environment the test inputs
/// are also written there, one file each, as the fuzzers' seed corpus (`scripts/fuzz.sh`).
@Suite("Fuzz properties")
struct FuzzTests {
    static var httpSeeds: [[UInt8]] {
        validCases.flatMap { $0.inputs.map(\.bytes) } + invalidCases.map(\.bytes)
            + HTTPConnectionTests.keepAliveCases.map {
                Array("GET / \($0.version)\r\nHost: h\r\nConnection: \($0.connection ?? "x")\r\n\r\n".utf8)
            }
    }

    static var sseSeeds: [[UInt8]] {
        get throws {
            let directory = SSEFixtures.directory
            let names = try listDirectory(directory).filter { $0.hasSuffix(".txt") }.sorted()
            return try sseCases.map(\.bytes) + names.map { try #require(readFile(directory + "/" + $0)) }
        }
    }

    @Test("every request test input holds the fuzz properties")
    func httpProperties() throws {
        let seeds = Self.httpSeeds
        for seed in seeds {
            let violations = ConsistencyCheck.httpRequestParser(seed)
            #expect(
                violations.isEmpty,
                "\(String(decoding: seed.prefix(80), as: UTF8.self).debugDescription): \(violations)"
            )
        }
        try exportSeeds(seeds, to: "FuzzHTTPRequest")
    }

    @Test("every SSE test input holds the fuzz properties")
    func sseProperties() throws {
        let seeds = try Self.sseSeeds
        for seed in seeds {
            let violations = ConsistencyCheck.sseParser(seed) + ConsistencyCheck.sseParser(seed, maxEventLength: 64)
            #expect(
                violations.isEmpty,
                "\(String(decoding: seed.prefix(80), as: UTF8.self).debugDescription): \(violations)"
            )
        }
        try exportSeeds(seeds, to: "FuzzSSE")
    }

    @Test("every FuzzHTTPRequest crasher holds the properties now")
    func httpCrashers() {
        let small = HTTPLimits(
            maxRequestLineLength: 64,
            maxHeaderSectionLength: 128,
            maxHeaderCount: 4,
            maxBodyLength: 64
        )
        for crasher in FuzzCrashers.httpRequest {
            let violations =
                ConsistencyCheck.httpRequestParser(crasher.bytes)
                + ConsistencyCheck.httpRequestParser(crasher.bytes, limits: small)
            #expect(violations.isEmpty, "\(crasher.name): \(violations)")
        }
    }

    @Test("every FuzzSSE crasher holds the properties now")
    func sseCrashers() {
        for crasher in FuzzCrashers.sse {
            let violations =
                ConsistencyCheck.sseParser(crasher.bytes)
                + ConsistencyCheck.sseParser(crasher.bytes, maxEventLength: 64)
            #expect(violations.isEmpty, "\(crasher.name): \(violations)")
        }
    }

    @Test("the split helper keeps every byte, in order")
    func splitHelper() {
        let chunks = ConsistencyCheck.split(Array("abcdef".utf8), at: [4, 2, 2, 9, -1])
        #expect(chunks.map { Array($0) } == [[], Array("ab".utf8), [], Array("cd".utf8), Array("ef".utf8), []])
        #expect(ConsistencyCheck.bytewise(Array("abc".utf8)).map { Array($0) } == [[97], [98], [99]])
    }

    /// Writes the seeds when `PROXYM_FUZZ_SEEDS` is set (by scripts/fuzz.sh); does nothing otherwise.
    func exportSeeds(_ seeds: [[UInt8]], to target: String) throws {
        guard let root = ProcessInfo.processInfo.environment["PROXYM_FUZZ_SEEDS"], !root.isEmpty else { return }
        let directory = root + "/" + target
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, seed) in seeds.enumerated() where seed.count <= 64 << 10 {
            let path = directory + "/seed-\(index)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(seed)), "\(path)")
        }
    }
}
