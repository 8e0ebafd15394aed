import Foundation

/// Reads the files `cdr export` and `sms export` write (CSV with a header row, or JSON
/// Lines), streaming in constant memory, for `bill --cdrs/--messages/--2fa`. Reading is
/// strict: RFC 4180 CSV, JSON of flat objects, UTF-8, exact times, whole numbers in range,
/// every required field present; the first problem ends reading with an `ImportError`
/// naming `file:line` (errors thrown by `body` get the same prefix). A record repeating an
/// earlier id with the same text is passed once and counted in the returned report.
public enum ExportFileReader {
    /// Every call record in `path`, in file order.
    @discardableResult
    public static func forEachCall(path: String, _ body: (CallDetailRecord) throws -> Void) throws -> ImportReport {
        try forEachRow(path: path, schema: CallField.schema) { row in try body(try call(row)) }
    }

    /// What rating reads of every call record in `path`, in file order (all fields are
    /// still checked; only the tenant becomes a String).
    @discardableResult
    public static func forEachBillableCall(path: String, _ body: (BillableCall) throws -> Void) throws -> ImportReport {
        var tenants = TextInterner()
        return try forEachRow(path: path, schema: CallField.schema) { row in
            let v = try CallValues(row)
            let tenant = row.bytes(CallField.tenant)
            try body(BillableCall(tenant: tenants.string(tenant.baseAddress, length: tenant.count), startTime: v.start,
                                  disposition: v.disposition, answered: v.answer != nil, billableSeconds: v.billable))
        }
    }

    /// Every message record in `path`, in file order.
    @discardableResult
    public static func forEachMessage(path: String, _ body: (MessageDetailRecord) throws -> Void) throws -> ImportReport {
        try forEachRow(path: path, schema: MessageField.schema) { row in try body(try message(row)) }
    }

    /// 2FA attempts, one per line: `{"tenant": "t", "time": "2026-11-03T10:00:00Z", "count": 1}`
    /// (count optional, default 1; CSV with those columns works too).
    @discardableResult
    public static func forEachTwoFactor(path: String, _ body: (TwoFactorUsage) throws -> Void) throws -> ImportReport {
        try forEachRow(path: path, schema: twoFactorSchema) { row in
            guard row.has(0) else { throw FieldError("missing tenant") }
            let time = try row.requiredTime(1)
            let count = try row.integer(2, in: 0...Rater.maxTwoFactorCount, fallback: 1)
            try body(TwoFactorUsage(tenant: row.text(0), time: date(time), count: count))
        }
    }

    private static func forEachRow(path: String, schema: ExportSchema, _ body: (ExportRow) throws -> Void) throws -> ImportReport {
        var reader = try ExportRecordReader(path: path, schema: schema)
        while try reader.next() {
            do { try body(reader.row) } catch { throw ImportError("\(path):\(reader.row.line): \(error)") }
        }
        return reader.report
    }

    static let twoFactorSchema = ExportSchema(kind: "2FA usage", fields: [("tenant", .text), ("time", .time), ("count", .integer)],
                                              required: ["tenant", "time"])

    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    static func call(_ row: ExportRow) throws -> CallDetailRecord {
        let v = try CallValues(row)
        var r = CallDetailRecord(
            callID: row.text(CallField.callID), sipCallID: row.text(CallField.sipCallID), did: row.text(CallField.did),
            tenant: row.text(CallField.tenant), fromNumber: row.text(CallField.from), toNumber: row.text(CallField.to),
            startTime: v.start, answerTime: v.answer, endTime: v.end, disposition: v.disposition, sipCode: v.sipCode,
            hangupBy: v.hangup, flow: row.text(CallField.flow), emergency: v.emergency,
            rtpSent: UInt64(v.rtp.0), rtpReceived: UInt64(v.rtp.1), rtpDropped: UInt64(v.rtp.2))
        // The exported values are what was billed: keep them rather than recompute.
        r.billableSeconds = v.billable
        r.durationMs = v.durationMs
        r.recordingURL = row.text(CallField.recordingURL)
        r.recordingSeconds = v.recordingSeconds
        r.direction = v.direction
        r.parentCallID = row.text(CallField.parentCallID)
        r.quality = v.quality
        return r
    }

    static func message(_ row: ExportRow) throws -> MessageDetailRecord {
        typealias F = MessageField
        guard row.has(F.messageID) else { throw FieldError("missing message_id") }
        guard row.has(F.tenant) else { throw FieldError("message has no tenant") }
        let time = try row.requiredTime(F.receivedTime)
        guard row.has(F.segments) else { throw FieldError("missing segments") }
        let segments = try row.integer(F.segments, in: 0...Rater.maxSegments)
        return MessageDetailRecord(messageID: row.text(F.messageID), sipCallID: row.text(F.sipCallID), did: row.text(F.did),
                                   tenant: row.text(F.tenant), fromNumber: row.text(F.from), receivedTime: date(time),
                                   bodyLength: try row.integer(F.bodyLength, in: 0...Int.max),
                                   encoding: try row.choice(F.encoding, among: Choices.encodings, fallback: .gsm7), segments: segments)
    }
}

/// The call export's fields (`CDRExporter.fields`) as the reader sees them.
enum CallField {
    static let names = CDRExporter.fields
    // Literal positions in `CDRExporter.fields` (no lazy initialisation in the hot loop);
    // `schema` checks them once.
    static let callID = 0, sipCallID = 1, did = 2, tenant = 3, from = 4, to = 5, start = 6, answer = 7, end = 8
    static let durationMs = 9, billable = 10, disposition = 11, sipCode = 12, hangupBy = 13, flow = 14, emergency = 15
    static let rtpSent = 16, rtpReceived = 17, rtpDropped = 18, recordingURL = 19, recordingSeconds = 20
    static let direction = 21, parentCallID = 22
    static let rtpExpected = 23, rtpLost = 24, jitterMean = 25, jitterMax = 26, peerRTPLost = 27, peerJitter = 28
    static let roundTrip = 29, mos = 30

    static let schema: ExportSchema = {
        let types: [String: ExportSchema.FieldType] = [
            "start_time": .time, "answer_time": .time, "end_time": .time, "emergency": .boolean,
            "duration_ms": .integer, "billable_seconds": .integer, "sip_code": .integer, "rtp_sent": .integer,
            "rtp_received": .integer, "rtp_dropped": .integer, "recording_seconds": .integer,
            "rtp_expected": .integer, "rtp_lost": .integer, "peer_rtp_lost": .integer, "jitter_mean_ms": .decimal,
            "jitter_max_ms": .decimal, "peer_jitter_ms": .decimal, "rtt_ms": .decimal, "mos": .decimal,
        ]
        let positions = [(callID, "call_id"), (sipCallID, "sip_call_id"), (did, "did"), (tenant, "tenant"), (from, "from"),
                         (to, "to"), (start, "start_time"), (answer, "answer_time"), (end, "end_time"),
                         (durationMs, "duration_ms"), (billable, "billable_seconds"), (disposition, "disposition"),
                         (sipCode, "sip_code"), (hangupBy, "hangup_by"), (flow, "flow"), (emergency, "emergency"),
                         (rtpSent, "rtp_sent"), (rtpReceived, "rtp_received"), (rtpDropped, "rtp_dropped"),
                         (recordingURL, "recording_url"), (recordingSeconds, "recording_seconds"), (direction, "direction"),
                         (parentCallID, "parent_call_id"), (rtpExpected, "rtp_expected"), (rtpLost, "rtp_lost"),
                         (jitterMean, "jitter_mean_ms"), (jitterMax, "jitter_max_ms"), (peerRTPLost, "peer_rtp_lost"),
                         (peerJitter, "peer_jitter_ms"), (roundTrip, "rtt_ms"), (mos, "mos")]
        precondition(positions.count == names.count && positions.allSatisfy { names[$0.0] == $0.1 },
                     "CallField positions disagree with CDRExporter.fields")
        return ExportSchema(kind: "call", fields: names.map { ($0, types[$0] ?? .text) },
                            required: ["call_id", "tenant", "start_time", "answer_time", "end_time", "billable_seconds", "disposition"],
                            nullable: ["answer_time"], idField: "call_id")
    }()
}

/// The message export's fields (`MessageExporter.fields`).
enum MessageField {
    static func at(_ name: String) -> Int { MessageExporter.fields.firstIndex(of: name)! }
    static let messageID = at("message_id"), sipCallID = at("sip_call_id"), did = at("did"), tenant = at("tenant")
    static let from = at("from"), receivedTime = at("received_time"), bodyLength = at("body_length")
    static let encoding = at("encoding"), segments = at("segments")

    static let schema = ExportSchema(
        kind: "message",
        fields: MessageExporter.fields.map { ($0, $0 == "received_time" ? .time : ["body_length", "segments"].contains($0) ? .integer : .text) },
        required: ["message_id", "tenant", "received_time", "segments"], idField: "message_id")
}

/// Everything of a call record but its texts, checked.
struct CallValues {
    var start: Date, answer: Date?, end: Date
    var durationMs: Int, billable: Int, sipCode: Int, recordingSeconds: Int
    var rtp: (Int, Int, Int)
    var disposition: Disposition, hangup: HangupSide, direction: CallDirection
    var emergency: Bool
    var quality: CallQuality

    init(_ row: ExportRow) throws(FieldError) {
        typealias F = CallField
        guard row.has(F.callID) else { throw FieldError("missing call_id") }
        start = ExportFileReader.date(try row.requiredTime(F.start))
        answer = try row.time(F.answer).map(ExportFileReader.date)
        end = ExportFileReader.date(try row.requiredTime(F.end))
        if answer != nil && !row.has(F.tenant) { throw FieldError("answered call has no tenant") }
        guard row.has(F.billable) else { throw FieldError("missing billable_seconds") }
        billable = try row.integer(F.billable, in: 0...Rater.maxBillableSeconds)
        guard row.has(F.disposition) else { throw FieldError("missing disposition") }
        disposition = try row.choice(F.disposition, among: Choices.dispositions, fallback: .failed)
        durationMs = try row.integer(F.durationMs, in: 0...Int.max)
        sipCode = try row.integer(F.sipCode, in: 0...999)
        recordingSeconds = try row.integer(F.recordingSeconds, in: 0...Int.max)
        rtp = (try row.integer(F.rtpSent, in: 0...Int.max), try row.integer(F.rtpReceived, in: 0...Int.max),
               try row.integer(F.rtpDropped, in: 0...Int.max))
        hangup = try row.choice(F.hangupBy, among: Choices.hangups, fallback: .none)
        direction = try row.choice(F.direction, among: Choices.directions, fallback: .inbound)
        emergency = try row.boolean(F.emergency)
        quality = try Self.quality(row)
    }

    /// The most milliseconds a quality figure may be: the longest billable call.
    static let maxMilliseconds = Double(Rater.maxBillableSeconds) * 1000

    /// The quality columns; an export made before they existed has none (all not
    /// measured). Counts are whole numbers >= 0, times 0...`maxMilliseconds`, MOS 1...5.
    static func quality(_ row: ExportRow) throws(FieldError) -> CallQuality {
        typealias F = CallField
        let ms = 0...maxMilliseconds
        return CallQuality(packetsExpected: UInt64(try row.integer(F.rtpExpected, in: 0...Int.max)),
                           packetsLost: UInt64(try row.integer(F.rtpLost, in: 0...Int.max)),
                           jitterMeanMs: try row.decimal(F.jitterMean, in: ms), jitterMaxMs: try row.decimal(F.jitterMax, in: ms),
                           peerPacketsLost: try row.optionalInteger(F.peerRTPLost, in: 0...Int.max).map(UInt64.init),
                           peerJitterMs: try row.decimal(F.peerJitter, in: ms), roundTripMs: try row.decimal(F.roundTrip, in: ms),
                           mos: try row.decimal(F.mos, in: 1...5))
    }
}

/// The enumerations' raw values as bytes, matched without making a String per field.
enum Choices {
    static let dispositions = table(Disposition.allCases)
    // Every case, so a value added to an enumeration is read back by `bill` (an export
    // with `ack_timeout` was once refused).
    static let hangups = table(HangupSide.allCases)
    static let directions = table(CallDirection.allCases)
    static let encodings = table(SMSEncoding.allCases)

    static func table<T: RawRepresentable>(_ cases: [T]) -> [([UInt8], T)] where T.RawValue == String {
        cases.map { (Array($0.rawValue.utf8), $0) }
    }
}
