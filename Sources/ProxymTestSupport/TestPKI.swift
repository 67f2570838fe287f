import ProxymPosix

/// Certificates made with the real `openssl` command for tests: a root CA, optionally an
/// intermediate, and leaf certificates with chosen names, key types and validity. Everything lives in
/// `directory`; nothing is cached between tests.
public final class TestPKI {
    public enum KeyKind: Sendable {
        case ec256
        case ec384
        case rsa(Int)

        var arguments: [String] {
            switch self {
            case .ec256: return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .ec384: return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]
            case .rsa(let bits): return ["-newkey", "rsa:\(bits)"]
            }
        }
    }

    /// A leaf certificate's files.
    public struct Leaf: Sendable {
        public var certificate: String
        public var key: String
        /// certificate (+ chain when issued by the intermediate) + key: a bundle haproxy loads.
        public var bundle: String
        public var certificateText: String
        public var keyText: String
        public var bundleText: String
    }

    public let directory: String
    /// The root CA certificate (what clients trust: `curl --cacert`).
    public let caCertificate: String
    private let caKey: String
    private var intermediate: (certificate: String, key: String)?
    private var counter = 0

    public init(directory: String, commonName: String = "proxym test CA") throws {
        self.directory = directory
        caCertificate = directory + "/ca.crt"
        caKey = directory + "/ca.key"
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", "/CN=\(commonName)", "-keyout", caKey, "-out", caCertificate,
        ])
    }

    /// Issues leaves from an intermediate CA from now on (their bundles carry it as the chain).
    public func useIntermediate() throws {
        let key = directory + "/intermediate.key"
        let certificate = directory + "/intermediate.crt"
        let request = directory + "/intermediate.csr"
        let extensions = directory + "/intermediate.ext"
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=proxym test intermediate",
            "-keyout", key, "-out", request,
        ])
        try writeFile(extensions, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        try Self.openssl([
            "x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial", "-days", "30",
            "-extfile", extensions, "-out", certificate,
        ])
        intermediate = (certificate, key)
    }

    public var intermediateCertificate: String? { intermediate?.certificate }

    /// A leaf for `commonName` with `dnsNames` as subjectAltName (none when empty), valid from now for
    /// `days` (`-1`: it expired a day ago).
    public func issue(
        _ commonName: String, dnsNames: [String]? = nil, ipAddresses: [String] = [], key kind: KeyKind = .ec256,
        days: Int = 30
    ) throws -> Leaf {
        counter += 1
        let base = "\(directory)/leaf\(counter)-\(commonName.replacingStars)"
        let names = dnsNames ?? [commonName]
        try Self.openssl(["req"] + kind.arguments + ["-nodes", "-subj", "/CN=\(commonName)", "-keyout", base + ".key", "-out", base + ".csr"])
        var extensions = "basicConstraints=CA:FALSE\n"
        let alternatives = names.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        if !alternatives.isEmpty { extensions += "subjectAltName=" + alternatives.joined(separator: ",") + "\n" }
        try writeFile(base + ".ext", extensions)
        let (issuerCertificate, issuerKey) = intermediate ?? (caCertificate, caKey)
        try Self.openssl([
            "x509", "-req", "-in", base + ".csr", "-CA", issuerCertificate, "-CAkey", issuerKey, "-CAcreateserial",
            "-days", String(days), "-extfile", base + ".ext", "-out", base + ".crt",
        ])
        let certificateText = try readTextFile(base + ".crt")
        let keyText = try readTextFile(base + ".key")
        let chainText = try intermediate.map { try readTextFile($0.certificate) } ?? ""
        let bundleText = certificateText + chainText + keyText
        try writeFile(base + ".pem", bundleText, mode: 0o600)
        return Leaf(
            certificate: base + ".crt", key: base + ".key", bundle: base + ".pem", certificateText: certificateText,
            keyText: keyText, bundleText: bundleText)
    }

    /// `openssl x509 -noout -<field>` of a certificate file (`serial=...` -> the value).
    public static func field(_ field: String, of certificate: String) throws -> String {
        let output = try openssl(["x509", "-in", certificate, "-noout", "-\(field)"])
        guard let eq = output.firstIndex(of: "=") else { return output }
        return String(output[output.index(after: eq)...]).trimmingCharacters(in: " \n")
    }

    /// Runs openssl; throws with its stderr when it fails.
    @discardableResult
    public static func openssl(_ arguments: [String]) throws -> String {
        guard let binary = which("openssl") else { throw TestPKIError(message: "openssl is not installed") }
        let result = try runToCompletion(binary, arguments, timeout: .seconds(60))
        guard result.status == .exited(0) else {
            throw TestPKIError(message: "openssl \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)")
        }
        return result.stdout
    }
}

public struct TestPKIError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension String {
    fileprivate var replacingStars: String { String(map { $0 == "*" ? "_" : $0 }) }

    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// One HTTPS request with the real `curl`, verifying against a CA file, with the name resolved to
/// 127.0.0.1 (`--resolve`), so SNI and Host carry `host`: what was served and over which protocol.
public struct TLSProbe: Sendable {
    /// curl's exit status (0: the request went through and the certificate verified).
    public var exitCode: Int32
    /// `2` for HTTP/2, `1.1` for HTTP/1.1.
    public var httpVersion: String
    /// The served certificate's serial, upper-case hex (as `openssl x509 -serial` prints it).
    public var serial: String
    /// `CN = a.test`.
    public var subject: String
    public var status: Int
    /// Response header lines (`name: value`, names lower-cased).
    public var headers: [String]
    public var body: String
    public var stderr: String

    /// The body's first line (the test backend answers `<name>\n`).
    public var text: String { body.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }

    public func header(_ name: String) -> String? {
        let prefix = name.lowercased() + ":"
        return headers.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: " ") }
    }

    /// GET `https://host:port/path` (or `http://` with `plain`). `extra` is passed to curl as is.
    public static func get(
        host: String, port: UInt16, path: String = "/", caFile: String?, plain: Bool = false, extra: [String] = [],
        timeout: Duration = .seconds(10)
    ) throws -> TLSProbe {
        guard let curl = which("curl") else { throw TestPKIError(message: "curl is not installed") }
        let marker = "@@proxym-probe@@"
        var arguments = [
            "-sS", "--max-time", "5", "--resolve", "\(host):\(port):127.0.0.1", "-D", "-",
            "-w", "\n\(marker)%{http_version}\n%{certs}",
        ]
        if let caFile { arguments += ["--cacert", caFile] }
        arguments += extra
        arguments.append("\(plain ? "http" : "https")://\(host):\(port)\(path)")
        let result = try runToCompletion(curl, arguments, timeout: timeout)
        let exitCode: Int32
        if case .exited(let code) = result.status { exitCode = code } else { exitCode = -1 }
        var probe = TLSProbe(
            exitCode: exitCode, httpVersion: "", serial: "", subject: "", status: 0, headers: [], body: "", stderr: result.stderr)
        guard let split = result.stdout.firstRange(of: marker) else { return probe }
        let response = String(result.stdout[..<split.lowerBound])
        let tail = result.stdout[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        probe.httpVersion = tail.first.map(String.init) ?? ""
        for line in tail {
            // The leaf comes first; the chain's certificates follow.
            if line.hasPrefix("Serial Number:") && probe.serial.isEmpty { probe.serial = String(line.dropFirst(14)).uppercased() }
            if line.hasPrefix("Subject:") && probe.subject.isEmpty { probe.subject = String(line.dropFirst(8)) }
        }
        // Headers (the last block, after any 1xx), then the body.
        let normalized = response.replacingCRLF
        if let end = normalized.firstRange(of: "\n\n") {
            let head = normalized[..<end.lowerBound].split(separator: "\n")
            // The body, without the newline `-w` put before the marker.
            probe.body = String(normalized[end.upperBound...]).dropLastNewline
            if let statusLine = head.first {
                probe.status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
            probe.headers = head.dropFirst().map { line in
                guard let colon = line.firstIndex(of: ":") else { return String(line) }
                return line[..<colon].lowercased() + line[colon...]
            }
        }
        return probe
    }
}

extension String {
    fileprivate var replacingCRLF: String { String(unicodeScalars.filter { $0 != "\r" }.map(Character.init)) }
    fileprivate var dropLastNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
