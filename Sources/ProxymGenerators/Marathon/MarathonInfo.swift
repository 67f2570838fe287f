import ProxymModel

/// A Marathon release number as `/v2/info` reports it: `1.4.13`, `1.5.0-SNAPSHOT`, `0.15.3`.
///
/// Ordered by major, minor, patch, then a pre-release (anything after `-`) before the release itself,
/// as in semantic versioning (`1.5.0-SNAPSHOT < 1.5.0`). Build metadata after `+` is ignored.
public struct MarathonVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// `SNAPSHOT`, `RC1`...; `nil` for a release.
    public var preRelease: String?

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0, preRelease: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.preRelease = preRelease
    }

    /// Parses `MAJOR.MINOR[.PATCH][-PRE][+BUILD]` (a leading `v` is allowed); `nil` otherwise.
    public init?(_ text: String) {
        var rest = Substring(text)
        if rest.first == "v" { rest = rest.dropFirst() }
        if let plus = rest.firstIndex(of: "+") { rest = rest[..<plus] }
        var pre: Substring?
        if let dash = rest.firstIndex(of: "-") {
            pre = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
            guard let pre, !pre.isEmpty,
                pre.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-")
                })
            else { return nil }
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 9, part.utf8.allSatisfy({ $0 &- 0x30 < 10 }), let n = Int(part)
            else { return nil }
            numbers.append(n)
        }
        self.init(numbers[0], numbers[1], numbers.count == 3 ? numbers[2] : 0, preRelease: pre.map(String.init))
    }

    /// Marathon 1.5.0 removed HTTP callback subscriptions; the event stream (SSE) exists since 0.9.0.
    public static let callbacksRemoved = MarathonVersion(1, 5, 0)

    /// Whether `/v2/eventSubscriptions` exists (0.x-1.4). Pre-releases of 1.5 count as 1.5.
    public var hasEventCallbacks: Bool { (major, minor) < (1, 5) }

    /// Whether `/v2/events` accepts `event_type` filters (1.3.7+ and 1.4.0+, issue #4637).
    public var hasEventTypeFilters: Bool {
        (major, minor, patch) >= (1, 4, 0) || (major == 1 && minor == 3 && patch >= 7)
    }

    public var description: String {
        "\(major).\(minor).\(patch)" + (preRelease.map { "-" + $0 } ?? "")
    }

    public static func < (lhs: MarathonVersion, rhs: MarathonVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        switch (lhs.preRelease, rhs.preRelease) {
        case (nil, _): return false
        case (_, nil): return true
        case (let a?, let b?): return a < b
        }
    }
}

/// What proxym needs of `GET /v2/info`.
public struct MarathonInfo: Sendable, Hashable {
    public var version: MarathonVersion
    /// `host:port` of the current leader, when it says.
    public var leader: String?

    public init(version: MarathonVersion, leader: String? = nil) {
        self.version = version
        self.leader = leader
    }

    public static func decode(_ bytes: [UInt8]) throws(MarathonDecodeError) -> MarathonInfo {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> MarathonInfo in
                try MarathonBody.run(name: "/v2/info", bytes: raw) { (c: inout JSONCursor) throws(CursorError) in
                    try c.expectObject("")
                    var versionText: String?
                    var leader: String?
                    var first = true
                    while let key = try c.nextKey(&first) {
                        if c.spanEquals(key, "version") {
                            versionText = try c.optionalString("version")
                        } else if c.spanEquals(key, "leader") {
                            leader = try c.optionalString("leader")
                        } else {
                            try c.skipValue()
                        }
                    }
                    guard let versionText else { throw .field(FieldError(path: "version", message: "is required")) }
                    guard let version = MarathonVersion(versionText) else {
                        throw .field(
                            FieldError(
                                path: "version",
                                message: "is not a version number (got \"\(ValidationError.escaped(versionText))\")"
                            )
                        )
                    }
                    return MarathonInfo(version: version, leader: try leader.map(MarathonLeader.validated))
                }
            }
        }
        return try result.get()
    }
}

/// `GET /v2/leader`: `{"leader": "host:port"}`, or (404) `{"message": "There is no leader"}`.
public enum MarathonLeader {
    /// The leader's `host:port`; an error when there is none (its message quoted) or the body is odd.
    public static func decode(_ bytes: [UInt8]) throws(MarathonDecodeError) -> String {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> String in
                try MarathonBody.run(name: "/v2/leader", bytes: raw) { (c: inout JSONCursor) throws(CursorError) in
                    try c.expectObject("")
                    var leader: String?
                    var message: String?
                    var first = true
                    while let key = try c.nextKey(&first) {
                        if c.spanEquals(key, "leader") {
                            leader = try c.optionalString("leader")
                        } else if c.spanEquals(key, "message") {
                            message = try c.optionalString("message")
                        } else {
                            try c.skipValue()
                        }
                    }
                    if let leader { return try validated(leader) }
                    let reason = message.map { "no leader (\"\(ValidationError.escaped($0))\")" } ?? "is required"
                    throw .field(FieldError(path: "leader", message: reason))
                }
            }
        }
        return try result.get()
    }

    /// `host:port` with printable ASCII only (it is logged and compared, never put into a config).
    static func validated(_ leader: String) throws(CursorError) -> String {
        guard !leader.isEmpty, leader.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .field(
                FieldError(path: "leader", message: "is not host:port (got \"\(ValidationError.escaped(leader))\")")
            )
        }
        return leader
    }
}
