import Foundation
import Media
import Metering
import Routing
import Signaling
import TeXML

/// What the I/O layer must do for a call. `CallSession` decides; `CallController` acts.
enum CallAction: Equatable {
    /// Send a response to the INVITE (or re-INVITE) on this call's dialog.
    case respond(status: Int, sdp: String?, headers: [String])
    /// Point the media session at the peer (or change direction / codec).
    case configureMedia(MediaPeer)
    /// Ring for `milliseconds` before answering.
    case startRingTimer(milliseconds: Int)
    case cancelRingTimer
    /// Arm the maximum-duration guard.
    case startDurationTimer(seconds: Int)
    /// Synthesize (or take from cache) and play; report `.mediaFinished(token)` when done.
    case say(SpeechRequest, token: UInt64)
    /// Play silence; report `.mediaFinished(token)` when done.
    case pause(milliseconds: Int, token: UInt64)
    case stopMedia
    case sendBye
    /// A line for the log.
    case log(level: String, event: String, detail: String)
    /// The call is over: write this record, close media, forget the call.
    case finish(CallDetailRecord)
}

/// One inbound call's signaling and flow state, with no I/O (swift-nio style): every
/// event method returns the actions for the I/O layer. Unit-testable without sockets.
struct CallSession {
    enum Phase: Equatable {
        /// 180 sent; waiting for the ring timer to answer.
        case ringing
        /// 200 sent; waiting for ACK.
        case answered
        /// Flow running.
        case active
        /// We sent BYE; waiting for the dialog to end.
        case hangingUp
        /// Final record written.
        case ended
    }

    let callID: String
    let sipCallID: String
    let route: DIDRoute
    let fromNumber: String
    let toNumber: String
    let startTime: Date
    let ringMilliseconds: Int
    let maxCallSeconds: Int

    private(set) var phase: Phase = .ringing
    private(set) var local: LocalMedia
    private(set) var negotiated: NegotiatedAudio?
    private(set) var answerTime: Date?
    private var interpreter: FlowInterpreter
    private var firstAction: FlowAction?
    private var lateOffer: Bool
    /// Our SDP answer to the INVITE's offer (nil for a late offer).
    private let answerSDP: String?
    private var token: UInt64 = 0
    private var disposition: Disposition = .failed
    private var sipCode = 0
    private var hangupBy: HangupSide = .none
    /// A re-INVITE without SDP: our offer went in the 200, the answer comes in its ACK.
    private var awaitingReinviteAnswer = false
    var mediaStats = MediaStats()

    init(callID: String, sipCallID: String, route: DIDRoute, fromNumber: String, toNumber: String,
         startTime: Date, flow: FlowDocument, local: LocalMedia, offer: (NegotiatedAudio, String)?,
         ringMilliseconds: Int, maxCallSeconds: Int) {
        self.callID = callID
        self.sipCallID = sipCallID
        self.route = route
        self.fromNumber = fromNumber
        self.toNumber = toNumber
        self.startTime = startTime
        self.local = local
        self.negotiated = offer?.0
        self.answerSDP = offer?.1
        self.lateOffer = offer == nil
        self.interpreter = FlowInterpreter(document: flow)
        self.ringMilliseconds = ringMilliseconds
        self.maxCallSeconds = maxCallSeconds
    }

    /// The INVITE was accepted for processing: ring, or reject without answering when the
    /// flow starts with `<Reject>`.
    mutating func start(now: Date) -> [CallAction] {
        let first = interpreter.start()
        if case .reject(let reason) = first {
            return end(disposition: .rejected, code: reason.sipStatusCode, by: .daemon, now: now,
                       prefix: [.respond(status: reason.sipStatusCode, sdp: nil, headers: []),
                                .log(level: "info", event: "call.rejected", detail: "reason=\(reason)")])
        }
        firstAction = first
        return [.respond(status: 180, sdp: nil, headers: []), .startRingTimer(milliseconds: ringMilliseconds)]
    }

    /// Ring time is over: answer with our SDP (the answer, or our offer for a late offer).
    mutating func ringTimerFired(now: Date) -> [CallAction] {
        guard phase == .ringing else { return [] }
        phase = .answered
        answerTime = now
        let sdp = answerSDP ?? OfferAnswer.offer(local: local)
        return [.respond(status: 200, sdp: sdp, headers: []), .startDurationTimer(seconds: maxCallSeconds)]
    }

    /// The caller's ACK: start media and the flow.
    mutating func ack(contentType: String?, body: String?, now: Date) -> [CallAction] {
        if awaitingReinviteAnswer {
            awaitingReinviteAnswer = false
            guard let body, let sdp = try? SDPParser.parse(body), case .success(let n) = OfferAnswer.acceptAnswer(sdp) else { return [] }
            negotiated = n
            return [.configureMedia(peer(n))]
        }
        guard phase == .answered else { return [] }
        var actions: [CallAction] = []
        if lateOffer {
            guard let body, contentType?.lowercased() == "application/sdp" else {
                return hangUp(now: now, disposition: .failed, log: "late-offer ACK carried no SDP answer")
            }
            let parsed: SessionDescription
            do { parsed = try SDPParser.parse(body) } catch {
                return hangUp(now: now, disposition: .failed, log: "late-offer ACK SDP: \(error)")
            }
            switch OfferAnswer.acceptAnswer(parsed) {
            case .success(let n): negotiated = n
            case .failure(let f): return hangUp(now: now, disposition: .failed, log: "late-offer answer: \(f)")
            }
        }
        phase = .active
        disposition = .completed
        sipCode = 200
        if let n = negotiated { actions.append(.configureMedia(peer(n))) }
        let first = firstAction ?? .finished
        firstAction = nil
        return actions + run(first, now: now)
    }

    /// The media layer finished the action with this token.
    mutating func mediaFinished(token t: UInt64, now: Date) -> [CallAction] {
        guard phase == .active, t == token else { return [] }
        return run(interpreter.handle(.actionCompleted), now: now)
    }

    /// A prompt could not be synthesised: log and move on rather than stall the caller.
    mutating func promptFailed(token t: UInt64, error: String, now: Date) -> [CallAction] {
        guard phase == .active, t == token else { return [] }
        return [.log(level: "error", event: "flow.say_failed", detail: error)] + run(interpreter.handle(.actionCompleted), now: now)
    }

    /// CANCEL before answer (Sofia has already answered 487).
    mutating func cancelled(now: Date) -> [CallAction] {
        guard phase == .ringing || phase == .answered else { return [] }
        answerTime = nil
        return end(disposition: .canceled, code: 487, by: .caller, now: now, prefix: [.cancelRingTimer])
    }

    /// BYE from the caller.
    mutating func byeReceived(now: Date) -> [CallAction] {
        guard phase != .ended else { return [] }
        if phase == .ringing {
            // A BYE in the early dialog (RFC 3261 section 15) ends an unanswered call: Sofia
            // answers the INVITE with 487, as for CANCEL.
            return end(disposition: .canceled, code: 487, by: .caller, now: now, prefix: [.cancelRingTimer])
        }
        _ = interpreter.handle(.callerHungUp)
        if phase == .answered || phase == .active { disposition = .completed; sipCode = 200 }
        return end(disposition: disposition, code: sipCode == 0 ? 200 : sipCode, by: hangupBy == .none ? .caller : hangupBy,
                   now: now, prefix: [.stopMedia])
    }

    /// A re-INVITE: hold, unhold, or a new address. Answered without touching the flow.
    mutating func reInvite(contentType: String?, body: String?) -> [CallAction] {
        guard phase == .active || phase == .answered else {
            return [.respond(status: 491, sdp: nil, headers: [])]
        }
        guard let body else {
            // Our SDP goes out: its version moves up by exactly one (RFC 3264 section 8).
            local.sessionVersion += 1
            awaitingReinviteAnswer = true
            return [.respond(status: 200, sdp: OfferAnswer.offer(local: local), headers: [])]
        }
        guard contentType?.lowercased() == "application/sdp" else {
            return [.respond(status: 415, sdp: nil, headers: ["Accept: application/sdp"])]
        }
        let sdp: SessionDescription
        do { sdp = try SDPParser.parse(body) } catch {
            return [.respond(status: 400, sdp: nil, headers: []),
                    .log(level: "warning", event: "sip.reinvite_bad_sdp", detail: "\(error)")]
        }
        var next = local
        next.sessionVersion += 1
        switch OfferAnswer.answer(sdp, local: next) {
        case .success(let (n, answer)):
            local = next
            negotiated = n
            return [.respond(status: 200, sdp: answer, headers: []), .configureMedia(peer(n)),
                    .log(level: "info", event: "call.reinvite", detail: "direction=\(n.localDirection.rawValue)")]
        case .failure(let f):
            // The call continues with the old media (RFC 3261 14.2).
            return [.respond(status: 488, sdp: nil, headers: []),
                    .log(level: "warning", event: "sip.reinvite_rejected", detail: "\(f)")]
        }
    }

    /// The maximum call duration is reached.
    mutating func durationExceeded(now: Date) -> [CallAction] {
        guard phase == .active || phase == .answered else { return [] }
        return hangUp(now: now, disposition: .completed, log: "maximum call duration reached")
    }

    /// The daemon is shutting down: end the call.
    mutating func shutdown(now: Date) -> [CallAction] {
        switch phase {
        case .ringing:
            return end(disposition: .failed, code: 503, by: .daemon, now: now,
                       prefix: [.cancelRingTimer, .respond(status: 503, sdp: nil, headers: ["Retry-After: 30"])])
        case .answered, .active:
            return hangUp(now: now, disposition: .completed, log: "daemon shutting down")
        case .hangingUp, .ended:
            return []
        }
    }

    /// Sofia reports the dialog gone. Ends the record if nothing else did.
    mutating func terminated(status: Int, now: Date) -> [CallAction] {
        guard phase != .ended else { return [] }
        if phase == .hangingUp {
            return end(disposition: disposition, code: sipCode, by: .daemon, now: now, prefix: [.stopMedia])
        }
        // Dialog died without BYE/CANCEL (e.g. ACK never came: Sofia times out).
        if phase == .answered { answerTime = nil }
        return end(disposition: phase == .active ? .completed : .failed, code: phase == .active ? 200 : max(status, 408),
                   by: .none, now: now, prefix: [.stopMedia])
    }

    // MARK: - Flow

    private mutating func run(_ first: FlowAction, now: Date) -> [CallAction] {
        var action = first
        var out: [CallAction] = []
        // Skips complete at once; loop (bounded by the flow's length) until real work.
        while true {
            switch action {
            case .say(let req):
                token += 1
                return out + [.say(req, token: token)]
            case .pause(let ms):
                token += 1
                return out + [.pause(milliseconds: ms, token: token)]
            case .skip(let verb, let location, let reason):
                out.append(.log(level: "warning", event: "flow.verb_skipped", detail: "verb=\(verb) at=\(location) reason=\"\(reason)\""))
                action = interpreter.handle(.actionCompleted)
            case .hangup:
                return out + hangUp(now: now, disposition: .completed, log: nil)
            case .finished:
                return out + hangUp(now: now, disposition: .completed, log: nil)
            case .reject:
                // Only legal first; the interpreter turns a later Reject into .hangup.
                return out + hangUp(now: now, disposition: .completed, log: nil)
            }
        }
    }

    private mutating func hangUp(now: Date, disposition d: Disposition, log: String?) -> [CallAction] {
        guard phase == .active || phase == .answered else { return [] }
        if phase == .answered && d == .failed { answerTime = nil }
        disposition = d
        sipCode = 200
        hangupBy = .daemon
        phase = .hangingUp
        var out: [CallAction] = [.stopMedia, .sendBye]
        if let log { out.append(.log(level: "info", event: "call.hangup", detail: log)) }
        return out
    }

    private mutating func end(disposition d: Disposition, code: Int, by: HangupSide, now: Date, prefix: [CallAction]) -> [CallAction] {
        phase = .ended
        let record = CallDetailRecord(
            callID: callID, sipCallID: sipCallID, did: route.did, tenant: route.tenant, fromNumber: fromNumber,
            toNumber: toNumber, startTime: startTime, answerTime: d == .completed ? answerTime : nil, endTime: now,
            disposition: d, sipCode: code, hangupBy: by, flow: route.flow, emergency: route.emergency,
            rtpSent: mediaStats.packetsSent, rtpReceived: mediaStats.packetsReceived, rtpDropped: mediaStats.packetsDropped)
        return prefix + [.finish(record)]
    }

    private func peer(_ n: NegotiatedAudio) -> MediaPeer {
        MediaPeer(remote: n.remoteAddress.flatMap { UDPEndpoint(host: $0, port: n.remotePort) },
                  law: n.codec == .pcmu ? .ulaw : .alaw, payloadType: n.payloadType,
                  telephoneEventPayloadType: n.telephoneEventPayloadType, sending: n.localDirection.sends)
    }
}
