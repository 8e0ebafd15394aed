import Foundation
import XCTest

/// Admission control with sipp: a full daemon refuses ordinary calls with 503, admits
/// emergency calls into its reserve, and preempts the newest ordinary call when even the
/// reserve is used up.
final class AdmissionEndToEndTests: XCTestCase {
    func testEmergencyCallsGetThroughAFullDaemon() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            cfg["calls"] = ["max_concurrent": 2, "emergency_reserve": 1, "preemption": true, "ring_ms": 0, "drain_s": 0]
        }
        defer { d.stop() }
        let peer = RTPPeer()
        defer { peer.stop() }
        // A: an ordinary call that stays up (the healthcare flow records for a while).
        let callA = Background { d.sipp("uac_daemon_bye.xml", dial: "8005963057", tag: "adm-a", rtpPort: peer.port) }
        XCTAssertTrue(peer.waitForPackets(10, timeout: 10), "call A is up")

        // B: ordinary, but only the emergency reserve is left -> 503.
        let b = d.sipp("uac_expect_503.xml", dial: "2082792555", tag: "adm-b")
        XCTAssertEqual(b.status, 0, "ordinary call refused with 503:\n\(b.output.suffix(1500))")

        // C: emergency (Priority header) -> admitted into the reserve.
        let callC = Background { d.sipp("uac_emergency_listen.xml", dial: "2082792555", tag: "adm-c", extra: ["-d", "6000"]) }
        XCTAssertTrue(waitUntil(timeout: 10) { d.logText.components(separatedBy: "call.answered").count > 2 }, "call C is up")

        // D: another emergency with the daemon full -> admitted by preempting A.
        let dd = d.sipp("uac_emergency_listen.xml", dial: "2082792555", tag: "adm-d", extra: ["-d", "1000"])
        XCTAssertEqual(dd.status, 0, "emergency call D admitted:\n\(dd.output.suffix(1500))\n\(d.logText.suffix(2000))")
        let a = try XCTUnwrap(callA.wait(), "call A's sipp finished")
        let c = try XCTUnwrap(callC.wait(), "call C's sipp finished")
        XCTAssertEqual(a.status, 0, "call A got the daemon's BYE:\n\(a.output.suffix(1500))")
        XCTAssertEqual(c.status, 0, "emergency call C completed:\n\(c.output.suffix(1500))")

        let recA = try XCTUnwrap(d.record(tag: "adm-a"))
        XCTAssertEqual(recA["disposition"] as? String, "preempted")
        XCTAssertEqual(recA["hangup_by"] as? String, "daemon")
        XCTAssertGreaterThan(recA["billable_seconds"] as? Int ?? 0, 0, "the preempted call is billed to its end")
        let recB = try XCTUnwrap(d.record(tag: "adm-b"))
        XCTAssertEqual(recB["disposition"] as? String, "busy")
        XCTAssertEqual(recB["sip_code"] as? Int, 503)
        for tag in ["adm-c", "adm-d"] {
            let r = try XCTUnwrap(d.record(tag: tag))
            XCTAssertEqual(r["emergency"] as? Bool, true, tag)
            XCTAssertEqual(r["disposition"] as? String, "completed", tag)
        }
        XCTAssertTrue(d.logShows("call.preempting"))
    }

    func testOnlyTrustedSourcesMayCall() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["trusted_sources"] = ["203.0.113.0/24", "2001:db8::/32"]
            cfg["sip"] = sip
        }
        defer { d.stop() }
        let r = d.sipp("uac_expect_403.xml", dial: "8005963057", tag: "untrusted")
        XCTAssertEqual(r.status, 0, "403 for a source outside the trusted networks:\n\(r.output.suffix(1500))")
        XCTAssertTrue(d.logShows("sip.untrusted_source"))
        XCTAssertNil(d.record(tag: "untrusted", timeout: 1), "no record for traffic that is not ours")
        XCTAssertEqual(d.sipp("options.xml", dial: "8005963057", tag: "probe").status, 0, "OPTIONS probes still answered")
    }
}
