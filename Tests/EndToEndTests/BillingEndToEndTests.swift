import Foundation
import XCTest

/// `tollfreed bill` over what the daemon recorded, from the live store and from export
/// files (billing on another machine), and the export filters.
final class BillingEndToEndTests: XCTestCase {
    func testInvoicesFromTheStoreAndFromExportsAgree() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        // Two answered calls (about 2 s each) and a rejected one, plus two messages.
        for i in 0..<2 {
            XCTAssertEqual(d.sipp("uac_listen.xml", dial: "8005963057", tag: "bill-\(i)", extra: ["-d", "1500"]).status, 0)
        }
        XCTAssertEqual(d.sipp("uac_expect_404.xml", dial: "8005550199", tag: "bill-404").status, 0)
        let caller = RawSIPCaller(daemonPort: d.sipPort)
        XCTAssertEqual(caller.message(to: "8005963057", body: Array("Hello".utf8)), 200)
        XCTAssertEqual(caller.message(to: "8005963057", body: Array(String(repeating: "x", count: 200).utf8)), 200)
        d.stop()

        let config = d.configPath.path
        let plans = Paths.repo.appendingPathComponent("Config/plans.json").path
        let period = currentPeriod()
        let live = runProgram(Paths.daemon, ["bill", "--period", period, "--tenant", "healthcare-client-001", "--format", "json",
                                             "--config", config, "--plans", plans, "--data", d.dataDir.path])
        XCTAssertEqual(live.status, 0, live.output)
        let invoices = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(live.output.utf8)) as? [[String: Any]], live.output)
        XCTAssertEqual(invoices.count, 1)
        let invoice = invoices[0]
        XCTAssertEqual(invoice["tenant"] as? String, "healthcare-client-001")
        XCTAssertEqual(invoice["plan"] as? String, "professional")
        XCTAssertEqual(invoice["calls"] as? Int, 2, "the 404 is free and not the tenant's")
        let lines = try XCTUnwrap(invoice["lines"] as? [[String: Any]])
        func line(_ item: String) -> [String: Any]? { lines.first { $0["item"] as? String == item } }
        // Two answered calls of about 1.5 s each, 60/60 increments: two billed minutes.
        XCTAssertEqual(line("voice_minutes")?["used"] as? Int, 2, "\(lines)")
        XCTAssertEqual(line("voice_minutes")?["billed_seconds"] as? Int, 120)
        XCTAssertEqual(line("sms_segments")?["used"] as? Int, 3, "1 part + 2 parts")
        XCTAssertEqual(invoice["total"] as? String, "299.00", "all within the allowance")

        // The same from export files.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-bill-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cdrs = runProgram(Paths.daemon, ["cdr", "export", "--format", "csv", "--data", d.dataDir.path])
        let sms = runProgram(Paths.daemon, ["sms", "export", "--format", "jsonl", "--data", d.dataDir.path])
        try Data(cdrs.output.utf8).write(to: dir.appendingPathComponent("cdrs.csv"))
        try Data(sms.output.utf8).write(to: dir.appendingPathComponent("sms.jsonl"))
        let offline = runProgram(Paths.daemon, ["bill", "--period", period, "--tenant", "healthcare-client-001", "--format", "json",
                                                "--config", config, "--plans", plans,
                                                "--cdrs", dir.appendingPathComponent("cdrs.csv").path,
                                                "--messages", dir.appendingPathComponent("sms.jsonl").path])
        XCTAssertEqual(offline.status, 0, offline.output)
        XCTAssertEqual(offline.output, live.output, "rating the exports gives the same invoice")

        // Export filters: nothing starts in the far future; everything after 2000.
        let none = runProgram(Paths.daemon, ["cdr", "export", "--format", "jsonl", "--from", "2100-01-01", "--data", d.dataDir.path])
        XCTAssertEqual(none.output.trimmingCharacters(in: .whitespacesAndNewlines), "")
        let all = runProgram(Paths.daemon, ["cdr", "export", "--format", "jsonl", "--from", "2000-01-01", "--to", "2100-01-01T00:00:00Z",
                                            "--data", d.dataDir.path])
        XCTAssertEqual(all.output.split(separator: "\n").count, 3)
        let bad = runProgram(Paths.daemon, ["bill", "--period", "2026-13"])
        XCTAssertEqual(bad.status, 2)

        // A data directory without its recording key (records copied elsewhere): the export
        // is refused (it cannot be audited) with the way out, not a bare file error.
        let key = d.dataDir.appendingPathComponent("keys/recording.key")
        let aside = d.dataDir.appendingPathComponent("recording.key.aside")
        try FileManager.default.moveItem(at: key, to: aside)
        let unkeyed = runProgram(Paths.daemon, ["cdr", "export", "--format", "csv", "--data", d.dataDir.path])
        XCTAssertEqual(unkeyed.status, 1)
        XCTAssertTrue(unkeyed.output.contains("tollfreed keygen --out \(key.path)"), unkeyed.output)
        try FileManager.default.moveItem(at: aside, to: key)
    }
}
