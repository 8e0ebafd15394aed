import Foundation
import Metering

/// Reading records back: through a server-side cursor, a few thousand rows per round
/// trip, so a month of a million calls never sits in memory.
extension PostgresCDRStore {
    /// Rows fetched per round trip.
    static let fetchRows = 2000

    public func forEach(from: Date?, to: Date?, _ body: (CallDetailRecord) throws -> Void) throws {
        // (The SELECT list is made once connected: an older table's missing columns read
        // as their defaults.)
        try stream("SELECT \(PostgresSchema.callSelectList(missing: missingCallColumns)) FROM calls "
                   + "WHERE start_time >= $1 AND start_time < $2 ORDER BY seq", Self.range(from, to)) { res, i in
            func text(_ c: Int) -> String { res.text(i, c) }
            func date(_ c: Int) -> Date? { res.double(i, c).map { Date(timeIntervalSince1970: $0) } }
            var r = CallDetailRecord(callID: text(0), sipCallID: text(1), did: text(2), tenant: text(3),
                                     fromNumber: text(4), toNumber: text(5), startTime: date(6) ?? Date(timeIntervalSince1970: 0),
                                     answerTime: date(7), endTime: date(8) ?? Date(timeIntervalSince1970: 0),
                                     disposition: Disposition(rawValue: text(11)) ?? .failed, sipCode: Int(res.int(i, 12)),
                                     hangupBy: HangupSide(rawValue: text(13)) ?? .none, flow: text(14),
                                     emergency: res.bool(i, 15), rtpSent: UInt64(res.int(i, 16)),
                                     rtpReceived: UInt64(res.int(i, 17)), rtpDropped: UInt64(res.int(i, 18)))
            // Stored values win over recomputation (they are what was billed).
            r.durationMs = Int(res.int(i, 9))
            r.billableSeconds = Int(res.int(i, 10))
            r.recordingURL = text(19)
            r.recordingSeconds = Int(res.int(i, 20))
            r.direction = CallDirection(rawValue: text(21)) ?? .inbound
            r.parentCallID = text(22)
            r.node = text(23)
            r.quality = Self.quality(res, i, from: 24)
            try body(r)
        }
    }

    public func forEachBillable(from: Date?, to: Date?, _ body: (BillableCall) throws -> Void) throws {
        let sql = "SELECT tenant, start_time, disposition, answer_time IS NOT NULL, billable_seconds FROM calls "
            + "WHERE start_time >= $1 AND start_time < $2"
        // A month holds few distinct tenants: reuse their Strings.
        var tenants: [String: String] = [:]
        try stream(sql, Self.range(from, to)) { res, i in
            let t = res.text(i, 0)
            let tenant = tenants[t] ?? { tenants[t] = t; return t }()
            try body(BillableCall(tenant: tenant, startTime: Date(timeIntervalSince1970: res.double(i, 1) ?? 0),
                                  disposition: Disposition(rawValue: res.text(i, 2)) ?? .failed, answered: res.bool(i, 3),
                                  billableSeconds: Int(res.int(i, 4))))
        }
    }

    public func forEachMessage(from: Date?, to: Date?, _ body: (MessageDetailRecord) throws -> Void) throws {
        let sql = "SELECT \(PostgresSchema.messageColumns.joined(separator: ",")) FROM messages "
            + "WHERE received_time >= $1 AND received_time < $2 ORDER BY seq"
        do {
            try stream(sql, Self.range(from, to)) { res, i in
                var m = MessageDetailRecord(
                    messageID: res.text(i, 0), sipCallID: res.text(i, 1), did: res.text(i, 2), tenant: res.text(i, 3),
                    fromNumber: res.text(i, 4), receivedTime: Date(timeIntervalSince1970: res.double(i, 5) ?? 0),
                    bodyLength: Int(res.int(i, 6)), encoding: SMSEncoding(rawValue: res.text(i, 7)) ?? .gsm7,
                    segments: Int(res.int(i, 8)))
                m.node = res.text(i, 9)
                try body(m)
            }
        } catch let e as PostgresError where e.sqlState == "42P01" {
            return // no messages table: no daemon wrote to this database yet
        }
    }

    /// The eight quality columns from column `c` on (NULL: not measured).
    static func quality(_ res: PostgresResult, _ i: Int, from c: Int) -> CallQuality {
        func count(_ k: Int) -> UInt64? { res.isNull(i, c + k) ? nil : UInt64(clamping: res.int(i, c + k)) }
        return CallQuality(packetsExpected: count(0) ?? 0, packetsLost: count(1) ?? 0, jitterMeanMs: res.double(i, c + 2),
                           jitterMaxMs: res.double(i, c + 3), peerPacketsLost: count(4), peerJitterMs: res.double(i, c + 5),
                           roundTripMs: res.double(i, c + 6), mos: res.double(i, c + 7))
    }

    /// The start/end parameters of a time range (open ends as the largest doubles).
    static func range(_ from: Date?, _ to: Date?) -> [String?] {
        [text(from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude),
         text(to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude)]
    }

    /// Runs `sql` through a cursor in a read-only snapshot, calling `row` for each row.
    /// (`sql` is made once connected, under the lock.)
    func stream(_ sql: @autoclosure () -> String, _ parameters: [String?], _ row: (PostgresResult, Int) throws -> Void) throws {
        try withConnection { c in
            try c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try c.exec("DECLARE tf_cursor NO SCROLL CURSOR FOR " + sql(), parameters)
            while true {
                let res = try c.exec("FETCH \(Self.fetchRows) FROM tf_cursor")
                if res.rows == 0 { break }
                for i in 0..<res.rows { try row(res, i) }
            }
            try c.exec("COMMIT")
        }
    }
}
