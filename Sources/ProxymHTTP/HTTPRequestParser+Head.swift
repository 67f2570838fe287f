/// The request line, header fields and framing (RFC 9112).
extension HTTPRequestParser {
    /// `method SP request-target SP HTTP-version` (RFC 9112 section 3), single spaces only.
    mutating func parseRequestLine(_ range: Range<Int>) throws(HTTPParseError) {
        let line = buffer[range]
        guard let firstSpace = line.firstIndex(of: ASCII.space),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: ASCII.space)
        else { throw HTTPParseError.malformed("the request line is not method, target and version") }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let versionBytes = line[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(ASCII.isTokenChar) else {
            throw HTTPParseError.malformed("invalid method")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy(ASCII.isTargetChar) else {
            throw HTTPParseError.malformed("invalid request target")
        }
        version = try parseVersion(versionBytes)
        method = HTTPMethod(validated: String(decoding: methodBytes, as: UTF8.self))
        target = String(decoding: targetBytes, as: UTF8.self)
    }

    /// `HTTP/<digit>.<digit>`; only major version 1 is served.
    func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let prefix = "HTTP/".utf8
        guard bytes.count == prefix.count + 3, bytes.starts(with: prefix) else {
            throw HTTPParseError.malformed("invalid HTTP version")
        }
        let major = bytes[bytes.startIndex + 5]
        let dot = bytes[bytes.startIndex + 6]
        let minor = bytes[bytes.startIndex + 7]
        guard ASCII.isDigit(major), dot == UInt8(ascii: "."), ASCII.isDigit(minor) else {
            throw HTTPParseError.malformed("invalid HTTP version")
        }
        guard major == UInt8(ascii: "1") else {
            throw HTTPParseError(.unsupportedVersion, "only HTTP/1.x is served")
        }
        return HTTPVersion(major: 1, minor: Int(minor - UInt8(ascii: "0")))
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 section 5).
    /// `count` is how many fields the section already has.
    func parseField(_ range: Range<Int>, count: Int) throws(HTTPParseError) -> HTTPHeaders.Field {
        let line = buffer[range]
        guard !ASCII.isWhitespace(line[line.startIndex]) else {
            throw HTTPParseError.malformed("a field line starts with whitespace (obsolete line folding)")
        }
        guard let colon = line.firstIndex(of: ASCII.colon) else {
            throw HTTPParseError.malformed("a field line has no colon")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(ASCII.isTokenChar) else {
            throw HTTPParseError.malformed("invalid field name (or whitespace before its colon)")
        }
        var valueStart = colon + 1
        var valueEnd = line.endIndex
        while valueStart < valueEnd, ASCII.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, ASCII.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        let value = line[valueStart..<valueEnd]
        guard value.allSatisfy(ASCII.isFieldValueChar) else {
            throw HTTPParseError.malformed("a control character in a field value")
        }
        guard count < limits.maxHeaderCount else {
            throw HTTPParseError(.headersTooLarge, "too many header fields")
        }
        return HTTPHeaders.Field(
            name: String(decoding: name, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self)
        )
    }

    /// Checks the head and picks the body's framing; returns the request if it has no body.
    mutating func finishHead() throws(HTTPParseError) -> HTTPRequest? {
        var hostCount = 0
        var hasContentLength = false
        var hasTransferEncoding = false
        for field in headers {
            if field.hasName("Host") {
                hostCount += 1
            } else if field.hasName("Content-Length") {
                hasContentLength = true
            } else if field.hasName("Transfer-Encoding") {
                hasTransferEncoding = true
            }
        }
        guard hostCount <= 1 else { throw HTTPParseError.malformed("more than one Host field") }
        guard hostCount == 1 || version < .http1_1 else {
            throw HTTPParseError.malformed("an HTTP/1.1 request without a Host field")
        }

        if hasTransferEncoding {
            guard !hasContentLength else {
                throw HTTPParseError.malformed("both Transfer-Encoding and Content-Length")
            }
            guard version >= .http1_1 else {
                throw HTTPParseError.malformed("Transfer-Encoding in an HTTP/1.0 request")
            }
            try checkTransferEncoding()
            state = .chunkSize
        } else if hasContentLength {
            let length = try contentLength()
            guard length > 0 else { return complete() }
            state = .body(remaining: length)
            body.reserveCapacity(min(length, 64 << 10))
        } else {
            return complete()
        }
        continuePending = version >= .http1_1 && headers.containsToken("100-continue", in: "Expect")
        return nil
    }

    /// Exactly one coding, `chunked`: anything else we cannot decode is 501, and a `chunked` that
    /// is repeated or missing leaves the body's length unknown, which is 400 (RFC 9112 section 6.3).
    func checkTransferEncoding() throws(HTTPParseError) {
        var chunked = 0
        var other = false
        for value in headers.values(for: "Transfer-Encoding") {
            ASCII.forEachListElement(value) { coding in
                if ASCII.equalsIgnoringCase(coding, "chunked".utf8) { chunked += 1 } else { other = true }
                return true
            }
        }
        guard !other else {
            throw HTTPParseError(.unsupportedTransferEncoding, "only the chunked transfer coding is supported")
        }
        guard chunked == 1 else {
            throw HTTPParseError.malformed("Transfer-Encoding must be chunked, once")
        }
    }

    /// Every `Content-Length` field and list element must be the same decimal number.
    func contentLength() throws(HTTPParseError) -> Int {
        var first: Substring.UTF8View? = nil
        var malformed = false
        var conflicting = false
        for value in headers.values(for: "Content-Length") {
            var elements = 0
            ASCII.forEachListElement(value) { element in
                elements += 1
                guard element.allSatisfy(ASCII.isDigit) else {
                    malformed = true
                    return false
                }
                let digits = element.drop { $0 == UInt8(ascii: "0") }
                if let first {
                    if !digits.elementsEqual(first) { conflicting = true }
                } else {
                    first = digits
                }
                return true
            }
            if elements == 0 { malformed = true }
            if malformed { break }
        }
        guard !malformed, let digits = first else { throw HTTPParseError.malformed("invalid Content-Length") }
        guard !conflicting else { throw HTTPParseError.malformed("conflicting Content-Length values") }
        guard digits.count <= 18, let length = digits.isEmpty ? 0 : Int(Substring(digits)),
            length <= limits.maxBodyLength
        else {
            throw HTTPParseError.bodyTooLarge
        }
        return length
    }

    /// `1*HEXDIG [ BWS ";" chunk-ext ]` (RFC 9112 section 7.1); extensions are skipped.
    func parseChunkSize(_ range: Range<Int>) throws(HTTPParseError) -> Int {
        let line = buffer[range]
        var index = line.startIndex
        var size = 0
        var tooLarge = false
        let allowance = limits.maxBodyLength - body.count
        while index < line.endIndex, let digit = ASCII.hexValue(line[index]) {
            if !tooLarge {
                let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
                size = shifted | digit  // the low four bits of `shifted` are zero
                tooLarge = overflow || size > allowance
            }
            index += 1
        }
        guard index > line.startIndex else { throw HTTPParseError.malformed("invalid chunk size") }
        while index < line.endIndex, ASCII.isWhitespace(line[index]) { index += 1 }
        if index < line.endIndex {
            guard line[index] == ASCII.semicolon, line[index...].allSatisfy(ASCII.isFieldValueChar) else {
                throw HTTPParseError.malformed("invalid chunk size")
            }
        }
        if tooLarge { throw HTTPParseError.bodyTooLarge }
        return size
    }
}
