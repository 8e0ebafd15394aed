import Configuration
import Foundation
import Media
import Metering
import Observability
import Routing

/// What an outbound leg is, fixed when it is placed: who it calls and what its record says.
struct LegPlacement: Equatable {
    let index: Int
    /// Our id of the leg (its record's `call_id`).
    let callID: String
    /// The SIP Call-ID of the outbound dialog: what the trunk bills by.
    let sipCallID: String
    let target: DialTarget
    let start: Date
    /// The parent call's record fields (the leg may outlive the parent).
    let parentCallID: String
    let did: String
    let tenant: String
    let flow: String
    let presentedNumber: String
    let emergency: Bool
    /// `<Dial timeLimit>`: the bridged time billed is never longer.
    var timeLimitSeconds = Int.max
}

/// What the I/O layer does for an outbound leg.
enum LegAction: Equatable {
    /// Answer the 401/407 with the target's credentials.
    case authenticate
    case sendBye
    case sendCancel
    /// Tell the parent call's dial machine.
    case report(LegReport)
    case log(level: LogLevel, event: String, detail: String?)
}

/// What the parent's `DialMachine` hears of a leg.
enum LegReport: Equatable {
    case ringing(early: Bool)
    case answered
    case failed(sipStatus: Int)
    case ended
}

/// The SIP side of one outbound leg of a `<Dial>`, with no I/O (swift-nio style): the
/// controller feeds it the leg's responses and ending, and carries out the actions. It
/// decides what the dial machine is told, whether a 200 is a connection or a late answer
/// to hang up, and the leg's record.
struct LegMachine {
    let placement: LegPlacement
    private(set) var answerTime: Date?
    /// The final SIP status of the INVITE (0 while none).
    private(set) var finalStatus = 0
    private(set) var authTried = false
    private(set) var byCallee = false
    /// A 200 that came after the leg lost (a simultaneous-ring loser, or a 200 crossing our
    /// CANCEL): hung up at once; never connected, never billed.
    private(set) var answeredTooLate = false
    /// When the leg's conversation ended (our BYE sent, or the callee's received); the
    /// record ends here, not when the BYE transaction completes.
    private(set) var endedAt: Date?
    /// An SDP answer (183 or 2xx) has configured the leg's media.
    private(set) var configured = false
    /// The dial machine has been told this leg is over.
    private(set) var reported = false
    /// The callee's 2xx was taken (its dialog is confirmed): ending the leg takes a BYE,
    /// even before the bridge (a whisper plays in between).
    private(set) var confirmed = false

    init(_ placement: LegPlacement) { self.placement = placement }

    /// A 401/407: authenticate once when the target has credentials; else it is a failure.
    mutating func challenged(status: Int) -> [LegAction] {
        guard !authTried, placement.target.username != nil, placement.target.password != nil else { return failed(status) }
        authTried = true
        return [.authenticate, .log(level: .info, event: "dial.leg_authenticating", detail: "status=\(status)")]
    }

    /// 180/183; `sdpApplied` when it carried an SDP answer now configured (early media).
    mutating func provisional(status: Int, sdpApplied: Bool) -> [LegAction] {
        if sdpApplied { configured = true }
        return [.log(level: .info, event: "dial.leg_progress", detail: "status=\(status) early_media=\(sdpApplied)"),
                .report(.ringing(early: sdpApplied))]
    }

    /// A 2xx. `dialWantsIt` is false when the dial already ended (the 200 crossed our
    /// CANCEL, or the caller left): hung up, never connected. A 2xx with no SDP, after no
    /// early SDP either, cannot be bridged (RFC 3261 13.2.1) and fails as 488.
    mutating func answered(dialWantsIt: Bool, sdpApplied: Bool, now: Date) -> [LegAction] {
        guard dialWantsIt else {
            lostTheRace(now: now)
            return [.log(level: .notice, event: "dial.leg_late_answer", detail: "answered after the dial ended; sending BYE"),
                    .sendBye]
        }
        if sdpApplied { configured = true }
        guard configured else {
            finalStatus = 488
            reported = true
            return [.log(level: .warning, event: "dial.leg_no_sdp", detail: nil), .sendBye, .report(.failed(sipStatus: 488))]
        }
        confirmed = true
        return [.report(.answered)]
    }

    /// The callee's whisper refused the call (`<Hangup/>` in it, or its document failed):
    /// hung up, and reported as not answered.
    mutating func whisperRefused(now: Date) -> [LegAction] {
        finalStatus = 480
        reported = true
        if endedAt == nil { endedAt = now }
        return [.log(level: .info, event: "dial.whisper_refused", detail: nil), .sendBye, .report(.failed(sipStatus: 480))]
    }

    /// After `.report(.answered)`: the dial machine bridged this leg, or another won the
    /// race (the machine hung this one up; it never connected).
    mutating func bridged(_ won: Bool, now: Date) -> [LegAction] {
        guard won else {
            lostTheRace(now: now)
            return []
        }
        answerTime = now
        finalStatus = 200
        return [.log(level: .info, event: "dial.leg_answered", detail: nil)]
    }

    /// A final failure response (3xx-6xx).
    mutating func failed(_ status: Int) -> [LegAction] {
        finalStatus = status
        reported = true
        return [.report(.failed(sipStatus: status))]
    }

    /// The callee sent BYE.
    mutating func calleeHungUp(now: Date) -> [LegAction] {
        byCallee = true
        if endedAt == nil { endedAt = now }
        reported = true
        return [.report(.ended)]
    }

    /// We send BYE on the dial machine's word (the dial ended, `hangupOnStar`...).
    mutating func hungUpByUs(now: Date) {
        if endedAt == nil { endedAt = now }
    }

    /// The parent call is over: the leg ends too, by BYE once answered, else by CANCEL.
    mutating func parentEnded(now: Date) -> LegAction {
        if endedAt == nil { endedAt = now }
        return answerTime != nil || answeredTooLate || confirmed ? .sendBye : .sendCancel
    }

    /// The leg's dialog is gone (`status` from Sofia): what the dial machine still needs to
    /// hear, if it was not told, and the leg's final record.
    mutating func terminated(status: Int, now: Date, media: MediaStats?) -> (report: LegReport?, record: CallDetailRecord) {
        var report: LegReport?
        if !reported {
            // The dialog ended without a final response we saw (timeout, transport).
            reported = true
            report = answerTime == nil ? .failed(sipStatus: max(status, 408)) : .ended
        }
        var r = record(disposition: disposition, code: finalStatus == 0 ? max(status, 487) : finalStatus, end: recordEnd(now: now))
        r.hangupBy = answerTime == nil ? .none : (byCallee ? .caller : .daemon)
        if let media {
            r.rtpSent = media.packetsSent
            r.rtpReceived = media.packetsReceived
            r.rtpDropped = media.packetsDropped
            r.quality = CallQuality(media: media)
        }
        return (report, r)
    }

    /// The record written when the leg is placed (active, so a crash cannot lose it).
    var openingRecord: CallDetailRecord {
        record(disposition: .active, code: 0, end: placement.start)
    }

    /// How the leg ended, for its record: never-connected legs are canceled, not completed.
    var disposition: Disposition {
        if answerTime != nil { return .completed }
        if answeredTooLate { return .canceled }
        switch finalStatus {
        case 487, 0: return .canceled
        case let code where DialStatus.isBusy(sipStatus: code): return .busy
        default: return .failed
        }
    }

    /// Where the record ends: when the conversation ended (not when the BYE transaction
    /// did), and never past the answer plus `<Dial timeLimit>`.
    func recordEnd(now: Date) -> Date {
        let end = endedAt ?? now
        guard let answer = answerTime, placement.timeLimitSeconds < Int.max / 2 else { return end }
        return min(end, answer.addingTimeInterval(Double(placement.timeLimitSeconds)))
    }

    private mutating func lostTheRace(now: Date) {
        answeredTooLate = true
        finalStatus = 487
        reported = true
        if endedAt == nil { endedAt = now }
    }

    private func record(disposition: Disposition, code: Int, end: Date) -> CallDetailRecord {
        let p = placement
        var r = CallDetailRecord(
            callID: p.callID, sipCallID: p.sipCallID, did: p.did, tenant: p.tenant, fromNumber: p.presentedNumber,
            toNumber: p.target.label, startTime: p.start, answerTime: answerTime, endTime: end, disposition: disposition,
            sipCode: code, hangupBy: .none, flow: p.flow, emergency: p.emergency)
        r.direction = .outbound
        r.parentCallID = p.parentCallID
        return r
    }
}
