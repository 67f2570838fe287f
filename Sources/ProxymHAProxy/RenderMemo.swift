import ProxymModel

/// What one caller's last render gave, so that the next render, when the services are the same but
/// some changed their hosts only (a task started, stopped, or changed health: the usual Marathon
/// event), rewrites only those services' server lines in the last text instead of rendering every
/// service again.
///
/// Why the text is then what a whole render gives: the hosts of a service appear in its server lines
/// and nowhere else (acl rules, frontends, names, ports and notes come from ids, domains, ports,
/// routing and options), and the memo is used only when the options are equal (no Runtime API slots,
/// whose layout can move with hosts), the services are in the same places with the same ids (sorted,
/// ids unique, so the order cannot change), and no changed service has or had no hosts (that one
/// has a note). Anything else renders everything and starts a new memo. `RenderMemoTests` compares
/// both on random edit sequences.
public struct RenderMemo: Sendable {
    fileprivate var options: RenderOptions?
    /// The services in render order, as last rendered.
    fileprivate var services: [Service] = []
    fileprivate var rendering: Rendering?
    /// By index into `services`: the bytes of its server lines in `rendering.text` (nil: not rendered).
    fileprivate var servers: [Range<Int>?] = []
    /// Whether the last render patched the previous text (for tests and logs).
    public private(set) var lastWasIncremental = false
    /// Services whose server lines the last render rewrote.
    public private(set) var lastRewritten = 0
    /// Where, in the last render's text, the first rewritten server lines are (nil: none rewritten).
    /// A text that differs there from another of the same length differs from it: a caller comparing
    /// the new text with the live one can look there first instead of comparing megabytes.
    public private(set) var lastRewrittenRange: Range<Int>?

    public init() {}

    /// Forgets the last render: the next one is whole.
    public mutating func reset() { self = RenderMemo() }
}

extension HAProxyRenderer {
    /// `renderWithNotes`, patching the memo's last text when only hosts changed (``RenderMemo``).
    public static func renderWithNotes(_ services: [Service], options: RenderOptions, memo: inout RenderMemo) -> Rendering {
        if let rendering = memo.patched(services, options: options) { return rendering }
        let (rendering, ordered, servers) = renderRecording(services, options: options, recording: options.slots == nil)
        memo = RenderMemo()
        let idsAscend = ordered.withUnsafeBufferPointer { buffer in
            buffer.indices.dropFirst().allSatisfy { buffer[$0 - 1].id < buffer[$0].id }
        }
        if let servers, options.slots == nil, idsAscend {
            memo.options = options
            memo.services = ordered
            memo.rendering = rendering
            memo.servers = servers
        }
        return rendering
    }
}

extension RenderMemo {
    /// The new rendering if only hosts changed (the memo then holds it), nil for a whole render.
    fileprivate mutating func patched(_ new: [Service], options: RenderOptions) -> Rendering? {
        lastWasIncremental = false
        lastRewritten = 0
        lastRewrittenRange = nil
        guard var rendering, new.count == services.count, self.options == options,
            var changed = changedServers(new)
        else { return nil }
        services = new
        lastWasIncremental = true
        lastRewritten = changed.count
        // Nothing visible changed (or nothing at all): the last text stands as it is.
        if changed.isEmpty { return rendering }
        changed.sort { servers[$0]!.lowerBound < servers[$1]!.lowerBound }
        // The new server lines of each changed service, and how much each moves what follows it.
        var replacements: [(range: Range<Int>, bytes: [UInt8])] = []
        replacements.reserveCapacity(changed.count)
        var growth = 0
        for index in changed {
            var out = ConfigBuffer(reservingCapacity: 64 * new[index].hosts.count)
            HAProxyRenderer.appendServers(new[index], to: &out)
            let range = servers[index]!
            growth += out.bytes.count - range.count
            replacements.append((range, out.bytes))
        }
        rendering.text = Self.text(rendering.text, with: replacements, growth: growth)
        moveServerRanges(changed: changed, replacements: replacements)
        lastRewrittenRange = servers[changed[0]]
        self.rendering = rendering
        return rendering
    }

    /// The indices of the services in `new` whose server lines must be rewritten, or nil when the
    /// change is not one the memo can patch (a change beyond hosts, a service that has or had no
    /// hosts, too many changed).
    private func changedServers(_ new: [Service]) -> [Int]? {
        let limit = max(16, new.count / 8)
        var changed: [Int] = []
        let ok = new.withUnsafeBufferPointer { new in
            services.withUnsafeBufferPointer { old in
                for i in new.indices where !new[i].isSameStorage(as: old[i]) {
                    guard new[i].sameExceptHosts(as: old[i]), !new[i].hosts.isEmpty, !old[i].hosts.isEmpty,
                        changed.count < limit
                    else { return false }
                    if servers[i] != nil { changed.append(i) }
                }
                return true
            }
        }
        return ok ? changed : nil
    }

    /// `old` with each replacement's range replaced by its bytes (replacements in text order).
    private static func text(
        _ old: String, with replacements: [(range: Range<Int>, bytes: [UInt8])], growth: Int
    ) -> String {
        var old = old
        return old.withUTF8 { old in
            String(unsafeUninitializedCapacity: old.count + growth) { buffer in
                var from = 0
                var to = 0
                func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
                    guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
                    (buffer.baseAddress! + to).update(from: source, count: bytes.count)
                    to += bytes.count
                }
                for replacement in replacements {
                    copy(UnsafeBufferPointer(rebasing: old[from..<replacement.range.lowerBound]))
                    replacement.bytes.withUnsafeBufferPointer { copy($0) }
                    from = replacement.range.upperBound
                }
                copy(UnsafeBufferPointer(rebasing: old[from...]))
                return to
            }
        }
    }

    /// The recorded server ranges after the replacements: every range after a replaced one moves by
    /// what the replacements before it added; the replaced ones take their new lengths.
    private mutating func moveServerRanges(changed: [Int], replacements: [(range: Range<Int>, bytes: [UInt8])]) {
        var shifts: [(at: Int, by: Int)] = []
        var total = 0
        for replacement in replacements {
            total += replacement.bytes.count - replacement.range.count
            shifts.append((replacement.range.upperBound, total))
        }
        for i in servers.indices {
            guard let range = servers[i] else { continue }
            // The last replacement that ends at or before this range.
            var low = 0
            var high = shifts.count
            while low < high {
                let middle = (low + high) / 2
                if shifts[middle].at <= range.lowerBound { low = middle + 1 } else { high = middle }
            }
            let shift = low == 0 ? 0 : shifts[low - 1].by
            servers[i] = (range.lowerBound + shift)..<(range.upperBound + shift)
        }
        for (index, replacement) in zip(changed, replacements) {
            let start = servers[index]!.lowerBound
            servers[index] = start..<(start + replacement.bytes.count)
        }
    }
}
