/// Typed reads that name the field in their errors (`expected an array, got a string`).
extension JSONCursor {
    /// Index of the key among `names` (exact match), if any.
    mutating func match(_ key: StringSpan, _ names: [StaticString]) -> Int? {
        for (i, name) in names.enumerated() where spanEquals(key, name) { return i }
        return nil
    }

    func typeError(_ field: String, expected: String, got kind: Kind) -> CursorError {
        .field(FieldError(path: field, message: "expected \(expected), got \(kind.phrase)"))
    }

    /// Enters the object that must come next (`field` names it in the error).
    mutating func expectObject(_ field: @autoclosure () -> String) throws(CursorError) {
        let kind = try peek()
        guard kind == .object else { throw typeError(field(), expected: "an object", got: kind) }
        try enterObject()
    }

    /// Enters an object, or consumes `null` and returns `false`.
    mutating func enterOptionalObject(_ field: @autoclosure () -> String) throws(CursorError) -> Bool {
        switch try peek() {
        case .object:
            try enterObject()
            return true
        case .null:
            try readNull()
            return false
        case let kind:
            throw typeError(field(), expected: "an object", got: kind)
        }
    }

    /// Enters an array, or consumes `null` and returns `false`.
    mutating func enterOptionalArray(_ field: @autoclosure () -> String) throws(CursorError) -> Bool {
        switch try peek() {
        case .array:
            try enterArray()
            return true
        case .null:
            try readNull()
            return false
        case let kind:
            throw typeError(field(), expected: "an array", got: kind)
        }
    }

    mutating func optionalString(_ field: @autoclosure () -> String) throws(CursorError) -> String? {
        switch try peek() {
        case .string: return try readString()
        case .null:
            try readNull()
            return nil
        case let kind: throw typeError(field(), expected: "a string", got: kind)
        }
    }

    mutating func optionalBool(_ field: @autoclosure () -> String) throws(CursorError) -> Bool? {
        switch try peek() {
        case .bool: return try readBool()
        case .null:
            try readNull()
            return nil
        case let kind: throw typeError(field(), expected: "a boolean", got: kind)
        }
    }

    /// An integer 0-65535 (0 is Marathon's "not assigned"), or `nil` for `null`.
    mutating func optionalPort(_ field: @autoclosure () -> String) throws(CursorError) -> Int? {
        switch try peek() {
        case .number:
            let start = index
            if let value = try readInteger(), value >= 0, value <= 65535 { return value }
            throw .field(
                FieldError(
                    path: field(),
                    message: "expected a port number (0-65535), got \(numberText(from: start, to: index))"
                )
            )
        case .null:
            try readNull()
            return nil
        case let kind:
            throw typeError(field(), expected: "a port number", got: kind)
        }
    }

    /// A non-negative integer (a count, seconds, an index), or `nil` for `null`.
    mutating func optionalCount(_ field: @autoclosure () -> String) throws(CursorError) -> Int? {
        switch try peek() {
        case .number:
            let start = index
            if let value = try readInteger(), value >= 0 { return value }
            throw .field(
                FieldError(
                    path: field(), message: "expected a non-negative integer, got \(numberText(from: start, to: index))"))
        case .null:
            try readNull()
            return nil
        case let kind:
            throw typeError(field(), expected: "a non-negative integer", got: kind)
        }
    }

    /// An array of port numbers (`null` gives `[]`).
    mutating func portList(_ field: StaticString) throws(CursorError) -> [Int] {
        guard try enterOptionalArray("\(field)") else { return [] }
        var ports: [Int] = []
        var first = true
        var index = 0
        while try nextElement(&first) {
            guard let port = try optionalPort("\(field)[\(index)]") else {
                throw .field(FieldError(path: "\(field)[\(index)]", message: "expected a port number, got null"))
            }
            ports.append(port)
            index += 1
        }
        return ports
    }

    /// Calls `body` inside each object element of an array (`null` elements and a `null` array are
    /// skipped); `body` must consume the object's members up to its `}`.
    mutating func forEachObject(
        _ field: StaticString,
        _ body: (inout JSONCursor, Int) throws(CursorError) -> Void
    ) throws(CursorError) {
        guard try enterOptionalArray("\(field)") else { return }
        var first = true
        var index = 0
        while try nextElement(&first) {
            do {
                guard try enterOptionalObject("") else {
                    index += 1
                    continue
                }
                try body(&self, index)
            } catch {
                guard case .field(let inner) = error else { throw error }
                throw .field(inner.nested(under: "\(field)[\(index)]"))
            }
            index += 1
        }
    }

    /// The object elements of an array, each read by `element` (which is called inside the object).
    mutating func objects<T>(
        _ field: StaticString,
        _ element: (inout JSONCursor) throws(CursorError) -> T
    ) throws(CursorError) -> [T] {
        var items: [T] = []
        try forEachObject(field) { (c: inout JSONCursor, _: Int) throws(CursorError) in items.append(try element(&c)) }
        return items
    }
}
