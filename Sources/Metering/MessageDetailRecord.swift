import Foundation

/// How an SMS body is encoded on the air interface.
public enum SMSEncoding: String, Sendable, Codable, CaseIterable {
    /// GSM 03.38 7-bit default alphabet (with the extension table).
    case gsm7 = "GSM-7"
    /// UCS-2 (UTF-16 code units), used when any character is outside GSM-7.
    case ucs2 = "UCS-2"
}

/// One inbound message (SIP MESSAGE to one of our numbers), as billing reads it.
public struct MessageDetailRecord: Sendable, Equatable, Codable {
    /// Our id for the message (`MessageSid`).
    public var messageID: String
    /// The SIP Call-ID of the MESSAGE request.
    public var sipCallID: String
    /// Our number it was sent to (E.164).
    public var did: String
    public var tenant: String
    /// Sender (E.164 when it normalises).
    public var fromNumber: String
    public var receivedTime: Date
    /// Body length in characters (Unicode scalars as the sender typed them).
    public var bodyLength: Int
    public var encoding: SMSEncoding
    /// Parts the carrier counts (billable SMS units).
    public var segments: Int
    /// The daemon (cluster node, `node.id`) that received it; set by `CDRWriter`.
    public var node: String = ""

    public init(messageID: String, sipCallID: String, did: String, tenant: String, fromNumber: String,
                receivedTime: Date, bodyLength: Int, encoding: SMSEncoding, segments: Int) {
        self.messageID = messageID
        self.sipCallID = sipCallID
        self.did = did
        self.tenant = tenant
        self.fromNumber = fromNumber
        self.receivedTime = receivedTime
        self.bodyLength = bodyLength
        self.encoding = encoding
        self.segments = segments
    }
}

/// One 2FA verification attempt, imported from a JSONL usage file (they come from outside
/// the daemon): `{"tenant": "...", "time": "2026-11-03T10:00:00Z", "count": 1}`.
public struct TwoFactorUsage: Sendable, Equatable, Codable {
    public var tenant: String
    public var time: Date
    /// Attempts in this line (default 1).
    public var count: Int

    public init(tenant: String, time: Date, count: Int = 1) {
        self.tenant = tenant
        self.time = time
        self.count = count
    }
}
