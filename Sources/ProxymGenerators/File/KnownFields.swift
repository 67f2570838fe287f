import ProxymJSON
import ProxymModel

/// The members of one JSON object sorted into a fixed set of known keys, matched with ASCII case
/// folding the way Go's `encoding/json` matched struct fields in the original proxym.
///
/// When several keys match one field, the last one spelled exactly like the field wins, else the last
/// one (``JSONObject/member(caseInsensitive:)`` has the same rule); a warning names them. Keys that
/// match no field become `unknown key` warnings.
struct KnownFields {
    private var chosen: [JSONValue?]

    /// - Parameters:
    ///   - keys: the canonical spellings (`servicePort`), which count as the exact match.
    ///   - context: prefixed to warnings (`hosts[2]`), or `nil` at the top level.
    init(_ object: JSONObject, keys: [String], context: String?, warnings: inout [String]) {
        chosen = Array(repeating: nil, count: keys.count)
        var exact = Array(repeating: false, count: keys.count)
        var chosenKey = Array(repeating: "", count: keys.count)
        var spellings: [Int: [String]] = [:]  // only filled for keys given more than once
        let prefix = context.map { $0 + ": " } ?? ""
        for member in object.members {
            guard let k = keys.firstIndex(where: { JSONObject.asciiCaseInsensitiveEquals(member.key, $0) }) else {
                warnings.append(prefix + "unknown key \"\(ValidationError.escaped(member.key))\" ignored")
                continue
            }
            if chosen[k] != nil {
                spellings[k, default: [chosenKey[k]]].append(member.key)
            }
            let isExact = member.key == keys[k]
            if isExact || !exact[k] {
                chosen[k] = member.value
                chosenKey[k] = member.key
                exact[k] = exact[k] || isExact
            }
        }
        for (k, given) in spellings.sorted(by: { $0.key < $1.key }) {
            let list = given.map { "\"\(ValidationError.escaped($0))\"" }.joined(separator: ", ")
            warnings.append(
                prefix + "\(keys[k]) is given \(given.count) times (\(list)); using the value of "
                    + "\"\(ValidationError.escaped(chosenKey[k]))\"")
        }
    }

    /// The chosen value for `keys[index]`, JSON `null` included; `nil` when no key matched.
    subscript(index: Int) -> JSONValue? { chosen[index] }
}
