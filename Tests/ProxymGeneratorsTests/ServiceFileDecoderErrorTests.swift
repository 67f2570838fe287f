import ProxymGenerators
import ProxymModel
import Testing

/// A file that must be refused, with the exact error it must give.
struct RefuseCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let field: String?
    let description: String
    var testDescription: String { name }

    init(_ name: String, _ json: String, field: String?, _ description: String) {
        self.name = name
        self.bytes = Array(json.utf8)
        self.field = field
        self.description = description
    }
}

/// A minimal valid service with one member replaced or added (`key` may be nested by the caller).
func file(_ members: String) -> String {
    "{" + members + "}"
}

@Suite("ServiceFileDecoder refuses")
struct ServiceFileDecoderErrorTests {
    static let wholeFile: [RefuseCase] = [
        RefuseCase(
            "invalid JSON names line and column",
            "{\n  \"id\": \"/web\",\n  \"servicePort\": 80\n  \"hosts\": []\n}", field: nil,
            #"web.json: invalid JSON: line 4, column 3: expected ',' or '}' after object member"#),
        RefuseCase(
            "trailing comma", #"{"id": "/web", "servicePort": 80, "hosts": [],}"#, field: nil,
            #"web.json: invalid JSON: line 1, column 47: trailing comma before '}' is not allowed"#),
        RefuseCase(
            "empty file", "", field: nil,
            "web.json: invalid JSON: line 1, column 1: unexpected end of input, expected a JSON value"),
        RefuseCase(
            "two objects", #"{"id": "/a", "servicePort": 80, "hosts": []} {}"#, field: nil,
            "web.json: invalid JSON: line 1, column 46: unexpected character '{' after the JSON value"),
        RefuseCase(
            "an array of services", #"[{"id": "/web", "servicePort": 80, "hosts": []}]"#, field: nil,
            "web.json: must hold one JSON object (a service), not an array"),
        RefuseCase("a string", #""/web""#, field: nil, "web.json: must hold one JSON object (a service), not a string"),
        RefuseCase("null", "null", field: nil, "web.json: must hold one JSON object (a service), not null"),
    ]

    static let id: [RefuseCase] = [
        RefuseCase("missing id", file(#""servicePort": 80, "hosts": []"#), field: "id", "web.json: id: is required"),
        RefuseCase(
            "null id", file(#""id": null, "servicePort": 80, "hosts": []"#), field: "id", "web.json: id: is required"),
        RefuseCase(
            "numeric id", file(#""id": 5, "servicePort": 80, "hosts": []"#), field: "id",
            #"web.json: id: must be a string, not a number (got "5")"#),
        RefuseCase(
            "array id", file(#""id": ["/web"], "servicePort": 80, "hosts": []"#), field: "id",
            "web.json: id: must be a string, not an array"),
        RefuseCase(
            "empty id", file(#""id": "", "servicePort": 80, "hosts": []"#), field: "id",
            "web.json: id: must not be empty"),
        RefuseCase(
            "semicolon in id", file(#""id": "/web;x", "servicePort": 80, "hosts": []"#), field: "id",
            #"web.json: id: may only contain letters, digits, '.', '_', '-' and '/' (got "/web;x")"#),
        RefuseCase(
            "newline in id", file(#""id": "/web\nlisten evil", "servicePort": 80, "hosts": []"#), field: "id",
            #"web.json: id: may only contain letters, digits, '.', '_', '-' and '/' (got "/web\nlisten evil")"#),
        RefuseCase(
            "hash in id", file(#""id": "/web#x", "servicePort": 80, "hosts": []"#), field: "id",
            #"web.json: id: may only contain letters, digits, '.', '_', '-' and '/' (got "/web#x")"#),
        RefuseCase(
            "empty segment", file(#""id": "/a//b", "servicePort": 80, "hosts": []"#), field: "id",
            #"web.json: id: has an empty path segment (got "/a//b")"#),
    ]

    static let domains: [RefuseCase] = [
        RefuseCase(
            "ACL injection in domain",
            file(#""id": "/web", "domain": "example.com\n  acl x hdr(host) -i evil", "servicePort": 80, "hosts": []"#),
            field: "domain",
            #"web.json: domain: may only contain letters, digits, '-', '_' and dots (got "example.com\n  acl x hdr(host) -i evil")"#
        ),
        RefuseCase(
            "space in domain", file(#""id": "/web", "domain": "exa mple.com", "servicePort": 80, "hosts": []"#),
            field: "domain",
            #"web.json: domain: may only contain letters, digits, '-', '_' and dots (got "exa mple.com")"#),
        RefuseCase(
            "flag-like domain", file(#""id": "/web", "domain": "-f", "servicePort": 80, "hosts": []"#), field: "domain",
            #"web.json: domain: has a label that starts with '-' (got "-f")"#),
        RefuseCase(
            "numeric domain", file(#""id": "/web", "domain": 1, "servicePort": 80, "hosts": []"#), field: "domain",
            #"web.json: domain: must be a string, not a number (got "1")"#),
        RefuseCase(
            "domains as a string", file(#""id": "/web", "domains": "a.example.com", "servicePort": 80, "hosts": []"#),
            field: "domains", #"web.json: domains: must be an array of strings, not a string (got "a.example.com")"#),
        RefuseCase(
            "number in domains",
            file(#""id": "/web", "domains": ["a.example.com", 7], "servicePort": 80, "hosts": []"#),
            field: "domains[1]", #"web.json: domains[1]: must be a string, not a number (got "7")"#),
        RefuseCase(
            "invalid entry in domains",
            file(#""id": "/web", "domains": ["a.example.com", "*.example.com"], "servicePort": 80, "hosts": []"#),
            field: "domains[1]",
            #"web.json: domains[1]: may only contain letters, digits, '-', '_' and dots (got "*.example.com")"#),
        RefuseCase(
            "empty entry in domains", file(#""id": "/web", "domains": [""], "servicePort": 80, "hosts": []"#),
            field: "domains[0]", "web.json: domains[0]: must not be empty"),
        RefuseCase(
            "bad port suffix", file(#""id": "/web", "domain": "a.example.com:08", "servicePort": 80, "hosts": []"#),
            field: "domain", #"web.json: domain: has an invalid ':port' suffix (got "a.example.com:08")"#),
    ]

    static let protocols: [RefuseCase] = [
        RefuseCase(
            "protocol http", file(#""id": "/web", "protocol": "http", "servicePort": 80, "hosts": []"#),
            field: "protocol",
            #"web.json: protocol: must be "tcp" or "udp" (got "http")"#),
        RefuseCase(
            "protocol number", file(#""id": "/web", "protocol": 6, "servicePort": 80, "hosts": []"#), field: "protocol",
            #"web.json: protocol: must be a string, not a number (got "6")"#),
        RefuseCase(
            "protocol with newline", file(#""id": "/web", "protocol": "tcp\n", "servicePort": 80, "hosts": []"#),
            field: "protocol", #"web.json: protocol: must be "tcp" or "udp" (got "tcp\n")"#),
        RefuseCase(
            "conflicting transport",
            file(#""id": "/web", "protocol": "tcp", "transportProtocol": "udp", "servicePort": 80, "hosts": []"#),
            field: "transportProtocol", #"web.json: transportProtocol: says "udp" but protocol says "tcp""#),
        RefuseCase(
            "applicationProtocol https",
            file(#""id": "/web", "applicationProtocol": "https", "servicePort": 80, "hosts": []"#),
            field: "applicationProtocol", #"web.json: applicationProtocol: must be "http" or "tcp" (got "https")"#),
        RefuseCase(
            "applicationProtocol boolean",
            file(#""id": "/web", "applicationProtocol": true, "servicePort": 80, "hosts": []"#),
            field: "applicationProtocol",
            #"web.json: applicationProtocol: must be a string, not a boolean (got "true")"#),
    ]

    static let ports: [RefuseCase] = [
        RefuseCase(
            "no service port", file(#""id": "/web", "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: is required (or "port")"#),
        RefuseCase(
            "service port as a string", file(#""id": "/web", "servicePort": "80", "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be an integer, not a string (got "80")"#),
        RefuseCase(
            "fractional service port", file(#""id": "/web", "servicePort": 80.5, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be an integer (got "80.5")"#),
        RefuseCase(
            "service port 80.0", file(#""id": "/web", "servicePort": 80.0, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be an integer (got "80.0")"#),
        RefuseCase(
            "service port with exponent", file(#""id": "/web", "servicePort": 8e1, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be an integer (got "8e1")"#),
        RefuseCase(
            "service port 0", file(#""id": "/web", "servicePort": 0, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be a port number between 1 and 65535 (got "0")"#),
        RefuseCase(
            "service port 65536", file(#""id": "/web", "servicePort": 65536, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be a port number between 1 and 65535 (got "65536")"#),
        RefuseCase(
            "negative service port", file(#""id": "/web", "servicePort": -80, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be a port number between 1 and 65535 (got "-80")"#),
        RefuseCase(
            "huge service port", file(#""id": "/web", "servicePort": 99999999999999999999, "hosts": []"#),
            field: "servicePort",
            #"web.json: servicePort: must be a port number between 1 and 65535 (got "99999999999999999999")"#),
        RefuseCase(
            "service port as a boolean", file(#""id": "/web", "servicePort": true, "hosts": []"#), field: "servicePort",
            #"web.json: servicePort: must be an integer, not a boolean (got "true")"#),
        RefuseCase(
            "fallback port as a string", file(#""id": "/web", "port": "80", "hosts": []"#), field: "port",
            #"web.json: port: must be an integer, not a string (got "80")"#),
        RefuseCase(
            "invalid ignored port", file(#""id": "/web", "servicePort": 80, "port": "x", "hosts": []"#), field: "port",
            #"web.json: port: must be an integer, not a string (got "x")"#),
        RefuseCase(
            "service port 0 without port", file(#""id": "/web", "servicePort": 0, "port": null, "hosts": []"#),
            field: "servicePort", #"web.json: servicePort: must be a port number between 1 and 65535 (got "0")"#),
    ]

    static let hosts: [RefuseCase] = [
        RefuseCase(
            "no hosts", file(#""id": "/web", "servicePort": 80"#), field: "hosts",
            "web.json: hosts: is required (an empty array if there are none)"),
        RefuseCase(
            "null hosts", file(#""id": "/web", "servicePort": 80, "hosts": null"#), field: "hosts",
            "web.json: hosts: is required (an empty array if there are none)"),
        RefuseCase(
            "hosts as an object", file(#""id": "/web", "servicePort": 80, "hosts": {"ip": "10.0.0.1", "port": 1}"#),
            field: "hosts", "web.json: hosts: must be an array of objects, not an object"),
        RefuseCase(
            "host as a string",
            file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": 1}, "10.0.0.2:1"]"#),
            field: "hosts[1]", #"web.json: hosts[1]: must be an object, not a string (got "10.0.0.2:1")"#),
        RefuseCase(
            "bad IPv4",
            file(
                #""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": 1}, {"ip": "10.0.0.300", "port": 1}]"#
            ),
            field: "hosts[1].ip", #"web.json: hosts[1].ip: is not a valid IPv4 address (got "10.0.0.300")"#),
        RefuseCase(
            "missing ip", file(#""id": "/web", "servicePort": 80, "hosts": [{"port": 1}]"#), field: "hosts[0].ip",
            "web.json: hosts[0].ip: is required"),
        RefuseCase(
            "numeric ip", file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": 167772161, "port": 1}]"#),
            field: "hosts[0].ip", #"web.json: hosts[0].ip: must be a string, not a number (got "167772161")"#),
        RefuseCase(
            "ip with port", file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1:31001", "port": 1}]"#),
            field: "hosts[0].ip", #"web.json: hosts[0].ip: must be an address without a port (got "10.0.0.1:31001")"#),
        RefuseCase(
            "server injection in ip",
            file(
                #""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1 check\nserver evil 6.6.6.6", "port": 1}]"#
            ),
            field: "hosts[0].ip",
            #"web.json: hosts[0].ip: is neither an IP address nor a host name (got "10.0.0.1 check\nserver evil 6.6.6.6")"#
        ),
        RefuseCase(
            "zone id", file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "fe80::1%eth0", "port": 1}]"#),
            field: "hosts[0].ip", #"web.json: hosts[0].ip: is not a valid IPv6 address (got "fe80::1%eth0")"#),
        RefuseCase(
            "missing host port", file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1"}]"#),
            field: "hosts[0].port", "web.json: hosts[0].port: is required"),
        RefuseCase(
            "host port as a string",
            file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": "31001"}]"#),
            field: "hosts[0].port", #"web.json: hosts[0].port: must be an integer, not a string (got "31001")"#),
        RefuseCase(
            "host port 0", file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": 0}]"#),
            field: "hosts[0].port", #"web.json: hosts[0].port: must be a port number between 1 and 65535 (got "0")"#),
        RefuseCase(
            "host port 65536", file(#""id": "/web", "servicePort": 80, "hosts": [{"IP": "10.0.0.1", "PORT": 65536}]"#),
            field: "hosts[0].port", #"web.json: hosts[0].port: must be a port number between 1 and 65535 (got "65536")"#
        ),
        RefuseCase(
            "fractional host port",
            file(#""id": "/web", "servicePort": 80, "hosts": [{"ip": "10.0.0.1", "port": 31001.5}]"#),
            field: "hosts[0].port", #"web.json: hosts[0].port: must be an integer (got "31001.5")"#),
    ]

    @Test(arguments: wholeFile + id + domains + protocols + ports + hosts)
    func refuses(_ c: RefuseCase) {
        switch ServiceFileDecoder.decode(c.bytes, fileName: "web.json") {
        case .success(let decoded):
            Issue.record("accepted: \(decoded.service)")
        case .failure(let error):
            #expect(error.file == "web.json")
            #expect(error.field == c.field)
            #expect(error.description == c.description)
            // Whatever the input, the message is one printable line.
            #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 || $0.value >= 0x7F })
        }
    }

    @Test func tooLarge() {
        let bytes = [UInt8](repeating: 0x20, count: 2_000_000)
        let result = ServiceFileDecoder.decode(bytes, fileName: "web.json")
        #expect(
            throws: ServiceFileError(
                file: "web.json", field: nil, reason: "file is 2000000 bytes, the limit is 1048576")
        ) {
            try result.get()
        }
        #expect("\(result)".contains("web.json: file is 2000000 bytes, the limit is 1048576"))
    }

    /// A host `0.0.0.0` or `::` is invalid like any other bad host (issue 11, class 10).
    @Test(arguments: ["0.0.0.0", "::"])
    func unspecifiedHostIsRefused(_ ip: String) {
        let body = #"{"id": "/web", "domain": "w.example.com", "servicePort": 80, "hosts": [{"ip": "\#(ip)", "port": 80}]}"#
        let result = ServiceFileDecoder.decode(Array(body.utf8), fileName: "web.json")
        #expect("\(result)".contains("is the unspecified address"), "\(result)")
    }

    @Test func justUnderTheLimitIsParsed() throws {
        let body = #"{"id": "/web", "servicePort": 80, "hosts": []}"#
        let padded = body + String(repeating: " ", count: ServiceFileDecoder.maxFileBytes - body.utf8.count)
        _ = try ServiceFileDecoder.decode(Array(padded.utf8), fileName: "web.json").get()
    }

    @Test func fileNameWithControlCharacters() {
        let result = ServiceFileDecoder.decode(Array("{}".utf8), fileName: "evil\nname.json")
        #expect(
            throws: ServiceFileError(
                file: "evil\nname.json", field: nil, reason: "file name contains control characters")
        ) {
            try result.get()
        }
        if case .failure(let error) = result {
            #expect(error.description == #"evil\nname.json: file name contains control characters"#)
        }
    }

    @Test func invalidUTF8IsAJSONError() {
        let bytes: [UInt8] = Array(#"{"id": "/web"#.utf8) + [0xFF] + Array(#"", "servicePort": 80, "hosts": []}"#.utf8)
        guard case .failure(let error) = ServiceFileDecoder.decode(bytes, fileName: "web.json") else {
            Issue.record("accepted")
            return
        }
        #expect(error.description == "web.json: invalid JSON: line 1, column 13: invalid UTF-8 (byte 0xFF)")
    }

    @Test func everyTruncationIsRefused() {
        let bytes = Array(
            #"{"id": "/redis", "domain": "redis.example.com", "servicePort": 6379, "hosts": [{"ip": "10.10.10.10", "port": 31001}]}"#
                .utf8)
        for length in 0..<bytes.count {
            guard case .failure(let error) = ServiceFileDecoder.decode(Array(bytes[..<length]), fileName: "web.json")
            else {
                Issue.record("prefix of \(length) bytes accepted")
                continue
            }
            #expect(error.field == nil)
            #expect(error.reason.hasPrefix("invalid JSON: line 1, column "))
        }
    }
}
