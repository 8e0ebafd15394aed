import Configuration
import Foundation
import Metering
import TeXML
import Webhooks

/// Where a `<Number>` or `<Sip>` wants its call progress events (`statusCallback` and
/// `statusCallbackEvent`), and how many it has sent.
struct LegProgressCallback {
    var url: String
    var method: RequestMethod
    var events: Set<CallStatusEvent>
    var sequence = 0
}

/// Call progress events of outbound legs, as Twilio sends them for `<Dial>` nouns:
/// `initiated`, `ringing`, `answered` (`in-progress`) and `completed` (with the final status).
extension CallController {
    /// Sends `event` to the leg's `statusCallback` when it asked for it.
    func legProgress(_ leg: Leg, _ event: CallStatusEvent, record: CallDetailRecord? = nil) {
        guard var p = leg.progress, p.events.contains(event), let url = URL(string: p.url),
              url.scheme == "http" || url.scheme == "https" else { return }
        let placement = leg.state.placement
        var params: [(name: String, value: String)] = [
            ("CallSid", placement.callID), ("ParentCallSid", placement.parentCallID), ("AccountSid", accountSID(of: placement.tenant)),
            ("From", placement.presentedNumber), ("To", placement.target.label), ("Direction", "outbound-dial"),
            ("CallStatus", Self.progressStatus(event, record: record)), ("ApiVersion", "2010-04-01"),
            ("SequenceNumber", String(p.sequence)), ("CallbackSource", "call-progress-events"),
            ("Timestamp", Self.rfc2822.string(from: stack.currentTime())), ("SipCallId", placement.sipCallID),
        ]
        if let record {
            params += [("CallDuration", String(record.billableSeconds)), ("SipResponseCode", String(record.sipCode))]
        }
        p.sequence += 1
        leg.progress = p
        var request = WebhookRequest(url: url, method: p.method == .get ? "GET" : "POST", parameters: params)
        request.signingToken = signingToken(of: placement.tenant)
        services.webhooks.notify(request)
    }

    /// Twilio's `CallStatus` for each event (the final one from the leg's record).
    static func progressStatus(_ event: CallStatusEvent, record: CallDetailRecord?) -> String {
        switch event {
        case .initiated: return "initiated"
        case .ringing: return "ringing"
        case .answered: return "in-progress"
        case .completed:
            switch record?.disposition {
            case .completed?: return "completed"
            case .busy?: return "busy"
            case .canceled?: return "canceled"
            default: return record?.sipCode == 408 || record?.sipCode == 480 ? "no-answer" : "failed"
            }
        }
    }

    /// RFC 2822 dates, as Twilio's `Timestamp`.
    static let rfc2822: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f
    }()

    /// The leg callbacks of a dial's nouns, in the order of its resolved targets.
    static func callbacks(of target: Dial.Target) -> Dial.LegCallbacks {
        switch target {
        case .number(let n): n.callbacks
        case .sip(let s): s.callbacks
        }
    }
}
