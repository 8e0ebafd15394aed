import Configuration
import Foundation
import Media
import Metering
import Routing
import Signaling
import TeXML

/// The flow's side of a call: media, digits, timers, documents and recordings drive the
/// interpreter, and its actions become call actions.
extension CallSession {
    // MARK: Flow events

    /// The media layer finished a say/play/beep/pause on its own.
    mutating func mediaFinished(token: FlowToken, now: Date) -> [CallAction] {
        flowEvent(.mediaFinished(token), now: now)
    }

    /// A prompt could not be synthesised or a file played: log and move on rather than
    /// stall the caller.
    mutating func promptFailed(token: FlowToken, error: String, now: Date) -> [CallAction] {
        guard phase == .active else { return [] }
        let next = flowEvent(.mediaFinished(token), now: now)
        guard !next.isEmpty else { return [] } // stale token: nothing was waiting for it
        return [.log(level: "error", event: "flow.prompt_failed", detail: error)] + next
    }

    /// A de-duplicated DTMF digit from the caller.
    mutating func digit(_ d: Character, now: Date) -> [CallAction] {
        flowEvent(.digit(d), now: now)
    }

    mutating func flowTimerFired(token: FlowToken, now: Date) -> [CallAction] {
        flowEvent(.timerFired(token), now: now)
    }

    mutating func fetched(token: FlowToken, outcome: FetchOutcome, now: Date) -> [CallAction] {
        flowEvent(.fetched(token, outcome), now: now)
    }

    mutating func recordingFinished(token: FlowToken, outcome: RecordingOutcome, now: Date) -> [CallAction] {
        guard recordingsInProgress.remove(token) != nil else { return [] }
        if outcome.durationSeconds > 0 { recordings.append(outcome) }
        guard var interp = interpreter else { return [] }
        let next = interp.handle(.recordingFinished(token, outcome))
        interpreter = interp
        if phase == .closing {
            // The caller is gone: only callbacks still go out, then the record.
            let callbacks = next.filter { if case .notify = $0 { true } else if case .transcribe = $0 { true } else if case .fetch = $0 { true } else { false } }
            let out = callbacks.map { CallAction.flow($0) }
            guard recordingsInProgress.isEmpty, activeDial == nil else { return out }
            return out + end(disposition: disposition, code: sipCode == 0 ? 200 : sipCode, by: hangupBy, now: now, prefix: [])
        }
        return run(next, now: now)
    }

    mutating func flowEvent(_ event: FlowEvent, now: Date) -> [CallAction] {
        guard phase == .active, var interp = interpreter else { return [] }
        let next = interp.handle(event)
        interpreter = interp
        return run(next, now: now)
    }

    // MARK: - Flow

    mutating func run(_ actions: [FlowAction], now: Date) -> [CallAction] {
        var out: [CallAction] = []
        for action in actions {
            switch action {
            case .skip(let verb, let location, let reason):
                out.append(.log(level: "warning", event: "flow.verb_skipped", detail: "verb=\(verb) at=\(location) reason=\"\(reason)\""))
            case .hangup, .finished, .reject:
                // A Reject is only legal first; the interpreter turns a later one into hangup.
                return out + hangUp(now: now, disposition: .completed, log: nil)
            case .listenForDigits(let on):
                keypad.listening = on
                out.append(.flow(action))
            case .startRecording(_, let token):
                recordingsInProgress.insert(token)
                out.append(.flow(action))
            case .dial(let dial, let token):
                activeDial = nil
                out.append(.resolveDial(dial, token: token))
            case .markEmergency:
                if !emergency {
                    emergency = true
                    out += [.promoteEmergency, .log(level: "notice", event: "call.emergency", detail: "marked by the flow")]
                }
            default:
                out.append(.flow(action))
            }
        }
        return out
    }
}
