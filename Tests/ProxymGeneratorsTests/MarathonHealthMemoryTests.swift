@testable import ProxymGenerators
import ProxymTestSupport
import Testing

/// The packed form of the health memory (one byte array per app) against the dictionary it replaces:
/// every lookup, present or not, and equality, on random memories.
@Suite("Marathon health memory: packed and table forms")
struct MarathonHealthMemoryTests {
    static func randomID(_ random: inout SplitMix64) -> String {
        let alphabets: [[Character]] = [
            Array("abcdef0123456789.-_"), Array("ab"), Array("aé∂ab"),
        ]
        let alphabet = alphabets[Int(random.next() % 3)]
        // Lengths around the 1- and 2-byte length prefixes (127/128) and the empty id.
        let lengths = [0, 1, 5, 40, 127, 128, 200]
        let length = lengths[Int(random.next() % UInt64(lengths.count))]
        return String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    @Test("lookups and equality match the dictionary's", arguments: 0..<40)
    func packedMatchesTable(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var table: [String: Bool] = [:]
        let size = Int(random.next() % 40)
        for _ in 0..<size { table[Self.randomID(&random)] = random.next() % 2 == 0 }
        let memory = MarathonHealthMemory(table)
        #expect(memory.count == table.count)
        if table.count <= MarathonHealthMemory.packedLimit && table.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
            guard case .packed = memory.storage else {
                Issue.record("a small ASCII memory should be packed")
                return
            }
        }
        for (id, healthy) in table {
            #expect(memory.lastKnownHealth(ofTask: id) == healthy, "\(id)")
            // A prefix or an extension of a known id is another task.
            #expect(memory.lastKnownHealth(ofTask: id + "x") == table[id + "x"])
            if !id.isEmpty { #expect(memory.lastKnownHealth(ofTask: String(id.dropLast())) == table[String(id.dropLast())]) }
        }
        for _ in 0..<20 {
            let other = Self.randomID(&random)
            #expect(memory.lastKnownHealth(ofTask: other) == table[other])
        }
        // Equal content, whatever the insertion order, gives equal values; a change gives another.
        var shuffled: [String: Bool] = [:]
        for (id, healthy) in table.shuffled(using: &random) { shuffled[id] = healthy }
        #expect(MarathonHealthMemory(shuffled) == memory)
        #expect(MarathonHealthMemory(shuffled).hashValue == memory.hashValue)
        if let (id, healthy) = table.first {
            var changed = table
            changed[id] = !healthy
            #expect(MarathonHealthMemory(changed) != memory)
            changed[id] = nil
            #expect(MarathonHealthMemory(changed) != memory)
        }
    }
}
