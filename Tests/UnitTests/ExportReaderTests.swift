import Foundation
@testable import Metering
import XCTest

/// The export-file reader on damaged and foreign input: strict RFC 4180 CSV, strict JSON
/// for the flat objects the exports write, strict UTF-8, limits; every error names
/// `file:line`.
final class ExportReaderTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func write(_ name: String, _ bytes: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    /// The error reading calls from `text` (nil if it read), and how many records came out.
    private func readCalls(_ text: String, name: String = "c.csv") throws -> (error: String?, count: Int) {
        try readCalls(Data(text.utf8), name: name)
    }

    private func readCalls(_ bytes: Data, name: String) throws -> (error: String?, count: Int) {
        let path = try write(name, bytes)
        var n = 0
        do { try ExportFileReader.forEachCall(path: path) { _ in n += 1 } } catch { return ("\(error)", n) }
        return (nil, n)
    }

    private let header = CDRExporter.fields.joined(separator: ",")

    private func row(_ id: String, flow: String = "f.xml", tenant: String = "t", disposition: String = "completed") -> String {
        "\(id),\(id)@h,+18005963057,\(tenant),+12025550123,+18005963057,2026-11-10T15:00:00.000Z,2026-11-10T15:00:02.000Z,"
            + "2026-11-10T15:01:03.000Z,61000,61,\(disposition),200,caller,\(flow),false,0,0,0,,0,inbound,,0,0,,,,,,"
    }

    private func jsonRow(_ id: String, tenant: String = "\"t\"", flow: String = "\"f.xml\"") -> String {
        #"{"call_id":"\#(id)","sip_call_id":"s","did":"+18005963057","tenant":\#(tenant),"from":"+1","to":"+1","#
            + #""start_time":"2026-11-10T15:00:00.000Z","answer_time":null,"end_time":"2026-11-10T15:00:05.000Z","#
            + #""duration_ms":0,"billable_seconds":0,"disposition":"canceled","sip_code":487,"hangup_by":"caller","#
            + #""flow":\#(flow),"emergency":false,"rtp_sent":0,"rtp_received":0,"rtp_dropped":0,"recording_url":"","#
            + #""recording_seconds":0,"direction":"inbound","parent_call_id":"","rtp_expected":0,"rtp_lost":0,"#
            + #""jitter_mean_ms":null,"jitter_max_ms":null,"peer_rtp_lost":null,"peer_jitter_ms":null,"rtt_ms":null,"mos":null}"#
    }

    func testBareQuoteInAnUnquotedFieldIsAnError() throws {
        // Old reader: the quote opened a field that swallowed rows up to the next quote.
        let text = [header, row("c1"), row("c2", flow: "say \"hi"), row("c3"), row("c4", flow: "bye\""), row("c5")]
            .joined(separator: "\n") + "\n"
        let r = try readCalls(text)
        XCTAssertTrue(r.error?.contains("c.csv:3: quote inside unquoted field 15 (flow)") == true, r.error ?? "no error")
    }

    func testTextAfterAClosingQuoteIsAnError() throws {
        let r = try readCalls([header, row("c1", flow: "\"a\"b")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: text after the closing quote of field 15 (flow)") == true, r.error ?? "no error")
    }

    func testWrongFieldCountIsAnError() throws {
        var r = try readCalls([header, row("c1"), row("c2") + ",extra"].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:3: 32 fields, the header has 31") == true, r.error ?? "no error")
        r = try readCalls([header, row("c1"), "c2,only,three"].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:3: 3 fields, the header has 31") == true, r.error ?? "no error")
    }

    func testLineNumbersCountTheLinesInsideQuotedFields() throws {
        let text = [header, row("c1", flow: "\"two\nlines\""), row("c2", flow: "\"three\r\nmore\nlines\""),
                    row("c3", disposition: "exploded")].joined(separator: "\n")
        let r = try readCalls(text)
        XCTAssertTrue(r.error?.contains("c.csv:7: unknown disposition 'exploded'") == true, r.error ?? "no error")
        XCTAssertEqual(r.count, 2)
    }

    func testNonUTF8IsAnErrorInCSVAndJSON() throws {
        var csv = Data((header + "\n" + row("c1", tenant: "t\u{1}") + "\n").utf8)
        csv[csv.lastIndex(of: 1)!] = 0xFF
        XCTAssertTrue(try readCalls(csv, name: "c.csv").error?.contains("c.csv:2: tenant: not valid UTF-8") == true)
        var json = Data((jsonRow("c1", tenant: "\"t\u{1}\"") + "\n").utf8)
        json[json.lastIndex(of: 1)!] = 0xC0
        let r = try readCalls(json, name: "c.jsonl")
        XCTAssertTrue(r.error?.contains("c.jsonl:1: tenant: not valid UTF-8") == true, r.error ?? "no error")
    }

    func testJSONMustBeFlatAndWellFormed() throws {
        let cases: [(String, String)] = [
            (jsonRow("c1", flow: #"{"a":1}"#), "c.jsonl:2: flow: nested object"),
            (jsonRow("c1", flow: "[1]"), "c.jsonl:2: flow: nested array"),
            (jsonRow("c1", flow: #""\ud800x""#), "c.jsonl:2: flow: lone surrogate"),
            (jsonRow("c1") + " x", "c.jsonl:2: text after the object"),
            (jsonRow("c1", flow: #""a","flow":"b""#), "c.jsonl:2: duplicate key 'flow'"),
            (jsonRow("c1", flow: "1"), "c.jsonl:2: flow: must be a string"),
            (jsonRow("c1").replacingOccurrences(of: "\"sip_code\":487", with: "\"sip_code\":4.87"),
             "c.jsonl:2: sip_code: must be a whole number"),
        ]
        for (line, expected) in cases {
            let error = try readCalls(jsonRow("c0") + "\n" + line + "\n", name: "c.jsonl").error ?? "no error"
            XCTAssertTrue(error.contains(expected), "\(line): \(error)")
        }
    }

    func testJSONStringEscapesDecode() throws {
        let path = try write("c.jsonl", Data((jsonRow("c1", flow: #""\u00e9\ud83d\ude00\n\"\\\/""#) + "\n").utf8))
        var flows: [String] = []
        try ExportFileReader.forEachCall(path: path) { flows.append($0.flow) }
        XCTAssertEqual(flows, ["é😀\n\"\\/"])
    }

    func testLinesLongerThanTheLimitAreRefused() throws {
        let long = String(repeating: "x", count: (1 << 20) + 10)
        let r = try readCalls([header, row("c1"), row("c2", flow: long)].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:3: record longer than 1048576 bytes") == true, r.error ?? "no error")
    }

    func testFieldsThatDoNotParseAreErrorsNotDefaults() throws {
        var r = try readCalls([header, row("c1").replacingOccurrences(of: ",200,", with: ",2OO,")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: sip_code: must be a whole number") == true, r.error ?? "no error")
        r = try readCalls([header, row("c1").replacingOccurrences(of: ",inbound,", with: ",sideways,")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: unknown direction 'sideways'") == true, r.error ?? "no error")
        r = try readCalls([header, row("c1").replacingOccurrences(of: ",61,", with: ",9223372036854775000,")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: billable_seconds: 9223372036854775000 is out of range") == true, r.error ?? "no error")
    }

    /// Negative numbers past Int.min: the overflowed value was negated and trapped (make fuzz
    /// killed `bill` with SIGILL on such a field).
    func testNegativeNumbersPastTheRangeAreErrorsNotTraps() throws {
        for value in ["-9223372036854775808", "-9223372036854775809", "-99999999999999999999999"] {
            let r = try readCalls([header, row("c1").replacingOccurrences(of: ",61000,", with: ",\(value),")].joined(separator: "\n"))
            XCTAssertTrue(r.error?.contains("c.csv:2: duration_ms: \(value.prefix(40)) is out of range") == true, r.error ?? "no error")
        }
    }

    func testForeignHeaderIsRefused() throws {
        let r = try readCalls("message_id,tenant,received_time,segments\nSM1,t,2026-11-10T15:00:00Z,1\n")
        XCTAssertTrue(r.error?.contains("c.csv:1: not a call export: the header lacks call_id") == true, r.error ?? "no error")
    }

    func testTwoFactorLinesAreStrict() throws {
        let path = try write("2fa.jsonl", Data("""
            {"tenant": "t", "time": "2026-11-03T10:00:00Z", "count": 2}
            {"tenant": "t", "time": "2026-11-03T10:00:00Z", "count": 1.5}

            """.utf8))
        var n = 0
        XCTAssertThrowsError(try ExportFileReader.forEachTwoFactor(path: path) { _ in n += 1 }) { error in
            XCTAssertTrue("\(error)".contains("2fa.jsonl:2: count: must be a whole number"), "\(error)")
        }
    }

    func testCSVStructureErrorsNameTheLine() throws {
        var r = try readCalls([header, row("c1"), row("c2", flow: "\"never closed")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:3: unterminated quoted field 15 (flow)") == true, r.error ?? "no error")
        r = try readCalls([header, row("c1", flow: "a\rb")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: carriage return inside unquoted field 15 (flow)") == true, r.error ?? "no error")
        r = try readCalls([header, String(repeating: "x,", count: 70)].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: more than 64 fields") == true, r.error ?? "no error")
        r = try readCalls(header + ",call_id\n")
        XCTAssertTrue(r.error?.contains("c.csv:1: header: column 'call_id' appears twice") == true, r.error ?? "no error")
    }

    func testForeignButWellFormedInputReads() throws {
        // A byte order mark, CRLF line ends, blank lines, a header-only file, keys in another
        // order with spaces and an escaped key, unknown columns and keys.
        var r = try readCalls(Data([0xEF, 0xBB, 0xBF] + Array((header + ",extra\r\n\r\n" + row("c1") + ",x\r\n\n").utf8)), name: "c.csv")
        XCTAssertNil(r.error)
        XCTAssertEqual(r.count, 1)
        r = try readCalls(header + "\n")
        XCTAssertEqual(r.count, 0)
        XCTAssertNil(r.error)
        let reordered = #"  { "tenant" : "t", "note": [1], "call_\u0069d": "c9", "start_time": "2026-11-10T15:00:00Z", "#
            + #""answer_time": "2026-11-10T15:00:01+01:00", "end_time": "2026-11-10T15:00:09Z", "billable_seconds": 8, "#
            + #""disposition": "completed" }"#
        let path = try write("c.jsonl", Data(reordered.utf8))
        XCTAssertThrowsError(try ExportFileReader.forEachCall(path: path) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("c.jsonl:1: note: nested array"), "\(error)")
        }
        let fine = try write("d.jsonl", Data(reordered.replacingOccurrences(of: #""note": [1]"#, with: #""note": null"#).utf8))
        var calls: [CallDetailRecord] = []
        try ExportFileReader.forEachCall(path: fine) { calls.append($0) }
        XCTAssertEqual(calls.map(\.callID), ["c9"])
        XCTAssertEqual(calls.first?.billableSeconds, 8)
        XCTAssertEqual(calls.first?.answerTime?.timeIntervalSince1970, calls.first.map { $0.startTime.timeIntervalSince1970 - 3599 })
    }

    func testMissingRequiredValuesAreErrors() throws {
        var r = try readCalls(jsonRow("c1").replacingOccurrences(of: #""answer_time":null,"#, with: "") + "\n", name: "c.jsonl")
        XCTAssertTrue(r.error?.contains("c.jsonl:1: missing key 'answer_time'") == true, r.error ?? "no error")
        r = try readCalls(jsonRow("c1").replacingOccurrences(of: #""call_id":"c1""#, with: #""call_id":null"#) + "\n", name: "c.jsonl")
        XCTAssertTrue(r.error?.contains("c.jsonl:1: call_id: must not be null") == true, r.error ?? "no error")
        r = try readCalls([header, row("")].joined(separator: "\n"))
        XCTAssertTrue(r.error?.contains("c.csv:2: missing call_id") == true, r.error ?? "no error")
    }
}
