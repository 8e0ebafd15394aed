import Configuration
import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// One outbound leg of a `<Dial>` (a B leg) as the controller holds it: its dialog, media
/// and log, and the `LegMachine` that decides what its events mean.
final class Leg {
    let parent: SIPCallHandle
    let handle: SIPCallHandle
    let media: MediaSessionID
    let log: Logger
    var local: LocalMedia
    var state: LegMachine
    /// The noun's `statusCallback` (resolved) and events, if it asked for them.
    var progress: LegProgressCallback?
    /// A 180/183 was reported to `progress` (once per leg).
    var rang = false
    /// `<Number sendDigits>`: sent to the callee once it answers, before the bridge.
    var sendDigits: String?
    /// `<Number url>` / `<Sip url>`: the whisper played to the callee before the bridge.
    var whisper: (url: String, method: RequestMethod)?

    var index: Int { state.placement.index }

    init(parent: SIPCallHandle, handle: SIPCallHandle, media: MediaSessionID, log: Logger, local: LocalMedia,
         placement: LegPlacement) {
        self.parent = parent
        self.handle = handle
        self.media = media
        self.log = log
        self.local = local
        self.state = LegMachine(placement)
    }
}

/// Outbound legs after their INVITE: responses, re-INVITEs, BYE, and their end and record.
extension CallController {
    /// Events on an outbound leg's dialog.
    func legEvent(_ event: SIPEvent, leg: Leg, now: Date) {
        switch event {
        case .inviteResponse(_, let r):
            legResponse(r, leg: leg, now: now)
        case .bye:
            dropWhisper(leg.media)  // a callee leaving during its whisper did not answer
            perform(leg.state.calleeHungUp(now: now), on: leg, now: now)
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

    /// Carries out the leg machine's actions.
    func perform(_ actions: [LegAction], on leg: Leg, now: Date, challenge: (scheme: String, realm: String)? = nil) {
        for action in actions {
            switch action {
            case .authenticate:
                guard let c = challenge, let user = leg.state.placement.target.username,
                      let password = leg.state.placement.target.password else { continue }
                stack.authenticate(leg.handle, scheme: c.scheme, realm: c.realm, user: user, password: password)
            case .sendBye:
                stack.bye(leg.handle)
            case .sendCancel:
                stack.cancel(leg.handle)
            case .report(let report):
                if case .ringing = report, !leg.rang {
                    leg.rang = true
                    legProgress(leg, .ringing)
                }
                tellDialMachine(report, leg: leg, now: now)
            case .log(let level, let event, let detail):
                leg.log.log(level, event, detail.map { ["detail": $0] } ?? [:])
            }
        }
    }

    /// Feeds the parent call's dial machine.
    private func tellDialMachine(_ report: LegReport, leg: Leg, now: Date) {
        let i = leg.index
        withCall(leg.parent) { $0.session.dialEvent(now: now) { m, t in
            switch report {
            case .ringing(let early): m.legRinging(i, early: early)
            case .answered: m.legAnswered(i, now: t)
            case .failed(let status): m.legFailed(i, sipStatus: status, now: t)
            case .ended: m.legEnded(i, now: t)
            }
        } }
    }

    /// A response to the leg's INVITE: authentication, ringing, answer or failure.
    private func legResponse(_ r: InviteResponse, leg: Leg, now: Date) {
        if r.status == 401 || r.status == 407, let challenge = r.challenge {
            return perform(leg.state.challenged(status: r.status), on: leg, now: now, challenge: challenge)
        }
        switch r.status {
        case 180..<200:
            let early = configureLeg(leg, body: r.body, contentType: r.contentType)
            perform(leg.state.provisional(status: r.status, sdpApplied: early), on: leg, now: now)
        case 200..<300:
            legAnswered(r, leg: leg, now: now)
        case 300...:
            perform(leg.state.failed(r.status), on: leg, now: now)
        default:
            break
        }
    }

    /// A 2xx on the leg: bridged when the dial still wants it, else ended (never connected).
    private func legAnswered(_ r: InviteResponse, leg: Leg, now: Date) {
        let d = calls[leg.parent]?.session.activeDial
        let wanted = d != nil && d?.result == nil && calls[leg.parent]?.legs[leg.index] == leg.handle
        // The answer's SDP, or the one of an earlier 183 (RFC 3261 13.2.1).
        let sdp = wanted && configureLeg(leg, body: r.body, contentType: r.contentType)
        let actions = leg.state.answered(dialWantsIt: wanted, sdpApplied: sdp, now: now)
        if let whisper = leg.whisper, actions.contains(.report(.answered)) {
            // The dial hears of the answer when the whisper accepts it.
            perform(actions.filter { $0 != .report(.answered) }, on: leg, now: now)
            return startWhisper(leg, url: whisper.url, method: whisper.method, now: now)
        }
        perform(actions, on: leg, now: now)
        guard actions.contains(.report(.answered)) else { return }
        legAccepted(leg, reported: true, now: now)
    }

    /// The callee answered (after its whisper, if any): the dial machine decides whether
    /// this leg is bridged.
    func legAccepted(_ leg: Leg, reported: Bool, now: Date) {
        if !reported { tellDialMachine(.answered, leg: leg, now: now) }
        let won = calls[leg.parent]?.session.activeDial?.machine.bridgedLeg == leg.index
        perform(leg.state.bridged(won, now: now), on: leg, now: now)
        if won { legProgress(leg, .answered) }
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
            media.configure(leg.media, peer: legPeer(leg, n))
        case .failure(let f):
            // The leg goes on with its old media (RFC 3261 14.2).
            stack.respond(h, status: 488, headers: [f.warningHeader])
        }
    }

    /// Applies an SDP answer from the leg; true when one was there and usable.
    func configureLeg(_ leg: Leg, body: String?, contentType: String?) -> Bool {
        guard let body, contentType?.lowercased() == "application/sdp", let sdp = try? SDPParser.parse(body),
              case .success(let n) = OfferAnswer.acceptAnswer(sdp, local: leg.local) else { return false }
        leg.log.info("dial.leg_media", ["codec": n.codec.rawValue, "srtp": n.crypto?.suite ?? "off"])
        media.configure(leg.media, peer: legPeer(leg, n))
        return true
    }

    /// The leg's call is over: the leg ends too, whatever else happened. BYE (or CANCEL)
    /// now; if its dialog still has not ended when Sofia's own transactions would have timed
    /// out, the leg is closed by force: its record written, its port freed, its handle let go.
    func endLegUnconditionally(_ leg: Leg) {
        perform([leg.state.parentEnded(now: stack.currentTime())], on: leg, now: stack.currentTime())
        let handle = leg.handle, id = ObjectIdentifier(leg)
        stack.schedule(afterMilliseconds: 40_000) { [self] in
            guard let leg = legs[handle], ObjectIdentifier(leg) == id else { return }
            leg.log.warning("dial.leg_forced_end", ["detail": "dialog still open 40 s after its call ended"])
            stack.abandon(handle)
            legTerminated(leg, status: 408, now: stack.currentTime())
        }
    }

    func legTerminated(_ leg: Leg, status: Int, now: Date) {
        legs[leg.handle] = nil
        dropWhisper(leg.media)
        pendingBridges[leg.media] = nil
        let (report, record) = leg.state.terminated(status: status, now: now, media: media.close(leg.media))
        if let e = calls[leg.parent] {
            if e.legs[leg.index] == leg.handle { e.legs[leg.index] = nil }
            if let report { tellDialMachine(report, leg: leg, now: now) }
        }
        services.writer.finish(record)
        countFinished(record)
        legProgress(leg, .completed, record: record)
        leg.log.info("dial.leg_end", ["disposition": record.disposition.rawValue, "sip_code": record.sipCode,
                                      "billable_s": record.billableSeconds, "rtp_sent": record.rtpSent,
                                      "rtp_received": record.rtpReceived, "rtp_lost": record.quality.packetsLost,
                                      "mos": record.quality.mos.map { "\($0)" } ?? "-"])
        reportQuality(record, log: leg.log)
    }
}
