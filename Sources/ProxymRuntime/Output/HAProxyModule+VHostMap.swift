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
        return TextBytes.equal(try? FileSystem.readFile(map.path, limit: 256 << 20), map.text)
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
