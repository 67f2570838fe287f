import ProxymJSON
import ProxymModel

extension Decoding {
    // MARK: Fields

    /// `protocol`, or its later name `transportProtocol`; `tcp` when neither is given.
    func transportProtocol(_ fields: KnownFields) throws(ServiceFileError) -> TransportProtocol {
        let primary = try transportProtocol(fields[Key.protocol.rawValue], field: "protocol")
        let alias = try transportProtocol(fields[Key.transportProtocol.rawValue], field: "transportProtocol")
        if let primary, let alias, primary != alias {
            throw ServiceFileError(
                file: file, field: "transportProtocol",
                reason: "says \"\(alias.rawValue)\" but protocol says \"\(primary.rawValue)\"")
        }
        return primary ?? alias ?? .tcp
    }

    func transportProtocol(_ value: JSONValue?, field: String) throws(ServiceFileError) -> TransportProtocol? {
        guard let text = try optionalString(value, field: field), !text.isEmpty else { return nil }
        if JSONObject.asciiCaseInsensitiveEquals(text, "tcp") { return .tcp }
        if JSONObject.asciiCaseInsensitiveEquals(text, "udp") { return .udp }
        throw ServiceFileError(file: file, field: field, reason: "must be \"tcp\" or \"udp\"", value: text)
    }

    /// `servicePort`, or `port` when `servicePort` is absent or `0` (the original's `ListenPort()`).
    mutating func servicePort(_ fields: KnownFields) throws(ServiceFileError) -> UInt16 {
        let servicePort = fields[Key.servicePort.rawValue].flatMap { $0.isNull ? nil : $0 }
        let port = fields[Key.port.rawValue].flatMap { $0.isNull ? nil : $0 }
        switch (servicePort, port) {
        case (nil, nil):
            throw ServiceFileError(file: file, field: "servicePort", reason: "is required (or \"port\")")
        case (let value?, nil):
            return try self.port(value, field: "servicePort")
        case (nil, let value?):
            return try self.port(value, field: "port")
        case (let primary?, let fallback?):
            if case .number(let n) = primary, n.int == 0 {
                return try self.port(fallback, field: "port")
            }
            let chosen = try self.port(primary, field: "servicePort")
            let ignored = try self.port(fallback, field: "port")
            if ignored != chosen {
                warnings.append("port \(ignored) ignored: servicePort \(chosen) is used")
            }
            return chosen
        }
    }

    mutating func hosts(_ value: JSONValue?) throws(ServiceFileError) -> [Host] {
        guard let value, !value.isNull else {
            throw ServiceFileError(file: file, field: "hosts", reason: "is required (an empty array if there are none)")
        }
        guard case .array(let items) = value else {
            throw typeError("hosts", expected: "an array of objects", got: value)
        }
        var hosts: [Host] = []
        hosts.reserveCapacity(items.count)
        // Which item each kept host came from, for "repeats hosts[i]" warnings. Short lists are
        // searched, long ones hashed.
        var itemIndex: [Int] = []
        var firstIndex: [Host: Int] = [:]
        for (index, item) in items.enumerated() {
            // Field paths are only spelled out when something needs to be said.
            func path() -> String { "hosts[\(index)]" }
            let host: Host
            do throws(ServiceFileError) {
                guard case .object(let object) = item else { throw typeError("", expected: "an object", got: item) }
                let fields = KnownFields(object, keys: HostKey.names, context: path(), warnings: &warnings)
                let ip = try requiredString(fields[HostKey.ip.rawValue], field: "ip")
                let address = try validated { () throws(ValidationError) in try HostAddress.backend(ip, field: "ip") }
                guard let portValue = fields[HostKey.port.rawValue], !portValue.isNull else {
                    throw ServiceFileError(file: file, field: "port", reason: "is required")
                }
                host = Host(address: address, port: try port(portValue, field: "port"))
            } catch {
                var nested = error
                nested.field = nested.field.map { $0.isEmpty ? path() : path() + "." + $0 }
                throw nested
            }
            let first: Int?
            if items.count <= 16 {
                first = hosts.firstIndex(of: host).map { itemIndex[$0] }
            } else {
                first = firstIndex[host]
                if first == nil { firstIndex[host] = index }
            }
            if let first {
                warnings.append("\(path()): \(host) repeats hosts[\(first)] and is ignored")
            } else {
                hosts.append(host)
                itemIndex.append(index)
            }
        }
        return hosts
    }

    // MARK: Typed values

    func requiredString(_ value: JSONValue?, field: String) throws(ServiceFileError) -> String {
        guard let value, !value.isNull else { throw ServiceFileError(file: file, field: field, reason: "is required") }
        guard case .string(let text) = value else { throw typeError(field, expected: "a string", got: value) }
        return text
    }

    func optionalString(_ value: JSONValue?, field: String) throws(ServiceFileError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard case .string(let text) = value else { throw typeError(field, expected: "a string", got: value) }
        return text
    }

    func optionalBool(_ value: JSONValue?, field: String) throws(ServiceFileError) -> Bool? {
        guard let value, !value.isNull else { return nil }
        guard case .bool(let flag) = value else { throw typeError(field, expected: "true or false", got: value) }
        return flag
    }

    /// A JSON integer (no fraction, no exponent).
    func optionalInt(_ value: JSONValue?, field: String) throws(ServiceFileError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard case .number(let number) = value else { throw typeError(field, expected: "an integer", got: value) }
        guard number.isIntegerLiteral, let int = number.int else {
            throw ServiceFileError(file: file, field: field, reason: "must be an integer", value: number.text)
        }
        return int
    }

    func optionalArray(_ value: JSONValue?, field: String, of what: String) throws(ServiceFileError) -> [JSONValue]? {
        guard let value, !value.isNull else { return nil }
        guard case .array(let items) = value else {
            throw typeError(field, expected: "an array of \(what)", got: value)
        }
        return items
    }

    /// A JSON integer 1-65535: `80` yes; `"80"`, `80.0`, `8e1`, `0`, `65536` no.
    func port(_ value: JSONValue, field: String) throws(ServiceFileError) -> UInt16 {
        guard case .number(let number) = value else { throw typeError(field, expected: "an integer", got: value) }
        guard number.isIntegerLiteral else {
            throw ServiceFileError(file: file, field: field, reason: "must be an integer", value: number.text)
        }
        guard let int = number.int else {
            throw ServiceFileError(
                file: file, field: field, reason: "must be a port number between 1 and 65535", value: number.text)
        }
        return try validated { () throws(ValidationError) in try Port.validate(int, field: field) }
    }

    func validated<T>(_ body: () throws(ValidationError) -> T) throws(ServiceFileError) -> T {
        do {
            return try body()
        } catch {
            throw ServiceFileError(file: file, error)
        }
    }
}
