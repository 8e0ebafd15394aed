import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// What an INVITE has been found to be so far, on its way to becoming a call.
struct InviteContext {
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
        let log = logger.with(["call": callID])
        log.info("call.invite", ["to": inv.requestUser, "from": masked ? Self.mask(fromNumber) : fromNumber,
                                 "source": inv.source, "sip_call_id": inv.callID])
        guard screen(inv, now: now) else { return }
        let markingsTrusted = policy.trustsMarkings(from: inv.source)
        let emergency = policy.emergency.isEmergency(route: route, priority: inv.priority, resourcePriority: inv.resourcePriority,
                                                     markingsTrusted: markingsTrusted)
        if !emergency && !markingsTrusted && policy.emergency.claimsEmergency(priority: inv.priority, resourcePriority: inv.resourcePriority) {
            countIgnoredMarking(source: inv.source)
        }
        if !emergency, let why = halfOpen.refusal(source: inv.source) {
            // Answered-but-never-ACKed floods: refused like a rate limit (no record), and
            // never into the emergency reserve.
            stack.respond(inv.handle, status: 503, headers: ["Retry-After: 5"])
            return countHalfOpenRefusal(source: inv.source, reason: why)
        }
        let ctx = InviteContext(invite: inv, callID: callID, now: now, fromNumber: fromNumber, route: route,
                                emergency: emergency, log: log)
        if draining { return refuse(ctx, 503, .busy, "draining", headers: ["Retry-After: 30"]) }
        if !emergency, services.recordBacklog?.isBacklogFull == true {
            // The database has been away long enough to fill the spool: no new ordinary
            // call (emergency calls still come in). No record either, so a flood cannot
            // grow the spool; a rate-limited log line and a metric say why.
            stack.respond(inv.handle, status: 503, headers: ["Retry-After: 30"])
            return countBacklogRefusal(ctx)
        }
        guard let route else { return refuse(ctx, 404, .rejected, "unknown number") }
        guard policy.flows[route.flow] != nil || policy.numbers[route.did]?.isRemoteFlow == true else {
            return refuse(ctx, 500, .failed, "flow \(route.flow) not loaded")
        }
        guard admit(ctx) else { return }
        var offer: SessionDescription?
        if let body = inv.body, !body.isEmpty {
            guard inv.contentType?.lowercased() == "application/sdp" else {
                return refuseAdmitted(ctx, 415, .rejected, "body type \(inv.contentType ?? "none")", headers: ["Accept: application/sdp"])
            }
            do { offer = try SDPParser.parse(body) } catch {
                return refuseAdmitted(ctx, 400, .rejected, "malformed SDP: \(error)",
                                      headers: ["Warning: 399 tollfreed \"Malformed SDP: \(Self.headerSafe(error.description))\""])
            }
        }
        if let port = media.open(emergency: emergency) {
            return startCall(ctx, route: route, offer: offer, port: port)
        }
        guard emergency, preemptForPort(ctx) else {
            return refuseAdmitted(ctx, 503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
        awaitPort(ctx, route: route, offer: offer, attempts: 50)
    }

    /// Source, rate and Contact checks; false when the INVITE was refused (no record: these
    /// are not our customers' calls, and a record per flooded INVITE would be disk load).
    private func screen(_ inv: IncomingInvite, now: Date) -> Bool {
        guard policy.trustedSources(tls: inv.overTLS).allows(source: inv.source) else {
            stack.respond(inv.handle, status: 403)
            countUntrusted(source: inv.source)
            return false
        }
        guard allowRate(source: inv.source, now: now) else {
            stack.respond(inv.handle, status: 503, headers: ["Retry-After: 5"])
            return false
        }
        guard inv.contactUsable else {
            // Not a call we could ever send BYE to (RFC 3261 8.1.1.8).
            stack.respond(inv.handle, status: 400, headers: ["Warning: 399 tollfreed \"Contact must be one sip: or sips: URI\""])
            countMalformed(source: inv.source, reason: "contact")
            return false
        }
        return true
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
    func refuse(_ ctx: InviteContext, _ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = []) {
        let inv = ctx.invite
        stack.respond(inv.handle, status: status, headers: headers)
        countRejection(status == 503 ? (draining ? "draining" : "capacity") : String(status))
        ctx.log.notice("call.refused", ["status": status, "reason": reason])
        services.writer.submit(ctx.refusalRecord(status: status, disposition: disposition, at: Date()))
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
    private func awaitPort(_ ctx: InviteContext, route: DIDRoute, offer: SessionDescription?, attempts: Int) {
        nonisolated(unsafe) let pending = (ctx, offer)
        stack.schedule(afterMilliseconds: 10) { [self] in
            let (ctx, offer) = pending
            guard stack.isAlive(ctx.invite.handle) else {
                // The caller gave up (CANCEL) while we waited.
                admission.release(ctx.invite.handle)
                return refuse(ctx, 487, .canceled, "cancelled while waiting for an RTP port")
            }
            if let port = media.open(emergency: true) { return startCall(ctx, route: route, offer: offer, port: port) }
            if attempts > 1 { return awaitPort(ctx, route: route, offer: offer, attempts: attempts - 1) }
            refuseAdmitted(ctx, 503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
    }

    /// The INVITE is admitted and has its port: answer the offer and start the session.
    private func startCall(_ ctx: InviteContext, route: DIDRoute, offer: SessionDescription?, port: (MediaSessionID, port: UInt16)) {
        let inv = ctx.invite
        let local = LocalMedia(address: policy.mediaAddress, port: port.port, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
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
                                  callParameters: callParameters(callID: ctx.callID, route: route, from: ctx.fromNumber, status: "in-progress"))
        let entry = Entry(session: session, handle: inv.handle, media: port.0,
                          log: ctx.log.with(["tenant": route.tenant]), number: policy.numbers[route.did])
        entry.source = inv.source
        entry.session.ackTimeoutMilliseconds = policy.ackTimeoutMilliseconds
        stack.adopt(inv.handle)
        // The record exists from admission on (active), so a crash cannot lose the call.
        services.writer.begin(entry.session.openingRecord)
        calls[inv.handle] = entry
        byMedia[port.0] = inv.handle
        updateActiveGauges()
        withCall(inv.handle) { $0.session.start(now: ctx.now) }
    }

    /// Text safe inside a quoted header value: no quotes, backslashes or control bytes,
    /// at most 120 characters.
    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }.prefix(120).map(Character.init))
    }
}
