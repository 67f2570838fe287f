/// Header fields in the order they arrived, with ASCII case-insensitive lookup by name.
///
/// Repeated names stay separate fields (`values(for:)` returns them all in order); nothing is
/// merged, so what a client sent can be inspected exactly. Equality compares names and values
/// exactly, in order.
public struct HTTPHeaders: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral,
    CustomStringConvertible
{
    public struct Field: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        /// `Name: value`
        public var description: String { "\(name): \(value)" }
    }

    public private(set) var fields: [Field]

    public init() { fields = [] }

    public init(_ fields: [Field]) { self.fields = fields }

    public init(_ pairs: [(String, String)]) { fields = pairs.map { Field(name: $0.0, value: $0.1) } }

    /// `["Content-Type": "text/plain", "X-A": "1", "X-A": "2"]` keeps all three, in order.
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> Field { fields[position] }

    /// The value of the first field called `name` (any case), or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.hasName(name) }?.value
    }

    /// Every value of the fields called `name` (any case), in order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.hasName(name) }.map(\.value)
    }

    /// Whether any field is called `name` (any case).
    public func contains(_ name: String) -> Bool {
        fields.contains { $0.hasName(name) }
    }

    /// Whether a comma-separated field called `name` (any case) lists `token` (any case), e.g.
    /// `containsToken("close", in: "Connection")`.
    public func containsToken(_ token: String, in name: String) -> Bool {
        var found = false
        for field in fields where field.hasName(name) {
            ASCII.forEachListElement(field.value) { element in
                found = ASCII.equalsIgnoringCase(element, token.utf8)
                return !found
            }
            if found { return true }
        }
        return false
    }

    /// Adds a field after the others.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Removes every field called `name` (any case).
    public mutating func remove(name: String) {
        fields.removeAll { $0.hasName(name) }
    }

    /// Replaces every field called `name` (any case) with one field, where the first one was, or
    /// adds it at the end.
    public mutating func replaceOrAdd(name: String, value: String) {
        if let first = fields.firstIndex(where: { $0.hasName(name) }) {
            fields[first] = Field(name: name, value: value)
            var index = fields.index(after: first)
            while index < fields.endIndex {
                if fields[index].hasName(name) { fields.remove(at: index) } else { index += 1 }
            }
        } else {
            add(name: name, value: value)
        }
    }

    mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    /// One `Name: value` per line.
    public var description: String { fields.map(\.description).joined(separator: "\n") }
}

extension HTTPHeaders.Field {
    /// ASCII case-insensitive comparison of the field name.
    public func hasName(_ other: String) -> Bool {
        ASCII.equalsIgnoringCase(name.utf8, other.utf8)
    }
}
