// swift-tools-version:6.2
//
// proxym: keeps HAProxy's configuration in step with the services behind it.
//
// Layers (dependencies run one way, top to bottom):
//   CSystemd, CCurl, COpenSSL     C shims: libsystemd + Linux kernel headers; libcurl; OpenSSL. No logic.
//   ProxymJSON, ProxymModel       pure values: a strict JSON reader; Service/Host and their validation
//   ProxymGenerators              pure: service files (and later Marathon payloads) -> [Service]
//   ProxymHAProxy                 pure: ([Service], options) -> config text
//   ProxymHTTP                    pure: incremental HTTP/1.1 request parser, response writer, SSE parser
//   ProxymCore                    pure decisions: settings, refresh scheduling, status, log format
//   ProxymObserve                 pure: status snapshot -> JSON, health verdict, metrics text, `proxym status` lines
//   ProxymPosix                   the only code that touches fds and libc (imports CSystemd/Glibc)
//   ProxymTLS                     the only code that calls OpenSSL: certificate bundles checked as haproxy loads them
//   ProxymRuntime                 the epoll loop, its sources, the daemon that carries out decisions
//   proxym                        the executable: argument parsing, process-wide setup
// Pure targets never import Glibc or a C module, so the compiler guarantees they run without a loop.
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "proxym",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "proxym", targets: ["proxym"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // C shim
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // Pure targets
        .target(name: "ProxymJSON", swiftSettings: strict),
        .target(name: "ProxymModel", swiftSettings: strict),
        .target(name: "ProxymGenerators", dependencies: ["ProxymModel", "ProxymJSON"], swiftSettings: strict),
        .target(name: "ProxymHAProxy", dependencies: ["ProxymModel"], swiftSettings: strict),
        .target(name: "ProxymHTTP", dependencies: ["ProxymModel"], swiftSettings: strict),
        .target(
            name: "ProxymCore",
            dependencies: ["ProxymModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "ProxymObserve", dependencies: ["ProxymCore", "ProxymModel", "ProxymJSON", "ProxymHTTP"], swiftSettings: strict),

        // POSIX / runtime layer
        .target(name: "ProxymPosix", dependencies: ["CSystemd", "CCurl", "ProxymModel"], swiftSettings: strict),
        // The only code that calls OpenSSL: certificate bundles read and checked as haproxy loads them.
        .target(name: "ProxymTLS", dependencies: ["COpenSSL", "ProxymModel"], swiftSettings: strict),
        .target(
            name: "ProxymRuntime",
            dependencies: [
                "ProxymPosix", "ProxymCore", "ProxymModel", "ProxymGenerators", "ProxymHAProxy", "ProxymHTTP",
                "ProxymTLS", "ProxymObserve", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The daemon
        .executableTarget(
            name: "proxym",
            dependencies: [
                "ProxymRuntime", "ProxymCore", "ProxymPosix", "ProxymObserve",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"])]
        ),

        // A tiny HTTP backend for the example and the end-to-end tests (not shipped in the .deb).
        .executableTarget(
            name: "proxym-test-backend", dependencies: ["ProxymModel"], path: "Sources/ProxymTestBackend", swiftSettings: strict),

        // A fake Marathon (real HTTP, recorded payload shapes, SSE and callbacks) for the end-to-end
        // tests and the benchmarks (not shipped).
        .executableTarget(
            name: "proxym-fake-marathon",
            dependencies: [
                "ProxymRuntime", "ProxymHTTP", "ProxymJSON", "ProxymModel", "ProxymPosix",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ProxymFakeMarathon", swiftSettings: strict),

        // The benchmarks of issue 6 (`make bench`): proxym and the fake Marathon as processes, and each
        // stage of a refresh in process (not shipped).
        .executableTarget(
            name: "proxym-bench",
            dependencies: [
                "ProxymRuntime", "ProxymCore", "ProxymModel", "ProxymGenerators", "ProxymHAProxy", "ProxymPosix",
                "ProxymTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ProxymBench", swiftSettings: strict),

        // Test-only helpers: temp dirs, child processes, a blocking HTTP client, haproxy runner.
        .target(name: "ProxymTestSupport", dependencies: ["ProxymPosix", "ProxymModel"], swiftSettings: strict),
        // Test-only and pure: the model builders (`makeService`) every test target shares.
        .target(name: "ProxymTestBuilders", dependencies: ["ProxymModel"], swiftSettings: strict),

        // Tests mirror the source targets.
        .testTarget(name: "ProxymJSONTests", dependencies: ["ProxymJSON"], swiftSettings: strict),
        .testTarget(name: "ProxymHTTPTests", dependencies: ["ProxymHTTP"], swiftSettings: strict),
        .testTarget(name: "ProxymModelTests", dependencies: ["ProxymModel", "ProxymTestBuilders"], swiftSettings: strict),
        .testTarget(
            name: "ProxymGeneratorsTests",
            dependencies: ["ProxymGenerators", "ProxymModel", "ProxymJSON", "ProxymTestSupport", "ProxymTestBuilders"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymHAProxyTests",
            dependencies: ["ProxymHAProxy", "ProxymModel", "ProxymTestSupport", "ProxymTestBuilders"],
            exclude: ["Golden", "GoldenHTTPS", "GoldenRouting", "Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymCoreTests",
            dependencies: [
                "ProxymCore", "ProxymModel", "ProxymTestSupport", "ProxymTestBuilders",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymPosixTests",
            dependencies: ["ProxymPosix", "ProxymTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymTLSTests",
            dependencies: ["ProxymTLS", "ProxymModel", "ProxymPosix", "ProxymTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymObserveTests",
            dependencies: ["ProxymObserve", "ProxymCore", "ProxymJSON", "ProxymModel", "ProxymHTTP"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymRuntimeTests",
            dependencies: [
                "ProxymRuntime", "ProxymPosix", "ProxymCore", "ProxymModel", "ProxymTestSupport", "ProxymTestBuilders", "ProxymTLS",
                "ProxymHAProxy",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ProxymPosix", "ProxymCore", "ProxymJSON", "ProxymTestSupport"],
            swiftSettings: strict
        ),

        // libFuzzer harnesses (scripts/fuzz.sh); each main.swift holds only the entry point.
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: ["ProxymHTTP"],
            path: "Sources/FuzzHTTPRequest",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "FuzzSSE",
            dependencies: ["ProxymHTTP"],
            path: "Sources/FuzzSSE",
            swiftSettings: strict
        ),
        // The service decoders (files, Marathon apps/tasks/events) and what they render: the
        // properties live in a pure library the harness and the replaying tests share.
        .target(
            name: "ProxymFuzzChecks", dependencies: ["ProxymGenerators", "ProxymHAProxy", "ProxymModel"],
            swiftSettings: strict),
        .executableTarget(
            name: "FuzzServiceJSON",
            dependencies: ["ProxymFuzzChecks"],
            path: "Sources/FuzzServiceJSON",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxymFuzzChecksTests",
            dependencies: ["ProxymFuzzChecks", "ProxymGenerators", "ProxymHAProxy", "ProxymModel"],
            swiftSettings: strict
        ),
    ]
)
