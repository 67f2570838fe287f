import ProxymGenerators
import ProxymHAProxy
import ProxymModel

/// The properties `FuzzServiceJSON` checks on arbitrary bytes, in one place so the fuzz harness and
/// the tests that replay its seeds and crashers agree on them. Pure; returns the violated properties
/// (empty when all hold) instead of trapping.
///
/// Every input goes through all service decoders:
/// - `ServiceFileDecoder`: the `[UInt8]` and the raw-buffer entry points agree; a decoded service,
///   re-encoded as canonical JSON and decoded again, is the same service;
/// - `MarathonApps.decode(appsWithTasks:)` and `decode(tasks:)`: deterministic (both entry points),
///   and the snapshot maps to services (with and without label config lines);
/// - `MarathonEvent.eventType`: both entry points agree, and a type re-encoded as `{"eventType": ...}`
///   comes back the same;
/// - every service any decoder produced renders (original and slot layout) to lines of the shapes the
///   renderer means to write: no control character, no line another input could have made a
///   directive, and exactly one `backend`/`listen` section per rendered service.
public enum ServiceFuzzCheck {
    public static func check(_ input: [UInt8]) -> [String] {
        var violations: [String] = []
        var services: [Service] = []
        var labelLines = false

        // Service files.
        let whole = ServiceFileDecoder.decode(input, fileName: "fuzz.json")
        let raw = input.withUnsafeBytes { ServiceFileDecoder.decode($0, fileName: "fuzz.json") }
        if whole != raw { violations.append("ServiceFileDecoder: [UInt8] and raw buffer disagree: \(whole) vs \(raw)") }
        if case .success(let decoded) = whole {
            services.append(decoded.service)
            let encoded = encode(decoded.service)
            switch ServiceFileDecoder.decode(Array(encoded.utf8), fileName: "fuzz.json") {
            case .success(let again) where again.service == decoded.service:
                break
            case .success(let again):
                violations.append("re-encoded service decodes differently: \(encoded) -> \(again.service)")
            case .failure(let error):
                violations.append("re-encoded service does not decode: \(encoded): \(error)")
            }
        }

        // Marathon bodies.
        for decode in [
            { (bytes: [UInt8]) in try? MarathonApps.decode(appsWithTasks: bytes) },
            { (bytes: [UInt8]) in (try? MarathonApps.decode(tasks: bytes)).map { MarathonApps.join(MarathonSnapshot(apps: []), tasks: $0.tasks) } },
        ] {
            guard let snapshot = decode(input) else { continue }
            if decode(input) != snapshot { violations.append("Marathon decode is not deterministic") }
            for allowLabelConfig in [false, true] {
                var health = MarathonHealthMemory()
                let mapping = MarathonMapper.services(
                    from: snapshot, options: MarathonOptions(httpPort: 80, allowLabelConfig: allowLabelConfig),
                    health: &health)
                let mapped = mapping.services
                if allowLabelConfig {
                    labelLines = labelLines || mapped.contains { !$0.configLines.isEmpty }
                }
                services += mapped
            }
        }
        let viaPointer = input.withUnsafeBytes { MarathonApps.decodeOrNil(appsWithTasksRaw: $0) }
        if viaPointer != (try? MarathonApps.decode(appsWithTasks: input)) {
            violations.append("MarathonApps: [UInt8] and raw buffer disagree")
        }

        // Marathon events.
        let type = MarathonEvent.eventType(fromJSON: input)
        if type != input.withUnsafeBytes({ MarathonEvent.eventType(fromJSON: $0) }) {
            violations.append("MarathonEvent.eventType: [UInt8] and raw buffer disagree")
        }
        if let type {
            let again = MarathonEvent.eventType(fromJSON: Array("{\"eventType\": \(jsonString(type))}".utf8))
            if again != type { violations.append("eventType \(type.debugDescription) re-encoded comes back as \(String(describing: again))") }
        }

        // Whatever came out renders only what the renderer means to write.
        violations += renderingViolations(services, allowOptionLines: labelLines)
        return violations
    }

    // MARK: Rendering

    /// Renders `services` (each alone, and all of them together) in both layouts and checks every line.
    public static func renderingViolations(_ services: [Service], allowOptionLines: Bool) -> [String] {
        guard !services.isEmpty else { return [] }
        var violations: [String] = []
        var groups = services.prefix(8).map { [$0] }
        if services.count > 1 { groups.append(services) }
        for group in groups {
            // Label lines reach the renderer on their service (`Service.configLines`).
            for httpPort: UInt16 in [80, 8080] {
                var options = RenderOptions(globalConfig: "", httpPort: httpPort)
                let sections = HAProxyRenderer.sections(group, options: options)
                violations += lineViolations(
                    HAProxyRenderer.render(group, options: options), sections: sections.count,
                    allowOptionLines: allowOptionLines)
                options.slots =
                    SlotPlanner.assign(live: SlotTable(), sections: sections, now: 0, options: .init(minimumSlots: 2, drainTime: .zero))
                    .table
                options.idleCloseOnResponse = true
                violations += lineViolations(
                    HAProxyRenderer.render(group, options: options), sections: sections.count,
                    allowOptionLines: allowOptionLines)
            }
        }
        return violations
    }

    /// Every line of `text` has one of the renderer's shapes; `sections` backend/listen sections.
    public static func lineViolations(_ text: String, sections: Int, allowOptionLines: Bool) -> [String] {
        var violations: [String] = []
        var sectionCount = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.unicodeScalars.contains(where: { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) }) {
                violations.append("control character in line \(String(line).debugDescription)")
                continue
            }
            switch shape(line) {
            case .section: sectionCount += 1
            case .known: break
            case .option where allowOptionLines: break
            case .option, .unknown: violations.append("line the renderer does not mean to write: \(String(line).debugDescription)")
            }
        }
        if sectionCount != sections {
            violations.append("\(sectionCount) backend/listen sections for \(sections) services")
        }
        return violations
    }

    enum Shape { case known, section, option, unknown }

    static func shape(_ line: Substring) -> Shape {
        if line.isEmpty || line == "frontend http-in" || line == "  mode tcp" || line == "  option idle-close-on-response" {
            return .known
        }
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        if line.hasPrefix("backend ") {
            return words.count == 2 && words[1].hasSuffix("_cluster") && isName(words[1]) ? .section : .unknown
        }
        if line.hasPrefix("listen ") { return words.count == 2 && isName(words[1]) ? .section : .unknown }
        guard line.hasPrefix("  "), words.count >= 3 else { return .unknown }
        let body = Array(words.dropFirst(2))
        switch body[0] {
        case "bind":
            return body.count == 2 && isAddressAndPort(body[1], allowEmptyHost: true) ? .known : .option
        case "acl":
            // acl host_<name> hdr(host) -i <domain> [<domain>:<port>]
            guard body.count == 5 || body.count == 6, body[1].hasPrefix("host_"), isName(body[1].dropFirst(5)),
                body[2] == "hdr(host)", body[3] == "-i", body.dropFirst(4).allSatisfy(isDomain)
            else { return .option }
            return .known
        case "use_backend":
            guard body.count == 4, body[1].hasSuffix("_cluster"), isName(body[1]), body[2] == "if",
                body[3] == "host_" + body[1].dropLast(8)
            else { return .option }
            return .known
        case "server":
            // server node<N> <addr>:<port> check [init-addr last,libc,none | disabled]
            guard body.count >= 4, body[1].hasPrefix("node"), let n = Int(body[1].dropFirst(4)), n >= 1,
                isAddressAndPort(body[2], allowEmptyHost: false), body[3] == "check"
            else { return .option }
            // haproxy's own check from a Marathon health check: inter <d> fall <n> rise <n> [port <p>].
            var rest = body.dropFirst(4)
            if rest.first == "inter", rest.count >= 6, isDuration(rest[rest.startIndex + 1]),
                rest[rest.startIndex + 2] == "fall", Int(rest[rest.startIndex + 3]) != nil,
                rest[rest.startIndex + 4] == "rise", Int(rest[rest.startIndex + 5]) != nil
            {
                rest = rest.dropFirst(6)
                if rest.first == "port" {
                    guard rest.count >= 2, let port = Int(rest[rest.startIndex + 1]), (1...65535).contains(port) else { return .option }
                    rest = rest.dropFirst(2)
                }
            }
            let tail = rest.joined(separator: " ")
            return tail.isEmpty || tail == "init-addr last,libc,none"
                || (tail == "disabled" && body[2] == Substring(HAProxyRenderer.freeSlotAddress)) ? .known : .option
        case "timeout":
            return body.count == 3 && body[1] == "check" && isDuration(body[2]) ? .known : .option
        default:
            // An option line: one line, not opening a section (the renderer drops those).
            let first = String(body[0])
            let sectionWords: Set<String> = [
                "global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "mailers",
                "program", "http-errors", "ring", "cache", "fcgi-app", "log-forward",
            ]
            return first.isEmpty || sectionWords.contains(first) ? .unknown : .option
        }
    }

    /// `20s`, `1500ms`: what the renderer writes for check intervals and timeouts.
    static func isDuration(_ text: Substring) -> Bool {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        return !digits.isEmpty && ["s", "ms", "m"].contains(String(text.dropFirst(digits.count)))
    }

    static func isName(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    static func isDomain(_ text: Substring) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ":")
            }
    }

    /// `10.0.0.1:80`, `[::1]:80`, `host.example:80` (or `:80` / `*:80` in a bind line).
    static func isAddressAndPort(_ text: Substring, allowEmptyHost: Bool) -> Bool {
        guard let colon = text.lastIndex(of: ":") else { return false }
        let port = text[text.index(after: colon)...]
        guard let number = Int(port), number >= 1, number <= 65535, port.first != "0" else { return false }
        let host = text[..<colon]
        if host.isEmpty || host == "*" { return allowEmptyHost }
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && host.dropFirst().dropLast().utf8.allSatisfy { isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        return isDomain(host) && !host.contains(":")
    }

    static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    // MARK: Encoding

    /// A service as a canonical service file.
    public static func encode(_ service: Service) -> String {
        var fields: [String] = []
        fields.append("\"id\": \(jsonString(service.id.rawValue))")
        fields.append("\"domains\": [\(service.domains.map { jsonString($0.rawValue) }.joined(separator: ", "))]")
        fields.append("\"protocol\": \(jsonString(service.transport.rawValue))")
        if let application = service.applicationProtocol {
            fields.append("\"applicationProtocol\": \(jsonString(application.rawValue))")
        }
        fields.append("\"servicePort\": \(service.servicePort)")
        let hosts = service.hosts.map { "{\"ip\": \(jsonString($0.address.description)), \"port\": \($0.port)}" }
        fields.append("\"hosts\": [\(hosts.joined(separator: ", "))]")
        if let hsts = service.tls.hstsMaxAge { fields.append("\"hsts\": \(hsts)") }
        if let certificate = service.tls.certificate { fields.append("\"certificate\": \(jsonString(certificate))") }
        if service.tls.passthrough { fields.append("\"tlsPassthrough\": true") }
        if !service.tls.acme { fields.append("\"acme\": false") }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\u00XX`.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension MarathonApps {
    /// The raw-buffer entry point as an optional (nil on any decode error).
    static func decodeOrNil(appsWithTasksRaw bytes: UnsafeRawBufferPointer) -> MarathonSnapshot? {
        try? decode(appsWithTasks: bytes)
    }
}
