import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// Counters of dial activity since start.
struct DialCounters {
    var legsPlaced = 0
    var legsAnswered = 0
    var failovers = 0
    var emergencyDials = 0
}

/// One outbound leg of a `<Dial>` (a B leg), owned by the controller.
final class Leg {
    let index: Int
    let parent: SIPCallHandle
    let handle: SIPCallHandle
    let media: MediaSessionID
    let callID: String
    /// The SIP Call-ID of the outbound dialog: what the trunk bills by.
    let sipCallID: String
    let target: DialTarget
    let start: Date
    let log: Logger
    /// The parent call's record fields (the leg may outlive the parent's entry).
    let parentCallID: String
    let did: String
    let tenant: String
    let flow: String
    let presentedNumber: String
    let emergency: Bool
    var local: LocalMedia
    var answerTime: Date?
    var finalStatus = 0
    var authTried = false
    var byCallee = false
    /// A 200 that came after the leg lost (a simultaneous-ring loser, or a 200 crossing our
    /// CANCEL): we ACK and BYE it at once; never connected, never billed.
    var answeredTooLate = false
    /// When the leg's conversation ended (our BYE sent, or the callee's received); the
    /// record ends here, not when the BYE transaction completes.
    var endedAt: Date?
    /// `<Dial timeLimit>`: the bridged time billed is never longer.
    var timeLimitSeconds = Int.max
    /// An SDP answer (183 or 2xx) has configured the leg's media.
    var configured = false
    /// The machine has been told this leg is over.
    var reported = false

    init(index: Int, parent: SIPCallHandle, handle: SIPCallHandle, media: MediaSessionID, callID: String,
         sipCallID: String, target: DialTarget, start: Date, log: Logger, local: LocalMedia, parentCallID: String, did: String,
         tenant: String, flow: String, presentedNumber: String, emergency: Bool) {
        self.parentCallID = parentCallID
        self.did = did
        self.tenant = tenant
        self.flow = flow
        self.presentedNumber = presentedNumber
        self.emergency = emergency
        self.index = index
        self.parent = parent
        self.handle = handle
        self.media = media
        self.callID = callID
        self.sipCallID = sipCallID
        self.target = target
        self.start = start
        self.log = log
        self.local = local
    }
}

/// `<Dial>`: resolving targets, placing and ending legs, bridging media, leg records.
extension CallController {
    /// A token no flow action uses: ringback loops until stopped, so it never finishes.
    static let ringbackToken: UInt64 = .max - 1

    /// Resolves the dial's targets and starts its machine.
    func resolveDial(_ dial: Dial, token: FlowToken, on e: Entry) {
        let tenant = policy.tenants[e.session.route.tenant]
        let trunk = tenant?.trunk.flatMap { name in policy.trunks.first { $0.name == name } } ?? policy.trunks.first
        var targets: [DialTarget] = []
        for t in dial.targets {
            switch t {
            case .number(let n):
                guard let trunk else {
                    e.log.error("dial.no_trunk", ["number": n.number, "detail": "no trunk configured for <Number>"])
                    continue
                }
                targets.append(DialTarget(uri: trunk.uri(for: n.number), label: n.number,
                                          username: trunk.username, password: trunk.password))
            case .sip(let s):
                targets.append(DialTarget(uri: s.uri, label: s.uri, username: s.username, password: s.password))
            }
        }
        let emergency = e.session.emergency || e.session.route.emergency
        let strategy: DialStrategy = emergency
            ? .failover(stepMilliseconds: policy.emergencyFailoverMilliseconds,
                        lastResort: policy.emergencyLastResort.map { DialTarget(uri: $0, label: $0) })
            : .simultaneous
        if emergency { dialCounters.emergencyDials += 1 }
        let recording: DialRecording = switch dial.record {
        case .doNotRecord: .none
        case .recordFromAnswer: .fromAnswer(dual: false)
        case .recordFromAnswerDual: .fromAnswer(dual: true)
        case .recordFromRinging: .fromRinging(dual: false)
        case .recordFromRingingDual: .fromRinging(dual: true)
        }
        let machine = DialMachine(targets: targets, strategy: strategy, ringMilliseconds: dial.timeout * 1000,
                                  timeLimitSeconds: dial.timeLimit, recording: recording)
        withCall(e.handle) { $0.session.beginDial(machine, dial: dial, token: token, now: Date()) }
    }

    /// Carries out one dial action for call `e`.
    func performDial(_ action: DialAction, on e: Entry) {
        let h = e.handle
        switch action {
        case .placeLeg(let i):
            placeLeg(i, on: e)
        case .cancelLeg(let i):
            if let lh = e.legs[i] { stack.cancel(lh) }
        case .hangUpLeg(let i):
            if let lh = e.legs[i] {
                if let leg = legs[lh], leg.endedAt == nil { leg.endedAt = Date() }
                stack.bye(lh)
            }
        case .startTimer(let timer, let ms):
            if let old = e.dialTimers.removeValue(forKey: timer) { stack.cancel(old) }
            e.dialTimers[timer] = stack.schedule(afterMilliseconds: ms) { [self] in
                calls[h]?.dialTimers[timer] = nil
                withCall(h) { $0.session.dialEvent(now: Date()) { m, t in m.timerFired(timer, now: t) } }
            }
        case .cancelTimer(let timer):
            if let t = e.dialTimers.removeValue(forKey: timer) { stack.cancel(t) }
        case .ringback(let on):
            if on { media.play(e.media, audio: Tones.ringback(), loops: 0, token: Self.ringbackToken) } else { media.stopPlayback(e.media) }
        case .relayEarlyMedia(let i):
            guard let lh = e.legs[i], let leg = legs[lh] else { return }
            media.relayOneWay(from: leg.media, to: e.media)
            e.relayedLeg = i
        case .bridge(let i):
            guard let lh = e.legs[i], let leg = legs[lh] else { return }
            if let old = e.relayedLeg, old != i, let oh = e.legs[old], let ol = legs[oh] { media.unbridge(ol.media, nil) }
            media.bridge(e.media, leg.media)
            e.relayedLeg = i
            dialCounters.legsAnswered += 1
            metrics.increment("tollfreed_dial_legs_total", [("event", "answered")])
        case .unbridge:
            let partner = e.relayedLeg.flatMap { e.legs[$0] }.flatMap { legs[$0]?.media }
            media.unbridge(e.media, partner)
            e.relayedLeg = nil
        case .startRecording(let dual):
            guard let d = e.session.activeDial else { return }
            let (sid, path) = newRecording(on: e)
            e.recordings[d.token] = (sid, path)
            media.startCallRecording(e.media, path: path, maxSeconds: min(d.dial.timeLimit, policy.maxCallSeconds) + d.dial.timeout,
                                     dual: dual, token: d.token, seal: services.compliance.sealer(for: e.session.route.industry))
            e.log.info("dial.recording_started", ["sid": sid, "dual": dual])
        case .stopRecording:
            media.stopCallRecording(e.media, reason: .hangup)
        case .log, .finished:
            break // logged by the session; the result goes to the flow from there
        }
    }

    private func placeLeg(_ i: Int, on e: Entry) {
        guard let d = e.session.activeDial, d.machine.targets.indices.contains(i) else { return }
        let target = d.machine.targets[i]
        let parent = e.handle
        func failSoon(_ status: Int, _ why: String) {
            e.log.error("dial.leg_not_placed", ["leg": i, "target": target.label, "reason": why])
            stack.post { [self] in withCall(parent) { $0.session.dialEvent(now: Date()) { m, t in m.legFailed(i, sipStatus: status, now: t) } } }
        }
        let emergency = e.session.emergency || e.session.route.emergency
        guard let port = media.open(emergency: emergency) else { return failSoon(503, "no free RTP port") }
        let local = LocalMedia(address: policy.mediaAddress, port: port.port, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        let callerID = d.dial.callerId.flatMap { PhoneNumber.e164($0) ?? $0 } ?? e.session.fromNumber
        let user = callerID.filter { $0.isLetter || $0.isNumber || "+-_.".contains($0) }
        let from = "\"\(user)\" <sip:\(user.isEmpty ? "tollfreed" : user)@\(policy.localSIPAddress)>"
        var headers: [String] = []
        if emergency { headers.append("Priority: emergency") }
        let callID = nextCallID()
        // Our own SIP Call-ID, so the record holds what the trunk sees from the first request.
        let sipCallID = "\(callID)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))@\(policy.localSIPAddress)"
        guard let lh = stack.invite(requestURI: target.uri, from: from, to: "<\(target.uri)>", callID: sipCallID,
                                    sdp: OfferAnswer.offer(local: local), headers: headers) else {
            media.close(port.0)
            return failSoon(400, "Sofia refused the URI \(target.uri)")
        }
        let leg = Leg(index: i, parent: parent, handle: lh, media: port.0, callID: callID, sipCallID: sipCallID,
                      target: target, start: Date(),
                      log: e.log.with(["leg": callID]), local: local, parentCallID: e.session.callID,
                      did: e.session.route.did, tenant: e.session.route.tenant, flow: e.session.route.flow,
                      presentedNumber: callerID, emergency: emergency)
        leg.timeLimitSeconds = d.dial.timeLimit
        legs[lh] = leg
        e.legs[i] = lh
        dialCounters.legsPlaced += 1
        metrics.increment("tollfreed_dial_legs_total", [("event", "placed")])
        if case .failover = d.machine.strategy, i > 0 {
            dialCounters.failovers += 1
            metrics.increment("tollfreed_dial_legs_total", [("event", "failover")])
        }
        updateActiveGauges()
        e.session.dialLegPlaced(i, callID: callID)
        leg.log.info("dial.leg_invite", ["target": target.uri, "emergency": emergency])
        services.writer.begin(legRecord(leg, disposition: .active, code: 0, end: leg.start))
    }

    /// Events on an outbound leg's dialog.
    func legEvent(_ event: SIPEvent, leg: Leg, now: Date) {
        let parent = leg.parent
        let i = leg.index
        func machine(_ body: @escaping (inout DialMachine, Double) -> [DialAction]) {
            withCall(parent) { $0.session.dialEvent(now: now, body) }
        }
        switch event {
        case .inviteResponse(_, let r):
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
                machine { m, _ in m.legRinging(i, early: early) }
            case 200..<300:
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
                    return machine { m, t in m.legFailed(i, sipStatus: 488, now: t) }
                }
                machine { m, t in m.legAnswered(i, now: t) }
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
            default:
                guard r.status >= 300 else { return }
                leg.finalStatus = r.status
                leg.reported = true
                machine { m, t in m.legFailed(i, sipStatus: r.status, now: t) }
            }
        case .bye:
            leg.byCallee = true
            if leg.endedAt == nil { leg.endedAt = now }
            leg.reported = true
            machine { m, t in m.legEnded(i, now: t) }
        case .reInvite(let h, let type, let body):
            // The callee holds or moves its media: answer from the leg's own media.
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
        case .ack(_, let type, let body):
            _ = configureLeg(leg, body: body, contentType: type)
        case .terminated(_, let status):
            legTerminated(leg, status: status, now: now)
        case .invite, .cancel, .info, .message, .options:
            break
        }
    }

    /// Applies an SDP answer from the leg; true when one was there and usable.
    private func configureLeg(_ leg: Leg, body: String?, contentType: String?) -> Bool {
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
    private func legRecord(_ leg: Leg, disposition: Disposition, code: Int, end: Date) -> CallDetailRecord {
        var r = CallDetailRecord(
            callID: leg.callID, sipCallID: leg.sipCallID, did: leg.did, tenant: leg.tenant,
            fromNumber: leg.presentedNumber, toNumber: leg.target.label, startTime: leg.start, answerTime: leg.answerTime,
            endTime: end, disposition: disposition, sipCode: code, hangupBy: .none, flow: leg.flow, emergency: leg.emergency)
        r.direction = .outbound
        r.parentCallID = leg.parentCallID
        return r
    }
}
