import Foundation

/// One line of a simulated call's timeline.
public struct SimulationEvent: Sendable, Hashable, CustomStringConvertible {
    /// Seconds since the call was answered, on the simulated clock.
    public var time: Double
    /// What happened, e.g. `say "Welcome" (alice, en-US)` or `POST https://x/menu Digits=1`.
    public var line: String

    /// Creates an event.
    public init(time: Double, line: String) {
        self.time = time
        self.line = line
    }

    /// `"   5.0s  line"`.
    public var description: String { String(format: "%7.1f", time) + "s  " + line }
}

/// How a simulated call ended.
public enum SimulationEnding: Sendable, Hashable {
    /// The first verb refused the call before answering.
    case rejected(Reject.Reason)
    /// The flow hung up (`<Hangup>`, or a `<Reject>` after answering).
    case hungUp
    /// The flow ran out of verbs (the daemon hangs up).
    case finished
    /// A fetch failed: the caller heard the apology and the call was hung up.
    case applicationError(String)
    /// The simulation stopped before the flow ended (step or time limit reached, e.g. a
    /// `<Redirect>` loop); the text says which.
    case incomplete(String)
}

/// The result of ``FlowSimulator/run()``.
public struct SimulationResult: Sendable, Hashable {
    /// Everything that happened, in order.
    public var timeline: [SimulationEvent]
    /// How the call ended.
    public var ending: SimulationEnding
    /// Every fetch and notify request, in order.
    public var requests: [HTTPRequest]
    /// Scripted digits that were never delivered.
    public var unusedDigits: String
    /// Simulated call length in seconds.
    public var duration: Double
}

/// Runs a flow without SIP or audio (for `tollfreed simulate`): a scripted caller presses
/// keys, time is simulated, and the result is a deterministic timeline.
///
/// Rules: prompts take `promptDuration(action)` seconds (0 by default); pauses and timers
/// advance the clock by their length. Script characters are delivered one at a time while a
/// `<Gather>` listens, once nothing is playing: a key is pressed, and `w` lets that Gather
/// time out instead (no further keys until it ends). Recordings receive no keys: each one
/// lasts 5 seconds (or `maxLength` if shorter) and ends on silence. The caller never speaks:
/// a speech `<Gather>` hears nothing and times out. A `<Dial>` is answered
/// at once and lasts 10 seconds. Fetches are answered at once by the `fetch` closure.
public struct FlowSimulator {
    /// Length of every simulated recording, in seconds.
    public static let recordingSeconds = 5
    /// Length of every simulated dialed call (answered at once), in seconds.
    public static let dialSeconds = 10

    fileprivate let document: FlowDocument
    fileprivate let baseURL: String?
    fileprivate let callParameters: [FormParameter]
    fileprivate let digits: String
    fileprivate let promptDuration: (FlowAction) -> Double
    fileprivate let fetch: (HTTPRequest) -> FetchOutcome
    fileprivate let maxSteps: Int
    fileprivate let maxSeconds: Double

    /// Creates a simulator.
    /// - Parameters:
    ///   - document: The flow to run; `baseURL` and `callParameters` as for ``FlowInterpreter``.
    ///   - digits: The caller's key presses in order, e.g. `"1#"`; `w` = let the next Gather
    ///     time out. Whitespace is ignored.
    ///   - promptDuration: Seconds a `.say`, `.play`, `.sendDigits` or `.beep` takes.
    ///   - maxSteps: Events to deliver before giving up (guards against redirect loops).
    ///   - maxSeconds: Simulated seconds before giving up.
    ///   - fetch: Answers `<Redirect>` and `action` requests.
    public init(document: FlowDocument, baseURL: String?, callParameters: [FormParameter], digits: String,
                promptDuration: @escaping (FlowAction) -> Double = { _ in 0 },
                maxSteps: Int = 10_000, maxSeconds: Double = 14_400,
                fetch: @escaping (HTTPRequest) -> FetchOutcome) {
        self.document = document
        self.baseURL = baseURL
        self.callParameters = callParameters
        self.digits = String(digits.filter { !$0.isWhitespace })
        self.promptDuration = promptDuration
        self.fetch = fetch
        self.maxSteps = maxSteps
        self.maxSeconds = maxSeconds
    }

    /// Runs the call to its end (or to a limit).
    public func run() -> SimulationResult {
        var state = SimulationState(simulator: self)
        var flow = FlowInterpreter(document: document, baseURL: baseURL, callParameters: callParameters)
        state.perform(flow.start())
        var steps = 0
        while !flow.isFinished {
            steps += 1
            if steps > maxSteps {
                state.ending = .incomplete("stopped after \(maxSteps) events")
                break
            }
            if let key = state.nextKey() {
                if key == "w" || key == "W" {
                    state.waitingForTimeout = true
                    continue
                }
                state.log("digit \(key)")
                state.perform(flow.handle(.digit(key)))
                continue
            }
            guard let pending = state.popNext() else {
                state.ending = .incomplete("the flow waits for an event the simulator cannot produce")
                break
            }
            if pending.time > maxSeconds {
                state.ending = .incomplete("stopped after \(Self.seconds(maxSeconds)) of simulated time")
                break
            }
            state.clock = max(state.clock, pending.time)
            if pending.kind == .recording { state.recording = nil }
            if let line = pending.line { state.log(line) }
            state.perform(flow.handle(pending.event))
        }
        return SimulationResult(timeline: state.timeline, ending: state.ending ?? .finished,
                                requests: state.requests, unusedDigits: String(state.script),
                                duration: state.clock)
    }

    fileprivate func duration(of action: FlowAction) -> Double { max(0, promptDuration(action)) }

    /// `5s`, `2.5s`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}

/// Something scheduled on the simulated clock.
private struct Pending {
    enum Kind { case media, timer, recording, fetch, dial }
    var time: Double
    var sequence: Int
    var kind: Kind
    var token: FlowToken
    var event: FlowEvent
    /// Logged when the event is delivered.
    var line: String?
}

/// Mutable state of one simulation run.
private struct SimulationState {
    let simulator: FlowSimulator
    var clock = 0.0
    var timeline: [SimulationEvent] = []
    var requests: [HTTPRequest] = []
    var ending: SimulationEnding?
    var script: Substring
    var listening = false
    var waitingForTimeout = false
    var recording: (token: FlowToken, start: Double)?
    var recordings = 0
    var pending: [Pending] = []
    var sequence = 0
    var fetchFailure: String?

    init(simulator: FlowSimulator) {
        self.simulator = simulator
        self.script = Substring(simulator.digits)
    }

    mutating func log(_ line: String) {
        timeline.append(SimulationEvent(time: clock, line: line))
    }

    /// The next scripted key, when a Gather listens and nothing is playing or pending.
    mutating func nextKey() -> Character? {
        guard listening, recording == nil, !waitingForTimeout,
              !pending.contains(where: { $0.kind == .media || $0.kind == .fetch }) else { return nil }
        return script.popFirst()
    }

    mutating func popNext() -> Pending? {
        guard let index = pending.indices.min(by: {
            (pending[$0].time, pending[$0].sequence) < (pending[$1].time, pending[$1].sequence)
        }) else { return nil }
        return pending.remove(at: index)
    }

    mutating func schedule(after seconds: Double, _ kind: Pending.Kind, _ token: FlowToken, _ event: FlowEvent,
                           line: String? = nil) {
        sequence += 1
        pending.append(Pending(time: clock + seconds, sequence: sequence, kind: kind, token: token,
                               event: event, line: line))
    }

    mutating func media(_ action: FlowAction, _ token: FlowToken, _ line: String, seconds: Double? = nil) {
        log(line)
        schedule(after: seconds ?? simulator.duration(of: action), .media, token, .mediaFinished(token))
    }

    mutating func perform(_ actions: [FlowAction]) {
        for action in actions { perform(action) }
    }

    private mutating func perform(_ action: FlowAction) {
        switch action {
        case .reject(let reason):
            log("reject (\(reason.rawValue), SIP \(reason.sipStatusCode))")
            ending = .rejected(reason)
        case .say(let speech, let token):
            media(action, token, "say \"\(speech.text)\" (\(speech.voice), \(speech.language))" + Self.loop(speech.loop))
        case .play(let play, let token):
            media(action, token, "play " + (play.ringTone.map { "ringback tone \($0)" } ?? play.source) + Self.loop(play.loop))
        case .sendDigits(let digits, let token):
            media(action, token, "send digits \(digits)")
        case .beep(let token):
            media(action, token, "beep")
        case .pause(let milliseconds, let token):
            let seconds = Double(milliseconds) / 1000
            media(action, token, "pause \(FlowSimulator.seconds(seconds))", seconds: seconds)
        case .stopMedia:
            log("stop playing")
            pending.removeAll { $0.kind == .media }
        case .listenForDigits(let on):
            listening = on
            if !on { waitingForTimeout = false }
            log(on ? "listen for digits" : "stop listening")
        case .startTimer(let milliseconds, let token):
            let seconds = Double(milliseconds) / 1000
            schedule(after: seconds, .timer, token, .timerFired(token),
                     line: "timeout after \(FlowSimulator.seconds(seconds))")
        case .cancelTimer(let token):
            pending.removeAll { $0.kind == .timer && $0.token == token }
        case .listenForSpeech(let request, _):
            log("listen for speech" + (request.hints.map { " (hints: \($0))" } ?? "") + "; the simulated caller says nothing")
        case .stopListeningForSpeech:
            log("stop listening for speech")
        case .startRecording(let request, let token):
            startRecording(request, token)
        case .stopRecording(let token):
            stopRecording(token)
        case .fetch(let request, let token):
            fetch(request, token)
        case .notify(let request):
            requests.append(request)
            log("notify " + describe(request))
        case .transcribe(let url, let callback):
            log("transcribe \(url)" + (callback.map { " then " + describe($0) } ?? ""))
        case .hangup:
            log("hang up")
            ending = fetchFailure.map(SimulationEnding.applicationError) ?? .hungUp
        case .skip(let verb, let location, let reason):
            log("skip <\(verb)> at \(location): \(reason)")
        case .dial(let dial, let token):
            self.dial(dial, token)
        case .markEmergency:
            log("call marked emergency")
        case .finished:
            log("flow finished")
            if ending == nil { ending = .finished }
        }
    }

    /// A recording runs `FlowSimulator.recordingSeconds` (or its maximum length, if shorter)
    /// and then ends as the caller's silence would end it.
    private mutating func startRecording(_ request: RecordingRequest, _ token: FlowToken) {
        log("record up to \(request.maxLengthSeconds)s")
        recording = (token, clock)
        recordings += 1
        let length = min(FlowSimulator.recordingSeconds, request.maxLengthSeconds)
        let reason: RecordingEndReason = length < FlowSimulator.recordingSeconds ? .maxLength : .silence
        schedule(after: Double(length), .recording, token, .recordingFinished(token, outcome(length, reason)),
                 line: "recording ended after \(length)s (\(reason.rawValue))")
    }

    private mutating func stopRecording(_ token: FlowToken) {
        guard let started = recording, started.token == token else { return }
        pending.removeAll { $0.kind == .recording && $0.token == token }
        let length = Int(clock - started.start)
        schedule(after: 0, .recording, token, .recordingFinished(token, outcome(length, .stopped)),
                 line: "recording stopped after \(length)s")
    }

    /// Fetches at once; a failure is remembered for the ending (the caller hears the apology).
    private mutating func fetch(_ request: HTTPRequest, _ token: FlowToken) {
        requests.append(request)
        log(describe(request))
        let outcome = simulator.fetch(request)
        if case .failed(let reason) = outcome {
            fetchFailure = reason
            log("fetch failed: \(reason)")
        }
        schedule(after: 0, .fetch, token, .fetched(token, outcome))
    }

    /// The simulated callee answers at once and talks for `dialSeconds`.
    private mutating func dial(_ dial: Dial, _ token: FlowToken) {
        let targets = dial.targets.map { t -> String in
            switch t { case .number(let n): n.number; case .sip(let s): s.uri }
        }
        log("dial \(targets.joined(separator: ", ")) (timeout \(dial.timeout)s, record \(dial.record.rawValue))")
        let seconds = FlowSimulator.dialSeconds
        let outcome = DialOutcome(status: "completed", callSid: "simulated-dial", durationSeconds: seconds)
        schedule(after: Double(seconds), .dial, token, .dialFinished(token, outcome),
                 line: "dialed call completed after \(seconds)s")
    }

    private mutating func outcome(_ length: Int, _ reason: RecordingEndReason) -> RecordingOutcome {
        RecordingOutcome(url: "simulated://recording-\(recordings).wav", durationSeconds: length,
                         sid: "simulated-recording-\(recordings)", reason: reason)
    }

    /// `POST https://x/menu Digits=1` (the call parameters are left out), or `read /path`.
    func describe(_ request: HTTPRequest) -> String {
        guard request.isRemote else { return "read \(request.url)" }
        let own = request.parameters.filter { !simulator.callParameters.contains($0) }
        return ([request.method.rawValue, request.url] + own.map { "\($0.name)=\($0.value)" })
            .joined(separator: " ")
    }

    static func loop(_ count: Int) -> String {
        count == 1 ? "" : (count == 0 ? " (looping)" : " x\(count)")
    }
}

