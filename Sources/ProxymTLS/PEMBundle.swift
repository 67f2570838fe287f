import COpenSSL
import Glibc
import ProxymModel

/// A certificate bundle that passed every check haproxy's own loading would make.
public struct InspectedBundle: Sendable, Hashable, CustomStringConvertible {
    public var facts: CertificateFacts
    /// The leaf, its chain and the private key, re-encoded by OpenSSL (PEM, no blank lines, nothing
    /// else): the exact bytes proxym gives haproxy. Holds the private key: never log it, never write
    /// it anywhere but a 0600 file in a 0700 directory.
    public var canonicalPEM: [UInt8]

    /// Never shows the key.
    public var description: String {
        "certificate \(facts.commonName.isEmpty ? facts.fingerprint : facts.commonName) (\(facts.keyType), serial \(facts.serial))"
    }
}

/// Why a bundle cannot be served. The reason names what is wrong, never the key's contents.
public struct BundleProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reads PEM bundles the way haproxy 2.6 does (`ssl_sock_load_pem_into_ckch`: the first private key
/// anywhere in the file, the first certificate as the leaf, the following certificates as its chain)
/// and makes the checks haproxy makes when it loads them into a TLS context (key matches the
/// certificate, keys and signatures OpenSSL's security level accepts), with the same library. What
/// passes here loads in haproxy; what fails is named before haproxy ever sees it.
///
/// Not checked here (a pure decision, `CertificateCheck`): validity dates, which depend on the time.
public enum PEMBundle {
    /// A bundle is a few kilobytes; anything larger than this is not one.
    public static let sizeLimit = 256 * 1024

    /// PEM block names that hold a certificate or a private key.
    static let certificateBlocks: Set<String> = ["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"]
    static let keyBlocks: Set<String> = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"]

    public static func inspect(_ bytes: [UInt8]) -> Result<InspectedBundle, BundleProblem> {
        do {
            return .success(try inspectThrowing(bytes))
        } catch {
            return .failure(error)
        }
    }

    private static func inspectThrowing(_ bytes: [UInt8]) throws(BundleProblem) -> InspectedBundle {
        if bytes.isEmpty { throw BundleProblem("the file is empty") }
        if bytes.count > sizeLimit { throw BundleProblem("larger than \(sizeLimit / 1024) KiB: not a certificate bundle") }
        ERR_clear_error()
        defer { ERR_clear_error() }

        // 1. Which blocks are there (names only).
        let blocks = try blockNames(bytes)
        var warnings: [String] = []
        if blocks.contains(where: { $0.name == "ENCRYPTED PRIVATE KEY" || $0.encrypted }) {
            throw BundleProblem("the private key is encrypted: haproxy cannot load a key that needs a passphrase")
        }
        guard blocks.contains(where: { certificateBlocks.contains($0.name) }) else {
            throw BundleProblem(blocks.isEmpty ? "no PEM data (not a certificate bundle)" : "no certificate in the file")
        }
        guard blocks.contains(where: { keyBlocks.contains($0.name) }) else {
            throw BundleProblem("no private key in the file (the key must be in the same file as the certificate)")
        }
        let others = blocks.map(\.name).filter { !certificateBlocks.contains($0) && !keyBlocks.contains($0) }
        if !others.isEmpty {
            warnings.append("left out: \(Array(Set(others)).sorted().joined(separator: ", ")) (proxym serves the certificate, its chain and its key)")
        }

        // 2. The key and the certificates, as haproxy reads them.
        guard let key = withBIO(bytes, { PEM_read_bio_PrivateKey($0, nil, proxym_no_passphrase_callback(), nil) }) else {
            throw BundleProblem("cannot read the private key: \(lastError())")
        }
        defer { EVP_PKEY_free(key) }
        var certificates: [OpaquePointer] = []
        defer { for certificate in certificates { X509_free(certificate) } }
        let readAll: Bool = withBIO(bytes) { bio in
            guard let leaf = PEM_read_bio_X509_AUX(bio, nil, nil, nil) else { return false }
            certificates.append(leaf)
            while let next = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(next) }
            // The loop ends at "no start line": that is the end of the file, not an error. A
            // certificate block that does not decode ends it too, earlier.
            return true
        }
        ERR_clear_error()
        guard readAll, let leaf = certificates.first else {
            throw BundleProblem("cannot read the certificate: \(lastError())")
        }
        let certificateCount = blocks.filter { certificateBlocks.contains($0.name) }.count
        if certificates.count < certificateCount {
            throw BundleProblem("certificate \(certificates.count + 1) of the file cannot be read")
        }
        let chain = Array(certificates.dropFirst())

        // 3. Into a TLS context, as haproxy does: OpenSSL's security level refuses small keys and weak
        //    signatures here (haproxy: "unable to load SSL certificate into SSL Context").
        try loadIntoContext(leaf: leaf, key: key, chain: chain)

        // 4. The chain: each certificate should have issued the one before it.
        for (index, issuer) in chain.enumerated() {
            let subject = index == 0 ? leaf : chain[index - 1]
            if X509_check_issued(issuer, subject) != X509_V_OK {
                warnings.append(
                    "the chain is out of order: certificate \(index + 2) of the file did not issue certificate \(index + 1) (clients may not verify it)"
                )
                break
            }
        }
        ERR_clear_error()

        let facts = CertificateFacts(
            commonName: commonName(X509_get_subject_name(leaf)) ?? "",
            dnsNames: dnsNames(leaf),
            notBefore: epochSeconds(X509_get0_notBefore(leaf)),
            notAfter: epochSeconds(X509_get0_notAfter(leaf)),
            serial: serial(leaf),
            issuer: issuerName(leaf),
            keyType: keyType(key),
            chainLength: chain.count,
            fingerprint: fingerprint(leaf),
            warnings: warnings)
        return InspectedBundle(facts: facts, canonicalPEM: try encode(leaf: leaf, chain: chain, key: key))
    }

    // MARK: - Steps

    struct Block {
        var name: String
        var encrypted: Bool
    }

    /// Every PEM block's name, in order (PEM_read_bio: the generic reader, no decoding of contents).
    private static func blockNames(_ bytes: [UInt8]) throws(BundleProblem) -> [Block] {
        var blocks: [Block] = []
        var failure: String?
        withBIO(bytes) { bio in
            while true {
                var name: UnsafeMutablePointer<CChar>?
                var header: UnsafeMutablePointer<CChar>?
                var data: UnsafeMutablePointer<UInt8>?
                var length = 0
                if PEM_read_bio(bio, &name, &header, &data, &length) != 1 {
                    // The end of the data ("no start line"), or a block that does not decode.
                    let code = ERR_peek_last_error()
                    if ERR_GET_REASON(code) != PEM_R_NO_START_LINE { failure = lastError() }
                    break
                }
                let blockName = name.map { String(cString: $0) } ?? ""
                let encrypted = header.map { String(cString: $0).contains("ENCRYPTED") } ?? false
                blocks.append(Block(name: blockName, encrypted: encrypted))
                free(openSSL: name)
                free(openSSL: header)
                if let data {
                    // The decoded block may be a key: wipe it before giving the memory back.
                    memset(data, 0, length)
                    free(openSSL: data)
                }
            }
        }
        ERR_clear_error()
        if let failure { throw BundleProblem("not a valid PEM file: \(failure)") }
        return blocks
    }

    private static func loadIntoContext(leaf: OpaquePointer, key: OpaquePointer, chain: [OpaquePointer]) throws(BundleProblem) {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw BundleProblem("cannot create a TLS context: \(lastError())")
        }
        defer { SSL_CTX_free(context) }
        if SSL_CTX_use_certificate(context, leaf) != 1 {
            throw BundleProblem("OpenSSL (as haproxy uses it) refuses the certificate: \(lastError())")
        }
        if SSL_CTX_use_PrivateKey(context, key) != 1 {
            let reason = lastError()
            if reason.contains("values mismatch") {
                throw BundleProblem("the private key does not match the certificate")
            }
            throw BundleProblem("OpenSSL (as haproxy uses it) refuses the private key: \(reason)")
        }
        if SSL_CTX_check_private_key(context) != 1 {
            throw BundleProblem("the private key does not match the certificate")
        }
        for (index, certificate) in chain.enumerated() where proxym_ssl_ctx_add1_chain_cert(context, certificate) != 1 {
            throw BundleProblem("OpenSSL (as haproxy uses it) refuses certificate \(index + 2) of the chain: \(lastError())")
        }
    }

    private static func encode(leaf: OpaquePointer, chain: [OpaquePointer], key: OpaquePointer) throws(BundleProblem) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw BundleProblem("out of memory") }
        defer { BIO_free(bio) }
        for certificate in [leaf] + chain where PEM_write_bio_X509(bio, certificate) != 1 {
            throw BundleProblem("cannot encode the certificate: \(lastError())")
        }
        if PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) != 1 {
            throw BundleProblem("cannot encode the private key: \(lastError())")
        }
        return memoryContents(bio)
    }

    // MARK: - Facts

    private static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index) else { return nil }
        return string(X509_NAME_ENTRY_get_data(entry))
    }

    private static func issuerName(_ certificate: OpaquePointer) -> String {
        guard let name = X509_get_issuer_name(certificate) else { return "" }
        if let common = commonName(name) { return common }
        var buffer = [CChar](repeating: 0, count: 256)
        return X509_NAME_oneline(name, &buffer, Int32(buffer.count)).map { String(cString: $0) } ?? ""
    }

    private static func dnsNames(_ certificate: OpaquePointer) -> [String] {
        guard let names = proxym_subject_alt_names(certificate) else {
            ERR_clear_error()
            return []
        }
        defer { proxym_general_names_free(names) }
        var result: [String] = []
        for index in 0..<proxym_general_names_count(names) {
            guard let dns = proxym_general_name_dns(names, index) else { continue }
            let name = string(dns).lowercased()
            if !name.isEmpty && !result.contains(name) { result.append(name) }
        }
        return result
    }

    private static func string(_ value: UnsafePointer<ASN1_STRING>?) -> String {
        guard let value, let data = ASN1_STRING_get0_data(value) else { return "" }
        let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(value)))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func epochSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        var broken = tm()
        guard let time, ASN1_TIME_to_tm(time, &broken) == 1 else { return 0 }
        return Int64(timegm(&broken))
    }

    private static func serial(_ certificate: OpaquePointer) -> String {
        guard let number = X509_get0_serialNumber(certificate) else { return "" }
        return hex(UnsafeBufferPointer(start: number.pointee.data, count: Int(number.pointee.length)))
    }

    private static func fingerprint(_ certificate: OpaquePointer) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return "" }
        return digest.withUnsafeBufferPointer { hex(UnsafeBufferPointer(rebasing: $0[..<Int(length)])) }
    }

    private static func keyType(_ key: OpaquePointer) -> CertificateFacts.KeyType {
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            return .rsa(bits: Int(EVP_PKEY_get_bits(key)))
        case EVP_PKEY_EC:
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            let curve = EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 ? text(buffer) : "?"
            return .ecdsa(curve: curve)
        case EVP_PKEY_ED25519:
            return .ed25519
        case EVP_PKEY_ED448:
            return .ed448
        default:
            return .other(String(cString: OBJ_nid2sn(EVP_PKEY_get_base_id(key))))
        }
    }

    // MARK: - Generating

    /// A self-signed ECDSA P-256 certificate and its key (PEM, no blank lines) for `commonName`, valid
    /// from now for `days`: the default certificate haproxy answers with when no other one matches.
    public static func selfSigned(commonName: String, days: Int) throws(BundleProblem) -> [UInt8] {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let key = proxym_ec_keygen("P-256") else { throw BundleProblem("cannot generate a key: \(lastError())") }
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw BundleProblem("out of memory") }
        defer { X509_free(certificate) }
        let serial = UInt64.random(in: 1 ... .max) >> 1
        let serialNumber = X509_get_serialNumber(certificate)
        guard X509_set_version(certificate, 2) == 1,
            ASN1_INTEGER_set_uint64(serialNumber, serial) == 1,
            X509_gmtime_adj(X509_getm_notBefore(certificate), -60) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86_400) != nil,
            X509_set_pubkey(certificate, key) == 1,
            let name = X509_get_subject_name(certificate),
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
            X509_set_issuer_name(certificate, name) == 1,
            X509_sign(certificate, key, EVP_sha256()) > 0
        else {
            throw BundleProblem("cannot build the certificate: \(lastError())")
        }
        return try encode(leaf: certificate, chain: [], key: key)
    }

    // MARK: - Helpers

    @discardableResult
    private static func withBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) -> T {
        bytes.withUnsafeBytes { raw in
            // A read-only memory BIO over our buffer: nothing is copied.
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))!
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    private static func memoryContents(_ bio: OpaquePointer) -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = proxym_bio_mem_data(bio, &data)
        guard let data, length > 0 else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// The reason of the most recent OpenSSL error (`key values mismatch`, `ee key too small`).
    private static func lastError() -> String {
        let code = ERR_peek_last_error()
        guard code != 0 else { return "unknown error" }
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return text(buffer)
    }

    /// A NUL-terminated C buffer as text.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func free(openSSL pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        CRYPTO_free(pointer, "", 0)
    }

    private static func free<T>(openSSL pointer: UnsafeMutablePointer<T>?) {
        free(openSSL: pointer.map { UnsafeMutableRawPointer($0) })
    }

    private static func hex(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
