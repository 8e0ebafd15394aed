import Foundation
#if canImport(Formats)
import Formats // (the fuzz targets compile Formats' sources into one module)
#endif

/// Export formats for `tollfreed cdr export`.
public enum CDRExportFormat: String, Sendable, CaseIterable {
    case csv, jsonl
}

/// Writes call records as CSV (with a header row) or JSON Lines, with stable field names:
/// call_id, sip_call_id, did, tenant, from, to, start_time, answer_time, end_time
/// (ISO-8601 UTC with milliseconds; answer_time empty/null if never answered), duration_ms,
/// billable_seconds, disposition, sip_code, hangup_by, flow, emergency, rtp_sent,
/// rtp_received, rtp_dropped, recording_url, recording_seconds, direction (inbound, or
/// outbound for a `<Dial>` leg), parent_call_id (the inbound call a leg was dialed for), then
/// the leg's media quality (`CallQuality.columns`: rtp_expected, rtp_lost, jitter_mean_ms,
/// jitter_max_ms, peer_rtp_lost, peer_jitter_ms, rtt_ms, mos; counts as whole numbers,
/// the others with one decimal, e.g. 12.5; not measured: empty/null). New columns only
/// ever go at the end, so the positions of the older ones never move.
public struct CDRExporter {
    public static let fields = ["call_id", "sip_call_id", "did", "tenant", "from", "to", "start_time",
                                "answer_time", "end_time", "duration_ms", "billable_seconds", "disposition",
                                "sip_code", "hangup_by", "flow", "emergency", "rtp_sent", "rtp_received",
                                "rtp_dropped", "recording_url", "recording_seconds", "direction", "parent_call_id"]
        + CallQuality.columns

    public let format: CDRExportFormat
    public init(format: CDRExportFormat) { self.format = format }

    /// The header line (CSV only).
    public var header: String? { format == .csv ? Self.fields.joined(separator: ",") : nil }

    /// One record as one line, without the newline.
    public func line(_ r: CallDetailRecord) -> String {
        var w = ExportWriter(format: format, reserving: 512)
        append(r, to: &w)
        return String(decoding: w.bytes.dropLast(), as: UTF8.self)
    }

    /// Appends one record as one line (with its newline) to `bytes`.
    public func append(_ r: CallDetailRecord, to bytes: inout [UInt8]) {
        var w = ExportWriter(format: format, reserving: 0)
        swap(&w.bytes, &bytes)
        append(r, to: &w)
        swap(&w.bytes, &bytes)
    }

    func append(_ r: CallDetailRecord, to w: inout ExportWriter) {
        w.beginRow()
        w.text("call_id", r.callID); w.text("sip_call_id", r.sipCallID); w.text("did", r.did); w.text("tenant", r.tenant)
        w.text("from", r.fromNumber); w.text("to", r.toNumber)
        w.time("start_time", r.startTime.timeIntervalSince1970)
        w.time("answer_time", r.answerTime?.timeIntervalSince1970)
        w.time("end_time", r.endTime.timeIntervalSince1970)
        w.int("duration_ms", Int64(r.durationMs)); w.int("billable_seconds", Int64(r.billableSeconds))
        w.text("disposition", r.disposition.rawValue); w.int("sip_code", Int64(r.sipCode))
        w.text("hangup_by", r.hangupBy.rawValue); w.text("flow", r.flow); w.bool("emergency", r.emergency)
        w.int("rtp_sent", Int64(r.rtpSent)); w.int("rtp_received", Int64(r.rtpReceived)); w.int("rtp_dropped", Int64(r.rtpDropped))
        w.text("recording_url", r.recordingURL); w.int("recording_seconds", Int64(r.recordingSeconds))
        w.text("direction", r.direction.rawValue); w.text("parent_call_id", r.parentCallID)
        // `CallQuality.columns`, in that order.
        let q = r.quality
        w.int("rtp_expected", Int64(clamping: q.packetsExpected)); w.int("rtp_lost", Int64(clamping: q.packetsLost))
        w.tenths("jitter_mean_ms", q.jitterMeanMs); w.tenths("jitter_max_ms", q.jitterMaxMs)
        w.int("peer_rtp_lost", q.peerPacketsLost.map { Int64(clamping: $0) })
        w.tenths("peer_jitter_ms", q.peerJitterMs); w.tenths("rtt_ms", q.roundTripMs); w.tenths("mos", q.mos)
        w.endRow()
    }

    /// ISO-8601 UTC with milliseconds, e.g. 2026-11-22T01:02:03.456Z.
    public static func iso(_ d: Date) -> String { CDRTime.format(d) }

    static func csvField(_ v: Any?) -> String {
        guard let v else { return "" }
        let s = "\(v)"
        // RFC 4180 quoting; a leading formula character is prefixed so spreadsheets do not
        // execute caller-controlled text.
        // Text that already starts with ' and one of those (or another ') is prefixed too,
        // so a reader can always take the first ' away.
        var out = s
        if let f = s.first, "=+-@".contains(f), !(v is Int),
           !(("+-".contains(f)) && s.dropFirst().allSatisfy(\.isNumber) && s.count > 1) {
            out = "'" + s
        } else if s.hasPrefix("'"), let g = s.dropFirst().first, "=+-@'".contains(g) {
            out = "'" + s
        }
        if out.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) {
            return "\"" + out.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return out
    }

    static func jsonValue(_ v: Any?) -> String {
        switch v {
        case nil: return "null"
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let u as UInt64: return String(u)
        case let s as String: return JSONText.quoted(s)
        default: return JSONText.quoted("\(v!)")
        }
    }
}
