import Configuration
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

/// `<Dial>`: resolving targets, placing and ending legs, bridging media, leg records.
extension CallController {
    /// A token no flow action uses: ringback loops until stopped, so it never finishes.
    static let ringbackToken: UInt64 = .max - 1

    /// Resolves the dial's targets and starts its machine.
    func resolveDial(_ dial: Dial, token: FlowToken, on e: Entry) {
        let tenant = policy.tenants[e.session.route.tenant]
        let trunk = tenant?.trunk.flatMap { name in policy.trunks.first { $0.name == name } } ?? policy.trunks.first
        var targets: [DialTarget] = []
        var progress: [LegProgressCallback?] = []
        var sendDigits: [String?] = []
        var whisper: [(url: String, method: RequestMethod)?] = []
        for t in dial.targets {
            let count = targets.count
            defer {
                if targets.count > count {
                    if case .number(let n) = t { sendDigits.append(n.sendDigits) } else { sendDigits.append(nil) }
                    let cb = Self.callbacks(of: t)
                    whisper.append(cb.url.map { ($0, cb.method) })
                    progress.append(cb.statusCallback.map {
                        LegProgressCallback(url: e.session.interpreter?.resolve($0) ?? $0, method: cb.statusCallbackMethod,
                                            events: cb.statusCallbackEvent)
                    })
                }
            }
            switch t {
            case .number(let n):
                guard let trunk else {
                    e.log.error("dial.no_trunk", ["number": n.number, "detail": "no trunk configured for <Number>"])
                    continue
                }
                targets.append(Self.target(n.number, through: trunk))
            case .sip(let s):
                targets.append(DialTarget(uri: s.uri, label: s.uri, username: s.username, password: s.password))
            }
        }
        e.legProgress = progress
        e.legSendDigits = sendDigits
        e.legWhisper = whisper
        let emergency = e.session.emergency || e.session.route.emergency
        let strategy: DialStrategy
        if emergency {
            strategy = .failover(stepMilliseconds: policy.emergencyFailoverMilliseconds,
                                 lastResort: policy.emergencyLastResort.map { DialTarget(uri: $0, label: $0) })
        } else if dial.sequential {
            // Each target rings at most the whole timeout, one after the other.
            strategy = .failover(stepMilliseconds: dial.timeout * 1000, lastResort: nil)
        } else {
            strategy = .simultaneous
        }
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
        withCall(e.handle) { $0.session.beginDial(machine, dial: dial, token: token, now: stack.currentTime()) }
    }

    /// Carries out one dial action for call `e`.
    func performDial(_ action: DialAction, on e: Entry) {
        let h = e.handle
        switch action {
        case .placeLeg(let i):
            placeLeg(i, on: e)
        case .cancelLeg(let i):
            if let lh = e.legs[i] { cancelLeg(lh) }
        case .hangUpLeg(let i):
            if let lh = e.legs[i] {
                legs[lh]?.state.hungUpByUs(now: stack.currentTime())
                stack.bye(lh)
            }
        case .startTimer(let timer, let ms):
            if let old = e.dialTimers.removeValue(forKey: timer) { stack.cancel(old) }
            e.dialTimers[timer] = stack.schedule(afterMilliseconds: ms) { [self] in
                calls[h]?.dialTimers[timer] = nil
                withCall(h) { $0.session.dialEvent(now: stack.currentTime()) { m, t in m.timerFired(timer, now: t) } }
            }
        case .cancelTimer(let timer):
            if let t = e.dialTimers.removeValue(forKey: timer) { stack.cancel(t) }
        case .ringback(let on):
            if on {
                let tone = RingTones.ringback(e.session.activeDial?.dial.ringTone)
                media.play(e.media, audio: tone, loops: 0, token: Self.ringbackToken)
            } else {
                media.stopPlayback(e.media)
            }
        case .relayEarlyMedia(let i):
            guard let lh = e.legs[i], let leg = legs[lh] else { return }
            media.relayOneWay(from: leg.media, to: e.media)
            e.relayedLeg = i
        case .bridge(let i):
            guard let lh = e.legs[i], let leg = legs[lh] else { return }
            if let old = e.relayedLeg, old != i, let oh = e.legs[old], let ol = legs[oh] { media.unbridge(ol.media, nil) }
            if let digits = leg.sendDigits {
                // <Number sendDigits>: the keys go to the callee first (an extension), then
                // the bridge (see `digitsSentToLeg`).
                leg.sendDigits = nil
                pendingBridges[leg.media] = (h, i)
                leg.log.info("dial.send_digits", ["digits": digits.count])
                return media.sendDigits(leg.media, digits: digits, token: Self.sendDigitsToken)
            }
            bridge(e, leg: leg, index: i)
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

    /// A token no flow action uses: the digits of `<Number sendDigits>` sent to a leg.
    static let sendDigitsToken: UInt64 = .max - 2

    /// Bridges the caller to leg `i`.
    func bridge(_ e: Entry, leg: Leg, index i: Int) {
        media.bridge(e.media, leg.media)
        e.relayedLeg = i
        dialCounters.legsAnswered += 1
        metrics.increment("tollfreed_dial_legs_total", [("event", "answered")])
    }

    /// The digits of `<Number sendDigits>` have gone to the leg: bridge it now, if the dial
    /// still has it.
    /// CANCEL for a leg that rings; BYE for one answered but still whispering (the dial gave
    /// up on it: its timeout, or another target won).
    private func cancelLeg(_ lh: SIPCallHandle) {
        guard let leg = legs[lh], whispers[leg.media] != nil else { return stack.cancel(lh) }
        dropWhisper(leg.media)
        leg.state.hungUpByUs(now: stack.currentTime())
        stack.bye(lh)
    }

    func digitsSentToLeg(_ id: MediaSessionID) {
        guard let (h, i) = pendingBridges.removeValue(forKey: id), let e = calls[h], let lh = e.legs[i], let leg = legs[lh],
              e.session.activeDial?.machine.bridgedLeg == i else { return }
        bridge(e, leg: leg, index: i)
    }

    private func placeLeg(_ i: Int, on e: Entry) {
        guard let d = e.session.activeDial, d.machine.targets.indices.contains(i) else { return }
        let target = d.machine.targets[i]
        let parent = e.handle
        func failSoon(_ status: Int, _ why: String) {
            e.log.error("dial.leg_not_placed", ["leg": i, "target": target.label, "reason": why])
            stack.post { [self] in withCall(parent) { $0.session.dialEvent(now: stack.currentTime()) { m, t in m.legFailed(i, sipStatus: status, now: t) } } }
        }
        let emergency = e.session.emergency || e.session.route.emergency
        let family = policy.mediaFamily(forDialTarget: target.uri)
        guard let port = media.open(emergency: emergency, family: family) else { return failSoon(503, "no free RTP port") }
        let local = policy.localMedia(port: port.port, address: policy.mediaAddress(of: family) ?? policy.mediaAddress,
                                      srtp: target.trunk.flatMap { policy.trunkSRTP[$0] } ?? .off)
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
        let placement = LegPlacement(index: i, callID: callID, sipCallID: sipCallID, target: target, start: stack.currentTime(),
                                     parentCallID: e.session.callID, did: e.session.route.did, tenant: e.session.route.tenant,
                                     flow: e.session.route.flow, presentedNumber: callerID, emergency: emergency,
                                     timeLimitSeconds: d.dial.timeLimit)
        let leg = Leg(parent: parent, handle: lh, media: port.0, log: e.log.with(["leg": callID]), local: local,
                      placement: placement)
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
        services.writer.begin(leg.state.openingRecord)
        leg.progress = e.legProgress.indices.contains(i) ? e.legProgress[i] : nil
        leg.sendDigits = e.legSendDigits.indices.contains(i) ? e.legSendDigits[i] : nil
        leg.whisper = e.legWhisper.indices.contains(i) ? e.legWhisper[i] : nil
        legProgress(leg, .initiated)
    }
}

extension CallController {
    /// A `<Number>` through a trunk: its URI, credentials, latching and (by name) SRTP policy.
    static func target(_ number: String, through trunk: DaemonConfig.Trunk) -> DialTarget {
        var target = DialTarget(uri: trunk.uri(for: number), label: number, username: trunk.username, password: trunk.password)
        target.latching = trunk.latching
        target.trunk = trunk.name
        return target
    }
}
