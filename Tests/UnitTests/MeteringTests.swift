import Foundation
@testable import Metering
import Observability
import XCTest

private let t0 = Date(timeIntervalSince1970: 1_800_000_000.456)

func makeRecord(_ id: String, answeredAfter ring: Double? = 2, duration: Double = 61.2, disposition: Disposition = .completed,
                from: String = "+12025550123", tenant: String = "healthcare-client-001", flow: String = "healthcare-intake.xml",
                emergency: Bool = false) -> CallDetailRecord {
    let answer = ring.map { t0.addingTimeInterval($0) }
    return CallDetailRecord(callID: id, sipCallID: "\(id)@192.0.2.10", did: "+18005963057", tenant: tenant,
                            fromNumber: from, toNumber: "sip:+18005963057@127.0.0.1", startTime: t0,
                            answerTime: answer, endTime: (answer ?? t0).addingTimeInterval(duration),
                            disposition: disposition, sipCode: answer == nil ? 487 : 200,
                            hangupBy: answer == nil ? .caller : .daemon, flow: flow, emergency: emergency,
                            rtpSent: 3060, rtpReceived: 3055, rtpDropped: 5)
}

/// Splits one RFC 4180 CSV line into fields.
private func csvFields(_ line: String) -> [String] {
    var fields: [String] = [], current = "", quoted = false
    var chars = Array(line)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { current.append("\""); chars.removeFirst() } else { quoted = false }
            } else { current.append(c) }
        } else if c == "\"" { quoted = true
        } else if c == "," { fields.append(current); current = ""
        } else { current.append(c) }
    }
    return fields + [current]
}

final class CallDetailRecordTests: XCTestCase {
    func testAnsweredCallDurations() {
        let r = makeRecord("a", duration: 61.2)
        XCTAssertEqual(r.durationMs, 61_200)
        XCTAssertEqual(r.billableSeconds, 62)
        XCTAssertEqual(makeRecord("b", duration: 60).billableSeconds, 60, "whole seconds are not rounded up")
        XCTAssertEqual(makeRecord("c", duration: 60.001).billableSeconds, 61)
        XCTAssertEqual(makeRecord("d", duration: 0.3).billableSeconds, 1)
        XCTAssertEqual(makeRecord("e", duration: 0).billableSeconds, 0)
    }

    func testNeverAnsweredIsFree() {
        let r = makeRecord("a", answeredAfter: nil, duration: 30, disposition: .canceled)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.durationMs, 0)
        XCTAssertEqual(r.billableSeconds, 0)
    }

    func testEndBeforeAnswerIsClampedToZero() {
        let r = CallDetailRecord(callID: "x", sipCallID: "x", did: "", tenant: "", fromNumber: "", toNumber: "",
                                 startTime: t0, answerTime: t0.addingTimeInterval(5), endTime: t0.addingTimeInterval(4),
                                 disposition: .completed, sipCode: 200, hangupBy: .caller, flow: "")
        XCTAssertEqual(r.durationMs, 0)
        XCTAssertEqual(r.billableSeconds, 0)
    }
}

final class SQLiteCDRStoreTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tf-cdr-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func all(_ store: SQLiteCDRStore) throws -> [CallDetailRecord] {
        var out: [CallDetailRecord] = []
        try store.forEach { out.append($0) }
        return out
    }

    private func assertSame(_ a: CallDetailRecord, _ b: CallDetailRecord, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.startTime.timeIntervalSince1970, b.startTime.timeIntervalSince1970, accuracy: 0.001, file: file, line: line)
        XCTAssertEqual(a.endTime.timeIntervalSince1970, b.endTime.timeIntervalSince1970, accuracy: 0.001, file: file, line: line)
        XCTAssertEqual(a.answerTime == nil, b.answerTime == nil, file: file, line: line)
        if let x = a.answerTime, let y = b.answerTime {
            XCTAssertEqual(x.timeIntervalSince1970, y.timeIntervalSince1970, accuracy: 0.001, file: file, line: line)
        }
        // Every other field (durations, codes, counters, strings) must be identical.
        var a2 = a
        a2.startTime = b.startTime; a2.endTime = b.endTime; a2.answerTime = b.answerTime
        XCTAssertEqual(a2, b, file: file, line: line)
    }

    func testAppendCountAndReadBackInOrder() throws {
        let store = try SQLiteCDRStore(directory: directory)
        XCTAssertEqual(try store.count(), 0)
        let records = [makeRecord("c1"), makeRecord("c2", answeredAfter: nil, disposition: .canceled),
                       makeRecord("c3", from: "=cmd()", tenant: "t, \"quoted\"", emergency: true)]
        try store.append(Array(records.prefix(2)))
        try store.append([records[2]])
        try store.append([])
        XCTAssertEqual(try store.count(), 3)
        let back = try all(store)
        XCTAssertEqual(back.map(\.callID), ["c1", "c2", "c3"])
        for (a, b) in zip(back, records) { assertSame(a, b) }
        XCTAssertNil(back[1].answerTime)
        XCTAssertEqual(back[1].billableSeconds, 0)
        XCTAssertEqual(back[0].billableSeconds, 62)
        XCTAssertTrue(back[2].emergency)
        XCTAssertEqual(store.path, (directory as NSString).appendingPathComponent("cdr.sqlite"))
    }

    func testOutboundLegKeepsItsDirectionAndParent() throws {
        let store = try SQLiteCDRStore(directory: directory)
        var leg = makeRecord("leg1")
        leg.direction = .outbound
        leg.parentCallID = "c1"
        try store.append([makeRecord("c1"), leg])
        let back = try all(store)
        XCTAssertEqual(back.map(\.direction), [.inbound, .outbound])
        XCTAssertEqual(back.map(\.parentCallID), ["", "c1"])
        assertSame(back[1], leg)
    }

    func testSameCallIDIsNeitherDuplicatedNorChanged() throws {
        let store = try SQLiteCDRStore(directory: directory)
        let original = makeRecord("dup", duration: 10)
        try store.append([original])
        var changed = makeRecord("dup", duration: 99, disposition: .failed)
        changed.sipCode = 500
        try store.append([changed, makeRecord("other")])
        XCTAssertEqual(try store.count(), 2)
        let back = try all(store)
        XCTAssertEqual(back.map(\.callID), ["dup", "other"])
        assertSame(back[0], original)
        XCTAssertEqual(back[0].billableSeconds, 10)
    }

    func testRecordsSurviveReopen() throws {
        do {
            let store = try SQLiteCDRStore(directory: directory)
            try store.append([makeRecord("r1"), makeRecord("r2")])
        }
        let reopened = try SQLiteCDRStore(directory: directory)
        XCTAssertEqual(try reopened.count(), 2)
        try reopened.append([makeRecord("r3")])
        let readOnly = try SQLiteCDRStore(directory: directory, readOnly: true)
        XCTAssertEqual(try all(readOnly).map(\.callID), ["r1", "r2", "r3"])
        XCTAssertThrowsError(try readOnly.append([makeRecord("r4")]), "a read-only store refuses writes")
        XCTAssertEqual(try reopened.count(), 3)
    }

    func testReadOnlyOpenOfMissingDirectoryThrows() {
        XCTAssertThrowsError(try SQLiteCDRStore(directory: directory + "/missing", readOnly: true)) { e in
            XCTAssertTrue("\(e)".contains("cannot open"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/missing"), "read-only must not create it")
    }

    func testWriterStoresEverythingOnFlush() throws {
        let store = try SQLiteCDRStore(directory: directory)
        let writer = CDRWriter(store: store, logger: Logger(minimumLevel: .debug, journald: false, sink: MemorySink()))
        let ids = (0..<200).map { "w\($0)" }
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for id in ids[(part * 50)..<(part * 50 + 50)] { writer.submit(makeRecord(id)) }
        }
        writer.flush()
        XCTAssertEqual(try store.count(), 200)
        XCTAssertEqual(Set(try all(store).map(\.callID)), Set(ids))
    }

    func testWriterKeepsRecordsWhenTheStoreFails() throws {
        final class FlakyStore: CDRStore, @unchecked Sendable {
            let inner: SQLiteCDRStore
            let lock = NSLock()
            var failuresLeft = 5
            init(_ inner: SQLiteCDRStore) { self.inner = inner }
            func apply(_ operations: [CDROperation]) throws {
                let fail = lock.withLock { () -> Bool in
                    if failuresLeft > 0 { failuresLeft -= 1; return true }
                    return false
                }
                if fail { throw StoreError("disk full") }
                try inner.apply(operations)
            }
            func recoverInterrupted() throws -> Int { try inner.recoverInterrupted() }
            func forEach(from: Date?, to: Date?, _ body: (CallDetailRecord) throws -> Void) throws {
                try inner.forEach(from: from, to: to, body)
            }
            func forEachMessage(from: Date?, to: Date?, _ body: (MessageDetailRecord) throws -> Void) throws {
                try inner.forEachMessage(from: from, to: to, body)
            }
            func count() throws -> Int { try inner.count() }
        }
        let sink = MemorySink()
        let store = FlakyStore(try SQLiteCDRStore(directory: directory))
        let writer = CDRWriter(store: store, logger: Logger(minimumLevel: .info, journald: true, sink: sink))
        writer.submit(makeRecord("k1"))
        writer.submit(makeRecord("k2"))
        writer.flush()
        XCTAssertEqual(try store.count(), 2, "records that failed five times are retried, not dropped")
        XCTAssertEqual(sink.lines.filter { $0.hasPrefix("<3>cdr.write_failed") }.count, 5)
    }
}

final class CDRExporterTests: XCTestCase {
    func testCSVHeader() {
        XCTAssertEqual(CDRExporter(format: .csv).header, CDRExporter.fields.joined(separator: ","))
        XCTAssertEqual(CDRExporter.fields.count, 31)
        XCTAssertEqual(Array(CDRExporter.fields[19..<23]), ["recording_url", "recording_seconds", "direction", "parent_call_id"])
        XCTAssertEqual(Array(CDRExporter.fields.suffix(8)), CallQuality.columns)
        XCTAssertNil(CDRExporter(format: .jsonl).header)
    }

    func testCSVLineFieldsInHeaderOrder() {
        let fields = csvFields(CDRExporter(format: .csv).line(makeRecord("c1", emergency: true)))
        XCTAssertEqual(fields.count, CDRExporter.fields.count)
        let row = Dictionary(uniqueKeysWithValues: zip(CDRExporter.fields, fields))
        XCTAssertEqual(row["call_id"], "c1")
        XCTAssertEqual(row["from"], "+12025550123", "a phone number is not treated as a formula")
        XCTAssertEqual(row["did"], "+18005963057")
        XCTAssertEqual(row["start_time"], "2027-01-15T08:00:00.456Z")
        XCTAssertEqual(row["answer_time"], "2027-01-15T08:00:02.456Z")
        XCTAssertEqual(row["end_time"], "2027-01-15T08:01:03.656Z")
        XCTAssertEqual(row["duration_ms"], "61200")
        XCTAssertEqual(row["billable_seconds"], "62")
        XCTAssertEqual(row["disposition"], "completed")
        XCTAssertEqual(row["sip_code"], "200")
        XCTAssertEqual(row["hangup_by"], "daemon")
        XCTAssertEqual(row["emergency"], "true")
        XCTAssertEqual(row["rtp_sent"], "3060")
        XCTAssertEqual(row["rtp_dropped"], "5")
    }

    func testCSVUnansweredHasEmptyAnswerTime() {
        let fields = csvFields(CDRExporter(format: .csv).line(makeRecord("c2", answeredAfter: nil, disposition: .canceled)))
        XCTAssertEqual(fields[7], "")
        XCTAssertEqual(fields[10], "0")
    }

    func testCSVQuotingPerRFC4180() {
        let line = CDRExporter(format: .csv).line(makeRecord("c3", tenant: "Acme, Inc.", flow: "say \"hi\""))
        XCTAssertTrue(line.contains(",\"Acme, Inc.\","), line)
        XCTAssertTrue(line.contains(",\"say \"\"hi\"\"\","), line)
        let fields = csvFields(line)
        XCTAssertEqual(fields[3], "Acme, Inc.")
        XCTAssertEqual(fields[14], "say \"hi\"")
        let multi = CDRExporter(format: .csv).line(makeRecord("c4", flow: "a\nb"))
        XCTAssertTrue(multi.contains(",\"a\nb\","), multi)
    }

    func testCSVFormulaInjectionIsNeutralised() {
        let exporter = CDRExporter(format: .csv)
        for (from, expected) in [("=cmd()", "'=cmd()"), ("@SUM(A1)", "'@SUM(A1)"), ("-1+2", "'-1+2"), ("+", "'+"),
                                 ("+18005963057", "+18005963057"), ("-42", "-42"), ("anonymous", "anonymous"),
                                 ("'=x", "''=x"), ("''", "'''"), ("'a", "'a"), ("'", "'")] {
            XCTAssertEqual(csvFields(exporter.line(makeRecord("f", from: from)))[4], expected, from)
        }
        let quoted = exporter.line(makeRecord("f", from: "=HYPERLINK(\"x\",\"y\")"))
        XCTAssertTrue(quoted.contains(",\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\","), quoted)
    }

    func testJSONLinesParse() throws {
        let exporter = CDRExporter(format: .jsonl)
        let answered = exporter.line(makeRecord("j1", from: "tab\there \"q\" \\ \u{01}"))
        let unanswered = exporter.line(makeRecord("j2", answeredAfter: nil, disposition: .canceled))
        for line in [answered, unanswered] { XCTAssertFalse(line.contains("\n"), line) }

        let a = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(answered.utf8)) as? [String: Any])
        XCTAssertEqual(Set(a.keys), Set(CDRExporter.fields))
        XCTAssertEqual(a["call_id"] as? String, "j1")
        XCTAssertEqual(a["from"] as? String, "tab\there \"q\" \\ \u{01}")
        XCTAssertEqual(a["answer_time"] as? String, "2027-01-15T08:00:02.456Z")
        XCTAssertEqual((a["duration_ms"] as? NSNumber)?.intValue, 61_200)
        XCTAssertEqual((a["billable_seconds"] as? NSNumber)?.intValue, 62)
        XCTAssertEqual((a["rtp_received"] as? NSNumber)?.intValue, 3055)
        XCTAssertEqual(a["emergency"] as? Bool, false)
        XCTAssertTrue(answered.contains("\"emergency\":false"), answered)

        let u = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(unanswered.utf8)) as? [String: Any])
        XCTAssertTrue(u["answer_time"] is NSNull, "answer_time must be null, got \(String(describing: u["answer_time"]))")
        XCTAssertEqual(u["disposition"] as? String, "canceled")
        XCTAssertEqual((u["billable_seconds"] as? NSNumber)?.intValue, 0)
    }

    func testISOFormat() {
        XCTAssertEqual(CDRExporter.iso(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(CDRExporter.iso(Date(timeIntervalSince1970: 1_800_000_000.9996)), "2027-01-15T08:00:01.000Z")
    }
}

/// Records begun at admission, finished, checkpointed and recovered.
extension SQLiteCDRStoreTests {
    func testActiveRecordIsFinishedOnceAndNeverChangedAfter() throws {
        let store = try SQLiteCDRStore(directory: directory)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var active = CallDetailRecord(callID: "a1", sipCallID: "s", did: "+18005963057", tenant: "t", fromNumber: "+12025550123",
                                      toNumber: "8005963057", startTime: t0, answerTime: nil, endTime: t0,
                                      disposition: .active, sipCode: 0, hangupBy: .none, flow: "f.xml")
        try store.apply([.insert(active)])
        try store.apply([.checkpoint([("a1", t0.addingTimeInterval(1))], at: t0.addingTimeInterval(6))])
        var done = active
        done.answerTime = t0.addingTimeInterval(1)
        done.endTime = t0.addingTimeInterval(9.5)
        done.disposition = .completed
        done.durationMs = 8500
        done.billableSeconds = 9
        done.sipCode = 200
        done.hangupBy = .caller
        try store.apply([.finish(done)])
        active.disposition = .failed
        try store.apply([.finish(active), .insert(active)])   // late duplicates change nothing
        XCTAssertEqual(try store.recoverInterrupted(), 0)
        let all = try all(store)
        XCTAssertEqual(all.count, 1)
        XCTAssertEqual(all[0].disposition, .completed)
        XCTAssertEqual(all[0].billableSeconds, 9)
        XCTAssertEqual(all[0].hangupBy, .caller)
    }

    func testRecoveryClosesActiveRecordsAtTheirLastCheckpoint() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let store = try SQLiteCDRStore(directory: directory)
            let r = CallDetailRecord(callID: "crash", sipCallID: "s", did: "+18005963057", tenant: "t", fromNumber: "f",
                                     toNumber: "to", startTime: t0, answerTime: nil, endTime: t0,
                                     disposition: .active, sipCode: 0, hangupBy: .none, flow: "f.xml")
            let unanswered = CallDetailRecord(callID: "ringing", sipCallID: "s2", did: "+18005963057", tenant: "t", fromNumber: "f",
                                              toNumber: "to", startTime: t0, answerTime: nil, endTime: t0,
                                              disposition: .active, sipCode: 0, hangupBy: .none, flow: "f.xml")
            try store.apply([.insert(r), .insert(unanswered),
                             .checkpoint([("crash", t0.addingTimeInterval(2)), ("ringing", nil)], at: t0.addingTimeInterval(12.2))])
        } // the process "dies" here
        let reopened = try SQLiteCDRStore(directory: directory)
        XCTAssertEqual(try reopened.recoverInterrupted(), 2)
        XCTAssertEqual(try reopened.recoverInterrupted(), 0, "a restart never changes a closed record")
        let byID = Dictionary(uniqueKeysWithValues: try all(reopened).map { ($0.callID, $0) })
        XCTAssertEqual(byID["crash"]?.disposition, .interrupted)
        XCTAssertEqual(byID["crash"]?.durationMs, 10200)
        XCTAssertEqual(byID["crash"]?.billableSeconds, 11)
        XCTAssertEqual(byID["crash"]?.endTime, t0.addingTimeInterval(12.2))
        XCTAssertEqual(byID["ringing"]?.disposition, .interrupted)
        XCTAssertEqual(byID["ringing"]?.billableSeconds, 0)
    }
}
