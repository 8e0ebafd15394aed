import Foundation
import Metering
import Observability
import RecordStore
import XCTest

/// A PostgreSQL outage: batches are spooled to disk, a restarted process finds the spool,
/// its crash recovery waits in the spool for its turn, and once the database is back
/// every record is there exactly once, with its final values. Replaying a spool twice
/// (a crash in the middle of a replay) changes nothing.
final class SpoolingStoreTests: XCTestCase {
    private var server: PostgresServer!
    private var spoolDirectory = ""
    private let sink = MemorySink()

    override func setUpWithError() throws {
        server = try PostgresServer()
        spoolDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tf-spool-\(UUID().uuidString)").path
    }

    override func tearDown() {
        server?.destroy()
        try? FileManager.default.removeItem(atPath: spoolDirectory)
    }

    private func spooling(maxBytes: Int = 1 << 20) throws -> SpoolingCDRStore {
        let pg = try PostgresCDRStore(url: server.url, node: "node-a")
        return try SpoolingCDRStore(inner: pg, directory: spoolDirectory, maxBytes: maxBytes,
                                    logger: Logger(minimumLevel: .debug, journald: false, sink: sink))
    }

    /// Retries until the spool is empty (the backoff is at most 5 s).
    private func waitForReplay(_ s: SpoolingCDRStore) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            s.retryIfDue()
            if s.spoolBytes == 0 && s.isDatabaseUp { return true }
            usleep(100_000)
        }
        return false
    }

    private func states() throws -> [String: String] {
        let rows = try server.psql("SELECT call_id, disposition, count(*) OVER (PARTITION BY call_id) FROM calls ORDER BY call_id")
        var out: [String: String] = [:]
        for line in rows.split(separator: "\n") {
            let f = line.split(separator: "|").map(String.init)
            out[f[0]] = f[2] == "1" ? f[1] : "\(f[1]) x\(f[2])"
        }
        return out
    }

    func testAnOutageLosesAndDoublesNothing() throws {
        // Process 1: four calls begin while the database is up.
        var first: SpoolingCDRStore? = try spooling(maxBytes: 2048)
        XCTAssertTrue(first!.isDatabaseUp)
        try first!.apply((1...4).map { .insert(pgActive("CA\($0)")) })
        try server.stop()
        // The outage: two calls end, a fifth begins, a checkpoint and a message; all of it
        // returns at once, spooled.
        try first!.apply([.finish(pgRecord("CA1")), .finish(pgRecord("CA2"))])
        XCTAssertFalse(first!.isDatabaseUp)
        try first!.apply([.insert(pgActive("CA5")), .checkpoint([("CA3", Date(timeIntervalSince1970: 1_762_786_802))], at: Date(timeIntervalSince1970: 1_762_786_810))])
        try first!.apply([.message(MessageDetailRecord(messageID: "SM1", sipCallID: "s", did: "+18005963057", tenant: "t",
                                                       fromNumber: "+1", receivedTime: Date(), bodyLength: 3, encoding: .gsm7, segments: 1))])
        try first!.apply([.checkpoint([], at: Date())]) // a bare heartbeat is not spooled
        XCTAssertGreaterThan(first!.spoolBytes, 2048)
        XCTAssertTrue(first!.isBacklogFull)
        XCTAssertTrue(sink.lines.joined(separator: "\n").contains("cdr.database_unreachable"), sink.lines.joined(separator: "\n"))
        // It dies (kill -9: no flush beyond what apply returned).
        first = nil

        // Process 2 starts with the database still away: its recovery of process 1's calls
        // is deferred into the spool, before its own calls.
        let second = try spooling()
        XCTAssertFalse(second.isDatabaseUp)
        XCTAssertEqual(try second.recoverInterrupted(), 0)
        try second.apply([.insert(pgActive("CA6"))])
        try second.apply([.finish(pgRecord("CA6"))])
        let copy = second.spoolPath + ".copy"
        try FileManager.default.copyItem(atPath: second.spoolPath, toPath: copy)

        try server.start()
        XCTAssertTrue(waitForReplay(second), sink.lines.joined(separator: "\n"))
        let expected = ["CA1": "completed", "CA2": "completed", "CA3": "interrupted", "CA4": "interrupted",
                        "CA5": "interrupted", "CA6": "completed"]
        XCTAssertEqual(try states(), expected, "every record once; process 1's open calls closed, process 2's untouched")
        XCTAssertEqual(try server.psql("SELECT count(*) FROM messages"), "1")
        XCTAssertEqual(try server.psql("SELECT end_time FROM calls WHERE call_id='CA3'"), "1762786810", "closed at its checkpoint")
        XCTAssertTrue(sink.lines.joined(separator: "\n").contains("cdr.spool_replayed"), sink.lines.joined(separator: "\n"))

        // The same spool replayed again (a crash before it was emptied): nothing changes.
        try FileManager.default.removeItem(atPath: second.spoolPath)
        try FileManager.default.moveItem(atPath: copy, toPath: second.spoolPath)
        let third = try spooling()
        XCTAssertEqual(third.spoolBytes, 0, "replayed at start")
        XCTAssertEqual(try states(), expected)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM messages"), "1")
    }

    /// An upgrade during an outage: the previous release left records in the spool (no
    /// quality in them) and the database's table without the quality columns. The new
    /// release migrates the table, replays the old entries (quality not measured), and
    /// spools and replays its own records with their quality.
    func testAnUpgradeReplaysTheOldReleasesSpoolAndKeepsNewQuality() throws {
        try createTablesBeforeQuality(server)
        func oldRecord(_ disposition: String, _ end: Double, _ extra: String) -> String {
            #"{"callID":"CAup","sipCallID":"up@h","did":"+18005963057","tenant":"t","fromNumber":"+1202","#
                + #""toNumber":"8005963057","startTime":784479600.5,\#(extra)"endTime":\#(end),"durationMs":61000,"#
                + #""billableSeconds":\#(disposition == "active" ? 0 : 61),"disposition":"\#(disposition)","sipCode":200,"#
                + #""hangupBy":"caller","flow":"f.xml","emergency":false,"rtpSent":1,"rtpReceived":2,"rtpDropped":0,"#
                + #""recordingURL":"","recordingSeconds":0,"direction":"inbound","parentCallID":"","node":"node-a"}"#
        }
        let entries = [#"[{"op":"insert","record":\#(oldRecord("active", 784479600.5, ""))}]"#,
                       #"[{"op":"finish","record":\#(oldRecord("completed", 784479663.5, #""answerTime":784479602.5,"#))}]"#]
        var bytes: [UInt8] = []
        for payload in entries.map({ Array($0.utf8) }) {
            bytes += Array("TF1 \(payload.count) \(String(format: "%08x", crc32(payload))) ".utf8) + payload + [0x0A]
        }
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: (spoolDirectory as NSString).appendingPathComponent("records.spool")))

        let s = try spooling()
        XCTAssertEqual(s.spoolBytes, 0, "replayed at start: " + sink.lines.joined(separator: "\n"))
        XCTAssertEqual(try states(), ["CAold": "completed", "CAup": "completed"])
        XCTAssertEqual(try server.psql("SELECT rtp_expected, mos IS NULL, answer_time, end_time FROM calls WHERE call_id='CAup'"),
                       "0|t|1762786802.5|1762786863.5")
        try server.stop()
        var q = pgRecord("CAq")
        q.quality = CallQuality(packetsExpected: 3075, packetsLost: 20, jitterMeanMs: 0.1 + 0.2, jitterMaxMs: 40, peerPacketsLost: nil,
                                peerJitterMs: 3, roundTripMs: 38.062_5, mos: 4.123_456_789)
        try s.apply([.insert(pgActive("CAq")), .finish(q)])
        XCTAssertGreaterThan(s.spoolBytes, 0)
        try server.start()
        XCTAssertTrue(waitForReplay(s), sink.lines.joined(separator: "\n"))
        var back: [CallDetailRecord] = []
        try PostgresCDRStore(url: server.url, node: "reader", readOnly: true).forEach { back.append($0) }
        XCTAssertEqual(back.map(\.callID), ["CAold", "CAup", "CAq"])
        XCTAssertEqual(back.last?.quality, q.quality, "bit for bit through the spool")
        XCTAssertEqual(back.first?.quality, CallQuality())
    }

    func testADamagedSpoolIsSetAsideAndTheRestReplayed() throws {
        let s = try spooling()
        try server.stop()
        try s.apply([.insert(pgActive("CA1"))])
        try s.apply([.finish(pgRecord("CA1"))])
        // A torn entry at the end (a crash while appending).
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: s.spoolPath))
        handle.seekToEndOfFile()
        handle.write(Data("TF1 500 0000".utf8))
        try handle.close()
        try server.start()
        let next = try spooling()
        XCTAssertEqual(next.spoolBytes, 0)
        XCTAssertEqual(try states(), ["CA1": "completed"])
        XCTAssertTrue(sink.lines.joined(separator: "\n").contains("cdr.spool_damaged"), sink.lines.joined(separator: "\n"))
        let aside = try FileManager.default.contentsOfDirectory(atPath: spoolDirectory).filter { $0.contains(".damaged-") }
        XCTAssertEqual(aside.count, 1, "the damaged bytes are kept for an operator")
    }
}

/// CRC-32 (IEEE), as the spool's entry header has it.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}
