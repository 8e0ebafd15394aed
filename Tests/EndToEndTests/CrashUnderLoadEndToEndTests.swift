import Foundation
import XCTest

/// `kill -9` under 200 live calls, three times over one data directory: every call that
/// completed has exactly one record, every call in flight is closed `interrupted` by the
/// next start, and no record is written twice.
final class CrashUnderLoadEndToEndTests: XCTestCase {
    func testThreeKillsUnderTwoHundredCallsLoseAndDoubleNothing() throws {
        // 500 even ports: 200 calls, the emergency port reserve (2 x 20) and room to spare.
        let d = try DaemonUnderTest(ringMs: 0, rtpPorts: 1000) { cfg in
            cfg["calls"] = ["max_concurrent": 400, "ring_ms": 0, "drain_s": 0]
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 0
            cfg["sip"] = sip
        }
        defer { d.stop() }
        var completed: [String] = [], inFlight: [String] = []
        for round in 0..<3 {
            var live: [SIPDialogCaller] = []
            for i in 0..<200 {
                let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "kill\(round)x\(i)")
                guard c.invite(dial: i % 2 == 0 ? "2082792555" : "8005963057")?.status == 200 else {
                    return XCTFail("round \(round): call \(i) not answered\n\(d.logText.suffix(1500))")
                }
                c.ack()
                live.append(c)
            }
            // A quarter hang up before the crash: those records are complete.
            for c in live.prefix(50) { XCTAssertEqual(c.bye()?.status, 200) }
            completed += live.prefix(50).map(\.callID)
            inFlight += live.dropFirst(50).map(\.callID)
            XCTAssertTrue(waitUntil(timeout: 10) { self.records(d, of: live.prefix(50).map(\.callID)).allSatisfy { $0["disposition"] as? String == "completed" } },
                          "round \(round): the finished calls' records are written")
            d.kill9()
            try d.launch() // recovery closes the calls that were in flight
        }
        let all = d.records()
        var seen: [String: Int] = [:]
        for r in all { if let id = r["sip_call_id"] as? String, id.hasPrefix("kill") { seen[id, default: 0] += 1 } }
        XCTAssertEqual(seen.count, 600, "one record per call")
        XCTAssertTrue(seen.values.allSatisfy { $0 == 1 }, "no record twice: \(seen.filter { $0.value > 1 }.keys.prefix(5))")
        let byID = Dictionary(all.compactMap { r in (r["sip_call_id"] as? String).map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        XCTAssertTrue(completed.allSatisfy { byID[$0]?["disposition"] as? String == "completed" }, "finished calls stay completed")
        XCTAssertEqual(inFlight.filter { byID[$0]?["disposition"] as? String == "interrupted" }.count, inFlight.count,
                       "every call in flight is interrupted")
        XCTAssertFalse(all.contains { $0["disposition"] as? String == "active" })
    }

    private func records(_ d: DaemonUnderTest, of ids: [String]) -> [[String: Any]] {
        let wanted = Set(ids)
        let r = d.records().filter { ($0["sip_call_id"] as? String).map(wanted.contains) == true }
        return r.count == ids.count ? r : [["disposition": "missing"]]
    }
}
