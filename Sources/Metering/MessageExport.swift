/// Writes message detail records as CSV (with a header row) or JSON Lines, with stable
/// field names: message_id, sip_call_id, did (our number, E.164), tenant, from,
/// received_time (ISO-8601 UTC with milliseconds), body_length (characters),
/// encoding (GSM-7 or UCS-2), segments (billable parts). The body itself is never stored.
public struct MessageExporter {
    public static let fields = ["message_id", "sip_call_id", "did", "tenant", "from", "received_time",
                                "body_length", "encoding", "segments"]

    public let format: CDRExportFormat
    public init(format: CDRExportFormat) { self.format = format }

    /// The header line (CSV only).
    public var header: String? { format == .csv ? Self.fields.joined(separator: ",") : nil }

    /// One record as one line, without the newline.
    public func line(_ m: MessageDetailRecord) -> String {
        let values: [(String, Any?)] = [
            ("message_id", m.messageID), ("sip_call_id", m.sipCallID), ("did", m.did), ("tenant", m.tenant),
            ("from", m.fromNumber), ("received_time", CDRTime.format(m.receivedTime)), ("body_length", m.bodyLength),
            ("encoding", m.encoding.rawValue), ("segments", m.segments),
        ]
        switch format {
        case .csv: return values.map { CDRExporter.csvField($0.1) }.joined(separator: ",")
        case .jsonl: return "{" + values.map { "\"\($0.0)\":" + CDRExporter.jsonValue($0.1) }.joined(separator: ",") + "}"
        }
    }
}
