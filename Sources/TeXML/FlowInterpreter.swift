/// A pure state machine that executes a ``FlowDocument`` for one call.
///
/// It performs no I/O and owns no timers or threads: each mutating method returns the
/// next ``FlowAction`` for the daemon's I/O layer, which reports back with
/// ``handle(_:)``. Typical use:
///
///     var flow = FlowInterpreter(document: document)
///     if let reject = flow.mustRejectBeforeAnswer { /* send reject.reason.sipStatusCode */ }
///     var action = flow.start()            // answer the call first unless it is .reject
///     // ... carry out `action`, then:
///     action = flow.handle(.actionCompleted)
///
/// Execution uses a stack of frames (a list of verbs and a program counter each). The
/// document is the bottom frame; verbs with nested prompts (`<Gather>`, `<Record>`) will
/// push a frame for them once they are executed, and `<Redirect>` or an `action` URL
/// replaces the stack via ``replace(document:)``.
public struct FlowInterpreter: Sendable {
    /// Lifecycle of the interpreter.
    public enum State: Sendable, Hashable {
        /// ``start()`` has not been called yet.
        case notStarted
        /// Waiting for the outcome of the last action.
        case running
        /// The flow is over; every further event yields ``FlowAction/finished``.
        case finished
    }

    /// One level of execution: a list of verbs and the index of the next one to run.
    struct Frame: Sendable, Equatable {
        var verbs: [Verb]
        var next = 0

        var isExhausted: Bool { next >= verbs.count }
    }

    /// The document being executed (changes on ``replace(document:)``).
    public private(set) var document: FlowDocument
    /// Where the interpreter is in its lifecycle.
    public private(set) var state: State = .notStarted
    /// The verb that produced the most recent action, or `nil` before any verb ran.
    public private(set) var currentVerb: Verb?
    private var frames: [Frame] = []
    /// Whether any action has been returned for this call; once one has, the call has been
    /// answered and a `<Reject>` can only hang up.
    private var hasIssuedAction = false

    /// Creates an interpreter for one call.
    public init(document: FlowDocument) {
        self.document = document
    }

    /// The `<Reject>` the call must be refused with before it is answered: non-nil only
    /// before ``start()`` and when the document's first verb is `<Reject>`.
    public var mustRejectBeforeAnswer: Reject? {
        guard state == .notStarted, case .reject(let reject)? = document.verbs.first else { return nil }
        return reject
    }

    /// True once the flow has ended.
    public var isFinished: Bool { state == .finished }

    /// Number of active frames (0 when not running); exposed for diagnostics and tests.
    public var depth: Int { frames.count }

    /// Starts the flow and returns the action for the first verb.
    ///
    /// Returns `.reject(reason)` when the first verb is `<Reject>` (the call must not be
    /// answered); otherwise the daemon answers the call and then carries out the action.
    /// Returns `.finished` for an empty document, or if called when already started.
    public mutating func start() -> FlowAction {
        guard state == .notStarted else { return .finished }
        state = .running
        frames = [Frame(verbs: document.verbs)]
        return advance()
    }

    /// Feeds an event and returns the next action.
    ///
    /// `.callerHungUp` ends the flow (`.finished`). After the flow has ended every event
    /// returns `.finished`. `.actionCompleted` before ``start()`` behaves like ``start()``.
    public mutating func handle(_ event: FlowEvent) -> FlowAction {
        switch (state, event) {
        case (.finished, _):
            return .finished
        case (_, .callerHungUp):
            finish()
            return .finished
        case (.notStarted, .actionCompleted):
            return start()
        case (.running, .actionCompleted):
            return advance()
        }
    }

    /// Abandons the rest of the current document and continues with `document` (what
    /// `<Redirect>` and `action` URLs do). Returns the action for its first verb; a
    /// leading `<Reject>` in it only hangs up once the call has been answered. Before
    /// ``start()`` this swaps the document and starts; after the flow ended it returns `.finished`.
    public mutating func replace(document: FlowDocument) -> FlowAction {
        switch state {
        case .finished:
            return .finished
        case .notStarted:
            self.document = document
            return start()
        case .running:
            self.document = document
            frames = [Frame(verbs: document.verbs)]
            return advance()
        }
    }

    // MARK: Execution

    /// Runs the next verb, popping exhausted frames; `.finished` when none is left.
    private mutating func advance() -> FlowAction {
        while let top = frames.last {
            if top.isExhausted {
                frames.removeLast()
                continue
            }
            let verb = top.verbs[top.next]
            frames[frames.count - 1].next += 1
            return execute(verb)
        }
        finish()
        return .finished
    }

    private mutating func execute(_ verb: Verb) -> FlowAction {
        let isFirstAction = !hasIssuedAction
        hasIssuedAction = true
        currentVerb = verb
        switch verb {
        case .say(let say):
            return .say(say.speechRequest)
        case .pause(let pause):
            return .pause(milliseconds: pause.length * 1000)
        case .hangup:
            finish()
            return .hangup
        case .reject(let reject):
            finish()
            return isFirstAction ? .reject(reject.reason) : .hangup
        case .play:
            return skip(verb, "audio file playback and DTMF sending are not supported yet")
        case .gather:
            return skip(verb, "input collection is not supported yet; its nested prompts are skipped too")
        case .record:
            return skip(verb, "recording is not supported yet; its nested prompts are skipped too")
        case .dial:
            return skip(verb, "call bridging is not supported yet")
        case .redirect:
            return skip(verb, "redirecting to another document is not supported yet")
        }
    }

    private func skip(_ verb: Verb, _ reason: String) -> FlowAction {
        .skip(verb: verb.name, location: verb.location, reason: reason)
    }

    private mutating func finish() {
        state = .finished
        frames = []
    }
}
