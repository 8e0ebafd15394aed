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
