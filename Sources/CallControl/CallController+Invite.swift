import Configuration
import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// What an INVITE has been found to be so far, on its way to becoming a call.
struct InviteContext: Sendable {
    let invite: IncomingInvite
    let callID: String
    let now: Date
    let fromNumber: String
    let route: DIDRoute?
    let emergency: Bool
    let log: Logger

    /// The record of a call refused before it had a session: what the INVITE asked for,
    /// never answered, never billed.
    func refusalRecord(status: Int, disposition: Disposition, at end: Date) -> CallDetailRecord {
        CallDetailRecord(callID: callID, sipCallID: invite.callID, did: route?.did ?? "", tenant: route?.tenant ?? "",
                         fromNumber: fromNumber, toNumber: invite.requestUser, startTime: now, answerTime: nil, endTime: end,
                         disposition: disposition, sipCode: status, hangupBy: .none, flow: route?.flow ?? "", emergency: emergency)
    }
}

/// A new INVITE: screening (source, rate, Contact), classification, admission, offer, RTP
/// port, and the call's session.
extension CallController {
    func handleInvite(_ inv: IncomingInvite, now: Date) {
        let callID = nextCallID()
        let fromNumber = PhoneNumber.e164(inv.fromUser) ?? inv.fromUser
        let route = policy.directory.route(forDialed: inv.requestUser)
        let masked = route.map { policy.tenants[$0.tenant]?.industry == .healthcare } ?? false
        // The tenant from the first line on (journald's TENANT= finds every line of a call).
        let log = route.map { logger.with(["call": callID, "tenant": $0.tenant]) } ?? logger.with(["call": callID])
        log.info("call.invite", ["to": inv.requestUser, "from": masked ? Self.mask(fromNumber) : fromNumber,
                                 "source": inv.source, "sip_call_id": inv.callID])
        let markingsTrusted = policy.trustsMarkings(from: inv.source)
        let emergency = policy.emergency.isEmergency(route: route, priority: inv.priority, resourcePriority: inv.resourcePriority,
                                                     markingsTrusted: markingsTrusted)
        let ctx = InviteContext(invite: inv, callID: callID, now: now, fromNumber: fromNumber, route: route,
                                emergency: emergency, log: log)
        let verdict = InviteGate.verdict(facts(inv, route: route, emergency: emergency, now: now))
        if verdict.classified && !emergency && !markingsTrusted
            && policy.emergency.claimsEmergency(priority: inv.priority, resourcePriority: inv.resourcePriority) {
            countIgnoredMarking(source: inv.source)
        }
        switch verdict {
        case .drop(let d): return drop(ctx, d)
        case .refuse(let r): return refuse(ctx, r.status, r.disposition, r.reason, headers: r.headers, rejection: r.rejection)
        case .admit: break
        }
        guard let route, admit(ctx) else { return }
        let offer: SessionDescription?
        switch InviteGate.offer(body: inv.body, contentType: inv.contentType) {
        case .success(let o): offer = o
        case .failure(let r): return refuseAdmitted(ctx, r.status, r.disposition, r.reason, headers: r.headers)
        }
        let family = policy.mediaFamily(forOffer: offer)
        if let port = media.open(emergency: emergency, family: family) {
            return startCall(ctx, route: route, offer: offer, port: port, family: family)
        }
        guard emergency, preemptForPort(ctx) else {
            return refuseAdmitted(ctx, 503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
        awaitPort(ctx, route: route, offer: offer, family: family, attempts: 50)
    }

    /// What the gate decides on. The rate bucket is consulted only for a trusted source.
    private func facts(_ inv: IncomingInvite, route: DIDRoute?, emergency: Bool, now: Date) -> InviteFacts {
        let trusted = policy.trustedSources(tls: inv.overTLS).allows(source: inv.source)
        return InviteFacts(sourceTrusted: trusted, withinRate: trusted && allowRate(source: inv.source, now: now),
                           contactUsable: inv.contactUsable, emergency: emergency,
                           halfOpenRefusal: halfOpen.refusal(source: inv.source), draining: draining,
                           recordBacklogFull: services.recordBacklog?.isBacklogFull == true, flow: route?.flow,
                           flowAvailable: route.map { policy.flows[$0.flow] != nil || policy.numbers[$0.did]?.isRemoteFlow == true } ?? false,
                           speechBacklogged: speechBacklogged(route))
    }

    /// The number's flow is a URL (whose documents may bring text never spoken before) and a
    /// prompt its tenant asks for now would wait past `calls.tts_backlog_ms` for its audio.
    private func speechBacklogged(_ route: DIDRoute?) -> Bool {
        guard policy.ttsBacklogMilliseconds > 0, let route, policy.numbers[route.did]?.isRemoteFlow == true else { return false }
        return services.prompts.expectedWait(tenant: route.tenant) * 1000 > Double(policy.ttsBacklogMilliseconds)
    }

    /// Answers a dropped INVITE and counts it (no record: see `InviteVerdict.drop`).
    private func drop(_ ctx: InviteContext, _ d: InviteDrop) {
        let inv = ctx.invite
        stack.respond(inv.handle, status: d.status, headers: d.headers)
        switch d {
        case .untrusted: countUntrusted(source: inv.source)
        case .rateLimited: break // counted by allowRate
        case .badContact: countMalformed(source: inv.source, reason: "contact")
        case .halfOpen(let why): countHalfOpenRefusal(source: inv.source, reason: why)
        case .recordBacklogFull: countBacklogRefusal(ctx)
        }
    }

    /// Admission control; false when refused.
    private func admit(_ ctx: InviteContext) -> Bool {
        switch admission.request(ctx.invite.handle, emergency: ctx.emergency) {
        case .admit:
            break
        case .admitPreempting(let victim):
            ctx.log.warning("call.preempting", ["victim": calls[victim]?.session.callID ?? "?"])
            metrics.increment("tollfreed_preemptions_total")
            withCall(victim) { $0.session.preempt(now: ctx.now) }
        case .reject(let retry):
            refuse(ctx, 503, .busy, "at capacity (\(admission.active) calls, \(policy.admission.emergencyReserve) reserved for emergencies)",
                   headers: ["Retry-After: \(retry)"])
            return false
        }
        if ctx.emergency {
            ctx.log.notice("call.emergency", ["priority": ctx.invite.priority ?? "", "resource_priority": ctx.invite.resourcePriority ?? ""])
            metrics.increment("tollfreed_emergency_calls_total")
        }
        return true
    }

    /// Refuses the INVITE and writes its record.
    func refuse(_ ctx: InviteContext, _ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = [],
                rejection: String? = nil) {
        let inv = ctx.invite
        stack.respond(inv.handle, status: status, headers: headers)
        countRejection(rejection ?? (status == 503 ? (draining ? "draining" : "capacity") : String(status)))
        ctx.log.notice("call.refused", ["status": status, "reason": reason])
        services.writer.submit(ctx.refusalRecord(status: status, disposition: disposition, at: stack.currentTime()))
    }

    /// Refuses an INVITE that was admitted: its place is given back.
    func refuseAdmitted(_ ctx: InviteContext, _ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = []) {
        admission.release(ctx.invite.handle)
        refuse(ctx, status, disposition, reason, headers: headers)
    }

    /// Every RTP port is taken and an emergency call needs one: the newest ordinary call is
    /// preempted and its media closed at once (its record keeps its packet counts). False
    /// when there is no ordinary call to preempt.
    private func preemptForPort(_ ctx: InviteContext) -> Bool {
        guard let victim = admission.takePreemptionVictim(), let v = calls[victim] else { return false }
        ctx.log.warning("call.preempting", ["victim": v.session.callID, "reason": "no free RTP port"])
        metrics.increment("tollfreed_preemptions_total")
        withCall(victim) { $0.session.preempt(now: ctx.now) }
        if let v = calls[victim], let stats = media.close(v.media) {
            v.closedMediaStats = stats
            byMedia[v.media] = nil
        }
        return true
    }

    /// Waits for the port a preempted call gives back (the media threads release it within
    /// a tick), 10 ms at a time; the caller meanwhile has its 100 Trying.
    private func awaitPort(_ ctx: InviteContext, route: DIDRoute, offer: SessionDescription?, family: IPFamily, attempts: Int) {
        stack.schedule(afterMilliseconds: 10) { [self] in
            guard stack.isAlive(ctx.invite.handle) else {
                // The caller gave up (CANCEL) while we waited.
                admission.release(ctx.invite.handle)
                return refuse(ctx, 487, .canceled, "cancelled while waiting for an RTP port")
            }
            if let port = media.open(emergency: true, family: family) {
                return startCall(ctx, route: route, offer: offer, port: port, family: family)
            }
            if attempts > 1 { return awaitPort(ctx, route: route, offer: offer, family: family, attempts: attempts - 1) }
            refuseAdmitted(ctx, 503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
    }

    /// The INVITE is admitted and has its port: answer the offer and start the session.
    private func startCall(_ ctx: InviteContext, route: DIDRoute, offer: SessionDescription?, port: (MediaSessionID, port: UInt16),
                           family: IPFamily) {
        let inv = ctx.invite
        let local = policy.localMedia(port: port.port, address: policy.mediaAddress(of: family) ?? policy.mediaAddress,
                                      srtp: policy.srtp(overTLS: inv.overTLS))
        var negotiated: (NegotiatedAudio, String)?
        if let offer {
            switch OfferAnswer.answer(offer, local: local) {
            case .success(let r): negotiated = r
            case .failure(let f):
                media.close(port.0)
                return refuseAdmitted(ctx, 488, .rejected, "\(f)", headers: [f.warningHeader])
            }
        }
        var routed = route
        routed.emergency = ctx.emergency
        let session = CallSession(callID: ctx.callID, sipCallID: inv.callID, route: routed, fromNumber: ctx.fromNumber,
                                  toNumber: inv.requestUser, startTime: ctx.now, flow: policy.flows[route.flow], baseURL: nil,
                                  local: local, offer: negotiated, ringMilliseconds: policy.ringMilliseconds,
                                  maxCallSeconds: policy.maxCallSeconds,
                                  callParameters: callParameters(ctx, route: route, status: "in-progress"))
        let entry = Entry(session: session, handle: inv.handle, media: port.0,
                          log: ctx.log, number: policy.numbers[route.did])
        entry.source = inv.source
        entry.latch = policy.latch(overTLS: inv.overTLS)
        entry.session.ackTimeoutMilliseconds = policy.ackTimeoutMilliseconds
        stack.adopt(inv.handle)
        // The record exists from admission on (active), so a crash cannot lose the call.
        services.writer.begin(entry.session.openingRecord)
        calls[inv.handle] = entry
        byMedia[port.0] = inv.handle
        updateActiveGauges()
        withCall(inv.handle) { $0.session.start(now: ctx.now) }
    }
}
