/// A service's identity, e.g. `/one/webapp` (Marathon style) or `redis`.
///
/// Allowed: segments of `[A-Za-z0-9._-]` separated by single `/`, an optional leading `/`, at most 255
/// characters. That is exactly what can become an HAProxy proxy name after mangling, so nothing an id
/// says can break out of the `backend`/`listen` line it is rendered into.
public struct ServiceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let maxLength = 255

    public init(_ raw: String) throws(ValidationError) {
        guard !raw.isEmpty else { throw ValidationError(field: "id", reason: "must not be empty") }
        guard raw.utf8.count <= Self.maxLength else {
            throw ValidationError(field: "id", reason: "longer than \(Self.maxLength) characters", value: raw)
        }
        let body = raw.utf8.first == UInt8(ascii: "/") ? raw.utf8.dropFirst() : raw.utf8[...]
        guard !body.isEmpty else { throw ValidationError(field: "id", reason: "has no name after '/'", value: raw) }
        var previousWasSlash = true
        for byte in body {
            if byte == UInt8(ascii: "/") {
                if previousWasSlash {
                    throw ValidationError(field: "id", reason: "has an empty path segment", value: raw)
                }
                previousWasSlash = true
                continue
            }
            guard Charset.isNameByte(byte) else {
                throw ValidationError(
                    field: "id", reason: "may only contain letters, digits, '.', '_', '-' and '/'", value: raw)
            }
            previousWasSlash = false
        }
        if previousWasSlash { throw ValidationError(field: "id", reason: "must not end with '/'", value: raw) }
        self.rawValue = raw
    }

    /// The original proxym's name mangling: leading `/` dropped, every other `/` becomes `_`.
    /// `/one/webapp` -> `one_webapp`. Used for `backend <name>_cluster`, `listen <name>`, `acl host_<name>`.
    public var proxyName: String {
        let utf8 = rawValue.utf8
        let body = utf8.first == UInt8(ascii: "/") ? utf8.dropFirst() : utf8[...]
        return String(unsafeUninitializedCapacity: body.count) { buffer in
            var i = 0
            for byte in body {
                buffer[i] = byte == UInt8(ascii: "/") ? UInt8(ascii: "_") : byte
                i += 1
            }
            return i
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: ServiceID, rhs: ServiceID) -> Bool { lhs.rawValue < rhs.rawValue }
}

enum Charset {
    @inline(__always)
    static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    /// Letters, digits, `.`, `_`, `-`: safe in HAProxy proxy/server names and in file names.
    @inline(__always)
    static func isNameByte(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}
