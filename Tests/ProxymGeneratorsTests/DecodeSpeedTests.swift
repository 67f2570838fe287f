import ProxymGenerators
import ProxymJSON
import Testing

/// Informational timing only (no assertions on speed): decoding 10,000 small service files, the way
/// a full rescan after an inotify overflow would. Build with `-c release` for meaningful numbers.
@Suite("Decode speed (informational)")
struct DecodeSpeedTests {
    @Test func tenThousandSmallFiles() throws {
        let files: [[UInt8]] = (0..<10_000).map { i in
            Array(
                """
                {
                  "id": "/team-\(i % 50)/app-\(i)",
                  "domain": "app-\(i).team-\(i % 50).example.com",
                  "protocol": "tcp",
                  "servicePort": \(10_000 + i),
                  "hosts": [
                    {"ip": "10.\(i % 200).\(i % 250).1", "port": 31001},
                    {"ip": "10.\(i % 200).\(i % 250).2", "port": 31002}
                  ]
                }
                """.utf8)
        }
        let names = files.indices.map { "app-\($0).json" }
        let bytes = files.reduce(0) { $0 + $1.count }

        var parsed = 0
        let parseOnly = bestOf5 {
            parsed = 0
            for file in files where (try? JSONReader.parse(file)) != nil { parsed += 1 }
        }
        #expect(parsed == files.count)

        var decoded = 0
        let decode = bestOf5 {
            decoded = 0
            for (file, name) in zip(files, names) {
                if case .success = ServiceFileDecoder.decode(file, fileName: name) { decoded += 1 }
            }
        }
        #expect(decoded == files.count)
        print(
            "decode speed: \(files.count) files, \(bytes) bytes, best of 5: JSON parse \(report(parseOnly, files.count)); "
                + "parse + validate + Service \(report(decode, files.count))")
    }

    func bestOf5(_ body: () -> Void) -> Duration {
        (0..<5).map { _ in ContinuousClock().measure(body) }.min()!
    }

    func report(_ duration: Duration, _ count: Int) -> String {
        let nanoseconds = Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
        return "\(Int(nanoseconds / 1e6)) ms total, \(Int(nanoseconds / Double(count))) ns per file"
    }
}

@Suite("Catalog rescan speed (informational)")
struct CatalogSpeedTests {
    @Test func rescanOfTenThousandFiles() {
        let files = (0..<10_000).map { i in
            Array(
                #"{"id": "/app-\#(i)", "servicePort": \#(10_000 + i), "hosts": [{"ip": "10.0.0.1", "port": 31000}]}"#
                    .utf8)
        }
        let listing = files.indices.map { i in
            ServiceFileCatalog.Entry(
                name: "app-\(i).json",
                fingerprint: FileFingerprint(
                    device: 1, inode: UInt64(i), size: Int64(files[i].count), modificationNanoseconds: 1))
        }
        var catalog = ServiceFileCatalog()
        let first = ContinuousClock().measure {
            _ = catalog.update(
                listing: listing,
                read: { name in
                    files[Int(name.dropFirst(4).dropLast(5))!]
                })
        }
        var reads = 0
        let rescan = ContinuousClock().measure {
            _ = catalog.update(
                listing: listing,
                read: { _ in
                    reads += 1
                    return []
                })
        }
        #expect(reads == 0)
        #expect(catalog.services.count == 10_000)
        print("catalog speed: first load of 10,000 files \(first), unchanged rescan \(rescan)")
    }
}
