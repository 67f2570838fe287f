import Glibc
import Logging
import ProxymCore
import ProxymHAProxy
import ProxymModel
import ProxymPosix

// MARK: - The vhost map file

extension HAProxyModule {
    /// Whether the map file holds `map` (true when there is none to hold).
    func vhostMapOnDisk(is map: VHostMap?) -> Bool {
        guard let map else { return true }
        return Self.bytes(try? FileSystem.readFile(map.path, limit: 256 << 20), are: map.text)
    }

    /// True when the UTF-8 of `a` and `b` differ in length or within `range`: then the files they
    /// make differ, found without comparing the rest. False says nothing.
    static func texts(_ a: String, _ b: String, differIn range: Range<Int>) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                if a.count != b.count { return true }
                guard range.upperBound <= a.count, !range.isEmpty else { return false }
                return memcmp(a.baseAddress! + range.lowerBound, b.baseAddress! + range.lowerBound, range.count) != 0
            }
        }
    }

    /// Whether `bytes` (a file's content) are `text`'s UTF-8, compared in place (no copy of either).
    static func bytes(_ bytes: [UInt8]?, are text: String) -> Bool {
        guard let bytes, bytes.count == text.utf8.count else { return false }
        if bytes.isEmpty { return true }
        var text = text
        return text.withUTF8 { utf8 in
            bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, utf8.baseAddress!, utf8.count) == 0 }
        }
    }

    /// Writes `map` (atomically, the config file's mode) unless the file holds it already; remembers
    /// what was there for ``restoreVHostMap()``.
    func installVHostMap(_ map: VHostMap?) throws(SysError) {
        guard let map, !vhostMapOnDisk(is: map) else { return }
        if vhostMapBefore == nil {
            vhostMapBefore = .some(try? FileSystem.readFile(map.path, limit: 256 << 20))
        }
        let mode = (try? FileSystem.stat(settings.configFilePath).permissions) ?? 0o644
        try AtomicFileWriter.write(text: map.text, to: map.path, mode: mode)
    }

    /// Puts back the map file an apply replaced before its config was installed (or removes it when
    /// there was none).
    func restoreVHostMap() {
        guard let before = vhostMapBefore else { return }
        vhostMapBefore = nil
        let path = settings.vhostMapPath
        do {
            if let bytes = before {
                let mode = (try? FileSystem.stat(path).permissions) ?? 0o644
                try AtomicFileWriter.write(bytes, to: path, mode: mode)
            } else {
                try FileSystem.unlink(path)
            }
        } catch {
            logger.warning(
                "cannot put the previous vhost map back; the next reload reads the new one",
                metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
