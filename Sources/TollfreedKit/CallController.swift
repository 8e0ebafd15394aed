import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML
import Transcription
import Webhooks

/// Everything the controller needs from the configuration, fixed for its lifetime.
struct CallPolicy: Sendable {
    var directory: DIDDirectory
    var flows: [String: FlowDocument]
    var numbers: [String: DaemonConfig.Number]
    var tenants: [String: DaemonConfig.Tenant]
    var mediaAddress: String
    var ringMilliseconds: Int
    var maxCallSeconds: Int
    var admission: AdmissionController<SIPCallHandle>.Policy
    var emergency: EmergencyClassifier
    var sources: SourceFilter
    /// Trusted networks of the TLS listener (its own list, else `sources`).
    var tlsSources: SourceFilter? = nil
    var rateLimit: (perSecond: Int, burst: Int)
    var dataDirectory: String
    var recordingURLBase: String
    var flowsDirectory: String
    /// Outbound trunks for `<Dial><Number>`, and the emergency routing rules.
    var trunks: [DaemonConfig.Trunk] = []
    var emergencyFailoverMilliseconds = 10_000
    var emergencyLastResort: String?
    /// Our SIP address ("host:port") for the From of outbound legs.
    var localSIPAddress = "127.0.0.1:5060"
}

/// The services a call uses besides SIP.
struct CallServices: Sendable {
    var media: MediaEngine
    var prompts: PromptCache
    var audio: AudioSourceCache
    var writer: CDRWriter
    var webhooks: WebhookClient
    var transcription: TranscriptionService
    var compliance: ComplianceServices
    var metrics: MetricsRegistry
}

/// The I/O layer for calls: turns SIP and media events into `CallSession` events and
/// carries out the actions the sessions return. Runs entirely on the signaling thread.
final class CallController: SIPStackDelegate, @unchecked Sendable {
    /// One call's I/O state around its `CallSession`.
    final class Entry {
        var session: CallSession
        let handle: SIPCallHandle
        let media: MediaSessionID
        let log: Logger
        let number: DaemonConfig.Number?
        var ringTimer: SIPTimer?
        var durationTimer: SIPTimer?
        var closeTimer: SIPTimer?
        var flowTimers: [FlowToken: SIPTimer] = [:]
        var listening = false
        var dtmf = DTMFDeduplicator()
        /// Recording token -> (sid, path).
        var recordings: [FlowToken: (sid: String, path: String)] = [:]
        /// Outbound legs of the dial in progress, by leg index.
        var legs: [Int: SIPCallHandle] = [:]
        var dialTimers: [DialTimer: SIPTimer] = [:]
        /// Leg index bridged (or relaying early media) to the caller.
        var relayedLeg: Int?
        init(session: CallSession, handle: SIPCallHandle, media: MediaSessionID, log: Logger, number: DaemonConfig.Number?) {
            self.session = session
            self.handle = handle
            self.media = media
            self.log = log
            self.number = number
        }
    }

    let stack: SIPStack
    let services: CallServices
    let logger: Logger
    private(set) var policy: CallPolicy
    var calls: [SIPCallHandle: Entry] = [:]
    var byMedia: [MediaSessionID: SIPCallHandle] = [:]
    /// Outbound dial legs by their dialog handle.
    var legs: [SIPCallHandle: Leg] = [:]
    /// Dial counters (for logs and metrics).
    var dialCounters = DialCounters()
    var admission: AdmissionController<SIPCallHandle>
    private(set) var draining = false
    /// INVITEs refused because their source is not a trusted network.
    private(set) var untrustedRefusals = 0
    /// INVITEs refused because their source exceeded its rate.
    private(set) var rateLimitedRefusals = 0
    /// Requests refused as malformed (an unusable Contact...).
    private(set) var malformedRefusals = 0
    private var rateLimiter: SourceRateLimiter
    private var sequence: UInt64 = 0
    private let instance = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    init(stack: SIPStack, services: CallServices, logger: Logger, policy: CallPolicy) {
        self.stack = stack
        self.services = services
        self.logger = logger
        self.policy = policy
        self.admission = AdmissionController(policy: policy.admission)
        self.rateLimiter = SourceRateLimiter(ratePerSecond: Double(policy.rateLimit.perSecond), burst: Double(policy.rateLimit.burst))
    }

    var media: MediaEngine { services.media }

    /// A reloaded configuration (SIGHUP): new calls use it; calls in progress keep the
    /// flow they started with (their sessions hold their own documents).
    func apply(_ next: CallPolicy) {
        policy = next
        admission.reconfigure(next.admission)
        rateLimiter = SourceRateLimiter(ratePerSecond: Double(next.rateLimit.perSecond), burst: Double(next.rateLimit.burst))
    }

    /// Calls in progress, counting outbound legs still ending (signaling thread).
    var activeCalls: Int { calls.count + legs.count }

    // MARK: SIP events

    func sipStack(_ stack: SIPStack, didReceive event: SIPEvent) {
        let now = Date()
        if case .options(let o) = event { return handleOptions(o, now: now) }
        if case .invite = event {} else if case .message = event {} else if let h = event.handle, let leg = legs[h] {
            return legEvent(event, leg: leg, now: now)
        }
        switch event {
        case .invite(let invite):
            handleInvite(invite, now: now)
        case .reInvite(let h, let type, let body):
            withCall(h) { $0.session.reInvite(contentType: type, body: body) }
        case .ack(let h, let type, let body):
            withCall(h) { $0.session.ack(contentType: type, body: body, now: now) }
        case .cancel(let h):
            withCall(h) { $0.session.cancelled(now: now) }
        case .bye(let h):
            withCall(h) { $0.session.byeReceived(now: now) }
        case .terminated(let h, let status):
            withCall(h) { $0.session.terminated(status: status, now: now) }
        case .info(let h, let type, let body):
            if let digit = DTMFInfo.digit(contentType: type, body: body) { dtmf(h, digit: digit, source: .sipInfo) }
        case .inviteResponse:
            break // only outbound legs get responses
        case .message(let m):
            handleMessage(m, now: now)
        case .options:
            break // answered above
        }
    }

    /// A media event, re-posted onto the signaling thread.
    func mediaEvent(_ event: MediaEvent) {
        switch event {
        case .playbackFinished(let id, let token):
            guard let h = byMedia[id] else { return }
            withCall(h) { $0.session.mediaFinished(token: token, now: Date()) }
        case .dtmf(let id, let digit, let source):
            guard let h = byMedia[id] else { return }
            dtmf(h, digit: digit, source: source)
        case .recordingFinished(let id, let token, let file):
            guard let h = byMedia[id] ?? pendingRecordingCalls[token] else { return }
            pendingRecordingCalls[token] = nil
            recordingFinished(h, token: token, file: file)
        case .recordingFailed(let id, let token, let error):
            // Treated as an empty recording: the flow moves on (no action request).
            guard let h = byMedia[id] ?? pendingRecordingCalls[token] else { return }
            pendingRecordingCalls[token] = nil
            calls[h]?.log.error("call.recording_failed", ["error": error.description])
            recordingFinished(h, token: token, file: RecordingFile(path: "", durationMilliseconds: 0, reason: .stopped))
        }
    }

    /// Calls whose media closed while a recording was still being written.
    var pendingRecordingCalls: [FlowToken: SIPCallHandle] = [:]

    private func dtmf(_ h: SIPCallHandle, digit: Character, source: DTMFSource) {
        guard let e = calls[h] else { return }
        let t = Date().timeIntervalSince1970
        guard e.dtmf.accept(digit: digit, source: source, at: t) else { return }
        e.log.info("call.dtmf", ["digit": String(digit), "source": "\(source)", "listening": e.listening])
        if digit == "*", let d = e.session.activeDial, d.dial.hangupOnStar, d.machine.bridgedLeg != nil {
            return withCall(h) { $0.session.dialEvent(now: Date()) { m, t in m.hangupOnStar(now: t) } }
        }
        guard e.listening else { return }
        withCall(h) { $0.session.digit(digit, now: Date()) }
    }

    // MARK: Checkpoints

    /// Every `interval` seconds the records of calls that are up get their answer time and
    /// a fresh end time, so a crash bills them to within `interval`.
    func startCheckpoints(interval: Int = 5) {
        stack.schedule(afterMilliseconds: interval * 1000) { [self] in
            let now = Date()
            services.writer.checkpoint(calls.values.map { ($0.session.callID, $0.session.answerTime) }
                                       + legs.values.map { ($0.callID, $0.answerTime) }, at: now)
            startCheckpoints(interval: interval)
        }
    }

    // MARK: Shutdown

    /// Stops admitting calls (503 + Retry-After); calls in progress go on.
    func beginDrain() {
        draining = true
    }

    /// Stops admitting calls and ends the ones in progress.
    func beginShutdown() {
        draining = true
        logger.notice("dial.summary", ["legs_placed": dialCounters.legsPlaced, "legs_answered": dialCounters.legsAnswered,
                                       "emergency_dials": dialCounters.emergencyDials, "failovers": dialCounters.failovers])
        for h in Array(calls.keys) { withCall(h) { $0.session.shutdown(now: Date()) } }
    }

    // MARK: INVITE

    func nextCallID() -> String {
        sequence += 1
        return "CA\(instance)\(String(sequence, radix: 16))"
    }

    private func handleInvite(_ inv: IncomingInvite, now: Date) {
        let callID = nextCallID()
        let fromNumber = PhoneNumber.e164(inv.fromUser) ?? inv.fromUser
        let route = policy.directory.route(forDialed: inv.requestUser)
        let masked = route.map { policy.tenants[$0.tenant]?.industry == .healthcare } ?? false
        let log = logger.with(["call": callID])
        log.info("call.invite", ["to": inv.requestUser, "from": masked ? Self.mask(fromNumber) : fromNumber,
                                 "source": inv.source, "sip_call_id": inv.callID])

        func refuse(_ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = []) {
            stack.respond(inv.handle, status: status, headers: headers)
            countRejection(status == 503 ? (draining ? "draining" : "capacity") : String(status))
            log.notice("call.refused", ["status": status, "reason": reason])
            services.writer.submit(CallDetailRecord(
                callID: callID, sipCallID: inv.callID, did: route?.did ?? "", tenant: route?.tenant ?? "",
                fromNumber: fromNumber, toNumber: inv.requestUser, startTime: now, answerTime: nil, endTime: now,
                disposition: disposition, sipCode: status, hangupBy: .none, flow: route?.flow ?? "",
                emergency: route?.emergency ?? false))
        }

        guard policy.trustedSources(tls: inv.overTLS).allows(source: inv.source) else {
            // Untrusted sources get 403 and no record (they are not our customers' calls).
            stack.respond(inv.handle, status: 403)
            countUntrusted(source: inv.source)
            return
        }
        guard allowRate(source: inv.source, now: now) else {
            // A flood from one address: 503 without a record (writing one per flooded INVITE
            // would turn the flood into disk load).
            stack.respond(inv.handle, status: 503, headers: ["Retry-After: 5"])
            return
        }
        guard inv.contactUsable else {
            // Not a call we could ever send BYE to: 400, no record (RFC 3261 8.1.1.8).
            stack.respond(inv.handle, status: 400, headers: ["Warning: 399 tollfreed \"Contact must be one sip: or sips: URI\""])
            countMalformed(source: inv.source, reason: "contact")
            return
        }
        if draining { return refuse(503, .busy, "draining", headers: ["Retry-After: 30"]) }
        guard let route else { return refuse(404, .rejected, "unknown number") }
        let number = policy.numbers[route.did]
        let flow = policy.flows[route.flow]
        guard flow != nil || number?.isRemoteFlow == true else { return refuse(500, .failed, "flow \(route.flow) not loaded") }
        let isEmergency = policy.emergency.isEmergency(route: route, priority: inv.priority, resourcePriority: inv.resourcePriority)
        switch admission.request(inv.handle, emergency: isEmergency) {
        case .admit:
            break
        case .admitPreempting(let victim):
            log.warning("call.preempting", ["victim": calls[victim]?.session.callID ?? "?"])
            metrics.increment("tollfreed_preemptions_total")
            withCall(victim) { $0.session.preempt(now: now) }
        case .reject(let retry):
            return refuse(503, .busy, "at capacity (\(admission.active) calls, \(policy.admission.emergencyReserve) reserved for emergencies)",
                          headers: ["Retry-After: \(retry)"])
        }
        if isEmergency {
            log.notice("call.emergency", ["priority": inv.priority ?? "", "resource_priority": inv.resourcePriority ?? ""])
            metrics.increment("tollfreed_emergency_calls_total")
        }
        // Past this point a refusal gives the admitted place back.
        func refuseAdmitted(_ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = []) {
            admission.release(inv.handle)
            refuse(status, disposition, reason, headers: headers)
        }

        var offer: SessionDescription?
        if let body = inv.body, !body.isEmpty {
            guard inv.contentType?.lowercased() == "application/sdp" else {
                return refuseAdmitted(415, .rejected, "body type \(inv.contentType ?? "none")", headers: ["Accept: application/sdp"])
            }
            do { offer = try SDPParser.parse(body) } catch {
                return refuseAdmitted(400, .rejected, "malformed SDP: \(error)", headers: ["Warning: 399 tollfreed \"Malformed SDP: \(error)\""])
            }
        }
        guard let port = media.open() else {
            return refuseAdmitted(503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
        let local = LocalMedia(address: policy.mediaAddress, port: port.port, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        var negotiated: (NegotiatedAudio, String)?
        if let offer {
            switch OfferAnswer.answer(offer, local: local) {
            case .success(let r): negotiated = r
            case .failure(let f):
                media.close(port.0)
                return refuseAdmitted(488, .rejected, "\(f)", headers: ["Warning: 305 tollfreed \"Incompatible media format\""])
            }
        }
        var routed = route
        routed.emergency = isEmergency
        let session = CallSession(callID: callID, sipCallID: inv.callID, route: routed, fromNumber: fromNumber,
                                  toNumber: inv.requestUser, startTime: now, flow: flow, baseURL: nil, local: local,
                                  offer: negotiated, ringMilliseconds: policy.ringMilliseconds,
                                  maxCallSeconds: policy.maxCallSeconds,
                                  callParameters: callParameters(callID: callID, route: route, from: fromNumber, status: "in-progress"))
        let entry = Entry(session: session, handle: inv.handle, media: port.0,
                          log: log.with(["tenant": route.tenant]), number: number)
        stack.adopt(inv.handle)
        // The record exists from admission on (active), so a crash cannot lose the call.
        services.writer.begin(CallDetailRecord(
            callID: callID, sipCallID: inv.callID, did: route.did, tenant: route.tenant, fromNumber: fromNumber,
            toNumber: inv.requestUser, startTime: now, answerTime: nil, endTime: now, disposition: .active,
            sipCode: 0, hangupBy: .none, flow: route.flow, emergency: isEmergency))
        calls[inv.handle] = entry
        byMedia[port.0] = inv.handle
        updateActiveGauges()
        withCall(inv.handle) { $0.session.start(now: now) }
    }

    /// Counts a request from an untrusted source; the log is rate-limited so a flood cannot
    /// fill the journal.
    func countUntrusted(source: String) {
        untrustedRefusals += 1
        countRejection("untrusted")
        if untrustedRefusals == 1 || untrustedRefusals % 1000 == 0 {
            logger.warning("sip.untrusted_source", ["source": source, "refused_total": untrustedRefusals])
        }
    }

    /// Counts a request refused as malformed; the log is rate-limited like the others.
    func countMalformed(source: String, reason: String) {
        malformedRefusals += 1
        countRejection("malformed")
        if malformedRefusals == 1 || malformedRefusals % 1000 == 0 {
            logger.warning("sip.malformed_request", ["source": source, "reason": reason, "refused_total": malformedRefusals])
        }
    }

    /// Answers OPTIONS: 200 with what we support, 503 while draining (a dispatcher takes the
    /// node out of rotation), nothing past the source's rate.
    func handleOptions(_ o: IncomingOptions, now: Date) {
        if !o.inDialog {
            guard allowRate(source: o.source, now: now) else {
                return stack.respondToOptions(o, status: 503, headers: ["Retry-After: 5"])
            }
            if draining { return stack.respondToOptions(o, status: 503, headers: ["Retry-After: 30"]) }
        }
        stack.respondToOptions(o, status: 200, headers: ["Accept: application/sdp, text/plain"])
    }

    /// The per-source request rate limit (INVITE, MESSAGE and OPTIONS share it).
    func allowRate(source: String, now: Date) -> Bool {
        guard rateLimiter.allow(SourceFilter.host(of: source), now: now.timeIntervalSince1970) else {
            rateLimitedRefusals += 1
            countRejection("rate_limited")
            if rateLimitedRefusals == 1 || rateLimitedRefusals % 1000 == 0 {
                logger.warning("sip.rate_limited", ["source": source, "refused_total": rateLimitedRefusals])
            }
            return false
        }
        return true
    }

    /// The parameters every webhook of this call carries (Twilio/Telnyx names).
    func callParameters(callID: String, route: DIDRoute, from: String, status: String) -> [FormParameter] {
        [FormParameter(name: "CallSid", value: callID),
         FormParameter(name: "AccountSid", value: policy.tenants[route.tenant]?.accountSID ?? route.tenant),
         FormParameter(name: "From", value: from),
         FormParameter(name: "To", value: route.did),
         FormParameter(name: "CallStatus", value: status),
         FormParameter(name: "Direction", value: "inbound")]
    }

    // MARK: Actions

    func withCall(_ h: SIPCallHandle, _ event: (Entry) -> [CallAction]) {
        guard let e = calls[h] else { return }
        perform(event(e), on: e)
    }

    /// Masks all but the last four digits (caller numbers of HIPAA tenants stay out of logs).
    static func mask(_ number: String) -> String {
        let keep = 4
        guard number.count > keep else { return String(repeating: "*", count: number.count) }
        return String(repeating: "*", count: number.count - keep) + number.suffix(keep)
    }
}
