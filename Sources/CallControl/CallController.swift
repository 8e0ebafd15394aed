import Configuration
import Foundation
import Media
import Metering
import Observability
import RecordStore
import Routing
import Signaling
import TeXML
import Transcription
import Webhooks

/// The services a call uses besides SIP.
package struct CallServices: Sendable {
    var media: any MediaPort
    var prompts: PromptCache
    var audio: AudioSourceCache
    var writer: CDRWriter
    var webhooks: WebhookClient
    var transcription: TranscriptionService
    var compliance: ComplianceServices
    var metrics: MetricsRegistry
    /// The PostgreSQL spool: while it is past its bound, new ordinary calls are refused.
    var recordBacklog: SpoolingCDRStore? = nil

    package init(media: any MediaPort, prompts: PromptCache, audio: AudioSourceCache, writer: CDRWriter,
                 webhooks: WebhookClient, transcription: TranscriptionService, compliance: ComplianceServices,
                 metrics: MetricsRegistry, recordBacklog: SpoolingCDRStore? = nil) {
        self.media = media
        self.prompts = prompts
        self.audio = audio
        self.writer = writer
        self.webhooks = webhooks
        self.transcription = transcription
        self.compliance = compliance
        self.metrics = metrics
        self.recordBacklog = recordBacklog
    }
}

/// The I/O layer for calls: turns SIP and media events into `CallSession` events and
/// carries out the actions the sessions return. Runs entirely on the signaling thread.
/// (`@unchecked Sendable`: touched only on the signaling thread, which its entry points
/// assert in debug builds; other threads reach it through `SIPStack.post`.)
package final class CallController: SIPStackDelegate, @unchecked Sendable {
    /// One call's I/O state around its `CallSession`.
    final class Entry {
        var session: CallSession
        let handle: SIPCallHandle
        let media: MediaSessionID
        let log: Logger
        let number: DaemonConfig.Number?
        /// The INVITE's source address ("ip:port").
        var source = ""
        var ringTimer: SIPTimer?
        var durationTimer: SIPTimer?
        var closeTimer: SIPTimer?
        var ackTimer: SIPTimer?
        /// The source host while the call is half-open (200 sent, no ACK yet).
        var halfOpenSource: String?
        /// The caller's RTP count when it last changed, and when (the RTP timeout).
        var rtpSeen: (count: UInt64, at: Date) = (0, Date())
        var flowTimers: [FlowToken: SIPTimer] = [:]
        /// Recording token -> (sid, path).
        var recordings: [FlowToken: (sid: String, path: String)] = [:]
        /// The progress callbacks of the dial's targets, by leg index.
        var legProgress: [LegProgressCallback?] = []
        /// The `<Number sendDigits>` of the dial's targets, by leg index.
        var legSendDigits: [String?] = []
        /// The whisper (`url`, `method`) of the dial's targets, by leg index.
        var legWhisper: [(url: String, method: RequestMethod)?] = []
        /// Outbound legs of the dial in progress, by leg index.
        var legs: [Int: SIPCallHandle] = [:]
        /// Counts of media closed early (preempted for a port), for the record.
        var closedMediaStats: MediaStats?
        var dialTimers: [DialTimer: SIPTimer] = [:]
        /// Leg index bridged (or relaying early media) to the caller.
        var relayedLeg: Int?
        /// The `<Gather input="speech">` listening now.
        var speech: (token: FlowToken, request: SpeechInputRequest)?
        /// NAT latching for this call's media (from the listener it came over); nil: off.
        var latch: LatchPolicy?
        init(session: CallSession, handle: SIPCallHandle, media: MediaSessionID, log: Logger, number: DaemonConfig.Number?) {
            self.session = session
            self.handle = handle
            self.media = media
            self.log = log
            self.number = number
        }
    }

    let stack: any SignalingPort
    let services: CallServices
    let logger: Logger
    private(set) var policy: CallPolicy
    var calls: [SIPCallHandle: Entry] = [:]
    var byMedia: [MediaSessionID: SIPCallHandle] = [:]
    /// Outbound dial legs by their dialog handle.
    var legs: [SIPCallHandle: Leg] = [:]
    /// Dial counters (for logs and metrics).
    var dialCounters = DialCounters()
    /// Told once no call or leg is up (the drain at shutdown waits on this).
    var idleWaiters: [@Sendable () -> Void] = []
    var admission: AdmissionController<SIPCallHandle>
    var draining = false
    /// INVITEs refused because their source is not a trusted network.
    private(set) var untrustedRefusals = 0
    /// INVITEs refused because their source exceeded its rate.
    private(set) var rateLimitedRefusals = 0
    /// Requests refused as malformed (an unusable Contact...).
    private(set) var malformedRefusals = 0
    /// Emergency markings ignored because their source may not claim one.
    private(set) var ignoredMarkings = 0
    private var rateLimiter: SourceRateLimiter
    /// OPTIONS have a bucket of their own (same rate): behind a dispatcher every INVITE and
    /// probe comes from one address, and a probe refused because of the call volume would
    /// take a healthy node out of rotation at the busiest moment.
    private var optionsRateLimiter: SourceRateLimiter
    /// Calls answered and not yet ACKed, by source.
    var halfOpen: HalfOpenTracker
    /// INVITEs refused because their source (or everyone) held too many half-open calls.
    var halfOpenRefusals = 0
    /// INVITEs refused because the record spool was full.
    var backlogRefusals = 0

    package init(stack: any SignalingPort, services: CallServices, logger: Logger, policy: CallPolicy) {
        self.stack = stack
        self.services = services
        self.logger = logger
        self.policy = policy
        self.admission = AdmissionController(policy: policy.admission)
        self.rateLimiter = SourceRateLimiter(ratePerSecond: Double(policy.rateLimit.perSecond), burst: Double(policy.rateLimit.burst))
        self.optionsRateLimiter = rateLimiter
        self.halfOpen = HalfOpenTracker(perSource: policy.halfOpenPerSource, total: policy.halfOpenMax)
    }

    var media: any MediaPort { services.media }

    /// A reloaded configuration (SIGHUP): new calls use it; calls in progress keep the
    /// flow they started with (their sessions hold their own documents).
    package func apply(_ next: CallPolicy) {
        stack.assertOnSignalingThread()
        policy = next
        admission.reconfigure(next.admission)
        rateLimiter = SourceRateLimiter(ratePerSecond: Double(next.rateLimit.perSecond), burst: Double(next.rateLimit.burst))
        optionsRateLimiter = rateLimiter
        halfOpen.perSource = next.halfOpenPerSource
        halfOpen.total = next.halfOpenMax
    }

    /// Calls in progress, counting outbound legs still ending (signaling thread).
    package var activeCalls: Int {
        stack.assertOnSignalingThread()
        return calls.count + legs.count
    }

    // MARK: SIP events

    package func sipStack(_ stack: SIPStack, didReceive event: SIPEvent) { receive(event) }

    /// One SIP event, from the stack (or a test's in-memory port).
    func receive(_ event: SIPEvent) {
        stack.assertOnSignalingThread()
        let now = stack.currentTime()
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
    package func mediaEvent(_ event: MediaEvent) {
        stack.assertOnSignalingThread()
        switch event {
        case .playbackFinished(let id, let token):
            if token == Self.sendDigitsToken { return digitsSentToLeg(id) }
            if whisperEvent(id, .mediaFinished(token)) { return }
            guard let h = byMedia[id] else { return }
            withCall(h) { $0.session.mediaFinished(token: token, now: stack.currentTime()) }
        case .dtmf(let id, let digit, let source):
            if source == .rfc4733, whisperEvent(id, .digit(digit)) { return }
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
        case .speechStarted(let id, let token):
            if let h = byMedia[id] { speechStarted(h, token: token) }
        case .speechCaptured(let id, let token, let samples):
            if let h = byMedia[id] { speechCaptured(h, token: token, samples: samples) }
        case .latched(let id, let to):
            mediaLatched(id, to: to)
        }
    }

    /// Legs whose bridge waits for their `<Number sendDigits>` to be sent: leg media ->
    /// (call, leg index).
    var pendingBridges: [MediaSessionID: (SIPCallHandle, Int)] = [:]
    /// Legs playing their whisper document to the callee, by leg media.
    var whispers: [MediaSessionID: Whisper] = [:]

    /// Fetched documents whose ignored markup was logged (hashes; see `noteIgnoredMarkup`).
    var warnedDocuments = Set<Int>()

    /// Calls whose media closed while a recording was still being written.
    var pendingRecordingCalls: [FlowToken: SIPCallHandle] = [:]

    private func dtmf(_ h: SIPCallHandle, digit: Character, source: DTMFSource) {
        withCall(h) { $0.session.keyPressed(digit, source: source, now: stack.currentTime()) }
    }

    // MARK: Checkpoints

    /// Every `interval` seconds the records of calls that are up get their answer time and
    /// a fresh end time, so a crash bills them to within `interval`.
    package func startCheckpoints(interval: Int = 5) {
        stack.assertOnSignalingThread()
        stack.schedule(afterMilliseconds: interval * 1000) { [self] in
            let now = stack.currentTime()
            services.writer.checkpoint(calls.values.map { ($0.session.callID, $0.session.answerTime) }
                                       + legs.values.map { ($0.state.placement.callID, $0.state.answerTime) }, at: now)
            startCheckpoints(interval: interval)
        }
    }

    // MARK: Shutdown

    /// Stops admitting calls (503 + Retry-After); calls in progress go on.
    package func beginDrain() {
        stack.assertOnSignalingThread()
        draining = true
    }

    /// Stops admitting calls and ends the ones in progress.
    package func beginShutdown() {
        stack.assertOnSignalingThread()
        draining = true
        logger.notice("dial.summary", ["legs_placed": dialCounters.legsPlaced, "legs_answered": dialCounters.legsAnswered,
                                       "emergency_dials": dialCounters.emergencyDials, "failovers": dialCounters.failovers])
        for h in Array(calls.keys) { withCall(h) { $0.session.shutdown(now: stack.currentTime()) } }
    }

    // MARK: INVITE

    func nextCallID() -> String { PlatformSID.random("CA") }

    /// Counts a request from an untrusted source; the log is rate-limited so a flood cannot
    /// fill the journal.
    func countUntrusted(source: String) {
        untrustedRefusals += 1
        countRejection("untrusted")
        if untrustedRefusals == 1 || untrustedRefusals % 1000 == 0 {
            logger.warning("sip.untrusted_source", ["source": source, "refused_total": untrustedRefusals])
        }
    }

    /// Counts an emergency marking from a network not allowed to claim one (the call goes on
    /// as an ordinary call); the log is rate-limited.
    func countIgnoredMarking(source: String) {
        ignoredMarkings += 1
        metrics.increment("tollfreed_emergency_markings_ignored_total")
        if ignoredMarkings == 1 || ignoredMarkings % 1000 == 0 {
            logger.warning("call.emergency_marking_ignored", ["source": source, "ignored_total": ignoredMarkings])
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
    /// node out of rotation) and past the source's OPTIONS rate (its own bucket, so a
    /// dispatcher's call volume never gets its probes refused).
    func handleOptions(_ o: IncomingOptions, now: Date) {
        if !o.inDialog {
            guard allowRate(source: o.source, now: now, limiter: &optionsRateLimiter) else {
                return stack.respondToOptions(o, status: 503, headers: ["Retry-After: 5"])
            }
            if draining { return stack.respondToOptions(o, status: 503, headers: ["Retry-After: 30"]) }
        }
        stack.respondToOptions(o, status: 200, headers: ["Accept: application/sdp, text/plain"])
    }

    /// The per-source request rate limit (INVITE and MESSAGE share it; OPTIONS have their own).
    func allowRate(source: String, now: Date) -> Bool {
        allowRate(source: source, now: now, limiter: &rateLimiter)
    }

    private func allowRate(source: String, now: Date, limiter: inout SourceRateLimiter) -> Bool {
        guard limiter.allow(SourceFilter.host(of: source), now: now.timeIntervalSince1970) else {
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
    func callParameters(_ ctx: InviteContext, route: DIDRoute, status: String) -> [FormParameter] {
        var p = [FormParameter(name: "CallSid", value: ctx.callID),
                 FormParameter(name: "AccountSid", value: accountSID(of: route.tenant)),
                 FormParameter(name: "From", value: ctx.fromNumber),
                 FormParameter(name: "To", value: route.did),
                 FormParameter(name: "CallStatus", value: status),
                 FormParameter(name: "ApiVersion", value: "2010-04-01"),
                 FormParameter(name: "Direction", value: "inbound"),
                 FormParameter(name: "Caller", value: ctx.fromNumber),
                 FormParameter(name: "Called", value: route.did),
                 FormParameter(name: "SipCallId", value: ctx.invite.callID)]
        if let name = ctx.invite.fromDisplay { p.append(FormParameter(name: "CallerName", value: name)) }
        if let forwarder = ctx.invite.forwardedFrom {
            p.append(FormParameter(name: "ForwardedFrom", value: PhoneNumber.e164(forwarder) ?? forwarder))
        }
        return p
    }

    /// The `AccountSid` of `tenant` (see `PlatformSID.account`).
    func accountSID(of tenant: String) -> String {
        policy.tenants[tenant].map(PlatformSID.account) ?? PlatformSID.account(forTenantID: tenant)
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
