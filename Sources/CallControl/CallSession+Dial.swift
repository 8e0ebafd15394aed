import Configuration
import Foundation
import Routing
import TeXML

/// A `<Dial>` in progress on a call.
struct ActiveDial {
    let token: FlowToken
    let dial: Dial
    var machine: DialMachine
    /// Call ids of the legs placed, by leg index (`DialCallSid`).
    var legCallIDs: [Int: String] = [:]
    /// Set when the machine finished.
    var result: DialResult?
    /// The bridge recording was started and its file has not been reported yet.
    var recordingPending = false
    var recording: RecordingOutcome?
}

/// `<Dial>`: the session drives a `DialMachine` and reports its result to the flow.
extension CallSession {
    /// Starts the dial the flow asked for, once the I/O layer resolved its targets.
    mutating func beginDial(_ machine: DialMachine, dial: Dial, token: FlowToken, now: Date) -> [CallAction] {
        guard phase == .active || phase == .earlyDial else { return [] }
        var m = machine
        activeDial = ActiveDial(token: token, dial: dial, machine: m)
        let actions = m.start(now: now.timeIntervalSince1970)
        activeDial?.machine = m
        return [.log(level: "info", event: "dial.start",
                     detail: "targets=\(machine.targets.map(\.label).joined(separator: ",")) strategy=\(machine.strategy) emergency=\(emergency || route.emergency)")]
            + carryOut(actions, now: now)
    }

    /// Feeds an event to the dial machine (leg responses, timers, hangupOnStar).
    mutating func dialEvent(now: Date, _ event: (inout DialMachine, Double) -> [DialAction]) -> [CallAction] {
        guard var d = activeDial, d.result == nil else { return [] }
        let actions = event(&d.machine, now.timeIntervalSince1970)
        activeDial = d
        return carryOut(actions, now: now)
    }

    /// A leg was placed under this call id (for `DialCallSid`).
    mutating func dialLegPlaced(_ index: Int, callID: String) {
        activeDial?.legCallIDs[index] = callID
    }

    /// The bridge recording's file is written.
    mutating func dialRecordingFinished(_ outcome: RecordingOutcome, now: Date) -> [CallAction] {
        guard var d = activeDial, d.recordingPending else { return [] }
        d.recordingPending = false
        d.recording = outcome.durationSeconds > 0 ? outcome : nil
        if let r = d.recording { recordings.append(r) }
        activeDial = d
        return d.result == nil ? [] : deliverDialResult(now: now)
    }

    /// Ends every leg because the caller's side is going away (BYE, shutdown, preemption).
    mutating func endDialLegs(now: Date) -> [CallAction] {
        guard activeDial?.result == nil, activeDial != nil else { return [] }
        return dialEvent(now: now) { m, t in m.callerHungUp(now: t) }
    }

    /// Turns machine actions into call actions; notes recording and the result.
    private mutating func carryOut(_ actions: [DialAction], now: Date) -> [CallAction] {
        var out: [CallAction] = []
        var finished = false
        for a in actions {
            switch a {
            case .startRecording:
                activeDial?.recordingPending = true
                out.append(.dial(a))
            case .bridge where phase == .earlyDial:
                out += answerAtBridge(now: now) + [.dial(a)]
            case .finished(let r):
                activeDial?.result = r
                finished = true
                out.append(.dial(a))
            case .log(let event, let detail):
                out.append(.log(level: event.hasSuffix("failed") || event.contains("no_answer") ? "warning" : "info", event: event, detail: detail))
            default:
                out.append(.dial(a))
            }
        }
        if finished, activeDial?.recordingPending == false { out += deliverDialResult(now: now) }
        return out
    }

    /// Reports the finished dial to the flow (with its recording), then continues or, when
    /// the caller is gone, sends only the callbacks and closes the record.
    mutating func deliverDialResult(now: Date) -> [CallAction] {
        guard let d = activeDial, let r = d.result, var interp = interpreter else { return [] }
        activeDial = nil
        let sidLeg = r.answeredLeg ?? d.legCallIDs.keys.max()
        let outcome = DialOutcome(status: r.status.rawValue, callSid: sidLeg.flatMap { d.legCallIDs[$0] } ?? "",
                                  durationSeconds: r.bridgedSeconds, recording: d.recording)
        let next = interp.handle(.dialFinished(d.token, outcome))
        interpreter = interp
        let log = CallAction.log(level: "info", event: "dial.end",
                                 detail: "status=\(r.status.rawValue) bridged_s=\(r.bridgedSeconds) recording=\(d.recording?.url ?? "none")")
        if phase == .active { return [log] + run(next, now: now) }
        if phase == .earlyDial { return [log] + afterUnansweredEarlyDial(next, status: r.status, now: now) }
        // The caller is gone or going: only the callbacks still go out.
        let callbacks = next.filter { if case .notify = $0 { true } else if case .fetch = $0 { true } else { false } }
        let out = [log] + callbacks.map { CallAction.flow($0) }
        guard phase == .closing, recordingsInProgress.isEmpty else { return out }
        return out + end(disposition: disposition, code: sipCode == 0 ? 200 : sipCode, by: hangupBy, now: now, prefix: [])
    }
}
