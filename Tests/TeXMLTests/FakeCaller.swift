import Foundation
import XCTest
@testable import TeXML

/// Call parameters used by the interpreter tests.
let testCallParameters = [
    FormParameter(name: "CallSid", value: "call-1"),
    FormParameter(name: "AccountSid", value: "tollfreed"),
    FormParameter(name: "From", value: "+12085550100"),
    FormParameter(name: "To", value: "+18005963057"),
    FormParameter(name: "CallStatus", value: "in-progress"),
    FormParameter(name: "Direction", value: "inbound"),
]

/// `name=value` parameters, in order.
func form(_ pairs: KeyValuePairs<String, String>) -> [FormParameter] {
    pairs.map { FormParameter(name: $0.key, value: $0.value) }
}

/// A default-voice speech request.
func speech(_ text: String) -> SpeechRequest {
    SpeechRequest(text: text, voice: "alice", language: "en-US", loop: 1)
}

/// Plays the I/O layer for a ``FlowInterpreter``: remembers the tokens of the work in
/// progress so a test can script the caller ("finish the prompt", "press 1", "let the
/// timer fire") and inspect the actions that come back.
final class FakeCaller {
    private(set) var flow: FlowInterpreter
    /// Every action returned so far.
    private(set) var history: [FlowAction] = []
    /// Token of the media playing now.
    private(set) var media: FlowToken?
    /// Token of the timer running now.
    private(set) var timer: FlowToken?
    /// Token of the recording in progress (until it is reported finished).
    private(set) var recording: FlowToken?
    /// The fetch in progress.
    private(set) var fetch: (request: HTTPRequest, token: FlowToken)?
    /// Whether digits are being listened for.
    private(set) var listening = false

    init(_ xml: String, source: String = "/srv/flows/main.xml", baseURL: String? = nil) throws {
        flow = FlowInterpreter(document: try parse(xml, source: source), baseURL: baseURL,
                               callParameters: testCallParameters)
    }

    init(document: FlowDocument, baseURL: String? = nil) {
        flow = FlowInterpreter(document: document, baseURL: baseURL, callParameters: testCallParameters)
    }

    @discardableResult
    func start() -> [FlowAction] { track(flow.start()) }

    @discardableResult
    func send(_ event: FlowEvent) -> [FlowAction] { track(flow.handle(event)) }

    /// The media playing now finishes on its own.
    @discardableResult
    func finishMedia(file: StaticString = #filePath, line: UInt = #line) throws -> [FlowAction] {
        let token = try XCTUnwrap(media, "nothing is playing", file: file, line: line)
        media = nil
        return send(.mediaFinished(token))
    }

    /// Presses keys one by one; returns the actions of the last key.
    @discardableResult
    func press(_ keys: String) -> [FlowAction] {
        var last: [FlowAction] = []
        for key in keys { last = send(.digit(key)) }
        return last
    }

    /// The running timer fires.
    @discardableResult
    func fireTimer(file: StaticString = #filePath, line: UInt = #line) throws -> [FlowAction] {
        let token = try XCTUnwrap(timer, "no timer is running", file: file, line: line)
        timer = nil
        return send(.timerFired(token))
    }

    /// The recording ends with `seconds` of audio.
    @discardableResult
    func finishRecording(seconds: Int, reason: RecordingEndReason = .silence,
                         file: StaticString = #filePath, line: UInt = #line) throws -> [FlowAction] {
        let token = try XCTUnwrap(recording, "nothing is being recorded", file: file, line: line)
        recording = nil
        let outcome = RecordingOutcome(url: "https://rec.example/r1.wav", durationSeconds: seconds, sid: "RE1",
                                       reason: reason)
        return send(.recordingFinished(token, outcome))
    }

    /// The pending fetch returns `xml` (parsed with `source` as its name).
    @discardableResult
    func answerFetch(_ xml: String, source: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [FlowAction] {
        let pending = try XCTUnwrap(fetch, "nothing is being fetched", file: file, line: line)
        fetch = nil
        let document = try parse(xml, source: source ?? pending.request.url)
        return send(.fetched(pending.token, .document(document)))
    }

    /// The pending fetch fails.
    @discardableResult
    func failFetch(_ reason: String = "HTTP 500",
                   file: StaticString = #filePath, line: UInt = #line) throws -> [FlowAction] {
        let pending = try XCTUnwrap(fetch, "nothing is being fetched", file: file, line: line)
        fetch = nil
        return send(.fetched(pending.token, .failed(reason)))
    }

    private func track(_ actions: [FlowAction]) -> [FlowAction] {
        history += actions
        for action in actions {
            switch action {
            case .say(_, let token), .play(_, let token), .sendDigits(_, let token), .beep(let token),
                 .pause(_, let token):
                media = token
            case .stopMedia:
                media = nil
            case .startTimer(_, let token):
                timer = token
            case .cancelTimer(let token):
                if timer == token { timer = nil }
            case .startRecording(_, let token):
                recording = token
            case .fetch(let request, let token):
                fetch = (request, token)
            case .listenForDigits(let on):
                listening = on
            default:
                break
            }
        }
        return actions
    }
}

/// The token of a media action, or `nil` for other actions.
func mediaToken(_ action: FlowAction?) -> FlowToken? {
    switch action {
    case .say(_, let token)?, .play(_, let token)?, .sendDigits(_, let token)?, .beep(let token)?,
         .pause(_, let token)?:
        return token
    default:
        return nil
    }
}

/// The actions with their tokens replaced by 0, so whole lists can be compared.
func untokened(_ actions: [FlowAction]) -> [FlowAction] {
    actions.map { action in
        switch action {
        case .say(let request, _): return .say(request, token: 0)
        case .play(let request, _): return .play(request, token: 0)
        case .sendDigits(let digits, _): return .sendDigits(digits, token: 0)
        case .beep: return .beep(token: 0)
        case .pause(let milliseconds, _): return .pause(milliseconds: milliseconds, token: 0)
        case .startTimer(let milliseconds, _): return .startTimer(milliseconds: milliseconds, token: 0)
        case .cancelTimer: return .cancelTimer(0)
        case .startRecording(let request, _): return .startRecording(request, token: 0)
        case .stopRecording: return .stopRecording(0)
        case .fetch(let request, _): return .fetch(request, token: 0)
        default: return action
        }
    }
}
