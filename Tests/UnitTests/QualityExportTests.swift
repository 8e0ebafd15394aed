import Foundation
@testable import Metering
import XCTest

/// The quality columns in `cdr export` files (appended after parent_call_id; one decimal;
/// nil empty/null) and reading them back: new exports, exports made before the columns
/// existed, and values out of range refused with file, line and column.
final class QualityExportTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-qexport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    private func read(_ path: String) throws -> [CallDetailRecord] {
        var out: [CallDetailRecord] = []
        try ExportFileReader.forEachCall(path: path) { out.append($0) }
        return out
    }

    /// The error reading `text` as file `name`, or nil.
    private func error(_ name: String, _ text: String) throws -> String? {
        let path = try write(name, text)
        do { _ = try read(path) } catch { return "\(error)" }
        return nil
    }

    private let oldCSVPart = "q1,q1@192.0.2.10,+18005963057,healthcare-client-001,+12025550123,sip:+18005963057@127.0.0.1,"
        + "2027-01-15T08:00:00.456Z,2027-01-15T08:00:02.456Z,2027-01-15T08:01:03.656Z,61200,62,completed,200,daemon,"
        + "healthcare-intake.xml,false,3060,3055,5,,0,inbound,"
    private let oldJSONPart = #"{"call_id":"q1","sip_call_id":"q1@192.0.2.10","did":"+18005963057","#
        + #""tenant":"healthcare-client-001","from":"+12025550123","to":"sip:+18005963057@127.0.0.1","#
        + #""start_time":"2027-01-15T08:00:00.456Z","answer_time":"2027-01-15T08:00:02.456Z","#
        + #""end_time":"2027-01-15T08:01:03.656Z","duration_ms":61200,"billable_seconds":62,"disposition":"completed","#
        + #""sip_code":200,"hangup_by":"daemon","flow":"healthcare-intake.xml","emergency":false,"rtp_sent":3060,"#
        + #""rtp_received":3055,"rtp_dropped":5,"recording_url":"","recording_seconds":0,"direction":"inbound","#
        + #""parent_call_id":"""#

    func testHeaderAppendsTheQualityColumnsAfterTheOldOnes() {
        XCTAssertEqual(CDRExporter.fields.count, 31)
        XCTAssertEqual(CDRExporter.fields[22], "parent_call_id", "the existing columns keep their positions")
        XCTAssertEqual(Array(CDRExporter.fields.suffix(8)), CallQuality.columns)
        XCTAssertEqual(CDRExporter(format: .csv).header?.hasSuffix(
            ",parent_call_id,rtp_expected,rtp_lost,jitter_mean_ms,jitter_max_ms,peer_rtp_lost,peer_jitter_ms,rtt_ms,mos"), true)
    }

    func testGoldenLines() {
        var q = qualityRecord("q1")
        q.quality.jitterMeanMs = 12.25
        q.quality.peerJitterMs = 3.04
        q.quality.roundTripMs = 0
        var none = makeRecord("q1")
        none.quality = CallQuality()
        let csv = CDRExporter(format: .csv), jsonl = CDRExporter(format: .jsonl)
        XCTAssertEqual(csv.line(q), oldCSVPart + ",3075,20,12.3,40.0,7,3.0,0.0,4.4")
        XCTAssertEqual(csv.line(none), oldCSVPart + ",0,0,,,,,,")
        XCTAssertEqual(jsonl.line(q), oldJSONPart + #","rtp_expected":3075,"rtp_lost":20,"jitter_mean_ms":12.3,"#
                       + #""jitter_max_ms":40.0,"peer_rtp_lost":7,"peer_jitter_ms":3.0,"rtt_ms":0.0,"mos":4.4}"#)
        XCTAssertEqual(jsonl.line(none), oldJSONPart + #","rtp_expected":0,"rtp_lost":0,"jitter_mean_ms":null,"#
                       + #""jitter_max_ms":null,"peer_rtp_lost":null,"peer_jitter_ms":null,"rtt_ms":null,"mos":null}"#)
    }

    /// One decimal, half away from zero, no exponent, no negative zero; what cannot be
    /// written as a number is not measured.
    func testDecimalFormat() {
        let cases: [(Double?, String)] = [(4.4, "4.4"), (12.25, "12.3"), (0.04, "0.0"), (-0.04, "0.0"), (-2.96, "-3.0"),
                                          (2.5e-7, "0.0"), (1e20, "1000000000000000.0"), (123_456.75, "123456.8"),
                                          (.nan, ""), (.infinity, ""), (nil, "")]
        for (value, expected) in cases {
            var r = makeRecord("d")
            r.quality.mos = value
            XCTAssertEqual(CDRExporter(format: .csv).line(r).split(separator: ",", omittingEmptySubsequences: false).last.map(String.init),
                           expected, "\(String(describing: value))")
            let json = CDRExporter(format: .jsonl).line(r)
            XCTAssertTrue(json.hasSuffix(#""mos":\#(expected.isEmpty ? "null" : expected)}"#), json)
        }
    }

    func testNewExportsReadBackIdentically() throws {
        var partial = qualityRecord("partial")
        partial.quality.jitterMeanMs = nil
        partial.quality.peerPacketsLost = nil
        partial.quality.peerJitterMs = 0
        partial.quality.mos = 1.0
        let records = [qualityRecord("q1"), makeRecord("none"), partial]
        for format in CDRExportFormat.allCases {
            let exporter = CDRExporter(format: format)
            let text = (exporter.header.map { [$0] } ?? []) + records.map(exporter.line)
            let back = try read(try write("new.\(format)", text.joined(separator: "\n") + "\n"))
            XCTAssertEqual(back.map(\.quality), records.map(\.quality), "\(format)")
        }
    }

    func testExportsMadeBeforeTheQualityColumnsStillRead() throws {
        let header = CDRExporter.fields.prefix(23).joined(separator: ",")
        var back = try read(try write("old.csv", header + "\n" + oldCSVPart + "\n"))
        XCTAssertEqual(back.map(\.callID), ["q1"])
        XCTAssertEqual(back.first?.quality, CallQuality(), "not measured")
        XCTAssertEqual(back.first?.billableSeconds, 62)
        back = try read(try write("old.jsonl", oldJSONPart + "}\n"))
        XCTAssertEqual(back.first?.quality, CallQuality())
        XCTAssertEqual(back.first?.parentCallID, "")
    }

    func testOutOfRangeAndMalformedValuesAreRefusedWithLineAndColumn() throws {
        let header = CDRExporter.fields.joined(separator: ",")
        let good = oldCSVPart + ",3075,20,12.5,40.0,7,3.0,0.5,4.4"
        let cases: [(String, String)] = [
            (",4.4", ",5.5"), (",4.4", ",0.9"), (",4.4", ",abc"), (",4.4", ",NaN"), (",4.4", ",1e400"), (",4.4", ",+4.4"),
            (",12.5,", ",-0.1,"), (",0.5,", ",.5,"), (",7,", ",-7,"), (",3075,", ",-1,"), (",3075,", ",,"),
        ]
        let expected = ["mos: 5.5 is out of range 1.0...5.0", "mos: 0.9 is out of range 1.0...5.0", "mos: must be a number like 12.5, not 'abc'",
                        "mos: must be a number like 12.5, not 'NaN'", "mos: must be a number like 12.5, not '1e400'",
                        "mos: must be a number like 12.5, not '+4.4'", "jitter_mean_ms: -0.1 is out of range 0.0...",
                        "rtt_ms: must be a number like 12.5, not '.5'", "peer_rtp_lost: -7 is out of range 0...",
                        "rtp_expected: -1 is out of range 0...", "rtp_expected: must be a whole number, not ''"]
        XCTAssertNil(try error("q.csv", [header, good].joined(separator: "\n")))
        for ((from, to), message) in zip(cases, expected) {
            let bad = good.replacingOccurrences(of: from, with: to)
            let e = try error("q.csv", [header, good.replacingOccurrences(of: "q1", with: "q0"), bad].joined(separator: "\n"))
            XCTAssertTrue(e?.contains("q.csv:3: \(message)") == true, "\(to): \(e ?? "no error")")
        }
        // JSON: the type too.
        let json = CDRExporter(format: .jsonl).line(qualityRecord("j1"))
        for (bad, message) in [(#""mos":"4.4""#, "mos: must be a number"), (#""mos":7.0"#, "mos: 7.0 is out of range"),
                               (#""mos":true"#, "mos: must be a number"), (#""rtp_lost":1.5"#, "rtp_lost: must be a whole number")] {
            let key = String(bad.prefix { $0 != ":" })
            let line = json.replacingOccurrences(of: #"\#(key):[^,}]*"#, with: bad, options: .regularExpression)
            let e = try error("q.jsonl", line + "\n")
            XCTAssertTrue(e?.contains("q.jsonl:1: \(message)") == true, "\(bad): \(e ?? "no error")")
        }
    }
}
