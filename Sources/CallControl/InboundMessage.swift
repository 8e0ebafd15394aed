import Configuration
import Foundation
import Metering
import Routing
import Signaling

/// What to do with a MESSAGE request (SMS over SIP), decided without I/O.
enum MessageDecision: Equatable {
    /// Refuse with `status` (and extra header lines); nothing is stored.
    case refuse(status: Int, headers: [String], reason: String)
    /// Store `record`; answer 202 when the body goes on to `webhook`, else 200.
    case accept(MessageDetailRecord, body: String, webhook: String?)
}

/// The rules for inbound messages: our numbers only, UTF-8 `text/plain` only, at most
/// ``SMSSegmenter/maxSegments`` parts as carriers count them.
enum MessageRules {
    /// Bodies longer than this are refused before decoding (10 UCS-2 parts are 670 UTF-16
    /// units, at most 2,680 bytes of UTF-8).
    static let maxBodyBytes = 4096

    static func decide(_ m: IncomingMessage, route: DIDRoute?, webhook: String?, messageID: String,
                       fromNumber: String, now: Date) -> MessageDecision {
        guard let route else { return .refuse(status: 404, headers: [], reason: "unknown number") }
        guard m.contentType?.lowercased() == "text/plain" else {
            return .refuse(status: 415, headers: ["Accept: text/plain"],
                           reason: "body type \(m.contentType ?? "none") (only text/plain)")
        }
        if let cs = m.charset?.lowercased(), cs != "utf-8", cs != "utf8", cs != "us-ascii" {
            return .refuse(status: 415, headers: ["Accept: text/plain;charset=UTF-8"], reason: "charset \(cs) (only UTF-8)")
        }
        guard m.body.count <= maxBodyBytes else {
            return .refuse(status: 413, headers: [], reason: "body of \(m.body.count) bytes")
        }
        guard let text = String(validating: m.body, as: UTF8.self) else {
            return .refuse(status: 400, headers: ["Warning: 399 tollfreed \"Body is not valid UTF-8\""], reason: "invalid UTF-8")
        }
        let count = SMSSegmenter.count(text)
        guard count.segments <= SMSSegmenter.maxSegments else {
            return .refuse(status: 413, headers: [], reason: "\(count.segments) parts (at most \(SMSSegmenter.maxSegments))")
        }
        let record = MessageDetailRecord(messageID: messageID, sipCallID: m.callID, did: route.did, tenant: route.tenant,
                                         fromNumber: fromNumber, receivedTime: now, bodyLength: text.unicodeScalars.count,
                                         encoding: count.encoding, segments: count.segments)
        return .accept(record, body: text, webhook: webhook)
    }

    /// The form parameters of the inbound-message webhook (Twilio/Telnyx names).
    static func webhookParameters(_ r: MessageDetailRecord, body: String, accountSID: String) -> [(name: String, value: String)] {
        [("MessageSid", r.messageID), ("SmsSid", r.messageID), ("SmsMessageSid", r.messageID), ("AccountSid", accountSID),
         ("From", r.fromNumber), ("To", r.did), ("Body", body), ("NumSegments", String(r.segments)), ("NumMedia", "0"),
         ("SmsStatus", "received"), ("Direction", "inbound"), ("Encoding", r.encoding.rawValue)]
    }
}
