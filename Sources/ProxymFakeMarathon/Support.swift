import ProxymJSON
import ProxymModel
import ProxymPosix
import ProxymRuntime

/// One line on stdout, written at once (stdout is a file or a pipe in tests: no buffering).
func log(_ message: String) {
    ProcessSetup.writeStdout("fake-marathon: \(message)\n")
}

// MARK: JSON out

/// Compact JSON text of a value: members in order, numbers as they were written.
func jsonBytes(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    writeJSON(value, into: &out)
    return out
}

func writeJSON(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .null: out += "null".utf8
    case .bool(let b): out += (b ? "true" : "false").utf8
    case .number(let n): out += n.text.utf8
    case .string(let s): writeJSONString(s, into: &out)
    case .array(let items):
        out.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeJSON(item, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    case .object(let object):
        out.append(UInt8(ascii: "{"))
        for (i, member) in object.members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeJSONString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            writeJSON(member.value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

func writeJSONString(_ s: String, into out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for byte in s.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out += "\\\"".utf8
        case UInt8(ascii: "\\"): out += "\\\\".utf8
        case 0x0A: out += "\\n".utf8
        case 0x0D: out += "\\r".utf8
        case 0x09: out += "\\t".utf8
        case 0..<0x20:
            out += "\\u00".utf8
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}

func jsonString(_ s: String) -> String {
    var out: [UInt8] = []
    writeJSONString(s, into: &out)
    return String(decoding: out, as: UTF8.self)
}

extension JSONObject {
    /// Sets `key` (the first member of that name keeps its place; repeats are dropped) or appends it.
    mutating func set(_ key: String, _ value: JSONValue) {
        guard let first = members.firstIndex(where: { $0.key == key }) else {
            members.append(Member(key: key, value: value))
            return
        }
        members[first].value = value
        members = members.enumerated().filter { $0.offset <= first || $0.element.key != key }.map(\.element)
    }

    func removing(_ key: String) -> JSONObject {
        JSONObject(members.filter { $0.key != key })
    }
}

func number(_ n: Int) -> JSONValue { .number(JSONNumber(String(n))!) }

// MARK: URLs

/// `a=1&b=x%20y` -> [("a", "1"), ("b", "x y")] (`+` is a space, as forms write it).
func queryItems(_ query: Substring?) -> [(String, String)] {
    guard let query, !query.isEmpty else { return [] }
    return query.split(separator: "&").map { part in
        if let eq = part.firstIndex(of: "=") {
            return (percentDecoded(part[..<eq]), percentDecoded(part[part.index(after: eq)...]))
        }
        return (percentDecoded(part), "")
    }
}

/// The first value of `name` in `query` (as ``queryItems(_:)`` gives it).
func queryValue(_ name: String, in query: [(String, String)]) -> String? {
    query.first { $0.0 == name }?.1
}

func percentDecoded(_ text: Substring) -> String {
    var out: [UInt8] = []
    var bytes = Array(text.utf8)[...]
    while let byte = bytes.popFirst() {
        if byte == UInt8(ascii: "%"), bytes.count >= 2, let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
        {
            out.append(value)
            bytes = bytes.dropFirst(2)
        } else if byte == UInt8(ascii: "+") {
            out.append(0x20)
        } else {
            out.append(byte)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

// MARK: Authorization

func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let b0 = Int(bytes[i])
        let b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
        let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
        out.append(table[b0 >> 2])
        out.append(table[((b0 & 3) << 4) | (b1 >> 4)])
        out.append(i + 1 < bytes.count ? table[((b1 & 0xF) << 2) | (b2 >> 6)] : UInt8(ascii: "="))
        out.append(i + 2 < bytes.count ? table[b2 & 0x3F] : UInt8(ascii: "="))
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}

// MARK: Time

/// `2024-05-01T12:34:56.789Z`, UTC, as Marathon writes timestamps.
func timestamp() -> String {
    let now = WallClock.now()
    let t = BrokenDownTime(unixSeconds: now.seconds)
    func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T\(pad(t.hour, 2)):"
        + "\(pad(t.minute, 2)):\(pad(t.second, 2)).\(pad(Int(now.nanoseconds / 1_000_000), 3))Z"
}
