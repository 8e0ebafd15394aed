import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP re-reads config and flows: new calls get the new configuration, calls in progress
/// keep the flow they started with, and a bad new config is refused while the old serves.
final class ReloadEndToEndTests: XCTestCase {
    func testReloadAppliesToNewCallsAndRefusesABadConfig() throws {
        let d = try dialDaemon(flows: ["a.xml": #"<Response><Play digits="w"/><Pause length="3"/><Hangup/></Response>"#,
                                       "b.xml": #"<Response><Play digits="w"/><Pause length="1"/><Hangup/></Response>"#],
                               numbers: ["+1-208-279-2555": "a.xml"])
        defer { d.stop() }
        XCTAssertEqual(d.sipp("uac_expect_404.xml", dial: "8335550199", tag: "before-reload").status, 0, "not yet a number")

        // A call in progress on flow a.xml when the reload happens.
        let during = d.sippInBackground("uac_daemon_bye.xml", dial: "2082792555", tag: "during-reload")
        XCTAssertTrue(d.waitForLog("call.answered"))
        try d.editConfig { cfg in
            var numbers = cfg["numbers"] as! [[String: Any]]
            for i in numbers.indices where numbers[i]["did"] as? String == "+1-208-279-2555" { numbers[i]["flow"] = "b.xml" }
            numbers.append(["did": "+1-833-555-0199", "tenant": "backup-general-001", "flow": "b.xml"])
            cfg["numbers"] = numbers
        }
        d.send(signal: SIGHUP)
        XCTAssertTrue(d.waitForLog("config.reloaded"), d.logText.suffix(1500).description)

        XCTAssertEqual(d.sipp("uac_daemon_bye.xml", dial: "8335550199", tag: "new-number").status, 0, "the new number answers")
        XCTAssertEqual(d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "after-reload").status, 0)
        XCTAssertEqual(during.wait().status, 0, "the call in progress finished on its own flow")
        XCTAssertEqual(d.record(tag: "during-reload")?["flow"] as? String, "a.xml", "kept the flow it started with")
        XCTAssertEqual(d.record(tag: "after-reload")?["flow"] as? String, "b.xml", "new calls use the new flow")

        // A broken config is refused with the reason; the running one keeps serving.
        try Data("{ not json".utf8).write(to: d.configPath)
        d.send(signal: SIGHUP)
        XCTAssertTrue(d.waitForLog("config.reload_failed"), d.logText.suffix(1500).description)
        XCTAssertTrue(d.logShows("not valid JSON"))
        XCTAssertEqual(d.sipp("uac_daemon_bye.xml", dial: "8335550199", tag: "after-bad-reload").status, 0)
        let audit = try String(contentsOfFile: d.dataDir.path + "/audit.log", encoding: .utf8)
        XCTAssertTrue(audit.contains("config.reloaded"))
    }
}

/// SIGTERM: new calls get 503 at once; calls in progress may finish for calls.drain_s, and
/// only the ones still up after it get BYE.
final class DrainEndToEndTests: XCTestCase {
    private func daemon(flow: String, drain: Int) throws -> DaemonUnderTest {
        try dialDaemon(flows: ["f.xml": flow], numbers: ["+1-208-279-2555": "f.xml"]) { cfg in
            var calls = cfg["calls"] as! [String: Any]
            calls["drain_s"] = drain
            cfg["calls"] = calls
        }
    }

    func testCallsInProgressFinishDuringTheDrainWhileNewOnesAreRefused() throws {
        let d = try daemon(flow: #"<Response><Play digits="w"/><Pause length="3"/><Hangup/></Response>"#, drain: 10)
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: "2082792555", tag: "drain-finish")
        XCTAssertTrue(d.waitForLog("call.answered"))
        d.send(signal: SIGTERM)
        XCTAssertTrue(d.waitForLog("daemon.stopping"))
        let refused = d.sipp("uac_expect_503.xml", dial: "2082792555", tag: "drain-refused")
        XCTAssertEqual(refused.status, 0, "a new call during the drain gets 503:\n\(refused.output.suffix(1000))")
        XCTAssertEqual(call.wait().status, 0)
        XCTAssertEqual(d.stop(), 0)
        XCTAssertFalse(d.logText.contains("daemon.drain_timeout"), "the call ended on its own")
        let rec = try XCTUnwrap(d.record(tag: "drain-finish"))
        XCTAssertEqual(rec["disposition"] as? String, "completed")
        XCTAssertGreaterThanOrEqual(rec["billable_seconds"] as? Int ?? 0, 3, "it ran its whole flow")
        XCTAssertEqual(d.record(tag: "drain-refused")?["sip_code"] as? Int, 503)
    }

    func testCallsStillUpAfterTheDrainTimeGetBYE() throws {
        let d = try daemon(flow: #"<Response><Play digits="w"/><Pause length="60"/></Response>"#, drain: 1)
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: "2082792555", tag: "drain-timeout")
        XCTAssertTrue(d.waitForLog("call.answered"))
        let started = Date()
        XCTAssertEqual(d.stop(), 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
        XCTAssertEqual(call.wait().status, 0, "the caller got BYE after the drain time")
        XCTAssertTrue(d.logShows("daemon.drain_timeout calls_ended=1"), d.logText.suffix(1000).description)
        XCTAssertEqual(d.record(tag: "drain-timeout")?["hangup_by"] as? String, "daemon")
    }
}
