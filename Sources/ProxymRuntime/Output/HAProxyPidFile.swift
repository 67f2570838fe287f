import ProxymPosix

/// The pid file haproxy writes with `-p`: whitespace-separated pids.
enum HAProxyPidFile {
    static func alivePIDs(_ path: String) -> [Int32] {
        guard let bytes = try? FileSystem.readFile(path, limit: 64 << 10) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            .compactMap { Int32($0) }
            .filter { $0 > 1 && ProcessState.isAlive($0) }
    }
}
