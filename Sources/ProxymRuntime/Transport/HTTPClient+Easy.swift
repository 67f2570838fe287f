import Logging
import ProxymCore
import ProxymPosix

extension HTTPClient {
    // MARK: libcurl → transfer (inside libcurl calls: record, never call out)

    func headerLine(_ transfer: Transfer, _ line: UnsafeRawBufferPointer) -> Bool {
        guard transfer.isActive else { return false }
        transfer.lastActivity = loop.now
        let hadHead = transfer.head != nil
        transfer.receiveHeaderLine(line)
        if !hadHead && transfer.head != nil && transfer.isStream { enqueue(transfer) }
        return true
    }

    func bodyBytes(_ transfer: Transfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard transfer.isActive else { return false }
        transfer.lastActivity = loop.now
        switch transfer.mode {
        case .buffered(let maxBodySize, _):
            guard transfer.body.count + bytes.count <= maxBodySize else {
                transfer.bodyTooLarge = true
                return false  // CURLE_WRITE_ERROR ends the transfer
            }
            transfer.body.append(contentsOf: bytes)
        case .stream:
            transfer.pendingData.append(Array(bytes))
            enqueue(transfer)
        }
        return true
    }

    func enqueue(_ transfer: Transfer) {
        guard !transfer.isQueued else { return }
        transfer.isQueued = true
        queued.append(transfer)
    }

    // MARK: request → easy handle

    func makeEasy(for request: Request, transfer: Transfer) throws -> CurlEasy {
        for field in request.headers {
            guard HTTPClient.isValidHeader(name: field.name, value: field.value) else {
                throw Failure(kind: .invalidRequest, message: "invalid header field \(field.name)", url: transfer.url)
            }
        }
        if let authorization = request.authorization,
            !HTTPClient.isValidHeader(name: "Authorization", value: authorization)
        {
            throw Failure(kind: .invalidRequest, message: "invalid Authorization value", url: transfer.url)
        }
        let easy = try CurlEasy()
        try easy.set(.url, request.url)
        try easy.set(.protocols, "http,https")
        try easy.set(.redirectProtocols, "http,https")
        try easy.set(.userAgent, userAgent)
        try easy.set(.connectTimeoutMilliseconds, Int(max(request.connectTimeout.millisecondsRoundedUp, 1)))
        if let timeout = request.timeout {
            try easy.set(.timeoutMilliseconds, Int(max(timeout.millisecondsRoundedUp, 1)))
        }
        try easy.set(.tcpKeepAlive, true)

        switch request.method {
        case .get where request.body.isEmpty:
            try easy.set(.httpGet, true)
        case .head:
            try easy.set(.noBody, true)
        case .post:
            try easy.set(.post, true)
            try easy.setBody(request.body)
        default:
            try easy.set(.customRequest, request.method.name)
            if !request.body.isEmpty || request.method == .put { try easy.setBody(request.body) }
        }

        try easy.set(.followLocation, request.followRedirects)
        if request.followRedirects {
            try easy.set(.maxRedirects, request.maxRedirects)
            try easy.set(.unrestrictedAuth, request.sendCredentialsOnRedirect)
        }
        if let basicAuth = request.basicAuth {
            try easy.setBasicAuth(username: basicAuth.username, password: basicAuth.password)
        }
        if let caFile = request.caFile { try easy.set(.caInfo, caFile) }
        if request.acceptEncoding { try easy.set(.acceptEncoding, "") }
        if case .buffered(let maxBodySize, _) = transfer.mode {
            try easy.set(.maxFileSize, Int64(maxBodySize))
        }

        var lines: [String] = []
        for field in request.headers where request.authorization == nil || field.name.lowercased() != "authorization" {
            lines.append("\(field.name): \(field.value)")
        }
        if let authorization = request.authorization { lines.append("Authorization: \(authorization)") }
        // No "Expect: 100-continue" round trip for larger bodies.
        if request.headers["expect"] == nil { lines.append("Expect:") }
        try easy.setHeaders(lines)

        // [weak transfer]: the transfer owns the easy handle, which owns these closures.
        easy.onHeaderLine = { [weak self, weak transfer] line in
            guard let self, let transfer else { return false }
            return self.headerLine(transfer, line)
        }
        easy.onBody = { [weak self, weak transfer] bytes in
            guard let self, let transfer else { return false }
            return self.bodyBytes(transfer, bytes)
        }
        return easy
    }

    /// A header name is a token; a value has no CR, LF or NUL.
    static func isValidHeader(name: String, value: String) -> Bool {
        guard !name.isEmpty else { return false }
        for byte in name.utf8 {
            let isToken =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            if !isToken { return false }
        }
        return !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}
