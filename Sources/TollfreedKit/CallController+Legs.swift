import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// Outbound legs after their INVITE: responses, re-INVITEs, BYE, and their end and record.
extension CallController {
    /// Events on an outbound leg's dialog.
    func legEvent(_ event: SIPEvent, leg: Leg, now: Date) {
        switch event {
        case .inviteResponse(_, let r):
            legResponse(r, leg: leg, now: now)
        case .bye:
            leg.byCallee = true
            if leg.endedAt == nil { leg.endedAt = now }
            leg.reported = true
            legMachine(leg, now: now) { [i = leg.index] m, t in m.legEnded(i, now: t) }
        case .reInvite(let h, let type, let body):
            legReInvite(h, contentType: type, body: body, leg: leg)
        case .ack(_, let type, let body):
            _ = configureLeg(leg, body: body, contentType: type)
        case .terminated(_, let status):
            legTerminated(leg, status: status, now: now)
        case .invite, .cancel, .info, .message, .options:
            break
        }
    }

    /// Feeds the parent call's dial machine.
    private func legMachine(_ leg: Leg, now: Date, _ body: @escaping (inout DialMachine, Double) -> [DialAction]) {
        withCall(leg.parent) { $0.session.dialEvent(now: now, body) }
    }

    /// A response to the leg's INVITE: authentication, ringing, answer or failure.
    private func legResponse(_ r: InviteResponse, leg: Leg, now: Date) {
        let i = leg.index
        if (r.status == 401 || r.status == 407), let c = r.challenge, let user = leg.target.username,
           let pass = leg.target.password, !leg.authTried {
            leg.authTried = true
            leg.log.info("dial.leg_authenticating", ["status": r.status])
            return stack.authenticate(leg.handle, scheme: c.scheme, realm: c.realm, user: user, password: pass)
        }
        switch r.status {
        case 180..<200:
            let early = configureLeg(leg, body: r.body, contentType: r.contentType)
            leg.log.info("dial.leg_progress", ["status": r.status, "early_media": early])
            legMachine(leg, now: now) { m, _ in m.legRinging(i, early: early) }
        case 200..<300:
            legAnswered(r, leg: leg, now: now)
        default:
            guard r.status >= 300 else { return }
            leg.finalStatus = r.status
            leg.reported = true
            legMachine(leg, now: now) { m, t in m.legFailed(i, sipStatus: r.status, now: t) }
        }
    }

    /// A 2xx on the leg: bridged when the dial still wants it, else ended (never connected).
    private func legAnswered(_ r: InviteResponse, leg: Leg, now: Date) {
        let parent = leg.parent
        let i = leg.index
        guard let d = calls[parent]?.session.activeDial, d.result == nil, calls[parent]?.legs[i] == leg.handle else {
            // Answered after the dial ended (200 crossing our CANCEL, or the caller
            // left): Sofia has sent the ACK; end the dialog. It never connected.
            leg.answeredTooLate = true
            leg.finalStatus = 487
            leg.reported = true
            leg.endedAt = now
            leg.log.notice("dial.leg_late_answer", ["detail": "answered after the dial ended; sending BYE"])
            return stack.bye(leg.handle)
        }
        // The answer's SDP, or the one of an earlier 183 (RFC 3261 13.2.1).
        if !configureLeg(leg, body: r.body, contentType: r.contentType) && !leg.configured {
            leg.log.warning("dial.leg_no_sdp", [:])
            stack.bye(leg.handle)
            leg.finalStatus = 488
            leg.reported = true
            return legMachine(leg, now: now) { m, t in m.legFailed(i, sipStatus: 488, now: t) }
        }
        legMachine(leg, now: now) { m, t in m.legAnswered(i, now: t) }
        guard calls[parent]?.session.activeDial?.machine.bridgedLeg == i else {
            // Lost the race to another leg: the machine hung it up; never connected.
            leg.answeredTooLate = true
            leg.finalStatus = 487
            leg.reported = true
            leg.endedAt = now
            return
        }
        leg.answerTime = now
        leg.finalStatus = 200
        leg.log.info("dial.leg_answered", [:])
    }

    /// The callee holds or moves its media: answered from the leg's own media.
    private func legReInvite(_ h: SIPCallHandle, contentType type: String?, body: String?, leg: Leg) {
        guard let body, type?.lowercased() == "application/sdp", let sdp = try? SDPParser.parse(body) else {
            return stack.respond(h, status: body == nil ? 200 : 488, sdp: body == nil ? OfferAnswer.offer(local: leg.local) : nil)
        }
        var next = leg.local
        next.sessionVersion += 1
        switch OfferAnswer.answer(sdp, local: next) {
        case .success(let (n, answer)):
            leg.local = next
            stack.respond(h, status: 200, sdp: answer)
            media.configure(leg.media, peer: MediaPeer(negotiated: n))
        case .failure:
            stack.respond(h, status: 488)
        }
    }

    /// Applies an SDP answer from the leg; true when one was there and usable.
    func configureLeg(_ leg: Leg, body: String?, contentType: String?) -> Bool {
        guard let body, contentType?.lowercased() == "application/sdp", let sdp = try? SDPParser.parse(body),
              case .success(let n) = OfferAnswer.acceptAnswer(sdp) else { return false }
        media.configure(leg.media, peer: MediaPeer(negotiated: n))
        leg.configured = true
        return true
    }

    /// The leg's call is over: the leg ends too, whatever else happened. BYE (or CANCEL)
    /// now; if its dialog still has not ended when Sofia's own transactions would have timed
    /// out, the leg is closed by force: its record written, its port freed, its handle let go.
    func endLegUnconditionally(_ leg: Leg) {
        if leg.endedAt == nil { leg.endedAt = Date() }
        if leg.answerTime != nil || leg.answeredTooLate { stack.bye(leg.handle) } else { stack.cancel(leg.handle) }
        let handle = leg.handle, id = ObjectIdentifier(leg)
        stack.schedule(afterMilliseconds: 40_000) { [self] in
            guard let leg = legs[handle], ObjectIdentifier(leg) == id else { return }
            leg.log.warning("dial.leg_forced_end", ["detail": "dialog still open 40 s after its call ended"])
            stack.abandon(handle)
            legTerminated(leg, status: 408, now: Date())
        }
    }

    func legTerminated(_ leg: Leg, status: Int, now: Date) {
        legs[leg.handle] = nil
        let stats = media.close(leg.media)
        if let e = calls[leg.parent] {
            if e.legs[leg.index] == leg.handle { e.legs[leg.index] = nil }
            if !leg.reported {
                // The dialog ended without a final response we saw (timeout, transport).
                let code = leg.answerTime == nil ? max(status, 408) : 200
                leg.reported = true
                withCall(leg.parent) { $0.session.dialEvent(now: now) { m, t in
                    leg.answerTime == nil ? m.legFailed(leg.index, sipStatus: code, now: t) : m.legEnded(leg.index, now: t)
                } }
            }
        }
        let disposition: Disposition
        if leg.answerTime != nil { disposition = .completed }
        else if leg.answeredTooLate { disposition = .canceled }
        else {
            switch leg.finalStatus {
            case 487, 0: disposition = .canceled
            case let code where DialStatus.isBusy(sipStatus: code): disposition = .busy
            default: disposition = .failed
            }
        }
        var record = legRecord(leg, disposition: disposition,
                               code: leg.finalStatus == 0 ? max(status, 487) : leg.finalStatus, end: legEnd(leg, now: now))
        record.hangupBy = leg.answerTime == nil ? .none : (leg.byCallee ? .caller : .daemon)
        if let stats {
            record.rtpSent = stats.packetsSent
            record.rtpReceived = stats.packetsReceived
            record.rtpDropped = stats.packetsDropped
        }
        services.writer.finish(record)
        countFinished(record)
        leg.log.info("dial.leg_end", ["disposition": disposition.rawValue, "sip_code": record.sipCode,
                                      "billable_s": record.billableSeconds, "rtp_sent": record.rtpSent,
                                      "rtp_received": record.rtpReceived])
    }

    /// Where a leg's record ends: when its conversation ended (not when the BYE transaction
    /// did), and never past the answer plus `<Dial timeLimit>`.
    func legEnd(_ leg: Leg, now: Date) -> Date {
        let end = leg.endedAt ?? now
        guard let answer = leg.answerTime, leg.timeLimitSeconds < Int.max / 2 else { return end }
        return min(end, answer.addingTimeInterval(Double(leg.timeLimitSeconds)))
    }

    /// The record of an outbound leg, linked to its parent call.
    func legRecord(_ leg: Leg, disposition: Disposition, code: Int, end: Date) -> CallDetailRecord {
        var r = CallDetailRecord(
            callID: leg.callID, sipCallID: leg.sipCallID, did: leg.did, tenant: leg.tenant,
            fromNumber: leg.presentedNumber, toNumber: leg.target.label, startTime: leg.start, answerTime: leg.answerTime,
            endTime: end, disposition: disposition, sipCode: code, hangupBy: .none, flow: leg.flow, emergency: leg.emergency)
        r.direction = .outbound
        r.parentCallID = leg.parentCallID
        return r
    }
}
