import Foundation
import Metering
@testable import RecordStore
import XCTest

/// The record spool's file format: every operation round-trips exactly, and a torn,
/// corrupt or oversized entry is reported with its offset (never a crash, never replayed).
final class SpoolCodecTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tf-spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// Records with times that are not round in binary (a lossy encoding would show).
    private func sample() -> [CDROperation] {
        let t = Date(timeIntervalSince1970: 1_762_786_800.123_456_7)
        var active = makeRecord("CAa1", duration: 0, disposition: .active)
        active.node = "node-1"
        var done = makeRecord("CAa1", answeredAfter: 1.000_3, duration: 61.217_9)
        done.node = "node-1"
        done.recordingURL = "file:///r/1.wav \"quoted\"\n"
        done.parentCallID = "CAp"
        done.direction = .outbound
        done.quality = CallQuality(packetsExpected: 3061, packetsLost: 4, jitterMeanMs: 0.1 + 0.2, jitterMaxMs: 1e-300,
                                   peerPacketsLost: 0, peerJitterMs: nil, roundTripMs: 38.062_5, mos: 4.123_456_789)
        var m = MessageDetailRecord(messageID: "SM1", sipCallID: "m@h", did: "+18005963057", tenant: "t", fromNumber: "+1202",
                                    receivedTime: t, bodyLength: 200, encoding: .ucs2, segments: 3)
        m.node = "node-1"
        return [.insert(active), .checkpoint([("CAa1", t.addingTimeInterval(0.5)), ("CAb2", nil)], at: t.addingTimeInterval(5.25)),
                .finish(done), .message(m), .checkpoint([], at: t)]
    }

    /// The operations as comparable text (CDROperation has tuples: not Equatable).
    private func describe(_ ops: [CDROperation]) -> [String] {
        ops.map { op in
            switch op {
            case .insert(let r): return "insert \(r)"
            case .finish(let r): return "finish \(r)"
            case .message(let m): return "message \(m)"
            case .checkpoint(let c, let at):
                return "checkpoint \(at.timeIntervalSinceReferenceDate.bitPattern) "
                    + c.map { "\($0.callID):\($0.answerTime.map { "\($0.timeIntervalSinceReferenceDate.bitPattern)" } ?? "nil")" }.joined(separator: ",")
            }
        }
    }

    private func write(_ entries: [SpoolEntry]) throws -> (path: String, bytes: [UInt8]) {
        let file = try SpoolFile(directory: directory)
        var all: [UInt8] = []
        for e in entries {
            let b = try SpoolCodec.encode(e)
            try file.append(b)
            all += b
        }
        XCTAssertEqual(file.size, all.count)
        return (file.path, all)
    }

    private func readAll(_ path: String) -> (entries: [SpoolEntry], damage: SpoolDamage?) {
        var entries: [SpoolEntry] = []
        do {
            var reader = try SpoolReader(path: path)
            while let next = try reader.next() { entries.append(next.entry) }
            return (entries, nil)
        } catch let d as SpoolDamage {
            return (entries, d)
        } catch {
            XCTFail("unexpected \(error)")
            return (entries, nil)
        }
    }

    func testEveryOperationRoundTripsExactly() throws {
        let ops = sample()
        let (path, _) = try write([.batch(ops), .recover, .batch([ops[2]])])
        let (entries, damage) = readAll(path)
        XCTAssertNil(damage)
        XCTAssertEqual(entries.count, 3)
        guard case .batch(let first) = entries[0], case .recover = entries[1], case .batch(let third) = entries[2] else {
            return XCTFail("entries: \(entries)")
        }
        XCTAssertEqual(describe(first), describe(ops))
        XCTAssertEqual(describe(third), describe([ops[2]]))
        if case .finish(let r) = first[2], case .finish(let original) = ops[2] {
            XCTAssertEqual(r, original, "dates, node and text fields bit for bit")
            XCTAssertEqual(r.answerTime?.timeIntervalSince1970.bitPattern, original.answerTime?.timeIntervalSince1970.bitPattern)
        }
    }

    /// A record as the release before the quality columns spooled it: its
    /// `CallDetailRecord` had exactly these fields, with the synthesized Codable.
    private struct RecordBeforeQuality: Encodable {
        var callID = "CAold", sipCallID = "old@192.0.2.10", did = "+18005963057", tenant = "t"
        var fromNumber = "+12025550123", toNumber = "8005963057"
        var startTime = Date(timeIntervalSince1970: 1_762_786_800.123_456_7)
        var answerTime: Date? = Date(timeIntervalSince1970: 1_762_786_802.000_3)
        var endTime = Date(timeIntervalSince1970: 1_762_786_863.5)
        var durationMs = 61_499, billableSeconds = 62
        var disposition = Disposition.completed
        var sipCode = 200
        var hangupBy = HangupSide.caller
        var flow = "f.xml"
        var emergency = true
        var rtpSent: UInt64 = 3060, rtpReceived: UInt64 = 3055, rtpDropped: UInt64 = 5
        var recordingURL = "file:///r/old.wav", recordingSeconds = 12
        var direction = CallDirection.outbound
        var parentCallID = "CAparent", node = "node-1"
    }

    private struct OperationBeforeQuality: Encodable {
        var op: String
        var record: RecordBeforeQuality
    }

    /// An entry's bytes made the old way: TF1, length, CRC-32, the JSON payload.
    private func oldEntry(_ payload: [UInt8]) -> [UInt8] {
        Array("TF1 \(payload.count) \(SpoolCodec.hex(CRC32.checksum(payload))) ".utf8) + payload + [0x0A]
    }

    func testRecordsSpooledBeforeTheQualityColumnsStillReplay() throws {
        let old = RecordBeforeQuality()
        let encoded = try JSONEncoder().encode([OperationBeforeQuality(op: "insert", record: old),
                                                OperationBeforeQuality(op: "finish", record: old)])
        XCTAssertFalse(String(decoding: encoded, as: UTF8.self).contains("quality"))
        // And one written out by hand, as the old release's JSONEncoder wrote it (dates in
        // seconds since 2001, answerTime left out when nil).
        let literal = #"[{"op":"insert","record":{"callID":"CAlit","sipCallID":"s@h","did":"+18005963057","tenant":"t","#
            + #""fromNumber":"+1202","toNumber":"8005963057","startTime":784479600.5,"endTime":784479600.5,"durationMs":0,"#
            + #""billableSeconds":0,"disposition":"active","sipCode":0,"hangupBy":"none","flow":"f.xml","emergency":false,"#
            + #""rtpSent":0,"rtpReceived":0,"rtpDropped":0,"recordingURL":"","recordingSeconds":0,"direction":"inbound","#
            + #""parentCallID":"","node":"node-1"}}]"#
        let path = (directory as NSString).appendingPathComponent("records.spool")
        try Data(oldEntry(Array(encoded)) + oldEntry(Array(literal.utf8)) + SpoolCodec.encode(.batch([.finish(sample()[2].record!)])))
            .write(to: URL(fileURLWithPath: path))
        let (entries, damage) = readAll(path)
        XCTAssertNil(damage)
        guard entries.count == 3, case .batch(let first) = entries[0], case .batch(let second) = entries[1],
              case .batch(let third) = entries[2], first.count == 2, second.count == 1 else { return XCTFail("entries: \(entries)") }
        var expected = CallDetailRecord(callID: "CAold", sipCallID: "old@192.0.2.10", did: "+18005963057", tenant: "t",
                                        fromNumber: "+12025550123", toNumber: "8005963057", startTime: old.startTime,
                                        answerTime: old.answerTime, endTime: old.endTime, disposition: .completed, sipCode: 200,
                                        hangupBy: .caller, flow: "f.xml", emergency: true, rtpSent: 3060, rtpReceived: 3055, rtpDropped: 5)
        expected.durationMs = 61_499
        expected.billableSeconds = 62
        expected.recordingURL = "file:///r/old.wav"
        expected.recordingSeconds = 12
        expected.direction = .outbound
        expected.parentCallID = "CAparent"
        expected.node = "node-1"
        XCTAssertEqual(describe(first), describe([.insert(expected), .finish(expected)]), "every field as written, quality not measured")
        guard case .insert(let lit) = second[0] else { return XCTFail("\(second)") }
        XCTAssertEqual(lit.callID, "CAlit")
        XCTAssertEqual(lit.startTime.timeIntervalSinceReferenceDate, 784_479_600.5)
        XCTAssertNil(lit.answerTime)
        XCTAssertEqual(lit.disposition, .active)
        XCTAssertEqual(lit.quality, CallQuality())
        XCTAssertEqual(describe(third), describe([.finish(sample()[2].record!)]), "a new entry after old ones, with its quality")

        // An old record missing a field is still damage, not a record with a default.
        let broken = literal.replacingOccurrences(of: #","node":"node-1""#, with: "")
        try Data(oldEntry(Array(broken.utf8))).write(to: URL(fileURLWithPath: path))
        XCTAssertTrue(readAll(path).damage?.reason.contains("not a list of operations") == true)
    }

    func testNewRecordsCarryTheirQuality() throws {
        let bytes = try SpoolCodec.encode(.batch([sample()[2]]))
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains(#""quality":{"#))
        let (path, _) = try write([.batch([sample()[2]])])
        guard case .batch(let ops)? = readAll(path).entries.first, case .finish(let r)? = ops.first else { return XCTFail() }
        XCTAssertEqual(r.quality, sample()[2].record?.quality)
        XCTAssertEqual(r.quality.jitterMaxMs?.bitPattern, (1e-300).bitPattern)
    }

    func testATornLastEntryIsReportedAtItsOffset() throws {
        let (path, bytes) = try write([.batch(sample()), .batch(sample())])
        let firstLength = try SpoolCodec.encode(.batch(sample())).count
        // Cut the second entry at several points: inside its header, its payload, its newline.
        for cut in [firstLength + 2, firstLength + 12, firstLength + 40, bytes.count - 1] {
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
            let (entries, damage) = readAll(path)
            XCTAssertEqual(entries.count, 1, "cut at \(cut): the whole entries before it are read")
            XCTAssertEqual(damage?.offset, firstLength, "cut at \(cut)")
            XCTAssertTrue(damage?.reason.contains("partial") == true, "cut at \(cut): \(damage?.description ?? "no damage")")
        }
    }

    func testAFlippedByteIsAChecksumError() throws {
        var (path, bytes) = try write([.batch(sample())])
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (entries, damage) = readAll(path)
        XCTAssertTrue(entries.isEmpty)
        XCTAssertEqual(damage, SpoolDamage(offset: 0, reason: "checksum mismatch"))
    }

    func testLimitsAndGarbage() throws {
        let path = (directory as NSString).appendingPathComponent("records.spool")
        let cases: [(String, String)] = [
            ("TF1 99999999999 00000000 {}\n", "over the limit"),
            ("TF1 \(SpoolCodec.maxPayloadBytes + 1) 00000000 x\n", "over the limit"),
            ("XX1 2 00000000 []\n", "no entry header"),
            ("TF1 x 00000000 []\n", "bad length"),
            ("TF1 2 zzzzzzzz []\n", "bad checksum field"),
            ("TF1 2 \(SpoolCodec.hex(CRC32.checksum(Array("{}".utf8)))) {}\n", "not a list of operations"),
            ("TF1 17 \(SpoolCodec.hex(CRC32.checksum(Array(#"[{"op":"insert"}]"#.utf8)))) [{\"op\":\"insert\"}]\n", "without its fields"),
            ("TF1 2 \(SpoolCodec.hex(CRC32.checksum(Array("[]".utf8)))) []X", "not followed by a newline"),
        ]
        for (text, expected) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let (_, damage) = readAll(path)
            XCTAssertTrue(damage?.reason.contains(expected) == true, "\(text.prefix(30)): \(damage?.description ?? "no damage")")
            XCTAssertEqual(damage?.offset, 0)
        }
        // A known CRC-32 value (zlib's crc32("123456789")).
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
    }

    func testAnEmptyFileHasNoEntriesAndReadingResumesFromAnOffset() throws {
        let (path, _) = try write([])
        XCTAssertEqual(readAll(path).entries.count, 0)
        let (path2, _) = try write([.recover, .batch(sample())])
        var reader = try SpoolReader(path: path2)
        let first = try XCTUnwrap(try reader.next())
        var resumed = try SpoolReader(path: path2, from: first.end)
        guard case .batch(let ops)? = try resumed.next()?.entry else { return XCTFail("no batch after the offset") }
        XCTAssertEqual(ops.count, sample().count)
        XCTAssertNil(try resumed.next())
    }

    func testSetAsideKeepsTheDamagedTailAndCutsIt() throws {
        let (path, bytes) = try write([.recover])
        let file = try SpoolFile(directory: directory)
        try file.append(Array("TF1 garbage".utf8))
        let aside = try file.setAside(from: bytes.count)
        XCTAssertEqual(file.size, bytes.count)
        XCTAssertEqual(try String(contentsOfFile: aside, encoding: .utf8), "TF1 garbage")
        XCTAssertNil(readAll(path).damage)
        try file.truncate()
        XCTAssertEqual(file.size, 0)
    }
}

extension CDROperation {
    /// The record of an insert or finish.
    fileprivate var record: CallDetailRecord? {
        switch self {
        case .insert(let r), .finish(let r): return r
        default: return nil
        }
    }
}
