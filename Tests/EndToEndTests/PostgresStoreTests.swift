import Foundation
import Metering
import Observability
import RecordStore
import XCTest

/// A record as a daemon writes it; times not round in binary, so any lossy step shows.
func pgRecord(_ id: String, node: String = "node-a", answeredAfter ring: Double? = 2.000_3, duration: Double = 61.217_9,
              disposition: Disposition = .completed, start: Date = Date(timeIntervalSince1970: 1_762_786_800.123_456_7)) -> CallDetailRecord {
    let answer = ring.map { start.addingTimeInterval($0) }
    var r = CallDetailRecord(callID: id, sipCallID: "\(id)@192.0.2.10", did: "+18005963057", tenant: "healthcare-client-001",
                             fromNumber: "+12025550123", toNumber: "8005963057", startTime: start, answerTime: answer,
                             endTime: (answer ?? start).addingTimeInterval(duration), disposition: disposition,
                             sipCode: answer == nil ? 487 : 200, hangupBy: .caller, flow: "healthcare-intake.xml",
                             emergency: id.hasSuffix("e"), rtpSent: 3060, rtpReceived: 3055, rtpDropped: 5)
    r.node = node
    r.recordingURL = "file:///var/lib/tollfreed/recordings/\(id).wav \"x\"\\"
    return r
}

/// The active record a daemon writes at admission.
func pgActive(_ id: String, node: String = "node-a", start: Date = Date(timeIntervalSince1970: 1_762_786_800.123_456_7)) -> CallDetailRecord {
    var r = pgRecord(id, node: node, answeredAfter: nil, duration: 0, disposition: .active, start: start)
    r.sipCode = 0
    r.hangupBy = .none
    return r
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    private let now: Mutex<Date>
    init(_ start: Date) { now = Mutex(start) }
    func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func current() -> Date { now.withLock { $0 } }
    var read: @Sendable () -> Date { { self.current() } }
}

/// `PostgresCDRStore` against a real PostgreSQL: the SQLite store's rules, node scoping,
/// lease takeover with an injected clock, identical values to SQLite.
final class PostgresStoreTests: XCTestCase {
    private var server: PostgresServer!

    override func setUpWithError() throws { server = try PostgresServer() }
    override func tearDown() { server?.destroy() }

    private func store(_ node: String = "node-a", clock: TestClock? = nil, grace: Double = 30) throws -> PostgresCDRStore {
        var now: @Sendable () -> Date = { Date() }
        if let clock { now = clock.read }
        return try PostgresCDRStore(url: server.url, node: node, graceSeconds: grace, connectNow: true, clock: now)
    }

    private func all(_ s: any CDRStore) throws -> [CallDetailRecord] {
        var out: [CallDetailRecord] = []
        try s.forEach { out.append($0) }
        return out
    }

    func testInsertFinishCheckpointAreIdempotentAndMatchSQLite() throws {
        let pg = try store()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-pgsqlite-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sqlite = try SQLiteCDRStore(directory: dir)
        let start = Date(timeIntervalSince1970: 1_762_786_800.123_456_7)
        var msg = MessageDetailRecord(messageID: "SM1", sipCallID: "m@h", did: "+18005963057", tenant: "healthcare-client-001",
                                      fromNumber: "+1202", receivedTime: start, bodyLength: 5, encoding: .gsm7, segments: 1)
        msg.node = "node-a"
        var changed = pgRecord("CA1", duration: 999)
        changed.disposition = .failed
        let batches: [[CDROperation]] = [
            [.insert(pgActive("CA1")), .insert(pgActive("CA2")), .message(msg)],
            [.insert(pgActive("CA1")), .checkpoint([("CA1", start.addingTimeInterval(2.000_3)), ("CA2", nil)], at: start.addingTimeInterval(5.5))],
            [.finish(pgRecord("CA1")), .finish(changed), .checkpoint([("CA1", nil)], at: start.addingTimeInterval(99))],
            [.finish(pgRecord("CA3", answeredAfter: nil, duration: 4, disposition: .canceled)), .insert(pgRecord("CA4e")), .message(msg)],
        ]
        for b in batches {
            try pg.apply(b)
            try sqlite.apply(b)
        }
        let records = try all(pg)
        XCTAssertEqual(records.map(\.callID), ["CA1", "CA2", "CA3", "CA4e"], "each record once")
        // (Both stores keep seconds since 1970: a Date comes back as the Date of that value.)
        XCTAssertEqual(records[0], asStored(pgRecord("CA1")), "finished once; the second finish and the late checkpoint changed nothing")
        XCTAssertEqual(records[1].disposition, .active)
        XCTAssertEqual(records[1].endTime, start.addingTimeInterval(5.5), "checkpointed")
        XCTAssertEqual(records, try all(sqlite), "the same records, bit for bit, as SQLite")
        XCTAssertTrue(records.allSatisfy { $0.node == "node-a" })
        XCTAssertEqual(try pg.count(), 4)

        var messages: [MessageDetailRecord] = []
        try pg.forEachMessage(from: nil, to: nil) { messages.append($0) }
        XCTAssertEqual(messages, [msg], "a message once")
        // Billing's lean query and time ranges agree with SQLite's.
        for (from, to) in [(nil, nil), (start, start.addingTimeInterval(1)), (start.addingTimeInterval(0.000_001), nil)] as [(Date?, Date?)] {
            var a: [String] = [], b: [String] = []
            try pg.forEachBillable(from: from, to: to) { a.append("\($0.tenant) \($0.startTime.timeIntervalSince1970.bitPattern) \($0.disposition) \($0.answered) \($0.billableSeconds)") }
            try sqlite.forEachBillable(from: from, to: to) { b.append("\($0.tenant) \($0.startTime.timeIntervalSince1970.bitPattern) \($0.disposition) \($0.answered) \($0.billableSeconds)") }
            XCTAssertEqual(a.sorted(), b.sorted(), "from \(String(describing: from)) to \(String(describing: to))")
        }
        XCTAssertEqual(try pg.recoverInterrupted(), try sqlite.recoverInterrupted())
        XCTAssertEqual(try all(pg), try all(sqlite), "recovery closes the same way (rounding half away from zero)")
        XCTAssertEqual(try server.psql("SELECT node, count(*) FROM calls GROUP BY node"), "node-a|4")
    }

    func testRecoveryIsScopedToTheNode() throws {
        let a = try store("node-a"), b = try store("node-b")
        try a.apply([.insert(pgActive("CAa", node: "node-a"))])
        try b.apply([.insert(pgActive("CAb", node: "node-b"))])
        XCTAssertEqual(try a.recoverInterrupted(), 1)
        let byID = Dictionary(uniqueKeysWithValues: try all(a).map { ($0.callID, $0.disposition) })
        XCTAssertEqual(byID, ["CAa": .interrupted, "CAb": .active], "node b's live call is not node a's to close")
    }

    func testALiveNodeTakesOverTheCallsOfANodeWhoseLeaseExpired() throws {
        let t0 = Date(timeIntervalSince1970: 1_900_000_000)
        let clockA = TestClock(t0), clockB = TestClock(t0), clockC = TestClock(t0)
        let a = try store("node-a", clock: clockA), b = try store("node-b", clock: clockB), c = try store("node-c", clock: clockC)
        // Node a: two calls, one answered, checkpointed at t0 + 10; then it dies.
        try a.apply([.insert(pgActive("CAa1", node: "node-a", start: t0)), .insert(pgActive("CAa2", node: "node-a", start: t0))])
        clockA.advance(10)
        try a.apply([.checkpoint([("CAa1", t0.addingTimeInterval(1.25)), ("CAa2", nil)], at: t0.addingTimeInterval(10))])
        // Node b has a call of its own.
        try b.apply([.insert(pgActive("CAb1", node: "node-b", start: t0))])
        // a's lease runs to t0 + 25; 30 s of grace later (t0 + 55) it is still a's.
        clockB.advance(54)
        try b.apply([.checkpoint([("CAb1", nil)], at: clockB.read())])
        XCTAssertEqual(try dispositions(b), ["CAa1": .active, "CAa2": .active, "CAb1": .active], "within the grace")
        // Past it, b's and c's next checkpoints (at once, from two threads) take over.
        clockB.advance(2)
        clockC.advance(56)
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do { try [b, c][i].apply([.checkpoint([], at: Date())]) } catch { errors.withLock { $0.append("\(error)") } }
        }
        XCTAssertEqual(errors.withLock { $0 }, [])
        XCTAssertEqual(try dispositions(b), ["CAa1": .interrupted, "CAa2": .interrupted, "CAb1": .active],
                       (try? server.psql("SELECT node, lease_until FROM nodes")) ?? "")
        let taken = try all(b).first { $0.callID == "CAa1" }
        XCTAssertEqual(taken?.endTime, t0.addingTimeInterval(10), "ends at its last checkpoint")
        XCTAssertEqual(taken?.durationMs, 8750)
        XCTAssertEqual(taken?.billableSeconds, 9)
        XCTAssertEqual(try all(b).first { $0.callID == "CAa2" }?.billableSeconds, 0, "never answered: free")
        // a comes back: its late finish changes nothing (never doubled).
        try a.apply([.finish(pgRecord("CAa1", node: "node-a", start: t0))])
        XCTAssertEqual(try dispositions(b)["CAa1"], .interrupted)
        XCTAssertEqual(try all(b).count, 3)
    }

    func testANodeJustConnectedDoesNotTakeOver() throws {
        // After a database outage every lease looks expired: the first node back must give
        // the others a lease and a grace period to reconnect and renew theirs.
        let t0 = Date(timeIntervalSince1970: 1_900_000_000)
        let a = try store("node-a", clock: TestClock(t0))
        try a.apply([.insert(pgActive("CAa1", node: "node-a", start: t0))])
        let late = TestClock(t0.addingTimeInterval(3600))
        let b = try store("node-b", clock: late)
        try b.apply([.checkpoint([], at: Date())])
        XCTAssertEqual(try dispositions(b)["CAa1"], .active, "b has been connected for 0 s")
        late.advance(46)
        try b.apply([.checkpoint([], at: Date())])
        XCTAssertEqual(try dispositions(b)["CAa1"], .interrupted, "45 s (lease + grace) later it does")
    }

    func testReadersReportAnUnreachableDatabase() throws {
        try server.stop()
        XCTAssertThrowsError(try store()) { e in
            XCTAssertTrue((e as? PostgresError)?.isConnectionError == true, "\(e)")
            XCTAssertTrue("\(e)".contains("cannot connect to postgresql://tollfreed@127.0.0.1:\(server.port)"), "\(e)")
        }
        XCTAssertThrowsError(try PostgresCDRStore(url: "postgresql://a@b/x?no_such_parameter=1", node: "n")) { e in
            XCTAssertTrue("\(e)".contains("bad PostgreSQL URL"), "\(e)")
        }
        try server.start()
    }

    /// Quality columns (issue 17): inserted, finished, read back bit for bit as SQLite does;
    /// not measured is NULL.
    func testQualityRoundTripsAndMatchesSQLite() throws {
        let pg = try store()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-pgquality-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sqlite = try SQLiteCDRStore(directory: dir)
        var full = pgRecord("CAq1")
        full.quality = CallQuality(packetsExpected: 3075, packetsLost: 20, jitterMeanMs: 0.1 + 0.2, jitterMaxMs: 1e-300,
                                   peerPacketsLost: 0, peerJitterMs: 3.0, roundTripMs: 123_456.789, mos: 4.123_456_789)
        var partial = pgRecord("CAq2")
        partial.quality = CallQuality(packetsExpected: 10, packetsLost: 0, jitterMeanMs: nil, jitterMaxMs: 2.5, mos: 1.0)
        let none = pgRecord("CAq3")
        let batches: [[CDROperation]] = [[.insert(pgActive("CAq1")), .insert(full), .insert(partial)],
                                         [.finish(full), .finish(none), .finish(partial)]]
        for b in batches {
            try pg.apply(b)
            try sqlite.apply(b)
        }
        let records = try all(pg)
        XCTAssertEqual(records, [full, partial, none].map(asStored), "finished with its quality; inserted with it; none")
        XCTAssertEqual(records[0].quality.jitterMeanMs?.bitPattern, (0.1 + 0.2).bitPattern)
        XCTAssertEqual(records, try all(sqlite), "the same as SQLite")
        XCTAssertEqual(try server.psql("SELECT rtp_expected, rtp_lost, jitter_mean_ms IS NULL, mos IS NULL, peer_rtp_lost IS NULL "
                                       + "FROM calls WHERE call_id = 'CAq3'"), "0|0|t|t|t")
    }

    private func makeOldTables() throws { try createTablesBeforeQuality(server) }

    private func oldRecord() -> CallDetailRecord {
        var r = CallDetailRecord(callID: "CAold", sipCallID: "CAold@h", did: "+18005963057", tenant: "t", fromNumber: "+12025550123",
                                 toNumber: "8005963057", startTime: Date(timeIntervalSince1970: 1_762_786_800.5),
                                 answerTime: Date(timeIntervalSince1970: 1_762_786_802.5), endTime: Date(timeIntervalSince1970: 1_762_786_863.5),
                                 disposition: .completed, sipCode: 200, hangupBy: .caller, flow: "f.xml",
                                 rtpSent: 3050, rtpReceived: 3049, rtpDropped: 1)
        r.node = "node-old"
        return r
    }

    private func qualityColumnsInTable() throws -> String {
        try server.psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                        + "WHERE table_name = 'calls' AND ordinal_position > 25")
    }

    func testAnOlderTableIsReadAsItIsAndMigratedByAWriter() throws {
        try makeOldTables()
        // An exporter (read-only) before any upgraded daemon connected: reads, changes nothing.
        let reader = try PostgresCDRStore(url: server.url, node: "exporter", readOnly: true, connectNow: true)
        XCTAssertEqual(try all(reader), [oldRecord()], "quality not measured")
        XCTAssertEqual(try qualityColumnsInTable(), "")
        // An upgraded daemon adds the columns; the old record keeps its values.
        let writer = try store()
        XCTAssertEqual(try qualityColumnsInTable(), CallQuality.columns.joined(separator: ","))
        XCTAssertEqual(try all(writer), [oldRecord()])
        var q = pgRecord("CAnew")
        q.quality = CallQuality(packetsExpected: 50, packetsLost: 1, jitterMeanMs: 1.5, jitterMaxMs: 4.0, peerPacketsLost: 2,
                                peerJitterMs: 0.5, roundTripMs: 20.0, mos: 4.4)
        try writer.apply([.finish(q)])
        XCTAssertEqual(try all(writer), [oldRecord(), asStored(q)])
        // A second node upgrading later, and a reader connected before the migration that
        // reconnects, see it too.
        _ = try store("node-b")
        let again = try PostgresCDRStore(url: server.url, node: "exporter", readOnly: true, connectNow: true)
        XCTAssertEqual(try all(again).last?.quality, q.quality)
    }

    func testARoleThatCannotAlterAnOlderTableSaysWhatToRun() throws {
        try makeOldTables()
        try server.psql("CREATE ROLE clerk LOGIN; GRANT SELECT, INSERT, UPDATE ON calls, messages, nodes, audit_events TO clerk; "
                        + "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clerk")
        let url = server.url.replacingOccurrences(of: "\(PostgresServer.user)@", with: "clerk@")
        XCTAssertThrowsError(try PostgresCDRStore(url: url, node: "node-a", connectNow: true)) { e in
            XCTAssertEqual((e as? PostgresError)?.isConnectionError, false, "\(e)")
            XCTAssertTrue("\(e)".contains("the calls table lacks columns jitter_max_ms, jitter_mean_ms, mos"), "\(e)")
            XCTAssertTrue("\(e)".contains("have its owner run: ALTER TABLE calls ADD COLUMN IF NOT EXISTS rtp_expected BIGINT NOT NULL DEFAULT 0"), "\(e)")
        }
        // Once the owner did, the same role works.
        _ = try store()
        let clerk = try PostgresCDRStore(url: url, node: "node-c", connectNow: true)
        try clerk.apply([.insert(pgRecord("CAclerk"))])
        XCTAssertEqual(try clerk.count(), 2)
    }

    /// `r` as a store gives it back: every time through `timeIntervalSince1970`.
    private func asStored(_ r: CallDetailRecord) -> CallDetailRecord {
        func d(_ t: Date) -> Date { Date(timeIntervalSince1970: t.timeIntervalSince1970) }
        var s = r
        s.startTime = d(r.startTime)
        s.answerTime = r.answerTime.map(d)
        s.endTime = d(r.endTime)
        return s
    }

    private func dispositions(_ s: any CDRStore) throws -> [String: Disposition] {
        Dictionary(uniqueKeysWithValues: try all(s).map { ($0.callID, $0.disposition) })
    }
}

/// The tables as the release before the quality columns created them, with one record
/// (CAold, node-old).
func createTablesBeforeQuality(_ server: PostgresServer) throws {
    try server.psql("""
        CREATE TABLE calls (
          seq BIGSERIAL PRIMARY KEY,
          call_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
          tenant TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT NOT NULL,
          start_time DOUBLE PRECISION NOT NULL, answer_time DOUBLE PRECISION, end_time DOUBLE PRECISION NOT NULL,
          duration_ms BIGINT NOT NULL, billable_seconds BIGINT NOT NULL,
          disposition TEXT NOT NULL, sip_code INTEGER NOT NULL, hangup_by TEXT NOT NULL,
          flow TEXT NOT NULL, emergency BOOLEAN NOT NULL DEFAULT false,
          rtp_sent BIGINT NOT NULL DEFAULT 0, rtp_received BIGINT NOT NULL DEFAULT 0,
          rtp_dropped BIGINT NOT NULL DEFAULT 0, recording_url TEXT NOT NULL DEFAULT '',
          recording_seconds BIGINT NOT NULL DEFAULT 0, direction TEXT NOT NULL DEFAULT 'inbound',
          parent_call_id TEXT NOT NULL DEFAULT '', node TEXT NOT NULL);
        CREATE TABLE messages (
          seq BIGSERIAL PRIMARY KEY,
          message_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
          tenant TEXT NOT NULL, from_number TEXT NOT NULL, received_time DOUBLE PRECISION NOT NULL,
          body_length BIGINT NOT NULL, encoding TEXT NOT NULL, segments BIGINT NOT NULL, node TEXT NOT NULL);
        CREATE TABLE nodes (node TEXT PRIMARY KEY, lease_until DOUBLE PRECISION NOT NULL);
        CREATE TABLE audit_events (
          seq BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, node TEXT NOT NULL,
          actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
        INSERT INTO calls (call_id, sip_call_id, did, tenant, from_number, to_number, start_time, answer_time, end_time,
          duration_ms, billable_seconds, disposition, sip_code, hangup_by, flow, emergency, rtp_sent, rtp_received,
          rtp_dropped, recording_url, recording_seconds, direction, parent_call_id, node)
        VALUES ('CAold', 'CAold@h', '+18005963057', 't', '+12025550123', '8005963057', 1762786800.5, 1762786802.5,
          1762786863.5, 61000, 61, 'completed', 200, 'caller', 'f.xml', false, 3050, 3049, 1, '', 0, 'inbound', '', 'node-old');
        """)
}
