import FoundationEssentials

/// Names in a directory; throws when it does not exist.
func listDirectory(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path)
}

/// A file's bytes, or nil when it cannot be read.
func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}
