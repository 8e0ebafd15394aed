import Foundation
import Metering
import Observability
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// `tollfreed bill --cdrs/--messages/--2fa` on foreign or damaged export files: it rates
/// every line or exits non-zero naming `file:line`, and prints no invoice.
final class BillImportTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-billimport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func file(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `bill` for November 2026 with the shipped config and plans.
    private func bill(tenant: String? = nil, cdrs: String? = nil, messages: String? = nil, twoFactor: String? = nil)
        -> (status: Int32, out: String, err: String) {
        let outPath = dir.appendingPathComponent("stdout").path, errPath = dir.appendingPathComponent("stderr").path
        let out = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600), err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var o = BillOptions(period: "2026-11")
        o.tenant = tenant
        o.format = "json"
        o.configPath = repositoryRoot.appendingPathComponent("Config/tollfreed.json").path
        o.cdrsPath = cdrs
        o.messagesPath = messages
        o.twoFactorPath = twoFactor
        o.dataDirectory = dir.appendingPathComponent("no-store").path
        let status = Commands.bill(o, out: FileDescriptorSink(fd: out), err: FileDescriptorSink(fd: err))
        close(out)
        close(err)
        return (status, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// A CSV call row in export column order, answered (billable) unless `billable` is 0.
    private func callRow(_ id: String, tenant: String = "healthcare-client-001", billable: Int = 61,
                         start: String = "2026-11-10T15:00:00.000Z") -> String {
        let answer = billable > 0 ? "2026-11-10T15:00:02.000Z" : ""
        return "\(id),\(id)@192.0.2.10,+18005963057,\(tenant),+12025550123,+18005963057,\(start),\(answer),"
            + "2026-11-10T15:01:03.000Z,\(billable < 1_000_000 ? billable * 1000 : 0),\(billable),\(billable > 0 ? "completed" : "canceled"),"
            + "\(billable > 0 ? 200 : 487),caller,healthcare-intake.xml,false,0,0,0,,0,inbound,,3050,2,1.5,9.0,,,,4.3"
    }

    private func csv(_ rows: [String]) -> String {
        ([CDRExporter.fields.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
    }

    private func invoiceCalls(_ out: String) throws -> [String: Int] {
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]], out)
        return Dictionary(uniqueKeysWithValues: list.map { ($0["tenant"] as! String, $0["calls"] as! Int) })
    }

    func testUnknownTenantInCDRsIsAnErrorWithFileAndLine() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1"), callRow("CA2", tenant: "nobody")]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:3: unknown tenant 'nobody'"), r.err)
        XCTAssertEqual(r.out, "", "no invoice when a line cannot be rated")
    }

    func testUnknownTenantInTwoFactorFileIsAnError() throws {
        let cdrs = try file("cdrs.csv", csv([callRow("CA1")]))
        let tfa = try file("2fa.jsonl", """
            {"tenant": "fleet-client-001", "time": "2026-11-03T10:00:00Z", "count": 2}
            {"tenant": "fleet-client-0001", "time": "2026-11-03T10:00:00Z", "count": 1}

            """)
        let r = bill(cdrs: cdrs, twoFactor: tfa)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("2fa.jsonl:2: unknown tenant 'fleet-client-0001'"), r.err)
        XCTAssertEqual(r.out, "")
    }

    func testOtherConfiguredTenantsAreSkippedForOneTenantsInvoice() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1"), callRow("CA2", tenant: "fleet-client-001")]))
        let r = bill(tenant: "healthcare-client-001", cdrs: path)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try invoiceCalls(r.out), ["healthcare-client-001": 1])
        let bad = try file("bad.csv", csv([callRow("CA1"), callRow("CA2", tenant: "nobody")]))
        XCTAssertEqual(bill(tenant: "healthcare-client-001", cdrs: bad).status, 1, "an unconfigured tenant is still an error")
    }

    func testAnsweredCallWithoutTenantIsAnError() throws {
        // An unanswered call to an unknown number has no tenant and is free: fine.
        let path = try file("cdrs.csv", csv([callRow("CA1", tenant: "", billable: 0), callRow("CA2", tenant: "")]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:3: answered call has no tenant"), r.err)
        XCTAssertEqual(r.out, "")
    }

    func testNonUTF8TenantIsAnError() throws {
        var text = Data(csv([callRow("CA1")]).utf8)
        text.append(Data(callRow("CA2", tenant: "healthcare-client-00\u{1}").utf8) + Data("\n".utf8))
        let i = text.lastIndex(of: 1)!
        text[i] = 0xC3   // a lone lead byte
        let path = dir.appendingPathComponent("cdrs.csv").path
        try text.write(to: URL(fileURLWithPath: path))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:3: tenant: not valid UTF-8"), r.err)
        XCTAssertEqual(r.out, "")
    }

    func testIdenticalDuplicateIsCountedOnceAndReported() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1"), callRow("CA2"), callRow("CA1")]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try invoiceCalls(r.out)["healthcare-client-001"], 2, "the repeated call is billed once")
        XCTAssertTrue(r.err.contains("1 duplicate call_id counted once"), r.err)
        XCTAssertTrue(r.err.contains("CA1"), r.err)
    }

    func testDuplicateMessageIsCountedOnce() throws {
        let cdrs = try file("cdrs.csv", csv([]))
        let line = #"{"message_id":"SM1","sip_call_id":"s@x","did":"+18005963057","tenant":"healthcare-client-001","from":"+12025550123","received_time":"2026-11-10T15:00:00.000Z","body_length":5,"encoding":"GSM-7","segments":2}"#
        let sms = try file("sms.jsonl", line + "\n" + line + "\n")
        let r = bill(cdrs: cdrs, messages: sms)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("\"messages\": 1") || r.out.contains("\"messages\":1"), r.out)
        XCTAssertTrue(r.err.contains("1 duplicate message_id counted once: SM1"), r.err)
    }

    func testDuplicateWithDifferentContentIsAnError() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1"), callRow("CA1", billable: 600)]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:3: call_id 'CA1' already seen at line 2 with different content"), r.err)
        XCTAssertEqual(r.out, "")
    }

    func testHugeBillableSecondsIsAnErrorNotATrap() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1", billable: Int.max - 1000)]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:2: billable_seconds"), r.err)
        XCTAssertEqual(r.out, "")
    }

    /// Exports made before the quality columns (23 columns, JSON without their keys) bill
    /// exactly as new ones.
    func testExportsWithAndWithoutQualityColumnsBillTheSame() throws {
        let rows = [callRow("CA1"), callRow("CA2", billable: 600), callRow("CA3", billable: 0)]
        let new = bill(cdrs: try file("new.csv", csv(rows)))
        XCTAssertEqual(new.status, 0, new.err)
        let oldRows = rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(23).joined(separator: ",") }
        let oldCSV = ([CDRExporter.fields.prefix(23).joined(separator: ",")] + oldRows).joined(separator: "\n") + "\n"
        let old = bill(cdrs: try file("old.csv", oldCSV))
        XCTAssertEqual(old.status, 0, old.err)
        XCTAssertEqual(old.out, new.out)
        XCTAssertEqual(try invoiceCalls(new.out)["healthcare-client-001"], 2)
        let oldJSON = #"{"call_id":"CA1","tenant":"healthcare-client-001","start_time":"2026-11-10T15:00:00.000Z","#
            + #""answer_time":"2026-11-10T15:00:02.000Z","end_time":"2026-11-10T15:01:03.000Z","billable_seconds":61,"#
            + #""disposition":"completed","parent_call_id":""}"#
        let json = bill(cdrs: try file("old.jsonl", oldJSON + "\n"))
        XCTAssertEqual(json.status, 0, json.err)
        XCTAssertEqual(try invoiceCalls(json.out)["healthcare-client-001"], 1)
    }

    func testAnImpossibleMOSIsAnErrorWithFileLineAndColumn() throws {
        let bad = callRow("CA2").replacingOccurrences(of: ",4.3", with: ",9.9")
        let r = bill(cdrs: try file("cdrs.csv", csv([callRow("CA1"), bad])))
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:3: mos: 9.9 is out of range 1.0...5.0"), r.err)
        XCTAssertEqual(r.out, "", "no invoice")
    }

    func testImpossibleDateIsAnError() throws {
        let path = try file("cdrs.csv", csv([callRow("CA1", start: "2026-11-31T10:00:00.000Z")]))
        let r = bill(cdrs: path)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("cdrs.csv:2: start_time"), r.err)
    }
}
