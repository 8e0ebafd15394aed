/// Text-to-speech work for the I/O layer.
public struct SpeechRequest: Sendable, Hashable {
    /// Text to speak.
    public var text: String
    /// Voice name as written in the flow (e.g. `alice`, `Polly.Joanna`).
    public var voice: String
    /// Language tag, e.g. `en-US`.
    public var language: String
    /// Number of times to speak; 0 means repeat until the call ends.
    public var loop: Int

    /// Creates a request.
    public init(text: String, voice: String, language: String, loop: Int) {
        self.text = text
        self.voice = voice
        self.language = language
        self.loop = loop
    }
}

/// Something that happened on the call, reported to ``FlowInterpreter/handle(_:)``.
public enum FlowEvent: Sendable, Hashable {
    /// The I/O layer finished carrying out the last ``FlowAction``.
    case actionCompleted
    /// The caller hung up; the flow ends and later events are ignored.
    case callerHungUp
}

/// What the I/O layer must do next. After every action except `.reject`, `.hangup` and
/// `.finished`, the I/O layer reports ``FlowEvent/actionCompleted`` when done.
public enum FlowAction: Sendable, Hashable {
    /// Refuse the call without answering it: SIP 603 for `.rejected`, 486 for `.busy`
    /// (see ``Reject/Reason/sipStatusCode``). Only ever returned by the first action of a call.
    case reject(Reject.Reason)
    /// Speak text.
    case say(SpeechRequest)
    /// Stay silent for the given time.
    case pause(milliseconds: Int)
    /// Hang up the call (a `<Hangup>` verb, or a `<Reject>` after the call was answered).
    case hangup
    /// A verb this version cannot execute: log it with its location and reply
    /// ``FlowEvent/actionCompleted`` to move on.
    case skip(verb: String, location: SourceLocation, reason: String)
    /// The flow has ended (ran out of verbs, or the caller hung up). If the call is
    /// still up the I/O layer hangs up, as hosted platforms do.
    case finished
}
