import Configuration
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
    /// Our 200 is out: end the call if its ACK has not come within this long.
    case startAckTimer(milliseconds: Int)
    case cancelAckTimer
    case cancelRingTimer
    /// Arm the maximum-duration guard.
    case startDurationTimer(seconds: Int)
    /// Fetch the call's first document (URL flows); answer with `documentReady`/`documentFailed`.
    case fetchInitialDocument
    /// A flow action the I/O layer carries out as is: say, play, sendDigits, beep, pause,
    /// stopMedia, listenForDigits, startTimer, cancelTimer, startRecording, stopRecording,
    /// fetch, notify, transcribe.
    case flow(FlowAction)
    /// Wait at most this long for a recording still being written after hang-up.
    case startCloseTimer(milliseconds: Int)
    case sendBye
    /// A `<Dial>` starts: resolve its targets and call `CallSession.beginDial`.
    case resolveDial(Dial, token: FlowToken)
    /// Work for a dial in progress (legs, bridging, ringback, recording).
    case dial(DialAction)
    /// The flow marked the call as an emergency after admission.
    case promoteEmergency
    /// A line for the log.
    case log(level: String, event: String, detail: String)
    /// The call is over: write this record, close media, forget the call.
    case finish(CallDetailRecord)
}

/// One inbound call's signaling and flow state, with no I/O (swift-nio style): every
/// event method returns the actions for the I/O layer. Unit-testable without sockets.
struct CallSession {
    enum Phase: Equatable {
        /// Waiting for the first document of a URL flow (100 Trying sent).
        case fetching
        /// 180 sent; waiting for the ring timer to answer.
        case ringing
        /// Unanswered while a `<Dial answerOnBridge>` rings (183 sent; see `CallSession+EarlyDial.swift`).
        case earlyDial
        /// 200 sent; waiting for ACK.
        case answered
        /// Flow running.
        case active
        /// We sent BYE; waiting for the dialog to end.
        case hangingUp
        /// The caller is gone; waiting for a recording to be written before the record.
        case closing
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
    let callParameters: [FormParameter]

    /// Set only by the session and its extensions (`CallSession+*.swift`), never by the I/O layer.
    var phase: Phase
    private(set) var local: LocalMedia
    private(set) var negotiated: NegotiatedAudio?
    var answerTime: Date?
    var interpreter: FlowInterpreter?
    var firstActions: [FlowAction] = []
    private(set) var lateOffer: Bool
    /// Our SDP answer to the INVITE's offer (nil for a late offer).
    let answerSDP: String?
    var disposition: Disposition = .failed
    var sipCode = 0
    var hangupBy: HangupSide = .none
    /// A re-INVITE without SDP: our offer went in the 200, the answer comes in its ACK.
    private var awaitingReinviteAnswer = false
    /// Recordings in progress (token) and finished (for the record).
    var recordingsInProgress: Set<FlowToken> = []
    /// The `<Dial>` in progress, if any.
    var activeDial: ActiveDial?
    var recordings: [RecordingOutcome] = []
    /// RTP counts and the record `end` made (set only by `end` and `closed(media:)`).
    var mediaStats = MediaStats()
    var endRecord: CallDetailRecord?
    /// DTMF de-duplication and whether the flow listens.
    var keypad = Keypad()
    /// Marked emergency at admission (Priority, Resource-Priority, or the DID).
    var emergency = false
    /// How long the 200 may wait for its ACK before the call is dropped (half-open).
    var ackTimeoutMilliseconds = 8000

    /// True while the caller is expected to send RTP (answered, not on hold: a media
    /// address, and a direction in which the caller sends).
    var receivesFromCaller: Bool {
        guard phase == .active, let n = negotiated, n.remoteAddress != nil else { return false }
        return n.localDirection == .sendrecv || n.localDirection == .recvonly
    }

    init(callID: String, sipCallID: String, route: DIDRoute, fromNumber: String, toNumber: String,
         startTime: Date, flow: FlowDocument?, baseURL: String? = nil, local: LocalMedia,
         offer: (NegotiatedAudio, String)?, ringMilliseconds: Int, maxCallSeconds: Int,
         callParameters: [FormParameter] = []) {
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
        self.ringMilliseconds = ringMilliseconds
        self.maxCallSeconds = maxCallSeconds
        self.callParameters = callParameters
        self.phase = .fetching
        if let flow { interpreter = FlowInterpreter(document: flow, baseURL: baseURL, callParameters: callParameters) }
    }

    /// The INVITE was accepted for processing: ring (or fetch the first document first),
    /// or reject without answering when the flow starts with `<Reject>`.
    mutating func start(now: Date) -> [CallAction] {
        guard interpreter != nil else { return [.fetchInitialDocument] }
        return begin(now: now)
    }

    /// The first document of a URL flow arrived (or the fallback did).
    mutating func documentReady(_ document: FlowDocument, baseURL: String?, now: Date) -> [CallAction] {
        guard phase == .fetching else { return [] }
        interpreter = FlowInterpreter(document: document, baseURL: baseURL, callParameters: callParameters)
        return begin(now: now)
    }

    /// Neither the flow nor its fallback could be fetched: apologise and end.
    mutating func documentFailed(_ reason: String, now: Date) -> [CallAction] {
        guard phase == .fetching else { return [] }
        let doc = (try? TeXMLParser.parse(Data(Self.apology.utf8), source: "builtin:apology"))
            ?? FlowDocument(source: "builtin:empty", verbs: [])
        interpreter = FlowInterpreter(document: doc, baseURL: nil, callParameters: callParameters)
        return [.log(level: "error", event: "flow.fetch_failed", detail: reason)] + begin(now: now)
    }

    private mutating func begin(now: Date) -> [CallAction] {
        let (first, paused) = interpreter!.startRinging()
        firstActions = first
        phase = .ringing
        let rejects = first.contains { if case .reject = $0 { true } else { false } }
        if rejects && paused == 0 { return ringTimerFired(now: now) }
        return [.respond(status: 180, sdp: nil, headers: []),
                .startRingTimer(milliseconds: rejects ? paused : max(ringMilliseconds, paused))]
    }

    /// Ring time is over: answer with our SDP (the answer, or our offer for a late offer),
    /// or refuse unanswered when the flow starts (after its pauses) with `<Reject>`.
    mutating func ringTimerFired(now: Date) -> [CallAction] {
        guard phase == .ringing else { return [] }
        if case .reject(let reason)? = firstActions.first(where: { $0 != .markEmergency }) {
            return end(disposition: .rejected, code: reason.sipStatusCode, by: .daemon, now: now,
                       prefix: [.respond(status: reason.sipStatusCode, sdp: nil, headers: []),
                                .log(level: "info", event: "call.rejected", detail: "reason=\(reason)")])
        }
        if let early = beginEarlyDial(now: now) { return early }
        phase = .answered
        answerTime = now
        let sdp = answerSDP ?? OfferAnswer.offer(local: local)
        return [.respond(status: 200, sdp: sdp, headers: []), .startDurationTimer(seconds: maxCallSeconds),
                .startAckTimer(milliseconds: ackTimeoutMilliseconds)]
    }

    /// The ACK did not come in time: the call never connected; it ends unbilled and gives
    /// its place and port back (Sofia ends the dialog itself at its own 32 s timeout).
    mutating func ackTimerFired(now: Date) -> [CallAction] {
        guard phase == .answered else { return [] }
        answerTime = nil
        return end(disposition: .failed, code: 408, by: .ackTimeout, now: now,
                   prefix: [.log(level: "notice", event: "call.ack_timeout", detail: "no ACK for our 200"), .flow(.stopMedia)])
    }

    /// No RTP from the caller for the configured time: the caller is gone without a BYE.
    mutating func mediaTimedOut(seconds: Int, now: Date) -> [CallAction] {
        guard phase == .active else { return [] }
        let out = hangUp(now: now, disposition: .completed, log: "no RTP from the caller for \(seconds) s")
        hangupBy = .rtpTimeout
        return out
    }

    /// The caller's ACK: start media and the flow.
    mutating func ack(contentType: String?, body: String?, now: Date) -> [CallAction] {
        if awaitingReinviteAnswer {
            awaitingReinviteAnswer = false
            guard let body, let sdp = try? SDPParser.parse(body), case .success(let n) = OfferAnswer.acceptAnswer(sdp, local: local) else {
                return []
            }
            negotiated = n
            return [.configureMedia(peer(n))]
        }
        guard phase == .answered else { return [] }
        var actions: [CallAction] = [.cancelAckTimer]
        if lateOffer {
            guard let body, contentType?.lowercased() == "application/sdp" else {
                return hangUp(now: now, disposition: .failed, log: "late-offer ACK carried no SDP answer")
            }
            let parsed: SessionDescription
            do { parsed = try SDPParser.parse(body) } catch {
                return hangUp(now: now, disposition: .failed, log: "late-offer ACK SDP: \(error)")
            }
            switch OfferAnswer.acceptAnswer(parsed, local: local) {
            case .success(let n): negotiated = n
            case .failure(let f): return hangUp(now: now, disposition: .failed, log: "late-offer answer: \(f)")
            }
        }
        phase = .active
        disposition = .completed
        sipCode = 200
        if let n = negotiated { actions.append(.configureMedia(peer(n))) }
        // Answered at the bridge of a `<Dial answerOnBridge>`: the flow waits in the dial.
        let first = firstActions.isEmpty ? (activeDial != nil ? [] : [FlowAction.finished]) : firstActions
        firstActions = []
        return actions + run(first, now: now)
    }

    // MARK: SIP events

    /// CANCEL before answer (Sofia has already answered 487).
    mutating func cancelled(now: Date) -> [CallAction] {
        guard [.fetching, .ringing, .earlyDial, .answered].contains(phase) else { return [] }
        answerTime = nil
        activeDial = nil  // its legs end with the call
        return end(disposition: .canceled, code: 487, by: .caller, now: now, prefix: [.cancelRingTimer])
    }

    /// BYE from the caller.
    mutating func byeReceived(now: Date) -> [CallAction] {
        switch phase {
        case .ended, .closing:
            return []
        case .fetching, .ringing, .earlyDial:
            // A BYE in the early dialog (RFC 3261 section 15) ends an unanswered call: Sofia
            // answers the INVITE with 487, as for CANCEL.
            activeDial = nil
            return end(disposition: .canceled, code: 487, by: .caller, now: now, prefix: [.cancelRingTimer])
        case .answered, .active, .hangingUp:
            if phase != .hangingUp { disposition = .completed; sipCode = 200; hangupBy = .caller }
            var out: [CallAction] = []
            if var interp = interpreter, phase == .active {
                // Hang-up keeps a recording in progress: it is stopped, written, and its
                // callbacks fire before the record is closed.
                for a in interp.handle(.callerHungUp) {
                    if case .stopRecording = a { out.append(.flow(a)) }
                }
                interpreter = interp
            }
            if !recordingsInProgress.isEmpty || activeDial != nil {
                phase = .closing
                out += [.flow(.stopMedia), .startCloseTimer(milliseconds: 5000)]
                // The legs end with the caller; a dial already over (no recording to wait
                // for) reports right away, with callbacks only.
                out += endDialLegs(now: now)
                if let d = activeDial, d.result != nil, !d.recordingPending { out += deliverDialResult(now: now) }
                return out
            }
            return out + end(disposition: disposition, code: sipCode == 0 ? 200 : sipCode,
                             by: hangupBy == .none ? .caller : hangupBy, now: now, prefix: [.flow(.stopMedia)])
        }
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
            return [.respond(status: 488, sdp: nil, headers: [f.warningHeader]),
                    .log(level: "warning", event: "sip.reinvite_rejected", detail: "\(f)")]
        }
    }

    /// The maximum call duration is reached.
    mutating func durationExceeded(now: Date) -> [CallAction] {
        guard phase == .active || phase == .answered else { return [] }
        return hangUp(now: now, disposition: .completed, log: "maximum call duration reached")
    }

    /// Admission control ends this call to make room for an emergency call.
    mutating func preempt(now: Date) -> [CallAction] {
        switch phase {
        case .fetching, .ringing, .earlyDial:
            activeDial = nil
            return end(disposition: .preempted, code: 503, by: .daemon, now: now,
                       prefix: [.cancelRingTimer, .respond(status: 503, sdp: nil, headers: ["Retry-After: 30"])])
        case .answered, .active:
            return hangUp(now: now, disposition: .preempted, log: "preempted for an emergency call")
        case .hangingUp, .closing, .ended:
            return []
        }
    }

    /// The daemon is shutting down: end the call.
    mutating func shutdown(now: Date) -> [CallAction] {
        switch phase {
        case .fetching, .ringing, .earlyDial:
            activeDial = nil
            return end(disposition: .failed, code: 503, by: .daemon, now: now,
                       prefix: [.cancelRingTimer, .respond(status: 503, sdp: nil, headers: ["Retry-After: 30"])])
        case .answered, .active:
            return hangUp(now: now, disposition: .completed, log: "daemon shutting down")
        case .hangingUp, .closing, .ended:
            return []
        }
    }

    /// Sofia reports the dialog gone. Ends the record if nothing else did.
    mutating func terminated(status: Int, now: Date) -> [CallAction] {
        switch phase {
        case .ended, .closing:
            return []
        case .hangingUp:
            if !recordingsInProgress.isEmpty || activeDial != nil {
                phase = .closing
                var out: [CallAction] = [.startCloseTimer(milliseconds: 5000)]
                if let d = activeDial, d.result != nil, !d.recordingPending { out += deliverDialResult(now: now) }
                return out
            }
            return end(disposition: disposition, code: sipCode, by: hangupBy, now: now, prefix: [.flow(.stopMedia)])
        default:
            // Dialog died without BYE/CANCEL (e.g. ACK never came: Sofia times out).
            let dialEnd = endDialLegs(now: now)
            let wasActive = phase == .active
            if !wasActive { answerTime = nil }
            return end(disposition: wasActive ? .completed : .failed, code: wasActive ? 200 : max(status, 408),
                       by: .none, now: now, prefix: dialEnd.filter { if case .dial = $0 { true } else { false } } + [.flow(.stopMedia)])
        }
    }

    mutating func hangUp(now: Date, disposition d: Disposition, log: String?) -> [CallAction] {
        guard phase == .active || phase == .answered else { return [] }
        if phase == .answered && d == .failed { answerTime = nil }
        let d = disposition == .preempted ? .preempted : d
        disposition = d
        sipCode = 200
        hangupBy = .daemon
        phase = .hangingUp
        var out: [CallAction] = [.flow(.stopMedia), .sendBye] + endDialLegs(now: now)
        if let log { out.append(.log(level: "info", event: "call.hangup", detail: log)) }
        return out
    }

    mutating func end(disposition d: Disposition, code: Int, by: HangupSide, now: Date, prefix: [CallAction]) -> [CallAction] {
        phase = .ended
        var record = CallDetailRecord(
            callID: callID, sipCallID: sipCallID, did: route.did, tenant: route.tenant, fromNumber: fromNumber,
            toNumber: toNumber, startTime: startTime, answerTime: d == .completed || d == .preempted ? answerTime : nil, endTime: now,
            disposition: d, sipCode: code, hangupBy: by, flow: route.flow, emergency: route.emergency || emergency,
            rtpSent: mediaStats.packetsSent, rtpReceived: mediaStats.packetsReceived, rtpDropped: mediaStats.packetsDropped)
        record.recordingURL = recordings.map(\.url).joined(separator: " ")
        record.recordingSeconds = recordings.reduce(0) { $0 + $1.durationSeconds }
        endRecord = record
        return prefix + [.finish(record)]
    }

    private func peer(_ n: NegotiatedAudio) -> MediaPeer { MediaPeer(negotiated: n) }
}
