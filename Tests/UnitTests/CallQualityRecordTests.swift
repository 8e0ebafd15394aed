import Foundation
@testable import Metering
import XCTest

/// A record with every quality figure set, each with one decimal (what the export keeps).
func qualityRecord(_ id: String) -> CallDetailRecord {
    var r = makeRecord(id)
    r.quality = CallQuality(packetsExpected: 3075, packetsLost: 20, jitterMeanMs: 12.5, jitterMaxMs: 40.0, peerPacketsLost: 7,
                            peerJitterMs: 3.0, roundTripMs: 0.5, mos: 4.4)
    return r
}

/// The record as a store keeps it: times as seconds since 1970.
func asStored(_ r: CallDetailRecord) -> CallDetailRecord {
    func d(_ t: Date) -> Date { Date(timeIntervalSince1970: t.timeIntervalSince1970) }
    var s = r
    s.startTime = d(r.startTime)
    s.answerTime = r.answerTime.map(d)
    s.endTime = d(r.endTime)
    return s
}

/// The quality columns (issue 17) in the SQLite store: written on insert and finish, read
/// back identically, NULL when not measured; an older database is migrated on open and its
/// records read with quality not measured.
final class SQLiteQualityTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tf-quality-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func all(_ store: SQLiteCDRStore) throws -> [CallDetailRecord] {
        var out: [CallDetailRecord] = []
        try store.forEach { out.append($0) }
        return out
    }

    func testQualityRoundTripsOnInsertAndFinish() throws {
        let store = try SQLiteCDRStore(directory: directory)
        var partial = qualityRecord("partial")
        partial.quality.jitterMeanMs = nil
        partial.quality.peerPacketsLost = nil
        partial.quality.mos = 1.0
        var odd = qualityRecord("odd")
        odd.quality = CallQuality(packetsExpected: 1, packetsLost: 0, jitterMeanMs: 0.123_456_789_012_345_67, jitterMaxMs: 1e-300,
                                  peerPacketsLost: 0, peerJitterMs: 0, roundTripMs: 123_456.789, mos: 4.499_999_999)
        var active = makeRecord("finished", disposition: .active)
        active.answerTime = nil
        try store.apply([.insert(qualityRecord("inserted")), .insert(makeRecord("none")), .insert(partial), .insert(odd),
                         .insert(active)])
        try store.apply([.finish(qualityRecord("finished"))])
        let back = try all(store)
        XCTAssertEqual(back.map(\.callID), ["inserted", "none", "partial", "odd", "finished"])
        let expected = [qualityRecord("inserted"), makeRecord("none"), partial, odd, qualityRecord("finished")].map(asStored)
        for (a, b) in zip(back, expected) { XCTAssertEqual(a, b, a.callID) }
        XCTAssertEqual(back[1].quality, CallQuality(), "nothing measured reads back as nothing measured")
        XCTAssertEqual(back[3].quality.jitterMaxMs?.bitPattern, (1e-300).bitPattern, "doubles bit for bit")
        // Not measured is NULL in the table, not 0.
        XCTAssertEqual(try sqlite(directory + "/cdr.sqlite", "SELECT quote(mos) || ',' || quote(peer_rtp_lost) FROM calls WHERE call_id='none'"),
                       "NULL,NULL")
    }

    /// The `calls` and `messages` tables exactly as the release before the quality columns
    /// left them (first-release columns, then the five added since), with one record.
    private func makeOldDatabase() throws {
        let path = (directory as NSString).appendingPathComponent("cdr.sqlite")
        let schema = """
            CREATE TABLE calls (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              call_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
              tenant TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT NOT NULL,
              start_time REAL NOT NULL, answer_time REAL, end_time REAL NOT NULL,
              duration_ms INTEGER NOT NULL, billable_seconds INTEGER NOT NULL,
              disposition TEXT NOT NULL, sip_code INTEGER NOT NULL, hangup_by TEXT NOT NULL,
              flow TEXT NOT NULL, emergency INTEGER NOT NULL DEFAULT 0,
              rtp_sent INTEGER NOT NULL DEFAULT 0, rtp_received INTEGER NOT NULL DEFAULT 0,
              rtp_dropped INTEGER NOT NULL DEFAULT 0);
            ALTER TABLE calls ADD COLUMN recording_url TEXT NOT NULL DEFAULT '';
            ALTER TABLE calls ADD COLUMN recording_seconds INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
            ALTER TABLE calls ADD COLUMN parent_call_id TEXT NOT NULL DEFAULT '';
            ALTER TABLE calls ADD COLUMN node TEXT NOT NULL DEFAULT '';
            CREATE TABLE messages (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              message_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
              tenant TEXT NOT NULL, from_number TEXT NOT NULL, received_time REAL NOT NULL,
              body_length INTEGER NOT NULL, encoding TEXT NOT NULL, segments INTEGER NOT NULL,
              node TEXT NOT NULL DEFAULT '');
            INSERT INTO calls (call_id, sip_call_id, did, tenant, from_number, to_number, start_time, answer_time, end_time,
              duration_ms, billable_seconds, disposition, sip_code, hangup_by, flow, emergency, rtp_sent, rtp_received,
              rtp_dropped, recording_url, recording_seconds, direction, parent_call_id, node)
            VALUES ('old1', 'old1@h', '+18005963057', 't', '+12025550123', '8005963057', 1800000000.5, 1800000002.5,
              1800000063.5, 61000, 61, 'completed', 200, 'caller', 'f.xml', 0, 3050, 3049, 1, '', 0, 'inbound', '', 'n1');
            """
        XCTAssertEqual(try sqlite(path, schema), "")
    }

    private func oldRecord() -> CallDetailRecord {
        var r = CallDetailRecord(callID: "old1", sipCallID: "old1@h", did: "+18005963057", tenant: "t", fromNumber: "+12025550123",
                                 toNumber: "8005963057", startTime: Date(timeIntervalSince1970: 1_800_000_000.5),
                                 answerTime: Date(timeIntervalSince1970: 1_800_000_002.5), endTime: Date(timeIntervalSince1970: 1_800_000_063.5),
                                 disposition: .completed, sipCode: 200, hangupBy: .caller, flow: "f.xml",
                                 rtpSent: 3050, rtpReceived: 3049, rtpDropped: 1)
        r.node = "n1"
        return r
    }

    func testAnOlderDatabaseIsReadWithoutMigratingWhenReadOnly() throws {
        try makeOldDatabase()
        let readOnly = try SQLiteCDRStore(directory: directory, readOnly: true)
        XCTAssertEqual(try all(readOnly), [oldRecord()], "the later columns read as not measured")
        XCTAssertFalse(try columns().contains("mos"), "a read-only open changes nothing")
    }

    func testAnOlderDatabaseIsMigratedOnOpenAndKeepsItsRecords() throws {
        try makeOldDatabase()
        let store = try SQLiteCDRStore(directory: directory)
        XCTAssertEqual(Array(try columns().suffix(8)), CallQuality.columns, "added in the documented order")
        XCTAssertEqual(try all(store), [oldRecord()], "the old record, quality not measured")
        try store.append([qualityRecord("new1")])
        XCTAssertEqual(try all(store).last, asStored(qualityRecord("new1")))
        // Opening again (already migrated) changes nothing.
        let again = try SQLiteCDRStore(directory: directory)
        XCTAssertEqual(try all(again).map(\.callID), ["old1", "new1"])
    }

    private func columns() throws -> [String] {
        try sqlite(directory + "/cdr.sqlite", "SELECT name FROM pragma_table_info('calls')").split(separator: "\n").map(String.init)
    }
}

/// Runs `sql` on the database at `path` with the `sqlite3` shell (`make deps` installs it),
/// not through the store; returns the rows, one per line, columns joined by `|`.
func sqlite(_ path: String, _ sql: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = ["-batch", "-bail", path, sql]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let problem = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw StoreError("sqlite3 \(sql.prefix(60)): exit \(p.terminationStatus): \(String(decoding: problem, as: UTF8.self))")
    }
    let text = String(decoding: output, as: UTF8.self)
    return text.hasSuffix("\n") ? String(text.dropLast()) : text
}
