/// A pure state machine that executes a ``FlowDocument`` for one call, the way Telnyx
/// TeXML and Twilio TwiML do.
///
/// It performs no I/O and owns no clocks or threads: ``start()`` and ``handle(_:)`` return
/// lists of ``FlowAction`` for the daemon's I/O layer, which reports back with
/// ``FlowEvent``s carrying the ``FlowToken`` of the work they complete. Typical use:
///
///     var flow = FlowInterpreter(document: document, baseURL: nil, callParameters: params)
///     if let reject = flow.mustRejectBeforeAnswer { /* send reject.reason.sipStatusCode */ }
///     perform(flow.start())                       // after answering the call
///     // for every media completion, digit, timer, recording, fetch result or hang-up:
///     perform(flow.handle(event))
///
/// `<Redirect>` and `action` URLs are fetched through ``FlowAction/fetch(_:token:)``; the
/// returned document replaces the rest of the flow. A `<Gather>` or `<Record>` without
/// `action` requests the current document's URL again, as hosted platforms do; in a local
/// file (no URL) it continues with the next verb.
///
/// Emergency marking: a document whose `<Response>` carries `tf:emergency="true"` (in the
/// `urn:tollfreed:texml` namespace), or a `<Dial>` with that attribute, makes the call an
/// emergency when it runs (``FlowAction/markEmergency``). A menu branch document marked this
/// way turns the caller's menu choice into an emergency call; standard TeXML stays valid.
public struct FlowInterpreter: Sendable {
    /// Lifecycle of the interpreter.
    public enum State: Sendable, Hashable {
        /// ``start()`` has not been called yet.
        case notStarted
        /// Executing verbs and waiting for events.
        case running
        /// The flow is over; every further event yields no actions.
        case finished
    }

    /// What the interpreter is waiting for.
    enum Waiting: Sendable {
        /// Nothing: the next verb can run.
        case idle
        /// A top-level `<Say>`, `<Play>` or `<Pause>` to finish.
        case media(FlowToken)
        /// Input for a `<Gather>`.
        case gather(GatherRun)
        /// A `<Record>` to play its prompts, beep and record.
        case record(RecordRun)
        /// A fetched document (`url` becomes the base URL when it is remote).
        case fetch(FlowToken, url: String)
        /// The application-error apology to finish before hanging up.
        case apology(FlowToken)
        /// A `<Dial>` in progress; `callerHungUp` once the caller left during it.
        case dial(FlowToken, Dial, callerHungUp: Bool)
    }

    /// The document being executed (changes when a fetched document replaces the flow).
    public private(set) var document: FlowDocument
    /// The `http(s)` URL the current document came from, or `nil` for a local file.
    public private(set) var baseURL: String?
    /// `CallSid`, `AccountSid`, `From`, `To`, `CallStatus`, `Direction`: sent first with every
    /// fetch and callback.
    public let callParameters: [FormParameter]
    /// Where the interpreter is in its lifecycle.
    public private(set) var state: State = .notStarted
    /// The verb executing (or executed last), or `nil` before any verb ran.
    public private(set) var currentVerb: Verb?

    private var verbs: [Verb] = []
    private var next = 0
    var waiting: Waiting = .idle
    private var lastToken: FlowToken = 0
    /// Verbs executed so far in this call; a `<Reject>` only refuses the call when it is the first.
    private var executedVerbs = 0

    /// Creates an interpreter for one call.
    /// - Parameters:
    ///   - document: The flow to run.
    ///   - baseURL: The `http(s)` URL the document came from, or `nil` for a local file, in
    ///     which case relative references resolve against the directory of `document.source`.
    ///   - callParameters: Parameters sent with every fetch and callback, in this order.
    public init(document: FlowDocument, baseURL: String?, callParameters: [FormParameter]) {
        self.document = document
        self.baseURL = baseURL
        self.callParameters = callParameters
    }

    /// The `<Reject>` the call must be refused with before it is answered: non-nil only
    /// before ``start()`` and when the document's first verb after any `<Pause>` is `<Reject>`.
    public var mustRejectBeforeAnswer: Reject? {
        let first = document.verbs.first { if case .pause = $0 { false } else { true } }
        guard state == .notStarted, case .reject(let reject)? = first else { return nil }
        return reject
    }

    /// True once the flow has ended.
    public var isFinished: Bool { state == .finished }

    /// Starts the flow and returns the actions of the first verb(s).
    ///
    /// Returns `[.reject(reason)]` when the first verb is `<Reject>` (the call must not be
    /// answered); otherwise the daemon answers the call and then carries out the actions.
    /// Returns `[.finished]` for an empty document and `[]` if called a second time.
    public mutating func start() -> [FlowAction] {
        guard state == .notStarted else { return [] }
        state = .running
        verbs = document.verbs
        next = 0
        return markIfEmergency(document.extensions) + advance()
    }

    /// Starts the flow while the call rings (before it is answered): leading `<Pause>`s are
    /// spent ringing, as on Twilio, which answers after them. Returns the actions of the first
    /// other verb (a `<Reject>` there still refuses the call unanswered) and how long the
    /// pauses ring.
    public mutating func startRinging() -> (actions: [FlowAction], ringMilliseconds: Int) {
        var actions = start(), ringing = 0
        while true {
            let marks = actions.filter { $0 == .markEmergency }
            guard marks.count == actions.count - 1, case .pause(let ms, let token)? = actions.first(where: { $0 != .markEmergency })
            else { return (actions, ringing) }
            ringing += ms
            actions = marks + handle(.mediaFinished(token))
        }
    }

    /// Feeds an event and returns what to do next (often nothing).
    ///
    /// Events carrying a token the interpreter is not waiting for are ignored, as are digits
    /// outside `<Gather>` and `<Record>`. `.callerHungUp` ends the flow with `[.finished]`
    /// (during a recording it first stops the recording, see `<Record>`). Before ``start()``
    /// only `.callerHungUp` has an effect; after the flow ended every event returns `[]`.
    public mutating func handle(_ event: FlowEvent) -> [FlowAction] {
        switch state {
        case .finished:
            return []
        case .notStarted:
            guard event == .callerHungUp else { return [] }
            return finish()
        case .running:
            break
        }
        switch waiting {
        case .idle:
            return event == .callerHungUp ? finish() : []
        case .media(let token):
            switch event {
            case .mediaFinished(token): return resume()
            case .callerHungUp: return finish()
            default: return []
            }
        case .gather(let run):
            return handleGather(event, run)
        case .record(let run):
            return handleRecord(event, run)
        case .fetch(let token, let url):
            switch event {
            case .fetched(token, .document(let next)): return replace(with: next, from: url)
            case .fetched(token, .failed): return apologize()
            case .callerHungUp: return finish()
            default: return []
            }
        case .apology(let token):
            switch event {
            case .mediaFinished(token): return hangUp()
            case .callerHungUp: return finish()
            default: return []
            }
        case .dial(let token, let dial, let hungUp):
            switch event {
            case .dialFinished(token, let outcome): return endDial(dial, outcome, callerHungUp: hungUp)
            case .callerHungUp:
                // The I/O layer ends the legs and still reports `.dialFinished`: the action
                // and recording callbacks go out, then the flow ends.
                waiting = .dial(token, dial, callerHungUp: true)
                return []
            default: return []
            }
        }
    }

    // MARK: Execution

    /// Leaves the current wait and runs the following verbs.
    mutating func resume() -> [FlowAction] {
        waiting = .idle
        return advance()
    }

    /// Runs verbs until one has to wait for an event or the flow ends.
    private mutating func advance() -> [FlowAction] {
        var actions: [FlowAction] = []
        while next < verbs.count {
            let verb = verbs[next]
            next += 1
            actions += execute(verb)
            if state == .finished { return actions }
            if case .idle = waiting { continue }
            return actions
        }
        return actions + finish()
    }

    private mutating func execute(_ verb: Verb) -> [FlowAction] {
        // Only pauses before it: a `<Reject>` then still refuses the call unanswered.
        let isFirstVerb = executedVerbs == 0
        if case .pause = verb {} else { executedVerbs += 1 }
        currentVerb = verb
        switch verb {
        case .say(let say):
            return startMedia(.say(say))
        case .play(let play):
            return startMedia(.play(play))
        case .pause(let pause):
            return startMedia(.pause(pause))
        case .gather(let gather):
            return startGather(gather)
        case .record(let record):
            return startRecord(record)
        case .redirect(let redirect):
            let url = resolve(redirect.target)
            return fetch(HTTPRequest(url: url, method: redirect.method, parameters: callParameters))
        case .hangup:
            return hangUp()
        case .reject(let reject):
            state = .finished
            return [isFirstVerb ? .reject(reject.reason) : .hangup]
        case .dial(let dial):
            let token = newToken()
            waiting = .dial(token, dial, callerHungUp: false)
            return markIfEmergency(dial.extensions) + [.dial(dial, token: token)]
        }
    }

    private mutating func startMedia(_ prompt: Prompt) -> [FlowAction] {
        let token = newToken()
        waiting = .media(token)
        return [mediaAction(prompt, token: token)]
    }

    /// The media action that plays `prompt`.
    func mediaAction(_ prompt: Prompt, token: FlowToken) -> FlowAction {
        switch prompt {
        case .say(let say):
            return .say(say.speechRequest, token: token)
        case .play(let play):
            if let digits = play.digits { return .sendDigits(digits, token: token) }
            if play.url == nil, let tone = play.ringTone { return .play(PlayRequest(source: "", loop: play.loop, ringTone: tone), token: token) }
            return .play(PlayRequest(source: resolve(play.url ?? ""), loop: play.loop), token: token)
        case .pause(let pause):
            return .pause(milliseconds: pause.length * 1000, token: token)
        }
    }

    /// Asks for the next document; it replaces the flow when it arrives.
    mutating func fetch(_ request: HTTPRequest) -> [FlowAction] {
        let token = newToken()
        waiting = .fetch(token, url: request.url)
        return [.fetch(request, token: token)]
    }

    /// Abandons the rest of the current document and runs `document` from its first verb.
    private mutating func replace(with document: FlowDocument, from url: String) -> [FlowAction] {
        self.document = document
        baseURL = FlowURL.isHTTP(url) ? url : nil
        verbs = document.verbs
        next = 0
        return markIfEmergency(document.extensions) + resume()
    }

    /// `[.markEmergency]` when `tf:emergency="true"` is among `extensions`.
    private func markIfEmergency(_ extensions: [String: String]) -> [FlowAction] {
        ["true", "1", "yes"].contains(extensions["emergency"]?.lowercased() ?? "") ? [.markEmergency] : []
    }

    /// The dialed call is over: recording callback, then the `action` document or the
    /// next verb (the caller stays on the line after the callee hangs up, as in TwiML).
    private mutating func endDial(_ dial: Dial, _ outcome: DialOutcome, callerHungUp: Bool) -> [FlowAction] {
        var actions: [FlowAction] = []
        if let r = outcome.recording, r.durationSeconds > 0, let callback = dial.recordingStatusCallback,
           dial.recordingStatusCallbackEvent.contains(.completed) {
            let params = [FormParameter(name: "RecordingUrl", value: r.url), FormParameter(name: "RecordingSid", value: r.sid),
                          FormParameter(name: "RecordingDuration", value: String(r.durationSeconds)),
                          FormParameter(name: "RecordingStatus", value: "completed")]
            actions.append(.notify(request(callback, dial.recordingStatusCallbackMethod, params)))
        }
        guard let action = dial.action else {
            return actions + (callerHungUp ? finish() : resume())
        }
        actions += fetch(request(action, dial.method, outcome.parameters))
        return callerHungUp ? actions + finish() : actions
    }

    /// A failed fetch: apologise (never dead air), then hang up.
    private mutating func apologize() -> [FlowAction] {
        let token = newToken()
        waiting = .apology(token)
        return [.say(.applicationError, token: token)]
    }

    private mutating func hangUp() -> [FlowAction] {
        state = .finished
        waiting = .idle
        return [.hangup]
    }

    /// Ends the flow: `[.finished]`.
    mutating func finish() -> [FlowAction] {
        state = .finished
        waiting = .idle
        return [.finished]
    }

    mutating func newToken() -> FlowToken {
        lastToken += 1
        return lastToken
    }

    /// `reference` resolved against the current document (see ``FlowURL/resolve``): what a
    /// URL written in it (a `statusCallback`) means.
    public func resolve(_ reference: String) -> String {
        FlowURL.resolve(reference, baseURL: baseURL, documentSource: document.source)
    }

    /// A request to `reference` with the call parameters followed by `extra`.
    func request(_ reference: String, _ method: RequestMethod, _ extra: [FormParameter]) -> HTTPRequest {
        HTTPRequest(url: resolve(reference), method: method, parameters: callParameters + extra)
    }
}
