import ProxymJSON
import Testing

/// Informational timing only (no assertions on speed): one multi-megabyte body shaped like Marathon's
/// `/v2/apps?embed=apps.tasks`. Build with `-c release` for meaningful numbers.
@Suite("Parse speed (informational)")
struct ParseSpeedTests {
    @Test func largeMarathonLikeBody() throws {
        var apps: [String] = []
        for i in 0..<2_000 {
            let tasks = (0..<5).map { t in
                #"{"id": "app-\#(i).\#(t)-4f5e", "host": "agent-\#(t).mesos", "ports": [\#(31000 + t)], "startedAt": "2024-01-01T00:00:00.000Z", "healthCheckResults": [{"alive": true}]}"#
            }
            apps.append(
                #"{"id": "/team/app-\#(i)", "instances": 5, "cpus": 0.25, "mem": 128.0, "labels": {"HAPROXY_GROUP": "external", "note": "caf\u00e9 \ud83d\ude00"}, "ports": [\#(10_000 + i)], "tasks": [\#(tasks.joined(separator: ","))]}"#
            )
        }
        let body = Array(#"{"apps": [\#(apps.joined(separator: ",\n"))]}"#.utf8)
        var best = Duration.seconds(1_000)
        for _ in 0..<3 {
            let elapsed = try ContinuousClock().measure {
                let value = try JSONReader.parse(body)
                #expect(value.objectValue?["apps"]?.arrayValue?.count == 2_000)
            }
            best = min(best, elapsed)
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
        print(
            "parse speed: \(body.count) bytes in \(Int(seconds * 1e3)) ms, "
                + "\(Int(Double(body.count) / seconds / 1e6)) MB/s")
    }
}
