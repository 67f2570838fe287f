import ProxymJSON

/// Runs a decoding function over one body and names the body in errors.
enum MarathonBody {
    static func run<T>(
        name: String,
        bytes: UnsafeRawBufferPointer,
        limits: JSONLimits = .default,
        _ body: (inout JSONCursor) throws(CursorError) -> T
    ) throws(MarathonDecodeError) -> T {
        do {
            var cursor = try JSONCursor(bytes, limits: limits)
            let value = try body(&cursor)
            try cursor.finish()
            return value
        } catch {
            switch error {
            case .syntax(let json):
                throw MarathonDecodeError(body: name, message: "invalid JSON: \(json)")
            case .field(let field):
                // The decoder stopped at the shape; if the rest is not JSON either, say that instead.
                do {
                    var check = try JSONCursor(bytes, limits: limits)
                    try check.skipValue()
                    try check.finish()
                } catch {
                    if case .syntax(let json) = error {
                        throw MarathonDecodeError(body: name, message: "invalid JSON: \(json)")
                    }
                }
                throw MarathonDecodeError(body: name, message: field.description)
            }
        }
    }
}
