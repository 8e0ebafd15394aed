import Foundation
import Media
import Routing
import Signaling
import TeXML

/// `<Dial answerOnBridge="true">`: the caller is not answered while the callee rings. The
/// call gets a 183 with our SDP, so it hears the ringback (or the callee's early media),
/// and the 200 goes out when the callee answers: the caller's record is answered, and
/// billed, from the bridge. A dial that ends unanswered refuses the call when the flow has
/// nothing more to do (486 when the callee was busy, else 480), or answers it to go on.
extension CallSession {
    /// At the moment the call would be answered: when the flow's first verb (after its
    /// pauses) is such a dial, start it unanswered instead. Nil otherwise, and for a late
    /// offer (no SDP to send early).
    mutating func beginEarlyDial(now: Date) -> [CallAction]? {
        guard !lateOffer, let negotiated, let answerSDP,
              case .dial(let dial, _)? = firstActions.first(where: { $0 != .markEmergency }), dial.answerOnBridge
        else { return nil }
        phase = .earlyDial
        let first = firstActions
        firstActions = []
        return [.respond(status: 183, sdp: answerSDP, headers: []), .configureMedia(MediaPeer(negotiated: negotiated)),
                .log(level: "info", event: "call.early_dial", detail: "answerOnBridge: unanswered until the callee answers")]
            + run(first, now: now)
    }

    /// The callee answered: now the caller is answered (the flow stays in the dial).
    mutating func answerAtBridge(now: Date) -> [CallAction] {
        phase = .answered
        answerTime = now
        return [.respond(status: 200, sdp: answerSDP, headers: []), .startDurationTimer(seconds: maxCallSeconds),
                .startAckTimer(milliseconds: ackTimeoutMilliseconds)]
    }

    /// The dial ended and nobody answered: refuse the call when the flow is over, or
    /// answer it and carry on with what the flow does next (its `action` request, say).
    mutating func afterUnansweredEarlyDial(_ next: [FlowAction], status: DialStatus, now: Date) -> [CallAction] {
        let callbacks = next.filter { if case .notify = $0 { true } else { false } }.map { CallAction.flow($0) }
        let ends = next.allSatisfy { action in
            switch action {
            case .notify, .skip, .finished, .hangup, .markEmergency: true
            default: false
            }
        }
        guard ends else {
            phase = .ringing
            firstActions = next
            return ringTimerFired(now: now)
        }
        let code = status == .busy ? 486 : 480
        return callbacks + end(disposition: status == .busy ? .busy : .failed, code: code, by: .daemon, now: now,
                               prefix: [.flow(.stopMedia), .respond(status: code, sdp: nil, headers: []),
                                        .log(level: "info", event: "call.rejected", detail: "answerOnBridge dial \(status.rawValue)")])
    }
}
