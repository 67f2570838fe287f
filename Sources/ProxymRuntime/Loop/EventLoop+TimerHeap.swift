import ProxymCore

extension EventLoop {
    /// A binary min-heap of timer entries ordered by (deadline, id).
    struct TimerHeap {
        private var entries: [TimerEntry] = []

        var top: TimerEntry? { entries.first }
        var count: Int { entries.count }

        mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

        mutating func push(_ entry: TimerEntry) {
            entries.append(entry)
            var child = entries.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.less(entries[child], entries[parent]) else { break }
                entries.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> TimerEntry? {
            guard !entries.isEmpty else { return nil }
            entries.swapAt(0, entries.count - 1)
            let result = entries.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count && Self.less(entries[left], entries[smallest]) { smallest = left }
                if right < entries.count && Self.less(entries[right], entries[smallest]) { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
            return result
        }

        private static func less(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
            (a.deadline, a.id) < (b.deadline, b.id)
        }
    }
}
