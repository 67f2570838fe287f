import ProxymPosix

/// Debian's `pebble` (an ACME test server) and `pebble-challtestsrv` (its mock DNS) on 127.0.0.1, for
/// ACME tests against a real server: every name resolves to 127.0.0.1 (no AAAA answers, so pebble
/// dials IPv4), and pebble validates HTTP-01 by connecting to 127.0.0.1:`validationPort`. Validation
/// is real (no `PEBBLE_VA_ALWAYS_VALID`); only pebble's random sleeps and nonce rejections are off.
///
/// Its own HTTPS certificate comes from a `TestPKI` (`caFile` trusts it); the CA that signs the
/// certificates it issues is made anew at every start (`issuerRoot()` fetches it).
public final class Pebble {
    public let directory: String
    public let apiPort: UInt16
    public let managementPort: UInt16
    public let dnsPort: UInt16
    /// Where pebble sends HTTP-01 validation requests (haproxy's HTTP frontend, in an end-to-end test).
    public let validationPort: UInt16
    /// Trusts pebble's HTTPS listeners (`PROXYM_ACME_CA_FILE`, `LEGO_CA_CERTIFICATES`).
    public let caFile: String
    private let guardian = ProcessGuard()
    private var pebblePID: Int32?
    private var dnsPID: Int32?

    public var directoryURL: String { "https://127.0.0.1:\(apiPort)/dir" }

    public static var isInstalled: Bool { which("pebble") != nil && which("pebble-challtestsrv") != nil }

    /// `validity`: the lifetime of the certificates pebble issues, in seconds.
    public init(directory: String, validationPort: UInt16, validity: Int = 864_000) throws {
        self.directory = directory
        self.validationPort = validationPort
        apiPort = try freeTCPPort()
        managementPort = try freeTCPPort()
        dnsPort = try freeTCPPort()
        let pki = try TestPKI(directory: directory, commonName: "pebble test CA")
        caFile = pki.caCertificate
        let leaf = try pki.issue("localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        try writeFile(
            directory + "/pebble.json",
            """
            { "pebble": { "listenAddress": "127.0.0.1:\(apiPort)", "managementListenAddress": "127.0.0.1:\(managementPort)",
              "certificate": "\(leaf.certificate)", "privateKey": "\(leaf.key)",
              "httpPort": \(validationPort), "tlsPort": 5001, "certificateValidityPeriod": \(validity) } }

            """)
        try start()
    }

    /// Starts pebble and its DNS (again), and waits until pebble answers.
    public func start() throws {
        let dns = try Spawn.start(
            executable: which("pebble-challtestsrv")!,
            arguments: [
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "",
                "-https01", "", "-tlsalpn01", "", "-management", "127.0.0.1:\(try freeTCPPort())",
            ],
            environment: [], stdout: .null, stderr: .null)
        guardian.track(dns.pid)
        dnsPID = dns.pid
        let pebble = try Spawn.start(
            executable: which("pebble")!,
            arguments: ["-config", directory + "/pebble.json", "-dnsserver", "127.0.0.1:\(dnsPort)"],
            environment: ["PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"],
            stdout: .null, stderr: .null)
        guardian.track(pebble.pid)
        pebblePID = pebble.pid
        guard waitUntil(timeout: .seconds(20), poll: .milliseconds(50), { canConnect(port: self.apiPort) }) else {
            throw TestPKIError(message: "pebble did not listen on 127.0.0.1:\(apiPort)")
        }
    }

    /// Stops pebble (its DNS stays): the ACME server is gone.
    public func stop() {
        guard let pid = pebblePID else { return }
        if ChildReaper.isUnreapedChild(pid) {
            try? kill(pid: pid, signal: .kill)
            _ = ChildReaper.waitBlocking(pid)
        }
        pebblePID = nil
    }

    /// The root of the certificates pebble issues (PEM), for clients that verify them.
    public func issuerRoot() throws -> String {
        guard let curl = which("curl") else { throw TestPKIError(message: "curl is not installed") }
        let result = try runToCompletion(
            curl, ["-sSf", "--cacert", caFile, "https://127.0.0.1:\(managementPort)/roots/0"], timeout: .seconds(10))
        guard result.status == .exited(0) else { throw TestPKIError(message: "pebble's root: \(result.stderr)") }
        return result.stdout
    }

    deinit { guardian.killAll() }
}

/// A TCP connection to 127.0.0.1:`port` can be opened now.
public func canConnect(port: UInt16) -> Bool {
    (try? Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .seconds(1))) != nil
}
