import ProxymModel

extension ServiceMerger {
    /// The merge, remembering the last one: when every source lists the same services in the same
    /// places as last time and the ones that changed changed only their hosts (a task started,
    /// stopped or changed health), the result is the last one with those services swapped in place,
    /// found by binary search, instead of a merge of every service.
    ///
    /// Why that equals a whole merge: the merge decides from ids, sources, protocols, ports, domains
    /// and paths, never from hosts, and passes accepted services through unchanged. The shortcut is
    /// only taken after a merge that had no problem at all, so every service was accepted and the
    /// decisions (and the incumbents, which only matter in a conflict) cannot change. Anything else
    /// (a service added, removed, moved or changed in another field; more than an eighth of them
    /// changed; a conflict) merges everything, as before.
    public struct Incremental: Sendable {
        public let httpPort: UInt16
        private var lastSources: [[Service]] = []
        /// The last result, if it had no problem (nil: the next merge is a whole one).
        private var last: [Service]?
        /// Whether the last ``merge(_:incumbents:)`` took the shortcut (for tests and metrics).
        public private(set) var lastWasIncremental = false

        public init(httpPort: UInt16) {
            self.httpPort = httpPort
        }

        public mutating func merge(_ sources: [[Service]], incumbents: [Service]) -> Result {
            if let last, let services = Self.swapped(last, from: lastSources, to: sources) {
                lastSources = sources
                self.last = services
                lastWasIncremental = true
                return Result(services: services, problems: [])
            }
            let result = ServiceMerger.merge(sources, httpPort: httpPort, incumbents: incumbents)
            lastSources = sources
            last = result.problems.isEmpty ? result.services : nil
            lastWasIncremental = false
            return result
        }

        /// Forgets the last merge: the next one is whole.
        public mutating func reset() {
            lastSources = []
            last = nil
        }

        /// `merged` (the merge of `old`, sorted by id, every service accepted) with the services that
        /// changed only their hosts from `old` to `new` swapped in; nil if anything else changed.
        static func swapped(_ merged: [Service], from old: [[Service]], to new: [[Service]]) -> [Service]? {
            guard old.count == new.count else { return nil }
            let limit = max(16, merged.count / 8)
            var changes: [(old: Service, new: Service)] = []
            for (before, after) in zip(old, new) {
                guard before.count == after.count else { return nil }
                let ok = before.withUnsafeBufferPointer { before in
                    after.withUnsafeBufferPointer { after in
                        for i in before.indices where !before[i].isSameStorage(as: after[i]) {
                            guard after[i].sameExceptHosts(as: before[i]), changes.count < limit else { return false }
                            changes.append((before[i], after[i]))
                        }
                        return true
                    }
                }
                guard ok else { return nil }
            }
            var services = merged
            for change in changes {
                guard let index = position(of: change.old.id, in: services),
                    services[index].isSameStorage(as: change.old)
                else { return nil }
                services[index] = change.new
            }
            return services
        }

        /// Where the service with `id` is in `services` (sorted by id, ids unique).
        static func position(of id: ServiceID, in services: [Service]) -> Int? {
            services.withUnsafeBufferPointer { buffer in
                var low = 0
                var high = buffer.count
                while low < high {
                    let middle = (low + high) / 2
                    if buffer[middle].id < id { low = middle + 1 } else { high = middle }
                }
                return low < buffer.count && buffer[low].id == id ? low : nil
            }
        }
    }
}
