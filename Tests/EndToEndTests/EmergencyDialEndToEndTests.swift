import Foundation
import XCTest

/// Emergency calls: failover routing, flow-marked emergencies, and admission under overload
/// with every emergency call bridged to an agent.
final class EmergencyDialEndToEndTests: XCTestCase {
    /// The fleet line is an emergency line: its Dial tries each dispatcher in order (busy ->
    /// next at once, no answer -> next after the failover timeout) and escalates to the
    /// configured last resort, which answers.
    func testEmergencyDialFailsOverInOrderThenEscalatesToTheLastResort() throws {
        let busy = Agent("uas_busy.xml")
        let silent = Agent("uas_noanswer.xml")
        let supervisor = Agent("uas_answer_then_bye.xml", extra: ["-d", "1000"])
        let d = try dialDaemon(flows: ["dispatch.xml": """
            <Response><Dial timeout="20"><Sip>\(busy.uri)</Sip><Sip>\(silent.uri)</Sip></Dial></Response>
            """], numbers: ["+1-888-804-6762": "dispatch.xml"]) { cfg in
            cfg["emergency"] = ["failover_timeout_ms": 1500, "last_resort": supervisor.uri]
        }
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8888046762", tag: "fail-over")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(busy.wait().status, 0, "first dispatcher was tried and was busy")
        XCTAssertEqual(silent.wait().status, 0, "second dispatcher rang and got CANCEL after the failover timeout")
        XCTAssertEqual(supervisor.wait().status, 0, "the last resort answered")
        let log = d.logText
        let order = ["dial.failover_try", "leg=0", "dial.leg_failed", "leg=1", "dial.leg_no_answer", "leg=2 target=\(supervisor.uri)", "dial.answered"]
        var at = log.startIndex
        for step in order {
            guard let range = log.range(of: step, range: at..<log.endIndex) else { return XCTFail("missing \(step) in order:\n\(log.suffix(3000))") }
            at = range.upperBound
        }
        let legs = d.legs(ofTag: "fail-over").sorted { ($0["start_time"] as? String ?? "") < ($1["start_time"] as? String ?? "") }
        XCTAssertEqual(legs.compactMap { $0["disposition"] as? String }, ["busy", "canceled", "completed"])
        XCTAssertTrue(legs.allSatisfy { $0["emergency"] as? Bool == true }, "legs of an emergency call are marked")
        XCTAssertEqual(d.record(tag: "fail-over")?["emergency"] as? Bool, true)
    }

    /// `<Dial sequential="true">` on an ordinary number: the targets are tried one after
    /// the other (busy -> next at once, no answer -> next after the Dial's timeout), not all
    /// at once; the call stays an ordinary one.
    func testSequentialDialTriesTargetsInOrder() throws {
        let busy = Agent("uas_busy.xml")
        let silent = Agent("uas_noanswer.xml")
        let agent = Agent("uas_answer_then_bye.xml", extra: ["-d", "1000"])
        let d = try dialDaemon(flows: ["seq.xml": """
            <Response><Dial timeout="2" sequential="true"><Sip>\(busy.uri)</Sip><Sip>\(silent.uri)</Sip><Sip>\(agent.uri)</Sip></Dial></Response>
            """], numbers: ["+1-208-279-2555": "seq.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "sequential")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(busy.wait().status, 0, "first target tried, busy")
        XCTAssertEqual(silent.wait().status, 0, "second rang and got CANCEL at the Dial's timeout")
        XCTAssertEqual(agent.wait().status, 0, "third answered")
        // Records' times have millisecond resolution: a busy answer over loopback can come back
        // within the millisecond its INVITE left, so the next leg may start in the same one
        // (seen in CI). Ties are broken by the end: the busy leg ends long before the next.
        let legs = d.legs(ofTag: "sequential").sorted {
            ($0["start_time"] as? String ?? "", $0["end_time"] as? String ?? "") < ($1["start_time"] as? String ?? "", $1["end_time"] as? String ?? "")
        }
        XCTAssertEqual(legs.compactMap { $0["disposition"] as? String }, ["busy", "canceled", "completed"])
        XCTAssertEqual(legs.compactMap { $0["to"] as? String }, [busy.uri, silent.uri, agent.uri], "in document order")
        // One at a time: each target starts after the one before it, the silent one rang
        // the whole timeout (2 s) before the third was tried, and the busy first was over
        // by then. (A failed leg's record ends when its dialog does, after the ACK of its
        // 486, which can be a few milliseconds after the next leg's INVITE.)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let starts = legs.compactMap { ($0["start_time"] as? String).flatMap(f.date(from:)) }
        let ends = legs.compactMap { ($0["end_time"] as? String).flatMap(f.date(from:)) }
        XCTAssertEqual(starts.count, 3)
        XCTAssertEqual(ends.count, 3)
        if starts.count == 3, ends.count == 3 {
            XCTAssertGreaterThanOrEqual(starts[1], starts[0], "the second not before the first")
            XCTAssertLessThanOrEqual(ends[0], starts[2], "the busy first was over before the third")
            XCTAssertGreaterThanOrEqual(starts[2].timeIntervalSince(starts[1]), 1.95, "the third after the second's timeout")
        }
        XCTAssertFalse(d.record(tag: "sequential")?["emergency"] as? Bool ?? true)
        XCTAssertTrue(d.logShows("dial.failover_try"), "one target at a time")
    }

    /// A menu choice leads to a document marked `tf:emergency="true"`: the call becomes an
    /// emergency (record, legs) even though the number is ordinary.
    func testMenuChoiceMarkedEmergencyMakesTheCallAnEmergency() throws {
        let agent = Agent("uas_answer_then_bye.xml", extra: ["-d", "800"])
        let d = try dialDaemon(flows: [
            "menu.xml": """
                <Response><Gather numDigits="1" timeout="10" action="menu-{Digits}.xml"><Say>Press 2 for an emergency.</Say></Gather></Response>
                """,
            "menu-2.xml": """
                <Response xmlns:tf="urn:tollfreed:texml" tf:emergency="true"><Dial><Sip>\(agent.uri)</Sip></Dial></Response>
                """,
        ], numbers: ["+1-208-279-2555": "menu.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_info_dtmf.xml", dial: "2082792555", tag: "menu-emergency")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait().status, 0)
        XCTAssertTrue(d.logShows("marked by the flow"))
        XCTAssertEqual(d.record(tag: "menu-emergency")?["emergency"] as? Bool, true)
        XCTAssertEqual(d.legs(ofTag: "menu-emergency").first?["emergency"] as? Bool, true)
    }

    /// Capacity 4 with 1 place reserved; 6 ordinary and 2 emergency callers (2N). Every
    /// emergency call is answered and bridged to the agent; ordinary calls past the
    /// ordinary capacity get 503 with Retry-After.
    func testOverloadAnswersEveryEmergencyCallAndRefusesTheExcess() throws {
        let agentPeer = RTPPeer()
        defer { agentPeer.stop() }
        let agent = Agent("uas_answer.xml", calls: 5, rtpPort: agentPeer.port, timeout: 90)
        let d = try dialDaemon(flows: ["agent.xml": """
            <Response><Dial timeLimit="4"><Sip>\(agent.uri)</Sip></Dial></Response>
            """], numbers: ["+1-800-596-3057": "agent.xml", "+1-208-279-2555": "agent.xml"]) { cfg in
            cfg["calls"] = ["max_concurrent": 4, "emergency_reserve": 1, "preemption": true, "ring_ms": 0, "drain_s": 0]
        }
        defer { d.stop() }
        func callers(_ count: Int, priority: String, tag: String) -> BackgroundCall {
            let call = BackgroundCall()
            let t = Thread {
                let r = runProgram("/usr/bin/sipp", [
                    "127.0.0.1:\(d.sipPort)", "-sf", Paths.scenarios.appendingPathComponent("uac_overload.xml").path,
                    "-s", "2082792555", "-m", "\(count)", "-l", "\(count)", "-r", "20", "-p", "\(freePort())",
                    "-i", "127.0.0.1", "-key", "priority", priority, "-key", "rtpport", "9",
                    "-recv_timeout", "15000", "-cid_str", "\(tag)-%u-%p@%s", "-nostdin", "-timeout", "60s",
                ], timeout: 80)
                call.result.withLock { $0 = r }
            }
            call.thread = t
            t.start()
            return call
        }
        let ordinary = callers(6, priority: "normal", tag: "ovl-n")
        XCTAssertTrue(waitUntil(timeout: 15) { d.logText.components(separatedBy: "dial.answered").count > 3 }, "the three admitted ordinary calls are bridged")
        let emergency = callers(2, priority: "emergency", tag: "ovl-e")
        XCTAssertEqual(emergency.wait().status, 0, emergency.wait().output.suffix(1500).description)
        XCTAssertEqual(ordinary.wait().status, 0, ordinary.wait().output.suffix(1500).description)
        XCTAssertTrue(waitUntil(timeout: 10) {
            d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("ovl-") == true && $0["disposition"] as? String != "active" }.count == 8
        }, "every call's record is final")

        let records = d.records()
        func calls(_ prefix: String) -> [[String: Any]] {
            records.filter { ($0["sip_call_id"] as? String)?.hasPrefix(prefix + "-") == true }
        }
        let em = calls("ovl-e"), normal = calls("ovl-n")
        XCTAssertEqual(em.count, 2)
        XCTAssertEqual(normal.count, 6)
        XCTAssertTrue(em.allSatisfy { $0["emergency"] as? Bool == true && $0["answer_time"] is String }, "\(em)")
        // Every emergency call was bridged: each has a completed leg.
        for call in em {
            let id = call["call_id"] as? String
            let legs = records.filter { ($0["parent_call_id"] as? String) == id }
            XCTAssertEqual(legs.first?["disposition"] as? String, "completed", "emergency call \(id ?? "?") bridged")
        }
        let refused = normal.filter { $0["sip_code"] as? Int == 503 }
        XCTAssertEqual(refused.count, 3, "capacity 4 minus the reserve admits 3 ordinary calls: \(normal.map { $0["disposition"] ?? "?" })")
        XCTAssertTrue(refused.allSatisfy { $0["disposition"] as? String == "busy" })
        let served = normal.filter { $0["answer_time"] is String }
        XCTAssertEqual(served.count, 3)
        XCTAssertEqual(served.filter { $0["disposition"] as? String == "preempted" }.count, 1,
                       "the second emergency call, past the reserve, preempted the newest ordinary call")
        XCTAssertEqual(agent.wait(timeout: 30).status, 0, "all 5 answered calls were bridged and hung up")
    }
}
