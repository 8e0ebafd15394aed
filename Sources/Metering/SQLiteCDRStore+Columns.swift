import CSQLite
import CSQLiteBridge
import Foundation

/// The `calls` table's columns: which exist since the first release, which were added
/// later (and how an older database gets them), and how a record is bound to and read
/// from a statement in `columns` order.
extension SQLiteCDRStore {
    static let columns = ["call_id", "sip_call_id", "did", "tenant", "from_number", "to_number",
                          "start_time", "answer_time", "end_time", "duration_ms", "billable_seconds",
                          "disposition", "sip_code", "hangup_by", "flow", "emergency",
                          "rtp_sent", "rtp_received", "rtp_dropped", "recording_url", "recording_seconds",
                          "direction", "parent_call_id", "node"] + CallQuality.columns

    /// Columns added after the first release: (name, definition), applied with ALTER TABLE
    /// in this order when a database lacks them. Quality figures never measured are NULL;
    /// the two counts are 0.
    static let migrations = [("recording_url", "TEXT NOT NULL DEFAULT ''"),
                             ("recording_seconds", "INTEGER NOT NULL DEFAULT 0"),
                             ("direction", "TEXT NOT NULL DEFAULT 'inbound'"),
                             ("parent_call_id", "TEXT NOT NULL DEFAULT ''"),
                             ("node", "TEXT NOT NULL DEFAULT ''"),
                             ("rtp_expected", "INTEGER NOT NULL DEFAULT 0"),
                             ("rtp_lost", "INTEGER NOT NULL DEFAULT 0"),
                             ("jitter_mean_ms", "REAL"), ("jitter_max_ms", "REAL"),
                             ("peer_rtp_lost", "INTEGER"), ("peer_jitter_ms", "REAL"),
                             ("rtt_ms", "REAL"), ("mos", "REAL")]

    /// The SELECT list of `columns` for a table that has `existing` columns: a column an
    /// older database (opened read-only, so not migrated) lacks reads as its default.
    static func selectList(existing: Set<String>) -> String {
        columns.map { name in
            if existing.contains(name) { return name }
            guard let definition = migrations.first(where: { $0.0 == name })?.1 else { return name }
            return definition.range(of: "DEFAULT ").map { String(definition[$0.upperBound...]) } ?? "NULL"
        }.joined(separator: ",")
    }

    /// Binds a record's columns (optionally without call_id) from parameter `start`;
    /// returns the next free parameter index.
    static func bind(_ r: CallDetailRecord, to stmt: OpaquePointer?, from start: Int32, includingID: Bool) -> Int32 {
        var i = start
        func text(_ s: String) { _ = s.withCString { tf_sqlite_bind_text(stmt, i, $0, -1) }; i += 1 }
        func int(_ v: Int64?) {
            if let v { sqlite3_bind_int64(stmt, i, v) } else { sqlite3_bind_null(stmt, i) }
            i += 1
        }
        func real(_ d: Double?) {
            if let d { sqlite3_bind_double(stmt, i, d) } else { sqlite3_bind_null(stmt, i) }
            i += 1
        }
        if includingID { text(r.callID) }
        text(r.sipCallID); text(r.did); text(r.tenant); text(r.fromNumber); text(r.toNumber)
        real(r.startTime.timeIntervalSince1970); real(r.answerTime?.timeIntervalSince1970); real(r.endTime.timeIntervalSince1970)
        int(Int64(r.durationMs)); int(Int64(r.billableSeconds)); text(r.disposition.rawValue)
        int(Int64(r.sipCode)); text(r.hangupBy.rawValue); text(r.flow); int(r.emergency ? 1 : 0)
        int(Int64(r.rtpSent)); int(Int64(r.rtpReceived)); int(Int64(r.rtpDropped))
        text(r.recordingURL); int(Int64(r.recordingSeconds))
        text(r.direction.rawValue); text(r.parentCallID); text(r.node)
        let q = r.quality
        int(Int64(clamping: q.packetsExpected)); int(Int64(clamping: q.packetsLost)); real(q.jitterMeanMs); real(q.jitterMaxMs)
        int(q.peerPacketsLost.map { Int64(clamping: $0) }); real(q.peerJitterMs); real(q.roundTripMs); real(q.mos)
        return i
    }

    /// The record in the current row of a statement selecting `selectList`.
    static func record(at stmt: OpaquePointer?) -> CallDetailRecord {
        func text(_ c: Int32) -> String { sqlite3_column_text(stmt, c).map { String(cString: $0) } ?? "" }
        func int(_ c: Int32) -> Int64 { sqlite3_column_int64(stmt, c) }
        func date(_ c: Int32) -> Date? {
            sqlite3_column_type(stmt, c) == SQLITE_NULL ? nil : Date(timeIntervalSince1970: sqlite3_column_double(stmt, c))
        }
        var r = CallDetailRecord(callID: text(0), sipCallID: text(1), did: text(2), tenant: text(3),
                                 fromNumber: text(4), toNumber: text(5), startTime: date(6) ?? Date(timeIntervalSince1970: 0),
                                 answerTime: date(7), endTime: date(8) ?? Date(timeIntervalSince1970: 0),
                                 disposition: Disposition(rawValue: text(11)) ?? .failed, sipCode: Int(int(12)),
                                 hangupBy: HangupSide(rawValue: text(13)) ?? .none, flow: text(14),
                                 emergency: int(15) != 0, rtpSent: UInt64(int(16)), rtpReceived: UInt64(int(17)),
                                 rtpDropped: UInt64(int(18)))
        // Stored values win over recomputation (they are what was billed).
        r.durationMs = Int(int(9))
        r.billableSeconds = Int(int(10))
        r.recordingURL = text(19)
        r.recordingSeconds = Int(int(20))
        r.direction = CallDirection(rawValue: text(21)) ?? .inbound
        r.parentCallID = text(22)
        r.node = text(23)
        r.quality = quality(at: stmt, from: 24)
        return r
    }

    /// The eight quality columns from column `c` on (NULL: not measured).
    private static func quality(at stmt: OpaquePointer?, from c: Int32) -> CallQuality {
        func count(_ k: Int32) -> UInt64? {
            sqlite3_column_type(stmt, c + k) == SQLITE_NULL ? nil : UInt64(clamping: sqlite3_column_int64(stmt, c + k))
        }
        func real(_ k: Int32) -> Double? {
            sqlite3_column_type(stmt, c + k) == SQLITE_NULL ? nil : sqlite3_column_double(stmt, c + k)
        }
        return CallQuality(packetsExpected: count(0) ?? 0, packetsLost: count(1) ?? 0, jitterMeanMs: real(2), jitterMaxMs: real(3),
                           peerPacketsLost: count(4), peerJitterMs: real(5), roundTripMs: real(6), mos: real(7))
    }
}
