import ProxymGenerators
import Testing

@Suite("Marathon events, info, leader")
struct MarathonEventTests {
    /// Every event fixture: the type is the file name up to `__`; the refreshing ones are exactly these.
    @Test func everyEventFixture() throws {
        let refreshing: Set<String> = [
            "status_update_event", "health_status_changed_event", "instance_health_changed_event", "api_post_event",
            "deployment_success", "deployment_failed", "deployment_step_success", "app_terminated_event",
            "unhealthy_task_kill_event", "unhealthy_instance_kill_event", "instance_changed_event",
            "event_stream_attached",
        ]
        let files = try MarathonFixtures.files(in: "events")
        #expect(files.count == 31)
        var seenTypes: Set<String> = []
        for file in files {
            let expected = file.split(separator: "__", maxSplits: 1).first.map(String.init) ?? file
            let type = MarathonEvent.eventType(fromJSON: try MarathonFixtures.bytes("events/" + file))
            #expect(type == expected, "\(file)")
            #expect(MarathonEvent.triggersRefresh(expected) == refreshing.contains(expected), "\(file)")
            seenTypes.insert(expected)
        }
        // Every refreshing type appears in some fixture, and the list is exactly the issue's.
        #expect(refreshing.isSubset(of: seenTypes))
        #expect(MarathonEvent.refreshingTypes == refreshing)
        for ignored in [
            "framework_message_event", "add_health_check_event", "remove_health_check_event",
            "failed_health_check_event", "group_change_success", "group_change_failed", "deployment_info",
            "deployment_step_failure", "subscribe_event", "unsubscribe_event", "pod_created_event",
            "unknown_instance_terminated_event", "scheduler_registered_event", "",
        ] {
            #expect(!MarathonEvent.triggersRefresh(ignored), "\(ignored)")
        }
    }

    @Test func subscriptionResponses() throws {
        func type(_ file: String) throws -> String? {
            MarathonEvent.eventType(fromJSON: try MarathonFixtures.bytes("event-subscriptions/" + file))
        }
        #expect(try type("POST-v2-eventSubscriptions-callbackUrl__response__m1.4.json") == "subscribe_event")
        #expect(try type("DELETE-v2-eventSubscriptions-callbackUrl__response__m1.4.json") == "unsubscribe_event")
        #expect(try type("GET-v2-eventSubscriptions__response__m1.4.json") == nil)
    }

    /// The `data:` payloads of the SSE samples (framing itself is the SSE parser's business).
    @Test func sseSamplePayloads() throws {
        let expected: [String: [String]] = [
            "v2-events__marathon-docs-raml__event-and-data-lines__m0.11+.txt": [
                "event_stream_attached", "status_update_event", "status_update_event",
            ],
            "v2-events__marathon-docs__data-lines-only__m0.9-0.10.txt": [
                "event_stream_attached", "group_change_success",
            ],
            "v2-events__marathon-docs__curl-attach__m1.x.txt": ["event_stream_attached"],
        ]
        let files = try MarathonFixtures.files(in: "sse")
        #expect(Set(files) == Set(expected.keys))
        for file in files {
            let text = String(decoding: try MarathonFixtures.bytes("sse/" + file), as: UTF8.self)
            let types = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map {
                MarathonEvent.eventType(fromJSON: Array($0.dropFirst(6).utf8)) ?? "?"
            }
            #expect(types == expected[file], "\(file)")
        }
    }

    @Test(
        arguments: [
            (#"{"eventType": "a", "eventType": "b"}"#, "b"), (#"{"plan": {"eventType": "nested"}}"#, nil),
            (#"{"eventType": 5}"#, nil), (#"["eventType"]"#, nil), (#"{"eventType": "a""#, nil),
            (#"{"eventType": "a"} {}"#, nil), (#"{"eventType":"a","x":[1,2,{"y":null}]}"#, "a"), ("", nil),
            (#"{"\u0065ventType": "escaped"}"#, "escaped"), (#"  {"eventType" : "spaced"}  "#, "spaced"),
        ] as [(String, String?)]
    )
    func eventTypeEdgeCases(_ json: String, _ expected: String?) {
        #expect(MarathonEvent.eventType(fromJSON: Array(json.utf8)) == expected)
    }

    @Test func info() throws {
        let info = try MarathonInfo.decode(
            MarathonFixtures.bytes("misc/GET-v2-info__marathon-docs-raml__m1.5-snapshot.json")
        )
        #expect(info.version == MarathonVersion(1, 5, 0, preRelease: "SNAPSHOT"))
        #expect(info.leader == "localhost:8080")
        #expect(!info.version.hasEventCallbacks && info.version.hasEventTypeFilters)
        #expect {
            _ = try MarathonInfo.decode(Array(#"{"version": "one"}"#.utf8))
        } throws: { error in
            "\(error)" == #"/v2/info: version: is not a version number (got "one")"#
        }
        #expect {
            _ = try MarathonInfo.decode(Array(#"{"name": "marathon"}"#.utf8))
        } throws: { error in
            "\(error)" == "/v2/info: version: is required"
        }
    }

    @Test func leader() throws {
        #expect(
            try MarathonLeader.decode(MarathonFixtures.bytes("misc/GET-v2-leader__200__m1.10.json"))
                == "marathon.globalcorp.com:8080"
        )
        #expect {
            _ = try MarathonLeader.decode(MarathonFixtures.bytes("misc/GET-v2-leader__404-no-leader__m1.10.json"))
        } throws: { error in
            "\(error)" == #"/v2/leader: leader: no leader ("There is no leader")"#
        }
        #expect(throws: MarathonDecodeError.self) { try MarathonLeader.decode(Array(#"{"leader": "a b"}"#.utf8)) }
    }

    @Test(arguments: [
        ("1.4.13", MarathonVersion(1, 4, 13)), ("1.5.0-SNAPSHOT", MarathonVersion(1, 5, 0, preRelease: "SNAPSHOT")),
        ("0.15.3", MarathonVersion(0, 15, 3)), ("1.10.26", MarathonVersion(1, 10, 26)),
        ("v1.6.322", MarathonVersion(1, 6, 322)),
        ("1.9", MarathonVersion(1, 9, 0)), ("1.11.0-RC1+build.7", MarathonVersion(1, 11, 0, preRelease: "RC1")),
    ])
    func versionParsing(_ text: String, _ expected: MarathonVersion) {
        #expect(MarathonVersion(text) == expected)
    }

    @Test(arguments: ["", "1", "1.x", "1.2.3.4", "1..2", "-1.2", "1.2-", "1.2.3-a b", "+1.2.3"])
    func badVersions(_ text: String) { #expect(MarathonVersion(text) == nil) }

    @Test func versionOrderAndFeatures() {
        let sorted = ["0.9.0", "0.15.3", "1.3.6", "1.3.7", "1.4.13", "1.5.0-SNAPSHOT", "1.5.0", "1.10.26"].map {
            MarathonVersion($0)!
        }
        #expect(sorted == sorted.sorted())
        #expect(sorted.map(\.hasEventCallbacks) == [true, true, true, true, true, false, false, false])
        #expect(sorted.map(\.hasEventTypeFilters) == [false, false, false, true, true, true, true, true])
        #expect(MarathonVersion(1, 5, 0, preRelease: "SNAPSHOT") < MarathonVersion.callbacksRemoved)
        #expect(MarathonVersion(1, 5, 0, preRelease: "SNAPSHOT").description == "1.5.0-SNAPSHOT")
    }

    @Test func snapshotGuardHoldsBackASuddenEmptyList() {
        var guardian = MarathonSnapshotGuard(confirmations: 3)
        #expect(guardian.check(appCount: 0) == .accept)  // nothing known yet: an empty Marathon is fine
        #expect(guardian.check(appCount: 12) == .accept)
        guard case .holdBack(let reason) = guardian.check(appCount: 0) else {
            Issue.record("an empty list after 12 apps must be held back")
            return
        }
        #expect(reason.contains("it had 12"))
        #expect(guardian.check(appCount: 0) != .accept)
        #expect(guardian.check(appCount: 0) == .accept)  // the third read in a row agrees
        #expect(guardian.check(appCount: 0) == .accept)
        #expect(guardian.check(appCount: 5) == .accept)
        #expect(guardian.check(appCount: 0) != .accept)
        #expect(guardian.check(appCount: 4) == .accept)  // a non-empty list resets the count
        #expect(guardian.check(appCount: 0) != .accept)
        #expect(guardian.lastAcceptedAppCount == 4)
    }
}
