import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The control socket against a running daemon: `tollfreed status`, `calls`, `calls
/// hangup`, `drain` / `undrain`, `reload` and `flows reload` as ops run them, their
/// effect on real sipp calls, their audit entries, and who may use the socket.
final class ControlEndToEndTests: XCTestCase {
    func testStatusAndCallsShowALiveCallAndHangupEndsIt() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        let peer = RTPPeer()
        defer { peer.stop(); d.stop() }
        let call = Background { d.sipp("uac_daemon_bye.xml", dial: "8005963057", tag: "ctl-live", rtpPort: peer.port,
                                       caller: "+15559876543") }
        XCTAssertTrue(peer.waitForPackets(10, timeout: 10), "the call is up")

        let status = try d.control(["status", "--json"])
        XCTAssertEqual(status["calls"] as? Int, 1)
        XCTAssertEqual(status["capacity"] as? Int, 4000)
        XCTAssertEqual(status["draining"] as? Bool, false)
        XCTAssertEqual(status["sip"] as? String, "127.0.0.1:\(d.sipPort)")
        XCTAssertGreaterThan(status["ports_free"] as? Int ?? 0, 0)

        let rows = try XCTUnwrap(try d.control(["calls", "--json"])["calls"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1, "\(rows)")
        let row = try XCTUnwrap(rows.first)
        let id = try XCTUnwrap(row["id"] as? String)
        XCTAssertTrue(id.hasPrefix("CA"), id)
        XCTAssertEqual(row["kind"] as? String, "call")
        XCTAssertEqual(row["number"] as? String, "+18005963057")
        XCTAssertEqual(row["tenant"] as? String, "healthcare-client-001")
        XCTAssertEqual(row["party"] as? String, "********6543", "a healthcare caller is masked")
        XCTAssertEqual(row["state"] as? String, "active")
        XCTAssertNotEqual(row["verb"] as? String, "-", "the flow is on a verb")
        XCTAssertEqual(row["emergency"] as? Bool, false)
        let table = d.controlText(["calls"])
        XCTAssertEqual(table.status, 0)
        XCTAssertTrue(table.output.hasPrefix("ID "), table.output)
        XCTAssertTrue(table.output.contains(id) && !table.output.contains("9876543"), table.output)

        let hangup = d.controlText(["calls", "hangup", id])
        XCTAssertEqual(hangup.status, 0, hangup.output)
        let sipp = try XCTUnwrap(call.wait(), "sipp finished")
        XCTAssertEqual(sipp.status, 0, "the caller got the daemon's BYE:\n\(sipp.output.suffix(1500))")
        let record = try XCTUnwrap(d.record(tag: "ctl-live"))
        XCTAssertEqual(record["disposition"] as? String, "completed")
        XCTAssertEqual(record["hangup_by"] as? String, "daemon")
        XCTAssertTrue(d.logShows("call.operator_hangup"))
        XCTAssertTrue(waitUntil(timeout: 5) { d.auditText.contains("control.calls.hangup") && d.auditText.contains(id) },
                      "audited with its call id")
        XCTAssertTrue(d.auditText.contains("control uid=\(getuid())"), "the operator is the actor")

        let again = d.controlText(["calls", "hangup", id])
        XCTAssertEqual(again.status, 1, "the call is gone: \(again.output)")
        XCTAssertTrue(again.output.contains("no call \(id) is up"), again.output)
        XCTAssertEqual(try d.control(["status", "--json"])["calls"] as? Int, 0)
    }

    func testDrainRefusesNewCallsUntilUndrain() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let drain = d.controlText(["drain"])
        XCTAssertEqual(drain.status, 0, drain.output)
        XCTAssertTrue(drain.output.hasPrefix("draining"), drain.output)
        XCTAssertEqual(try d.control(["status", "--json"])["draining"] as? Bool, true)
        XCTAssertEqual(d.httpGet("/readyz")?.status, 503, "a load balancer takes the node out")
        let refused = d.sipp("uac_expect_503.xml", dial: "2082792555", tag: "ctl-refused")
        XCTAssertEqual(refused.status, 0, "a new call gets 503 while drained:\n\(refused.output.suffix(1500))")

        XCTAssertEqual(d.controlText(["undrain"]).status, 0)
        XCTAssertEqual(d.httpGet("/readyz")?.status, 200)
        let admitted = d.sipp("uac_general_press1.xml", dial: "2082792555", tag: "ctl-admitted")
        XCTAssertEqual(admitted.status, 0, "admitted again:\n\(admitted.output.suffix(1500))")
        XCTAssertTrue(waitUntil(timeout: 5) { d.auditText.contains("control.drain") && d.auditText.contains("control.undrain") })
    }

    func testReloadReportsErrorsAndFlowsReloadSwapsOneNumbersFlow() throws {
        let d = try dialDaemon(flows: ["ctl.xml": #"<Response><Reject reason="busy"/></Response>"#],
                               numbers: ["+1-208-279-2555": "ctl.xml"])
        defer { d.stop() }
        let flowFile = URL(fileURLWithPath: try XCTUnwrap(d.flowsDirectory)).appendingPathComponent("ctl.xml")
        XCTAssertEqual(d.sipp("uac_expect_486.xml", dial: "2082792555", tag: "ctl-first").status, 0, "the first flow rejects")

        try Data(#"<Response><Hangup/></Response>"#.utf8).write(to: flowFile)
        let reloaded = d.controlText(["flows", "reload", "+1-208-279-2555"])
        XCTAssertEqual(reloaded.status, 0, reloaded.output)
        XCTAssertTrue(reloaded.output.contains("+12082792555: reloaded ctl.xml"), reloaded.output)
        XCTAssertEqual(d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "ctl-second").status, 0, "the new flow answers")

        try Data("<Response><Say>unclosed".utf8).write(to: flowFile)
        let broken = d.controlText(["flows", "reload", "2082792555"])
        XCTAssertEqual(broken.status, 1, broken.output)
        XCTAssertTrue(broken.output.contains("flow ctl.xml") && broken.output.contains("keeps serving"), broken.output)
        XCTAssertEqual(d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "ctl-third").status, 0, "the loaded flow serves on")
        XCTAssertEqual(d.controlText(["flows", "reload", "+18335550177"]).status, 1, "not a number of this daemon")

        try d.editConfig { $0["bogus_section"] = 1 }
        let bad = d.controlText(["reload"])
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.output.contains("bogus_section") && bad.output.contains("keeps serving"), bad.output)
        try d.editConfig { $0["bogus_section"] = nil }
        try Data(#"<Response><Hangup/></Response>"#.utf8).write(to: flowFile)
        let good = d.controlText(["reload"])
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(good.output.hasPrefix("reloaded: 3 numbers"), good.output)
        XCTAssertTrue(waitUntil(timeout: 5) { d.auditText.components(separatedBy: "control.flows.reload").count == 4 },
                      "each flows reload audited, refused ones too:\n\(d.auditText)")
    }

    func testOnlyRootAndTheDaemonsUserMayUseTheSocket() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        var st = stat()
        XCTAssertEqual(stat(d.controlSocket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "owner-only")
        XCTAssertEqual(getuid(), 0, "this test runs the client as another user, which needs root (CI runs as root)")
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", Paths.daemon, "status", "--socket", d.controlSocket]
        let denied = runProgram("/usr/bin/setpriv", asNobody)
        XCTAssertEqual(denied.status, 3, "the file mode keeps others out: \(denied.output)")
        XCTAssertTrue(denied.output.contains("Permission denied"), denied.output)
        // Past the file mode (an admin's chmod), the daemon still checks the peer's uid.
        XCTAssertEqual(chmod(d.controlSocket, 0o666), 0)
        let refused = runProgram("/usr/bin/setpriv", asNobody)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("only root and the daemon's user"), refused.output)
        XCTAssertEqual(d.controlText(["status"]).status, 0, "root still may")
        // A daemon killed outright leaves its socket file; the next start replaces it.
        d.kill9()
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.controlSocket), "left behind by kill -9")
        try d.launch()
        XCTAssertEqual(d.controlText(["status"]).status, 0, "the restarted daemon answers on the same path")
        XCTAssertFalse(d.logText.contains("control.unavailable"), d.logText.suffix(1500).description)
    }
}

extension DaemonUnderTest {
    /// The control socket the harness gives every daemon (in its own directory).
    var controlSocket: String { configPath.deletingLastPathComponent().appendingPathComponent("control.sock").path }

    /// The flows directory of the daemon's config.
    var flowsDirectory: String? {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: configPath)) as? [String: Any])?["flows_dir"] as? String
    }

    var auditText: String { (try? String(contentsOfFile: dataDir.path + "/audit.log", encoding: .utf8)) ?? "" }

    /// `tollfreed ARGS --socket S`: exit status and output (stdout and stderr).
    func controlText(_ args: [String]) -> (status: Int32, output: String) {
        runProgram(Paths.daemon, args + ["--socket", controlSocket], timeout: 30)
    }

    /// `tollfreed ARGS --socket S` with `--json` in ARGS: the answer, which must say ok.
    func control(_ args: [String]) throws -> [String: Any] {
        let r = controlText(args)
        XCTAssertEqual(r.status, 0, "tollfreed \(args.joined(separator: " ")): \(r.output)")
        let line = r.output.split(separator: "\n").first.map(String.init) ?? ""
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], r.output)
    }
}
