import Foundation
import Media
import Metering
import Observability
import Routing
import Signaling
import TeXML

/// Everything the controller needs from the configuration, fixed for its lifetime.
struct CallPolicy: Sendable {
    var directory: DIDDirectory
    var flows: [String: FlowDocument]
    var industries: [String: Industry]
    var mediaAddress: String
    var ringMilliseconds: Int
    var maxCallSeconds: Int
    var maxConcurrentCalls: Int
}

/// The I/O layer for calls: turns SIP and media events into `CallSession` events and
/// carries out the actions the sessions return. Runs entirely on the signaling thread.
final class CallController: SIPStackDelegate, @unchecked Sendable {
    private final class Entry {
        var session: CallSession
        let handle: SIPCallHandle
        let media: MediaSessionID
        let log: Logger
        var ringTimer: SIPTimer?
        var durationTimer: SIPTimer?
        init(session: CallSession, handle: SIPCallHandle, media: MediaSessionID, log: Logger) {
            self.session = session
            self.handle = handle
            self.media = media
            self.log = log
        }
    }

    private let stack: SIPStack
    private let media: MediaEngine
    private let prompts: PromptCache
    private let writer: CDRWriter
    private let logger: Logger
    private let policy: CallPolicy
    private var calls: [SIPCallHandle: Entry] = [:]
    private var byMedia: [MediaSessionID: SIPCallHandle] = [:]
    private(set) var draining = false
    private var sequence: UInt64 = 0
    private let instance = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    init(stack: SIPStack, media: MediaEngine, prompts: PromptCache, writer: CDRWriter, logger: Logger, policy: CallPolicy) {
        self.stack = stack
        self.media = media
        self.prompts = prompts
        self.writer = writer
        self.logger = logger
        self.policy = policy
    }

    /// Calls in progress (signaling thread).
    var activeCalls: Int { calls.count }

    // MARK: SIP events

    func sipStack(_ stack: SIPStack, didReceive event: SIPEvent) {
        let now = Date()
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
        case .info:
            break // DTMF over SIP INFO arrives with Gather (issue 3); Sofia answers 200.
        }
    }

    /// A media event, re-posted onto the signaling thread.
    func mediaEvent(_ event: MediaEvent) {
        switch event {
        case .playbackFinished(let id, let token):
            guard let h = byMedia[id] else { return }
            withCall(h) { $0.session.mediaFinished(token: token, now: Date()) }
        }
    }

    // MARK: Shutdown

    /// Stops admitting calls and ends the ones in progress.
    func beginShutdown() {
        draining = true
        for h in Array(calls.keys) { withCall(h) { $0.session.shutdown(now: Date()) } }
    }

    // MARK: INVITE

    private func nextCallID() -> String {
        sequence += 1
        return "tf-\(instance)-\(sequence)"
    }

    private func handleInvite(_ inv: IncomingInvite, now: Date) {
        let callID = nextCallID()
        let fromNumber = PhoneNumber.e164(inv.fromUser) ?? inv.fromUser
        let route = policy.directory.route(forDialed: inv.requestUser)
        let masked = route.map { policy.industries[$0.tenant] == .healthcare } ?? false
        let log = logger.with(["call": callID])
        log.info("call.invite", ["to": inv.requestUser, "from": masked ? Self.mask(fromNumber) : fromNumber,
                                 "source": inv.source, "sip_call_id": inv.callID])

        func refuse(_ status: Int, _ disposition: Disposition, _ reason: String, headers: [String] = []) {
            stack.respond(inv.handle, status: status, headers: headers)
            log.notice("call.refused", ["status": status, "reason": reason])
            writer.submit(CallDetailRecord(callID: callID, sipCallID: inv.callID, did: route?.did ?? "",
                                           tenant: route?.tenant ?? "", fromNumber: fromNumber, toNumber: inv.requestUser,
                                           startTime: now, answerTime: nil, endTime: now, disposition: disposition,
                                           sipCode: status, hangupBy: .none, flow: route?.flow ?? "",
                                           emergency: route?.emergency ?? false))
        }

        if draining { return refuse(503, .busy, "draining", headers: ["Retry-After: 30"]) }
        guard let route else { return refuse(404, .rejected, "unknown number") }
        guard let flow = policy.flows[route.flow] else { return refuse(500, .failed, "flow \(route.flow) not loaded") }
        if calls.count >= policy.maxConcurrentCalls {
            return refuse(503, .busy, "at capacity (\(policy.maxConcurrentCalls) calls)", headers: ["Retry-After: 5"])
        }

        var offer: SessionDescription?
        if let body = inv.body, !body.isEmpty {
            guard inv.contentType?.lowercased() == "application/sdp" else {
                return refuse(415, .rejected, "body type \(inv.contentType ?? "none")", headers: ["Accept: application/sdp"])
            }
            do { offer = try SDPParser.parse(body) } catch {
                return refuse(400, .rejected, "malformed SDP: \(error)", headers: ["Warning: 399 tollfreed \"Malformed SDP: \(error)\""])
            }
        }
        guard let port = media.open() else {
            return refuse(503, .busy, "no free RTP port", headers: ["Retry-After: 5"])
        }
        let local = LocalMedia(address: policy.mediaAddress, port: port.port, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        var negotiated: (NegotiatedAudio, String)?
        if let offer {
            switch OfferAnswer.answer(offer, local: local) {
            case .success(let r): negotiated = r
            case .failure(let f):
                media.close(port.0)
                return refuse(488, .rejected, "\(f)", headers: ["Warning: 305 tollfreed \"Incompatible media format\""])
            }
        }
        var routed = route
        if inv.priority?.lowercased() == "emergency" { routed.emergency = true }
        let session = CallSession(callID: callID, sipCallID: inv.callID, route: routed, fromNumber: fromNumber,
                                  toNumber: inv.requestUser, startTime: now, flow: flow, local: local, offer: negotiated,
                                  ringMilliseconds: policy.ringMilliseconds, maxCallSeconds: policy.maxCallSeconds)
        let entry = Entry(session: session, handle: inv.handle, media: port.0,
                          log: log.with(["tenant": route.tenant]))
        stack.adopt(inv.handle)
        calls[inv.handle] = entry
        byMedia[port.0] = inv.handle
        withCall(inv.handle) { $0.session.start(now: now) }
    }

    // MARK: Actions

    private func withCall(_ h: SIPCallHandle, _ event: (Entry) -> [CallAction]) {
        guard let e = calls[h] else { return }
        perform(event(e), on: e)
    }

    private func perform(_ actions: [CallAction], on e: Entry) {
        for a in actions {
            switch a {
            case .respond(let status, let sdp, let headers):
                stack.respond(e.handle, status: status, sdp: sdp, headers: headers)
                if status == 200 { e.log.info("call.answered") }
            case .configureMedia(let peer):
                media.configure(e.media, peer: peer)
            case .startRingTimer(let ms):
                let h = e.handle
                if ms == 0 {
                    withCall(h) { $0.session.ringTimerFired(now: Date()) }
                } else {
                    e.ringTimer = stack.schedule(afterMilliseconds: ms) { [self] in
                        calls[h]?.ringTimer = nil
                        withCall(h) { $0.session.ringTimerFired(now: Date()) }
                    }
                }
            case .cancelRingTimer:
                if let t = e.ringTimer { stack.cancel(t); e.ringTimer = nil }
            case .startDurationTimer(let seconds):
                let h = e.handle
                e.durationTimer = stack.schedule(afterMilliseconds: seconds * 1000) { [self] in
                    calls[h]?.durationTimer = nil
                    withCall(h) { $0.session.durationExceeded(now: Date()) }
                }
            case .say(let req, let token):
                say(req, token: token, entry: e)
            case .pause(let ms, let token):
                media.playSilence(e.media, milliseconds: ms, token: token)
            case .stopMedia:
                media.stopPlayback(e.media)
            case .sendBye:
                stack.bye(e.handle)
            case .log(let level, let event, let detail):
                e.log.log(LogLevel(name: level) ?? .info, event, ["detail": detail])
            case .finish(var record):
                if let t = e.ringTimer { stack.cancel(t) }
                if let t = e.durationTimer { stack.cancel(t) }
                if let st = media.close(e.media) {
                    record.rtpSent = st.packetsSent
                    record.rtpReceived = st.packetsReceived
                    record.rtpDropped = st.packetsDropped
                }
                calls[e.handle] = nil
                byMedia[e.media] = nil
                writer.submit(record)
                e.log.info("call.end", ["disposition": record.disposition.rawValue, "sip_code": record.sipCode,
                                        "hangup_by": record.hangupBy.rawValue, "billable_s": record.billableSeconds,
                                        "rtp_sent": record.rtpSent, "rtp_received": record.rtpReceived,
                                        "rtp_dropped": record.rtpDropped])
            }
        }
    }

    private func say(_ req: SpeechRequest, token: UInt64, entry e: Entry) {
        let key = SpeechKey(text: req.text, voice: req.voice, language: req.language)
        if let audio = prompts.cached(key) {
            media.play(e.media, audio: audio, loops: req.loop, token: token)
            return
        }
        let h = e.handle
        let id = e.media
        prompts.request(key) { [self, stack] result in
            stack.post { [self] in
                guard let e = calls[h] else { return }
                switch result {
                case .success(let audio): media.play(id, audio: audio, loops: req.loop, token: token)
                case .failure(let err): perform(e.session.promptFailed(token: token, error: "\(err)", now: Date()), on: e)
                }
            }
        }
    }

    /// Masks all but the last four digits (caller numbers of HIPAA tenants stay out of logs).
    static func mask(_ number: String) -> String {
        let keep = 4
        guard number.count > keep else { return String(repeating: "*", count: number.count) }
        return String(repeating: "*", count: number.count - keep) + number.suffix(keep)
    }
}
