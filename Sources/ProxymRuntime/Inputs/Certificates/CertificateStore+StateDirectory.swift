import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix
import ProxymTLS

// MARK: - proxym's directory: live copies of the bundles, the default certificate

extension CertificateStore {
    /// Creates the state directory and its `certs/` 0700; refuses one that others may read.
    func prepareStateDirectory() throws {
        for path in [settings.statePath, settings.liveCertificatesPath] {
            // Already there: it must be ours alone (checked below).
            if !FileSystem.exists(path) { try FileSystem.mkdir(path, mode: 0o700) }
            let info = try FileSystem.stat(path, followSymlinks: false)
            guard info.isDirectory else {
                throw GeneratorFailure("\(path) is not a directory (PROXYM_HAPROXY_TLS_STATE_PATH)")
            }
            if info.permissions & 0o077 != 0 {
                throw GeneratorFailure(
                    "\(path) may be read by other users (mode \(String(info.permissions, radix: 8))): it holds private keys; chmod 700 it")
            }
        }
    }

    /// The copies a previous run left: the last good version of each bundle (a broken file in the
    /// operator's directory at this start keeps being served from here).
    func loadLiveCopies() {
        guard let directory = try? FileSystem.openDirectory(settings.liveCertificatesPath),
            let entries = try? FileSystem.listDirectory(settings.liveCertificatesPath)
        else { return }
        for entry in entries where CertificateStore.isBundleName(entry.name) {
            guard case .success(let bytes) = CertificateStore.readBundle(directory: directory.rawValue, name: entry.name),
                case .success(let bundle) = PEMBundle.inspect(bytes)
            else { continue }
            served[entry.name] = ServedCertificate(
                name: entry.name, path: settings.liveCertificatesPath + "/" + entry.name, facts: bundle.facts,
                revision: CertificateStore.revision(bytes), size: bytes.count)
        }
    }

    /// `default.pem`: a copy of the configured default's served version, else the self-signed one
    /// (made once and kept). Its path never changes; a new content is `set ssl cert` on it.
    func ensureDefault() throws {
        var bytes: [UInt8]?
        var origin = "self-signed"
        if let name = settings.defaultCertificate {
            if let certificate = served[name], let copy = try? FileSystem.readFile(certificate.path, limit: CertificateStore.maxBundleSize) {
                bytes = copy
                origin = name
            } else if defaultSource != "self-signed" || defaultCertificate == nil {
                logger.error(
                    "the default certificate cannot be served; using a self-signed one",
                    metadata: ["file": "\(name)", "reason": "\(invalid[name] ?? "no such file")"])
            }
        }
        if bytes == nil { bytes = try selfSigned() }
        guard let bytes, case .success(let bundle) = PEMBundle.inspect(bytes) else {
            throw GeneratorFailure("cannot make a default certificate")
        }
        let revision = CertificateStore.revision(bytes)
        defaultSource = origin
        if defaultCertificate?.revision == revision { return }
        let onDisk = try? FileSystem.readFile(settings.defaultBundlePath, limit: CertificateStore.maxBundleSize)
        if onDisk != bytes {
            try AtomicFileWriter.write(bytes, to: settings.defaultBundlePath, mode: 0o600)
        }
        defaultCertificate = ServedCertificate(
            name: CrtList.defaultName, path: settings.defaultBundlePath, facts: bundle.facts, revision: revision,
            size: bytes.count)
    }

    /// The self-signed default, made once and reused while valid for another 30 days.
    func selfSigned() throws -> [UInt8] {
        if let bytes = try? FileSystem.readFile(settings.placeholderPath, limit: CertificateStore.maxBundleSize),
            case .success(let bundle) = PEMBundle.inspect(bytes), bundle.facts.notAfter > now() + 30 * 86_400
        {
            return bytes
        }
        let bytes: [UInt8]
        do {
            bytes = try PEMBundle.selfSigned(commonName: "proxym default certificate", days: 3650)
        } catch {
            throw GeneratorFailure("cannot make a self-signed default certificate: \(error)")
        }
        try AtomicFileWriter.write(bytes, to: settings.placeholderPath, mode: 0o600)
        return bytes
    }
}
