import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Hostile or odd SIP from callers: one request must never take the daemon down, lose a
/// record or leak a port.
final class HardeningEndToEndTests: XCTestCase {
    /// A Contact the daemon could never send its BYE to used to be answered; when the ACK
    /// never came, Sofia's ACK-timeout BYE crashed the process. Such INVITEs get 400.
    func testINVITEsWithUnusableContactsAreRefused() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        for (i, contact) in ["<tel:+15551230000>", "*", "<http://203.0.113.9/x>", "(<sip:x@127.0.0.1>", ""].enumerated() {
            let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "contact\(i)")
            let r = try XCTUnwrap(c.invite(dial: "8005963057", contact: contact), "a final response for Contact \(contact)")
            XCTAssertEqual(r.status, 400, "Contact '\(contact)' refused:\n\(r.text)")
            c.ack()
        }
        // The daemon is alive and a well-formed call is answered.
        let ok = SIPDialogCaller(daemonPort: d.sipPort, tag: "contact-ok")
        XCTAssertEqual(ok.invite(dial: "8005963057")?.status, 200)
        ok.ack()
        XCTAssertEqual(ok.bye()?.status, 200)
        XCTAssertTrue(d.logShows("sip.malformed_request"))
    }

    /// A STUN binding request to the SIP port gets no answer and prints nothing (Sofia's
    /// STUN server answered and wrote unstructured "stun" lines to stdout).
    func testSTUNOnTheSIPPortIsIgnoredSilently() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "stun")
        var request: [UInt8] = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]
        request += (0..<12).map { _ in UInt8.random(in: 0...255) }
        c.send(bytes: request)
        XCTAssertNil(c.receive(timeout: 1), "no STUN answer")
        XCTAssertEqual(c.invite(dial: "8005963057")?.status, 200, "the daemon still answers calls")
        c.ack()
        XCTAssertEqual(c.bye()?.status, 200)
        XCTAssertFalse(d.logText.lowercased().split(separator: "\n").contains { $0.hasPrefix("stun") }, d.logText)
    }

    /// Oversized requests cost nothing (Sofia kept 60 KB OPTIONS for 32 s each), and OPTIONS
    /// have a per-source rate limit (their own bucket, at the INVITE and MESSAGE rate).
    func testOversizedAndFloodedOPTIONSAreRefused() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 5
            sip["invite_burst_per_source"] = 5
            cfg["sip"] = sip
        }
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "opt")
        func options(_ n: Int, padding: Int = 0) -> String {
            ["OPTIONS sip:8005963057@127.0.0.1:\(d.sipPort) SIP/2.0",
             "Via: SIP/2.0/UDP 127.0.0.1:\(c.localPort);branch=z9hG4bKopt\(n);rport",
             "From: <sip:probe@127.0.0.1>;tag=o\(n)", "To: <sip:8005963057@127.0.0.1>", "Call-ID: opt-\(n)@127.0.0.1",
             "CSeq: 1 OPTIONS", "Max-Forwards: 70"]
                .joined(separator: "\r\n") + (padding > 0 ? "\r\nX-Padding: " + String(repeating: "p", count: padding) : "")
                + "\r\nContent-Length: 0\r\n\r\n"
        }
        c.send(options(0, padding: 40_000))
        let big = c.finalResponse(to: "OPTIONS", timeout: 2)
        XCTAssertTrue(big == nil || [413, 513].contains(big!.status), "a 40 KB request is refused: \(big?.text.prefix(80) ?? "")")
        var statuses: [Int] = []
        for n in 1...20 {
            c.send(options(n))
            statuses.append(c.finalResponse(to: "OPTIONS", timeout: 2)?.status ?? 0)
        }
        XCTAssertEqual(statuses.prefix(5), [200, 200, 200, 200, 200], "\(statuses)")
        XCTAssertTrue(statuses.contains(503), "past the rate OPTIONS get 503: \(statuses)")
    }

    /// INFO outside any dialog (nua answers it) used to leave its handle in Sofia for
    /// good: about 1 % of a mutated SIP flood, with the request's memory.
    func testINFOOutsideADialogLeavesNoHandle() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "info")
        for n in 0..<10 {
            c.send(["INFO sip:8005963057@127.0.0.1:\(d.sipPort) SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:\(c.localPort);branch=z9hG4bKinfo\(n);rport",
                    "From: <sip:probe@127.0.0.1>;tag=i\(n)", "To: <sip:8005963057@127.0.0.1>", "Call-ID: info-\(n)@127.0.0.1",
                    "CSeq: 1 INFO", "Max-Forwards: 70", "Content-Type: application/dtmf-relay", "Content-Length: 10", "",
                    "Signal=5\r\n"].joined(separator: "\r\n"))
            XCTAssertNotNil(c.finalResponse(to: "INFO", timeout: 2), "INFO \(n) answered")
        }
        XCTAssertTrue(waitUntil(timeout: 5) { d.metric("tollfreed_sip_handles") == 0 },
                      "SIP handles left: \(d.metric("tollfreed_sip_handles") ?? -1)")
    }

    /// RFC 4412 lets Resource-Priority come on several header lines; a value in a
    /// configured namespace on the second line still marks an emergency.
    func testResourcePriorityOnTwoHeaderLinesIsAnEmergency() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "rp2")
        let r = c.invite(dial: "2082792555", headers: ["Resource-Priority: dsn.flash", "Resource-Priority: esnet.0"])
        XCTAssertEqual(r?.status, 200)
        c.ack()
        XCTAssertEqual(c.bye()?.status, 200)
        let rec = try XCTUnwrap(d.record(tag: "rp2"))
        XCTAssertEqual(rec["emergency"] as? Bool, true, "\(rec)")
    }

    /// Callers who hang up right after the ACK while the healthcare flow starts its
    /// recording: every record is closed and every port comes back. Sofia reuses a freed
    /// handle's address for the next INVITE, which used to overwrite the call still
    /// waiting for its recording.
    func testCallersHangingUpDuringRecordLoseNothing() throws {
        // The healthcare number with a flow that records at once (its greeting comes later).
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            cfg["flows_dir"] = try? Self.flowsDirectory(extra: ["record-first.xml": """
                <Response><Record maxLength="30" timeout="10"/><Say>done</Say></Response>
                """])
            var numbers = cfg["numbers"] as? [[String: Any]] ?? []
            numbers[0]["flow"] = "record-first.xml"
            cfg["numbers"] = numbers
        }
        defer { d.stop() }
        let portsBefore = try XCTUnwrap(d.metric("tollfreed_rtp_ports_free"))
        let total = 96, parallel = 8
        var tags: [String] = []
        var hangingUp: [SIPDialogCaller] = []
        for wave in 0...(total / parallel) {
            // This wave's INVITEs go out right behind the last wave's BYEs, as on a busy
            // line: the handles just freed are the ones Sofia hands out next.
            let callers = wave < total / parallel ? (0..<parallel).map { SIPDialogCaller(daemonPort: d.sipPort, tag: "rec\(wave)x\($0)") } : []
            for c in hangingUp { c.send(c.byeRequest()) }
            for c in callers { c.sendInvite(dial: "8005963057") }
            for c in hangingUp { XCTAssertEqual(c.finalResponse(to: "BYE", timeout: 5)?.status, 200) }
            for c in callers { XCTAssertEqual(c.finalResponse()?.status, 200); c.ack() }
            tags += callers.map(\.callID)
            // Hang up while they record (after the beep).
            XCTAssertTrue(waitUntil(timeout: 10) { d.logText.components(separatedBy: "call.recording_started").count > tags.count })
            hangingUp = callers
        }
        // Every record ends (none stays active) and every port is free again.
        XCTAssertTrue(waitUntil(timeout: 20) {
            let recs = d.records().filter { ($0["sip_call_id"] as? String).map(tags.contains) == true }
            return recs.count == total && recs.allSatisfy { $0["disposition"] as? String == "completed" }
        }, "all \(total) records completed: \(d.records().filter { $0["disposition"] as? String == "active" }.count) active")
        XCTAssertTrue(waitUntil(timeout: 10) { d.metric("tollfreed_rtp_ports_free") == portsBefore },
                      "ports free again: \(d.metric("tollfreed_rtp_ports_free") ?? -1) of \(portsBefore)")
        XCTAssertEqual(d.metric("tollfreed_calls_active"), 0)
        if ProcessInfo.processInfo.environment["DUMP_LOG"] != nil { print(d.logText) }
    }
}

extension HardeningEndToEndTests {
    /// A copy of the shipped flows plus `extra` files, for a config's `flows_dir`.
    static func flowsDirectory(extra: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollfreed-flows-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let shipped = Paths.repo.appendingPathComponent("CallFlows")
        for f in try FileManager.default.contentsOfDirectory(atPath: shipped.path) {
            try FileManager.default.copyItem(at: shipped.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        for (name, text) in extra { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        return dir.path
    }
}

/// Waits until every peer's received count has stopped growing for 200 ms (at most 5 s):
/// the streams relayed to them have drained.
func waitForQuiet(_ peers: RTPPeer...) -> Bool {
    var last = peers.map { $0.received.count }
    var stableSince = Date()
    return waitUntil(timeout: 5) {
        let now = peers.map { $0.received.count }
        if now != last { last = now; stableSince = Date() }
        return Date().timeIntervalSince(stableSince) >= 0.2
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if condition() { return true }
        usleep(50_000)
    } while Date() < deadline
    return condition()
}

extension DaemonUnderTest {
    /// The value of an unlabelled metric from `/metrics`.
    func metric(_ name: String) -> Double? {
        guard let body = httpGet("/metrics")?.body else { return nil }
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}

/// Emergency calls against resources other than call places: RTP ports, and who may
/// claim an emergency at all.
final class EmergencyResourceEndToEndTests: XCTestCase {
    /// Ordinary calls cannot take the ports an emergency call needs; when even those are
    /// gone, an emergency call preempts the newest ordinary call for its port. (Before,
    /// ports ran out long before the call-count reserve and emergencies got 503.)
    func testEmergencyCallsGetAPortWhenOrdinaryCallsHaveTakenTheRest() throws {
        // 10 even ports; 1 reserved place -> 2 reserved ports; places are plenty.
        let d = try DaemonUnderTest(ringMs: 0, rtpPorts: 20) { cfg in
            cfg["calls"] = ["max_concurrent": 100, "emergency_reserve": 1, "preemption": true, "ring_ms": 0, "drain_s": 0]
        }
        defer { d.stop() }
        var ordinary: [SIPDialogCaller] = []
        for i in 0..<8 {
            let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "port-o\(i)")
            XCTAssertEqual(c.invite(dial: "8005963057")?.status, 200, "ordinary call \(i)")
            c.ack()
            ordinary.append(c)
        }
        let refused = SIPDialogCaller(daemonPort: d.sipPort, tag: "port-o8")
        XCTAssertEqual(refused.invite(dial: "8005963057")?.status, 503, "only the emergency ports are left")
        refused.ack()
        var emergency: [SIPDialogCaller] = []
        for i in 0..<3 {
            let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "port-e\(i)")
            let r = c.invite(dial: "8005963057", headers: ["Priority: emergency"])
            XCTAssertEqual(r?.status, 200, "emergency call \(i): \(r?.text ?? "no answer")")
            c.ack()
            emergency.append(c)
        }
        // The third emergency call took the newest ordinary call's port.
        XCTAssertTrue(ordinary.last!.awaitBye(timeout: 10), "the newest ordinary call got BYE")
        let victim = try XCTUnwrap(d.record(tag: "port-o7"))
        XCTAssertEqual(victim["disposition"] as? String, "preempted")
        let refusal = try XCTUnwrap(d.record(tag: "port-o8"))
        XCTAssertEqual(refusal["sip_code"] as? Int, 503)
        for c in emergency + ordinary.dropLast() { XCTAssertEqual(c.bye()?.status, 200) }
        for i in 0..<3 { XCTAssertEqual(d.record(tag: "port-e\(i)")?["emergency"] as? Bool, true) }
    }

    /// The refusal record of an emergency call says it was one.
    func testRefusedEmergencyCallIsRecordedAsEmergency() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "em-404")
        XCTAssertEqual(c.invite(dial: "8005550100", headers: ["Priority: emergency"])?.status, 404)
        c.ack()
        XCTAssertEqual(d.record(tag: "em-404")?["emergency"] as? Bool, true)
    }

    /// Markings from a network not allowed to claim priority are ignored (RFC 4412 asks
    /// for Resource-Priority to be authorised); an emergency line stays one.
    func testMarkingsFromUntrustedNetworksAreIgnored() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            cfg["emergency"] = ["marking_sources": ["192.0.2.0/24"]]
        }
        defer { d.stop() }
        for (tag, dial) in [("mark-general", "2082792555"), ("mark-fleet", "8888046762")] {
            let c = SIPDialogCaller(daemonPort: d.sipPort, tag: tag)
            XCTAssertEqual(c.invite(dial: dial, headers: ["Priority: emergency", "Resource-Priority: esnet.0"])?.status, 200)
            c.ack()
            XCTAssertEqual(c.bye()?.status, 200)
        }
        XCTAssertEqual(d.record(tag: "mark-general")?["emergency"] as? Bool, false, "the claim is ignored")
        XCTAssertEqual(d.record(tag: "mark-fleet")?["emergency"] as? Bool, true, "the emergency line is one whoever calls")
        XCTAssertTrue(d.logShows("call.emergency_marking_ignored"))
    }
}

/// What reaches the log from callers.
final class LogPrivacyEndToEndTests: XCTestCase {
    /// A healthcare caller keys a date of birth into a Gather: the digits never reach the
    /// log in clear, and the result is logged once.
    func testHealthcareKeypadDigitsAreMasked() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            cfg["flows_dir"] = try? HardeningEndToEndTests.flowsDirectory(extra: [
                "dob.xml": #"<Response><Gather numDigits="4" timeout="10" action="done.xml"/></Response>"#,
                "done.xml": "<Response><Hangup/></Response>",
            ])
            var numbers = cfg["numbers"] as? [[String: Any]] ?? []
            numbers[0]["flow"] = "dob.xml"
            cfg["numbers"] = numbers
        }
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "dob")
        XCTAssertEqual(c.invite(dial: "8005963057")?.status, 200)
        c.ack()
        for digit in "1980" { XCTAssertEqual(c.info(digit: digit)?.status, 200) }
        XCTAssertTrue(c.awaitBye(timeout: 10), "the Gather's action hangs up")
        XCTAssertTrue(waitUntil(timeout: 5) { d.logText.contains("call.gather_result") })
        let lines = d.logText.split(separator: "\n").filter { $0.contains("call=") }
        XCTAssertEqual(lines.filter { $0.contains("call.gather_result") }.count, 1)
        XCTAssertTrue(lines.contains { $0.contains("call.gather_result") && $0.contains("digits=****") })
        for digit in "1980" { XCTAssertFalse(lines.contains { $0.contains("digit=\(digit)") }, "digit \(digit) in clear") }
        XCTAssertFalse(d.logText.contains("1980"))
    }
}

/// Callers that vanish: INVITEs never ACKed, and calls whose RTP stops.
final class VanishingCallerEndToEndTests: XCTestCase {
    /// A flood of INVITEs answered but never ACKed holds at most `half_open_per_source`
    /// places from one source, each for `ack_timeout_ms`; then legitimate calls get in.
    func testHalfOpenCallsAreBoundedAndTimedOut() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var calls = cfg["calls"] as? [String: Any] ?? [:]
            calls["half_open_per_source"] = 3
            calls["ack_timeout_ms"] = 1000
            calls["dialog_release_ms"] = 2000
            cfg["calls"] = calls
        }
        defer { d.stop() }
        let flood = (0..<5).map { SIPDialogCaller(daemonPort: d.sipPort, tag: "halfopen\($0)") }
        let statuses = flood.map { $0.invite(dial: "2082792555")?.status ?? 0 } // never ACKed
        XCTAssertEqual(statuses, [200, 200, 200, 503, 503])
        XCTAssertTrue(d.logShows("sip.half_open_limit"))
        // The half-open calls end at the ACK timeout, unbilled, and free their places.
        XCTAssertTrue(waitUntil(timeout: 10) { d.metric("tollfreed_calls_active") == 0 }, "half-open calls ended")
        for i in 0..<3 {
            let r = try XCTUnwrap(d.record(tag: "halfopen\(i)"))
            XCTAssertEqual(r["disposition"] as? String, "failed")
            XCTAssertEqual(r["hangup_by"] as? String, "ack_timeout")
            XCTAssertEqual(r["billable_seconds"] as? Int, 0)
        }
        // Their dialogs (BYE sent to callers who never answer) are freed too, not kept
        // in Sofia for good: each held a handle and its INVITE (a flood's memory).
        XCTAssertTrue(waitUntil(timeout: 15) { d.metric("tollfreed_sip_handles") == 0 },
                      "SIP handles left: \(d.metric("tollfreed_sip_handles") ?? -1)")
        XCTAssertTrue(d.logShows("call.dialog_forced_end"))
        let ok = SIPDialogCaller(daemonPort: d.sipPort, tag: "after-halfopen")
        XCTAssertEqual(ok.invite(dial: "2082792555")?.status, 200)
        ok.ack()
        XCTAssertEqual(ok.bye()?.status, 200)
        XCTAssertTrue(waitUntil(timeout: 10) { d.metric("tollfreed_sip_handles") == 0 }, "a normal call's dialog ends on its own")
    }

    /// RFC 4028 session timers: a caller asking for them gets them (it refreshes, and a
    /// caller that stops refreshing is sent BYE at expiry); too short an interval gets 422.
    func testSessionTimersAreNegotiated() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let short = SIPDialogCaller(daemonPort: d.sipPort, tag: "se-short")
        let r422 = try XCTUnwrap(short.invite(dial: "2082792555", headers: ["Supported: timer", "Session-Expires: 30"]))
        XCTAssertEqual(r422.status, 422, r422.text)
        XCTAssertEqual(r422.header("Min-SE").flatMap { Int($0.prefix { $0.isNumber }) }, 90)
        short.ack()
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "se-ok")
        let ok = try XCTUnwrap(c.invite(dial: "2082792555", headers: ["Supported: timer", "Session-Expires: 120;refresher=uac"]))
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.header("Session-Expires")?.lowercased().replacingOccurrences(of: " ", with: ""), "120;refresher=uac", ok.text)
        c.ack()
        XCTAssertEqual(c.bye()?.status, 200)
    }

    /// A caller who stops sending RTP without a BYE is hung up after `rtp_timeout_s`.
    func testCallWithoutRTPIsEndedAtTheTimeout() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var calls = cfg["calls"] as? [String: Any] ?? [:]
            calls["rtp_timeout_s"] = 2
            cfg["calls"] = calls
        }
        defer { d.stop() }
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "rtp-gone")
        XCTAssertEqual(c.invite(dial: "8005963057")?.status, 200)
        c.ack()
        XCTAssertTrue(c.awaitBye(timeout: 15), "the daemon hangs up on a silent caller")
        let r = try XCTUnwrap(d.record(tag: "rtp-gone"))
        XCTAssertEqual(r["hangup_by"] as? String, "rtp_timeout")
        XCTAssertEqual(r["disposition"] as? String, "completed")
        XCTAssertTrue(d.logShows("call.rtp_timeout"))
    }
}

/// Bridged legs end with their calls, every one, under load.
final class BridgeTeardownEndToEndTests: XCTestCase {
    /// 40 concurrent bridges, two waves: every outbound leg ends, its record is final, and
    /// the leg gauge returns to 0 (one leg used to stay up in such a run).
    func testEveryLegOfTwoWavesOfFortyBridgesEnds() throws {
        let agent = Agent("uas_answer.xml", calls: 80, timeout: 120)
        let d = try dialDaemon(flows: ["bridge.xml": "<Response><Dial timeout=\"20\"><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: ["+1-208-279-2555": "bridge.xml"], rtpPorts: 240) { cfg in
            // 120 even ports: 40 calls and their 40 legs, and the emergency ports (2 x 5).
            cfg["calls"] = ["max_concurrent": 100, "ring_ms": 0, "drain_s": 0]
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 0
            cfg["sip"] = sip
        }
        defer { d.stop() }
        var ids: [String] = []
        for wave in 0..<2 {
            let callers = (0..<40).map { SIPDialogCaller(daemonPort: d.sipPort, tag: "bridge\(wave)x\($0)") }
            for c in callers {
                XCTAssertEqual(c.invite(dial: "2082792555")?.status, 200)
                c.ack()
            }
            XCTAssertTrue(waitUntil(timeout: 30) { d.logText.components(separatedBy: "dial.answered").count > 40 * (wave + 1) },
                          "wave \(wave): all 40 bridged")
            for c in callers { c.send(c.byeRequest()) }
            for c in callers { XCTAssertEqual(c.finalResponse(to: "BYE", timeout: 5)?.status, 200) }
            ids += callers.map(\.callID)
        }
        XCTAssertTrue(waitUntil(timeout: 20) { d.metric("tollfreed_dial_legs_active") == 0 && d.metric("tollfreed_calls_active") == 0 },
                      "legs active: \(d.metric("tollfreed_dial_legs_active") ?? -1)")
        let all = d.records()
        let parents = all.filter { ($0["sip_call_id"] as? String).map(ids.contains) == true }
        XCTAssertEqual(parents.count, 80)
        let parentIDs = Set(parents.compactMap { $0["call_id"] as? String })
        let legs = all.filter { ($0["parent_call_id"] as? String).map(parentIDs.contains) == true }
        XCTAssertEqual(legs.count, 80, "one leg per call")
        XCTAssertTrue(legs.allSatisfy { $0["disposition"] as? String == "completed" }, "\(legs.map { $0["disposition"] ?? "?" })")
        XCTAssertEqual(agent.wait(timeout: 30).status, 0, "the agent saw every leg end")
    }
}
