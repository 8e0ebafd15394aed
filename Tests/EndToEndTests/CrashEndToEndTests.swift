import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` during calls loses no record: calls in progress are closed as `interrupted`
/// at their last checkpoint by the next start, and finished records are untouched.
final class CrashEndToEndTests: XCTestCase {
    func testKill9DuringCallsLosesNoRecord() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        XCTAssertEqual(d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "before-crash").status, 0)
        let finished = try XCTUnwrap(d.record(tag: "before-crash"))

        // Four calls that stay up (sipp -l 4 -m 4), then the daemon is killed under them.
        let sipp = Background {
            runProgram("/usr/bin/sipp", [
                "127.0.0.1:\(d.sipPort)", "-sf", Paths.scenarios.appendingPathComponent("uac_listen.xml").path,
                "-s", "8005963057", "-l", "4", "-m", "4", "-r", "10", "-d", "30000", "-p", "\(freePort())",
                "-i", "127.0.0.1", "-key", "rtpport", "9", "-key", "caller", "+15551230000",
                "-cid_str", "crash-%u-%p@%s", "-nostdin", "-timeout", "15s",
            ], timeout: 40)
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && d.logText.components(separatedBy: "call.answered").count - 1 < 5 { usleep(50_000) }
        XCTAssertEqual(d.logText.components(separatedBy: "call.answered").count - 1, 5, "four load calls answered")
        // At least one checkpoint (every 5 s) after they were answered: it writes the
        // answer time into each active record.
        XCTAssertTrue(waitUntil(timeout: 15) {
            let r = d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("crash-") == true }
            return r.count == 4 && r.allSatisfy { $0["answer_time"] is String }
        }, "a checkpoint recorded the answer times")
        d.kill9()

        let crashed = d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("crash-") == true }
        XCTAssertEqual(crashed.count, 4, "every admitted call has a record before it ends")
        XCTAssertTrue(crashed.allSatisfy { $0["disposition"] as? String == "active" }, "\(crashed)")

        try d.launch() // the next start closes what the dead process left active
        let recovered = d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("crash-") == true }
        XCTAssertEqual(recovered.count, 4, "none lost, none duplicated")
        for r in recovered {
            XCTAssertEqual(r["disposition"] as? String, "interrupted")
            XCTAssertNotNil(r["answer_time"] as? String, "the checkpoint carried the answer time")
            // Checkpoints run every 5 s and the kill came 7 s after answer: the last one fell
            // between answer and kill, so the bill is more than 0 and at most 8 s.
            let billable = r["billable_seconds"] as? Int ?? 0
            XCTAssertTrue((1...8).contains(billable), "billable to the last checkpoint: \(billable)")
        }
        let after = try XCTUnwrap(d.record(tag: "before-crash"))
        XCTAssertEqual(NSDictionary(dictionary: after), NSDictionary(dictionary: finished), "a finished record never changes")
        XCTAssertTrue(d.logShows("cdr.recovered interrupted=4"), d.logText.suffix(1500).description)
        let load = try XCTUnwrap(sipp.wait(), "sipp finished")
        XCTAssertTrue(load.output.contains("Outgoing calls created"), "sipp ran")
    }

    /// SIGKILL in the middle of a sipp load of short calls: after the restart every call sipp
    /// completed has a record, none is duplicated and none is left active.
    func testKill9DuringLoadLosesNoFinishedCall() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-load-crash-\(getpid())")
        try? FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        let sipp = Background {
            runProgram("/usr/bin/sipp", [
                "127.0.0.1:\(d.sipPort)", "-sf", Paths.scenarios.appendingPathComponent("uac_listen.xml").path,
                "-s", "8005963057", "-l", "60", "-m", "600", "-r", "40", "-d", "1000", "-p", "\(freePort())",
                "-i", "127.0.0.1", "-key", "rtpport", "9", "-key", "caller", "+15551230000",
                "-cid_str", "load-%u-%p@%s", "-nostdin", "-timeout", "20s", "-recv_timeout", "4000",
            ], timeout: 40, cwd: workDir)
        }
        // Let calls start and finish for a while, then kill the daemon under the load.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && d.logText.components(separatedBy: "call.end").count - 1 < 80 { usleep(20_000) }
        d.kill9()
        let load = try XCTUnwrap(sipp.wait(), "sipp finished")
        let successful = Int(load.output.components(separatedBy: "\n").last { $0.contains("Successful call") }?
            .split(separator: "|").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
        XCTAssertGreaterThan(successful, 60, "sipp completed calls before the kill:\n\(load.output.suffix(1500))")

        try d.launch()
        let records = d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("load-") == true }
        let ids = records.compactMap { $0["sip_call_id"] as? String }
        XCTAssertEqual(Set(ids).count, ids.count, "no record is duplicated")
        XCTAssertFalse(records.contains { $0["disposition"] as? String == "active" }, "the restart closed every open record")
        let completed = records.filter { $0["disposition"] as? String == "completed" }.count
        let interrupted = records.filter { $0["disposition"] as? String == "interrupted" }.count
        XCTAssertGreaterThanOrEqual(completed + interrupted, successful, "every call sipp completed has a record")
        // The daemon answers BYE before its record reaches the disk (a few milliseconds of
        // group commit): a call ending in those last milliseconds before the kill is closed
        // as interrupted at its last checkpoint, never lost.
        XCTAssertGreaterThanOrEqual(completed, successful - 3, "completed \(completed), sipp successful \(successful)")
        XCTAssertTrue(d.logShows("cdr.recovered interrupted="))
    }
}
