import Configuration
import Foundation
import Media
import TeXML

/// The caller's keypad: one digit per press whichever source reported it, and where the
/// digit goes.
struct Keypad {
    /// Reports of one press by RFC 4733, SIP INFO and in-band detection, reduced to one.
    var presses = DTMFDeduplicator()
    /// The flow is collecting digits (a `<Gather>`, or `<Record finishOnKey>`).
    var listening = false
}

extension CallSession {
    /// Spoken when a flow cannot be fetched and there is no fallback: never dead air.
    static let apology = "<Response><Say voice=\"alice\">We are sorry, this number cannot take your call right now. Please try again later. Goodbye.</Say><Hangup/></Response>"

    /// A key the caller pressed, as one source reported it. A press reported again (by
    /// another source, within the window) is dropped; `*` ends a bridged
    /// `<Dial hangupOnStar>`; any other digit goes to the flow only while it listens.
    mutating func keyPressed(_ digit: Character, source: DTMFSource, now: Date) -> [CallAction] {
        guard keypad.presses.accept(digit: digit, source: source, at: now.timeIntervalSince1970) else { return [] }
        // Keypad digits of healthcare callers are PHI (dates of birth, member numbers): never
        // logged in clear. Per digit only at debug level; a Gather's result is logged once.
        let shown = route.industry == .healthcare ? "*" : String(digit)
        let log = CallAction.log(level: "debug", event: "call.dtmf",
                                 detail: "digit=\(shown) source=\(source) listening=\(keypad.listening)")
        if digit == "*", let d = activeDial, d.dial.hangupOnStar, d.machine.bridgedLeg != nil {
            return [log] + dialEvent(now: now) { m, t in m.hangupOnStar(now: t) }
        }
        guard keypad.listening else { return [log] }
        return [log] + self.digit(digit, now: now)
    }
}
