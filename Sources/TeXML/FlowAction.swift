/// Text-to-speech work for the I/O layer.
public struct SpeechRequest: Sendable, Hashable {
    /// Text to speak.
    public var text: String
    /// Voice name as written in the flow (e.g. `alice`, `Polly.Joanna`).
    public var voice: String
    /// Language tag, e.g. `en-US`.
    public var language: String
    /// Number of times to speak; 0 means repeat until stopped or the call ends.
    public var loop: Int
    /// `text` is an SSML `<speak>` document.
    public var ssml: Bool

    /// Creates a request.
    public init(text: String, voice: String, language: String, loop: Int, ssml: Bool = false) {
        self.text = text
        self.voice = voice
        self.language = language
        self.loop = loop
        self.ssml = ssml
    }

    /// What the caller hears when the application cannot be reached (a failed
    /// `<Redirect>` or `action` request) before the call is hung up.
    public static let applicationError = SpeechRequest(
        text: "We are sorry, an application error has occurred. Goodbye.",
        voice: Say.defaultVoice, language: Say.defaultLanguage, loop: 1)
}

/// Something that happened on the call, reported to ``FlowInterpreter/handle(_:)``.
public enum FlowEvent: Sendable, Hashable {
    /// A `.say`, `.play`, `.sendDigits`, `.beep` or `.pause` finished on its own.
    /// Not reported after ``FlowAction/stopMedia``.
    case mediaFinished(FlowToken)
    /// One DTMF digit from the caller (RFC 4733, SIP INFO or in-band), already de-duplicated.
    case digit(Character)
    /// A timer started with ``FlowAction/startTimer(milliseconds:token:)`` expired.
    case timerFired(FlowToken)
    /// A recording ended; the I/O layer fills in the URL, SID, duration and reason.
    case recordingFinished(FlowToken, RecordingOutcome)
    /// The answer to a ``FlowAction/fetch(_:token:)``.
    case fetched(FlowToken, FetchOutcome)
    /// The `<Dial>` started with ``FlowAction/dial(_:token:)`` is over (also reported
    /// after the caller hung up during it).
    case dialFinished(FlowToken, DialOutcome)
    /// The caller started speaking during a ``FlowAction/listenForSpeech(_:token:)``.
    case speechStarted(FlowToken)
    /// The utterance has been recognised (empty text when nothing was recognisable).
    case speechRecognized(FlowToken, SpeechOutcome)
    /// The caller hung up.
    case callerHungUp
}

/// Work for the I/O layer. The interpreter returns a list of these for every call to
/// ``FlowInterpreter/start()`` and ``FlowInterpreter/handle(_:)``; the I/O layer carries
/// them out in order (they describe things that happen at once, e.g. a prompt plays while
/// digits are listened for) and reports outcomes with the tokens they carry.
public enum FlowAction: Sendable, Hashable {
    /// Refuse the call without answering it: SIP 603 for `.rejected`, 486 for `.busy`
    /// (see ``Reject/Reason/sipStatusCode``). Only returned by ``FlowInterpreter/start()``
    /// when the document's first verb is `<Reject>`; the flow is then over.
    case reject(Reject.Reason)
    /// Speak text; report ``FlowEvent/mediaFinished(_:)`` when done.
    case say(SpeechRequest, token: FlowToken)
    /// Play audio; report ``FlowEvent/mediaFinished(_:)`` when done.
    case play(PlayRequest, token: FlowToken)
    /// Send DTMF digits to the caller (`<Play digits="…">`; `w` = half a second pause);
    /// report ``FlowEvent/mediaFinished(_:)`` when done.
    case sendDigits(String, token: FlowToken)
    /// Play the recording beep; report ``FlowEvent/mediaFinished(_:)`` when done.
    case beep(token: FlowToken)
    /// Stay silent; report ``FlowEvent/mediaFinished(_:)`` when done.
    case pause(milliseconds: Int, token: FlowToken)
    /// Barge-in: stop whatever is playing now. No ``FlowEvent/mediaFinished(_:)`` follows.
    case stopMedia
    /// Turn delivery of ``FlowEvent/digit(_:)`` (including in-band detection) on or off.
    case listenForDigits(Bool)
    /// Listen to the caller's speech: report ``FlowEvent/speechStarted(_:)`` when speech
    /// begins and ``FlowEvent/speechRecognized(_:_:)`` once it has ended and been recognised.
    case listenForSpeech(SpeechInputRequest, token: FlowToken)
    /// Stop listening for speech; nothing more is reported for the token.
    case stopListeningForSpeech(FlowToken)
    /// Start a timer; report ``FlowEvent/timerFired(_:)`` when it expires.
    case startTimer(milliseconds: Int, token: FlowToken)
    /// Cancel a timer; it must not be reported.
    case cancelTimer(FlowToken)
    /// Start recording the caller; report ``FlowEvent/recordingFinished(_:_:)`` when it ends.
    case startRecording(RecordingRequest, token: FlowToken)
    /// Stop the recording early; the I/O layer still reports
    /// ``FlowEvent/recordingFinished(_:_:)`` (reason `.finishKey`, `.hangup` or `.stopped`).
    case stopRecording(FlowToken)
    /// Fetch the next document (`<Redirect>` or an `action`); report ``FlowEvent/fetched(_:_:)``.
    /// The I/O layer tries the number's fallback flow before reporting a failure.
    case fetch(HTTPRequest, token: FlowToken)
    /// Fire-and-forget request (e.g. `recordingStatusCallback`); nothing is reported back.
    case notify(HTTPRequest)
    /// Transcribe a recording off the real-time path, then send the result to `callback`
    /// (with `TranscriptionText` and `TranscriptionStatus` added) when one is given.
    case transcribe(recordingURL: String, callback: HTTPRequest?)
    /// Connect the caller to the `<Dial>` targets; report ``FlowEvent/dialFinished(_:_:)``.
    case dial(Dial, token: FlowToken)
    /// The flow marked the call as an emergency (`tf:emergency="true"`).
    case markEmergency
    /// Hang up the call (`<Hangup>`, a later `<Reject>`, or after the application-error
    /// apology). The flow is over.
    case hangup
    /// A verb (or part of one) this version cannot execute: log it. The interpreter has
    /// already moved on; the actions after it in the same list are the next verb's.
    case skip(verb: String, location: SourceLocation, reason: String)
    /// The flow is over (ran out of verbs, or the caller hung up). If the call is still up
    /// the I/O layer hangs up, as hosted platforms do. Requests earlier in the same list
    /// (`.fetch`, `.notify`, `.transcribe`) are still carried out; their results are ignored.
    case finished
}
