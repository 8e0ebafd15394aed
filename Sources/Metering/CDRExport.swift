import Foundation

/// Export formats for `tollfreed cdr export`.
public enum CDRExportFormat: String, Sendable, CaseIterable {
    case csv, jsonl
}

/// Writes call records as CSV (with a header row) or JSON Lines, with stable field names:
/// call_id, sip_call_id, did, tenant, from, to, start_time, answer_time, end_time
/// (ISO-8601 UTC with milliseconds; answer_time empty/null if never answered), duration_ms,
/// billable_seconds, disposition, sip_code, hangup_by, flow, emergency, rtp_sent,
/// rtp_received, rtp_dropped, recording_url, recording_seconds, direction (inbound, or
/// outbound for a `<Dial>` leg), parent_call_id (the inbound call a leg was dialed for).
public struct CDRExporter {
    public static let fields = ["call_id", "sip_call_id", "did", "tenant", "from", "to", "start_time",
                                "answer_time", "end_time", "duration_ms", "billable_seconds", "disposition",
                                "sip_code", "hangup_by", "flow", "emergency", "rtp_sent", "rtp_received",
                                "rtp_dropped", "recording_url", "recording_seconds", "direction", "parent_call_id"]

    public let format: CDRExportFormat
    public init(format: CDRExportFormat) { self.format = format }

    /// The header line (CSV only).
    public var header: String? { format == .csv ? Self.fields.joined(separator: ",") : nil }

    /// One record as one line, without the newline.
    public func line(_ r: CallDetailRecord) -> String {
        let values: [(String, Any?)] = [
            ("call_id", r.callID), ("sip_call_id", r.sipCallID), ("did", r.did), ("tenant", r.tenant),
            ("from", r.fromNumber), ("to", r.toNumber), ("start_time", Self.iso(r.startTime)),
            ("answer_time", r.answerTime.map(Self.iso)), ("end_time", Self.iso(r.endTime)),
            ("duration_ms", r.durationMs), ("billable_seconds", r.billableSeconds),
            ("disposition", r.disposition.rawValue), ("sip_code", r.sipCode), ("hangup_by", r.hangupBy.rawValue),
            ("flow", r.flow), ("emergency", r.emergency), ("rtp_sent", r.rtpSent),
            ("rtp_received", r.rtpReceived), ("rtp_dropped", r.rtpDropped),
            ("recording_url", r.recordingURL), ("recording_seconds", r.recordingSeconds),
            ("direction", r.direction.rawValue), ("parent_call_id", r.parentCallID),
        ]
        switch format {
        case .csv:
            return values.map { Self.csvField($0.1) }.joined(separator: ",")
        case .jsonl:
            return "{" + values.map { "\"\($0.0)\":" + Self.jsonValue($0.1) }.joined(separator: ",") + "}"
        }
    }

    /// ISO-8601 UTC with milliseconds, e.g. 2026-11-22T01:02:03.456Z.
    public static func iso(_ d: Date) -> String {
        let ms = Int64((d.timeIntervalSince1970 * 1000).rounded())
        var secs = time_t(ms / 1000)
        var t = tm()
        gmtime_r(&secs, &t)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1,
                      Int(t.tm_mday), Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec), Int(ms % 1000))
    }

    static func csvField(_ v: Any?) -> String {
        guard let v else { return "" }
        let s = "\(v)"
        // RFC 4180 quoting; a leading formula character is prefixed so spreadsheets do not
        // execute caller-controlled text.
        var out = s
        if let f = s.first, "=+-@".contains(f), !(v is Int),
           !(("+-".contains(f)) && s.dropFirst().allSatisfy(\.isNumber) && s.count > 1) {
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
        case let s as String: return jsonString(s)
        default: return jsonString("\(v!)")
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
