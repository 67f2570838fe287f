import ProxymJSON
import ProxymModel

/// The members of one JSON object sorted into a fixed set of known keys, matched with ASCII case
/// folding the way Go's `encoding/json` matched struct fields in the original proxym.
///
/// When several keys match one field, the last one spelled exactly like the field wins, else the last
/// one (the rule of ``JSONObject/member(caseInsensitive:)``, which does the lookups); a warning names
/// them. Keys that match no field become `unknown key` warnings. Nothing is allocated unless there is
/// something to warn about: this runs for every object of every service file.
struct KnownFields {
    private let object: JSONObject
    private let keys: [String]

    /// - Parameters:
    ///   - keys: the canonical spellings (`servicePort`), which count as the exact match; at most 64.
    ///   - context: prefixed to warnings (`hosts[2]`), or `nil` at the top level.
    init(_ object: JSONObject, keys: [String], context: @autoclosure () -> String?, warnings: inout [String]) {
        precondition(keys.count <= 64)
        self.object = object
        self.keys = keys
        var seen: UInt64 = 0
        var repeated: UInt64 = 0
        for member in object.members {
            guard let k = keys.firstIndex(where: { JSONObject.asciiCaseInsensitiveEquals(member.key, $0) }) else {
                warnings.append(
                    Self.prefix(context()) + "unknown key \"\(ValidationError.escaped(member.key))\" ignored")
                continue
            }
            let bit: UInt64 = 1 << UInt64(k)
            if seen & bit != 0 { repeated |= bit }
            seen |= bit
        }
        guard repeated != 0 else { return }
        for (k, key) in keys.enumerated() where repeated & (1 << UInt64(k)) != 0 {
            let given = object.members.map(\.key).filter { JSONObject.asciiCaseInsensitiveEquals($0, key) }
            let used = given.last(where: { $0 == key }) ?? given.last ?? key
            let list = given.map { "\"\(ValidationError.escaped($0))\"" }.joined(separator: ", ")
            warnings.append(
                Self.prefix(context()) + "\(key) is given \(given.count) times (\(list)); "
                    + "using the value of \"\(ValidationError.escaped(used))\"")
        }
    }

    private static func prefix(_ context: String?) -> String {
        context.map { $0 + ": " } ?? ""
    }

    /// The chosen value for `keys[index]`, JSON `null` included; `nil` when no key matched.
    subscript(index: Int) -> JSONValue? { object.member(caseInsensitive: keys[index]) }
}
