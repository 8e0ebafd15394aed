import Compliance
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The audit log's anchor: count and head hash sealed with the recording key, kept next to
/// the log, so deleting the last entries (which leaves a valid chain) is found too.
final class AuditAnchorTests: XCTestCase {
    private var dir: String!
    private var path: String { dir + "/audit.log" }
    private var anchor: String { AuditLog.anchorPath(forLog: path) }
    private var key: RecordingKey!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-anchor-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        key = RecordingKey(bytes: try Crypto.randomBytes(32))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func append(_ count: Int, key: RecordingKey? = nil) throws {
        let log = try AuditLog(path: path, key: key ?? self.key)
        for i in 1...count { try log.record(actor: "test", action: "recording.created", subject: "RE\(i)") }
    }

    private func lines() throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    private func keep(_ lines: [String]) throws {
        try (lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    }

    private func reason(_ verification: AuditLog.Verification) -> String {
        if case .broken(_, let reason) = verification { return reason }
        return "not broken: \(verification)"
    }

    func testEveryAppendRewritesThePrivateAnchorAtomically() throws {
        try append(3)
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .intact(entries: 3))
        var st = stat()
        XCTAssertEqual(stat(anchor, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["audit.log", "audit.log.anchor"],
                       "no temporary file is left behind")
    }

    func testDeletingTheLastEntriesIsFound() throws {
        try append(5)
        try keep(Array(try lines().prefix(3)))
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]),
                       .broken(line: 4, reason: "the log ends after 3 entries but its anchor counts 5: "
                               + "the last 2 entries were deleted"))
        try keep([])
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]),
                       .broken(line: 1, reason: "the log ends after 0 entries but its anchor counts 5: "
                               + "the last 5 entries were deleted"))
    }

    func testAnAnchorOneBehindTheLogIsAnInterruptedAppend() throws {
        try append(4)
        let saved = try Data(contentsOf: URL(fileURLWithPath: anchor))
        try append(1)
        try saved.write(to: URL(fileURLWithPath: anchor))  // as if the daemon died before rewriting it
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .intact(entries: 5))
        try append(1)
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .intact(entries: 6), "the next append catches up")
    }

    func testAnAnchorTwoBehindOrOffTheChainIsRefused() throws {
        try append(3)
        let saved = try Data(contentsOf: URL(fileURLWithPath: anchor))
        try append(2)
        try saved.write(to: URL(fileURLWithPath: anchor))
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]),
                       .broken(line: 5, reason: "the log has 5 entries but its anchor counts 3: entries after 4 "
                               + "were not anchored (appended without the key)"))
        // A whole new valid chain of the anchored length: its head is not the anchored one.
        try FileManager.default.removeItem(atPath: path)
        let forger = try AuditLog(path: path, key: RecordingKey(bytes: try Crypto.randomBytes(32)))
        for _ in 1...3 { try forger.record(actor: "x", action: "y", subject: "z") }
        try saved.write(to: URL(fileURLWithPath: anchor))
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]),
                       .broken(line: 3, reason: "entry 3 is not the anchored head: the log was rewritten"))
    }

    func testAForgedOrForeignAnchorIsRefused() throws {
        try append(2)
        let text = try String(contentsOfFile: anchor, encoding: .utf8)
        try text.replacingOccurrences(of: "\"count\":2", with: "\"count\":1").write(toFile: anchor, atomically: false, encoding: .utf8)
        XCTAssertEqual(reason(AuditLog.verify(path: path, keys: [key])), "the anchor does not verify: it was edited or forged")
        try text.write(toFile: anchor, atomically: false, encoding: .utf8)
        let other = RecordingKey(bytes: try Crypto.randomBytes(32))
        XCTAssertTrue(reason(AuditLog.verify(path: path, keys: [other])).contains("not configured"))
        XCTAssertEqual(AuditLog.verify(path: path, keys: [other, key]), .intact(entries: 2), "an older key still opens it")
    }

    func testALogWithoutAnAnchorIsUnanchoredUntilTheNextAppend() throws {
        try append(2)
        try FileManager.default.removeItem(atPath: anchor)  // a log written before anchors existed
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .unanchored(entries: 2))
        try append(1)
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .intact(entries: 3))
    }

    func testAfterAKeyRotationTheNextAppendSealsWithTheNewKey() throws {
        try append(2)
        let new = RecordingKey(bytes: try Crypto.randomBytes(32))
        try append(1, key: new)
        XCTAssertEqual(AuditLog.verify(path: path, keys: [new]), .intact(entries: 3))
    }
}
