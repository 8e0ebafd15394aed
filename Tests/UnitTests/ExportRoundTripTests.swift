import Foundation
@testable import Metering
import XCTest

/// Export timestamps and the export-file reader used by `bill --cdrs`.
final class ExportRoundTripTests: XCTestCase {
    func testTimeFormattingMatchesTheCalendarAndParsesBack() throws {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = .gmt
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            // 1901..2100, millisecond resolution, including negative epochs.
            let ms = Int64.random(in: -2_177_452_800_000...4_102_444_799_999, using: &rng)
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            let text = CDRTime.format(date)
            var bytes: [UInt8] = []
            CDRTime.append(secondsSince1970: date.timeIntervalSince1970, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), text, "fast path agrees with gmtime for \(ms)")
            let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            XCTAssertEqual(String(text.prefix(19)), String(format: "%04d-%02d-%02dT%02d:%02d:%02d",
                                                           c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!))
            let back = try XCTUnwrap(CDRTime.parse(text))
            XCTAssertEqual(back.timeIntervalSince1970, Double(ms) / 1000, accuracy: 0.0005)
        }
        XCTAssertEqual(CDRTime.format(Date(timeIntervalSince1970: 1_795_315_323.456)), "2026-11-22T02:42:03.456Z")
        XCTAssertNil(CDRTime.parse("2026-11-22 02:42"))
        XCTAssertNil(CDRTime.parse("2026-13-22T02:42:03Z"))
        XCTAssertEqual(CDRTime.parse("2026-11-22T02:42:03+00:00")?.timeIntervalSince1970, 1_795_315_323)
    }

    func testTimeParsingValidatesTheCalendar() {
        XCTAssertNil(CDRTime.parse("2026-11-31T10:00:00Z"), "November has 30 days (not 1 December)")
        XCTAssertNil(CDRTime.parse("2026-02-29T10:00:00Z"), "2026 is not a leap year")
        XCTAssertNil(CDRTime.parse("2100-02-29T10:00:00Z"), "2100 is not a leap year")
        XCTAssertEqual(CDRTime.parse("2028-02-29T12:00:00Z")?.timeIntervalSince1970, 1_835_438_400)
        XCTAssertNotNil(CDRTime.parse("2000-02-29T12:00:00Z"))
        XCTAssertNil(CDRTime.parse("2026-11-30T24:00:00Z"))
        XCTAssertNil(CDRTime.parse("2026-11-30T23:60:00Z"))
        XCTAssertNil(CDRTime.parse("2026-11-30T23:59:60Z"))
        XCTAssertNil(CDRTime.parse("2026-11-30T23:59:59.Z"))
        XCTAssertNil(CDRTime.parse("2026-11-30T23:59:59.1234567890Z"), "at most nine fraction digits")
        XCTAssertNil(CDRTime.parse("2026-11-30T23:59:59+24:00"))
    }

    func testTimeFractionsAreTruncatedExactlyNotRoundedIntoTheNextMonth() throws {
        let december = 1_796_083_200.0
        let last = try XCTUnwrap(CDRTime.parse("2026-11-30T23:59:59.9999999Z"))
        XCTAssertLessThan(last.timeIntervalSince1970, december)
        XCTAssertEqual(last.timeIntervalSince1970, december - 0.001, accuracy: 1e-9, "truncated to milliseconds")
        XCTAssertTrue(BillingPeriod("2026-11")!.contains(last, timeZone: .gmt))
        XCTAssertEqual(CDRTime.parse("2026-11-22T02:42:03.123999999Z")?.timeIntervalSince1970 ?? 0, 1_795_315_323.123, accuracy: 1e-9)
    }

    func testTimeZoneOffsetsAreAppliedExactly() {
        XCTAssertEqual(CDRTime.parse("2026-11-22T04:42:03+02:00")?.timeIntervalSince1970, 1_795_315_323)
        XCTAssertEqual(CDRTime.parse("2026-11-21T21:12:03.5-05:30")?.timeIntervalSince1970, 1_795_315_323.5)
    }

    func testExportedRecordsReadBackIdenticallyFromCSVAndJSONLines() throws {
        var leg = makeRecord("leg-1", from: "=HYPERLINK(\"x\")", tenant: "t, \"quoted\"\nsecond line")
        leg.direction = .outbound
        leg.parentCallID = "parent-1"
        leg.recordingURL = "file:///rec/a.wav file:///rec/b.wav"
        var records = [makeRecord("c1"), makeRecord("c2", answeredAfter: nil, disposition: .canceled), leg]
        for side in HangupSide.allCases {
            var r = makeRecord("hangup-\(side.rawValue)")
            r.hangupBy = side
            records.append(r)
        }
        for format in CDRExportFormat.allCases {
            let exporter = CDRExporter(format: format)
            var text = exporter.header.map { $0 + "\n" } ?? ""
            for r in records { text += exporter.line(r) + "\n" }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-export-\(UUID().uuidString).\(format)").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            var back: [CallDetailRecord] = []
            try ExportFileReader.forEachCall(path: path) { back.append($0) }
            XCTAssertEqual(back.count, records.count, "\(format)")
            for (a, b) in zip(back, records) {
                XCTAssertEqual(a.callID, b.callID)
                XCTAssertEqual(a.tenant, b.tenant, "\(format): quoting and newlines survive")
                XCTAssertEqual(a.fromNumber, b.fromNumber, "\(format): the formula guard is undone")
                XCTAssertEqual(a.billableSeconds, b.billableSeconds)
                XCTAssertEqual(a.disposition, b.disposition)
                XCTAssertEqual(a.hangupBy, b.hangupBy, "\(format): every hang-up side reads back")
                XCTAssertEqual(a.answerTime == nil, b.answerTime == nil)
                XCTAssertEqual(a.startTime.timeIntervalSince1970, b.startTime.timeIntervalSince1970, accuracy: 0.001)
                XCTAssertEqual(a.direction, b.direction)
                XCTAssertEqual(a.parentCallID, b.parentCallID)
                XCTAssertEqual(a.recordingURL, b.recordingURL)
            }
        }
    }

    func testReaderRefusesBrokenFilesWithTheLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-broken-\(UUID().uuidString).jsonl").path
        try Data("{\"call_id\":\"a\",\"tenant\":\"t\",\"start_time\":\"2026-11-01T00:00:00.000Z\",\"answer_time\":null,\"end_time\":\"2026-11-01T00:00:01.000Z\",\"billable_seconds\":1,\"disposition\":\"completed\"}\n{not json}\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var n = 0
        XCTAssertThrowsError(try ExportFileReader.forEachCall(path: path) { _ in n += 1 }) { error in
            XCTAssertTrue("\(error)".contains(":2: not a JSON object"), "\(error)")
        }
        XCTAssertEqual(n, 1)
    }
}

/// Deterministic pseudo-random numbers (SplitMix64) so a failing case can be replayed.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Files larger than the reader's 1 MiB chunks, full of text that needs quoting and
/// escaping, read back field for field.
final class ExportStressTests: XCTestCase {
    private static let pieces = ["a", "Z9", ",", "\"", "\n", "\r\n", "\r", "é", "😀", "=", "+", "-", "-1", "@x", "\\", "\u{2028}",
                                 "\t", "'", "'=", "'+1", " ", "\u{1}", "\u{7f}", "ß,\"", "{", "}", "[", ":"]

    private func text(_ rng: inout SplitMix, max: Int) -> String {
        (0..<Int.random(in: 0...max, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
    }

    private func records(_ n: Int) -> [CallDetailRecord] {
        var rng = SplitMix(state: 20261122)
        return (0..<n).map { i in
            let start = Date(timeIntervalSince1970: Double(Int64.random(in: 1_700_000_000_000...1_900_000_000_000, using: &rng)) / 1000)
            let answered = Bool.random(using: &rng)
            var r = CallDetailRecord(callID: "CA\(i)" + text(&rng, max: 3), sipCallID: text(&rng, max: 8), did: "+18005963057",
                                     tenant: "t" + text(&rng, max: 6), fromNumber: text(&rng, max: 6), toNumber: text(&rng, max: 4),
                                     startTime: start, answerTime: answered ? start.addingTimeInterval(1.5) : nil,
                                     endTime: start.addingTimeInterval(90.25), disposition: Disposition.allCases.randomElement(using: &rng)!,
                                     sipCode: Int.random(in: 0...699, using: &rng), hangupBy: HangupSide.allCases.randomElement(using: &rng)!,
                                     flow: i % 300 == 7 ? String(repeating: "long,\"flow\"\n", count: 4000) : text(&rng, max: 10),
                                     emergency: Bool.random(using: &rng), rtpSent: UInt64(i), rtpReceived: 7, rtpDropped: 0)
            r.billableSeconds = answered ? Int.random(in: 0...14_400, using: &rng) : 0
            r.durationMs = r.billableSeconds * 1000
            r.recordingURL = text(&rng, max: 5)
            r.recordingSeconds = Int.random(in: 0...100, using: &rng)
            r.direction = Bool.random(using: &rng) ? .inbound : .outbound
            r.parentCallID = text(&rng, max: 4)
            return r
        }
    }

    func testLargeFilesWithHostileTextReadBackExactly() throws {
        let records = records(10_000)
        for format in CDRExportFormat.allCases {
            let exporter = CDRExporter(format: format)
            var bytes = Array((exporter.header.map { $0 + "\n" } ?? "").utf8)
            for r in records { exporter.append(r, to: &bytes) }
            XCTAssertGreaterThan(bytes.count, 3 << 20, "spans several reader chunks")
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-stress-\(UUID().uuidString).\(format)").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            var back: [CallDetailRecord] = []
            let report = try ExportFileReader.forEachCall(path: path) { back.append($0) }
            XCTAssertEqual(report.records, records.count, "\(format)")
            XCTAssertEqual(report.duplicates, 0)
            XCTAssertEqual(back.count, records.count, "\(format)")
            for (i, (a, b)) in zip(back, records).enumerated() where a != b {
                XCTFail("\(format) record \(i): \(a) != \(b)")
                break
            }
        }
    }

    func testMessagesReadBackExactly() throws {
        var rng = SplitMix(state: 7)
        let messages = (0..<3000).map { i in
            MessageDetailRecord(messageID: "SM\(i)", sipCallID: text(&rng, max: 6), did: "+18005963057", tenant: "t" + text(&rng, max: 4),
                                fromNumber: text(&rng, max: 4), receivedTime: Date(timeIntervalSince1970: 1_795_315_323.456 + Double(i)),
                                bodyLength: i, encoding: i % 2 == 0 ? .gsm7 : .ucs2, segments: i % 11)
        }
        for format in CDRExportFormat.allCases {
            let exporter = MessageExporter(format: format)
            let text = (exporter.header.map { [$0] } ?? []) + messages.map(exporter.line)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-sms-\(UUID().uuidString).\(format)").path
            try Data(text.joined(separator: "\r\n").utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            var back: [MessageDetailRecord] = []
            try ExportFileReader.forEachMessage(path: path) { back.append($0) }
            XCTAssertEqual(back.count, messages.count, "\(format), CRLF line ends")
            for (i, (a, b)) in zip(back, messages).enumerated() where a != b {
                XCTFail("\(format) message \(i): \(a) != \(b)")
                break
            }
        }
    }
}
