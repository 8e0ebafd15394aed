import Foundation
import XCTest
@testable import TeXML

/// `<Record>` driven by a scripted caller.
final class RecordTests: XCTestCase {
    private let voicemail = """
    <Response>
      <Record action="done" maxLength="120" timeout="10" trim="do-not-trim"
              recordingStatusCallback="https://cb.example/status" recordingStatusCallbackMethod="GET"
              transcribe="true" transcribeCallback="https://cb.example/text">
        <Say>Leave a message after the beep.</Say>
      </Record>
      <Say>Not reached when the action answers.</Say>
    </Response>
    """

    private let recordingParameters = form([
        "RecordingUrl": "https://rec.example/r1.wav", "RecordingDuration": "7", "RecordingSid": "RE1",
    ])

    private func startRecording(_ caller: FakeCaller) throws {
        caller.start()
        XCTAssertEqual(untokened(try caller.finishMedia()), [.beep(token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()), [
            .listenForDigits(true),
            .startRecording(RecordingRequest(maxLengthSeconds: 120, silenceTimeoutSeconds: 10, trimSilence: false), token: 0),
        ])
    }

    func testPromptsThenBeepThenListenAndRecord() throws {
        let caller = try FakeCaller(voicemail, baseURL: "https://app.example/vm/start")
        XCTAssertEqual(untokened(caller.start()), [.say(speech("Leave a message after the beep."), token: 0)])
        XCTAssertFalse(caller.listening, "no digits are listened for during the prompts")
        XCTAssertEqual(caller.press("1"), [], "digits during the prompts are ignored")
        try startRecording(caller)
        XCTAssertTrue(caller.listening)
    }

    func testDefaultsWithoutBeepOrPromptsStartRecordingAtOnce() throws {
        let caller = try FakeCaller(#"<Response><Record playBeep="false"/></Response>"#)
        XCTAssertEqual(untokened(caller.start()), [
            .listenForDigits(true),
            .startRecording(RecordingRequest(maxLengthSeconds: 3600, silenceTimeoutSeconds: 5, trimSilence: true), token: 0),
        ])
    }

    func testFinishKeyStopsTheRecordingAndFiresCallbacksAndTheAction() throws {
        let caller = try FakeCaller(voicemail, baseURL: "https://app.example/vm/start")
        try startRecording(caller)
        let recording = try XCTUnwrap(caller.recording)
        XCTAssertEqual(caller.press("*"), [.stopRecording(recording)])
        XCTAssertEqual(caller.press("5"), [], "later digits are ignored while stopping")
        let actions = try caller.finishRecording(seconds: 7, reason: .finishKey)
        XCTAssertEqual(untokened(actions), [
            .listenForDigits(false),
            .notify(HTTPRequest(url: "https://cb.example/status", method: .get,
                                parameters: testCallParameters + recordingParameters + form(["RecordingStatus": "completed"]))),
            .transcribe(recordingURL: "https://rec.example/r1.wav",
                        callback: HTTPRequest(url: "https://cb.example/text", method: .post,
                                              parameters: testCallParameters + recordingParameters)),
            .fetch(HTTPRequest(url: "https://app.example/vm/done", method: .post,
                               parameters: testCallParameters + recordingParameters + form(["Digits": "*"])), token: 0),
        ])
        XCTAssertEqual(untokened(try caller.answerFetch("<Response><Say>Thanks</Say></Response>")),
                       [.say(speech("Thanks"), token: 0)], "the action's document replaces the flow")
        XCTAssertEqual(try caller.finishMedia(), [.finished])
    }

    func testDigitsOutsideFinishOnKeyAreIgnored() throws {
        let caller = try FakeCaller(##"<Response><Record finishOnKey="#" playBeep="false"/></Response>"##)
        caller.start()
        XCTAssertEqual(caller.press("123*"), [])
        XCTAssertEqual(caller.press("#"), [.stopRecording(try XCTUnwrap(caller.recording))])
    }

    func testEmptyFinishOnKeyMeansNoKeyStopsTheRecording() throws {
        let caller = try FakeCaller(#"<Response><Record finishOnKey="" playBeep="false"/></Response>"#)
        caller.start()
        XCTAssertEqual(caller.press("0123456789*#"), [])
    }

    /// Without `action`, a fetched document is requested again with the recording (what
    /// Twilio and Telnyx do), after the callbacks.
    func testSilenceEndWithoutActionFiresCallbacksAndRequestsTheDocumentAgain() throws {
        let caller = try FakeCaller("""
        <Response>
          <Record playBeep="false" transcription="true" recordingStatusCallback="status"/>
          <Say>Next</Say>
        </Response>
        """, baseURL: "https://app.example/x/start")
        caller.start()
        let actions = try caller.finishRecording(seconds: 7)
        XCTAssertEqual(untokened(actions), [
            .listenForDigits(false),
            .notify(HTTPRequest(url: "https://app.example/x/status", method: .post,
                                parameters: testCallParameters + recordingParameters + form(["RecordingStatus": "completed"]))),
            .transcribe(recordingURL: "https://rec.example/r1.wav", callback: nil),
            .fetch(HTTPRequest(url: "https://app.example/x/start", method: .post,
                               parameters: testCallParameters + recordingParameters), token: 0),
        ])
    }

    /// A local file has no URL to request again: the flow goes on with the next verb.
    func testSilenceEndWithoutActionInALocalFileContinues() throws {
        let caller = try FakeCaller(#"<Response><Record playBeep="false"/><Say>Next</Say></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(try caller.finishRecording(seconds: 7)), [.listenForDigits(false), .say(speech("Next"), token: 0)])
    }

    func testEmptyRecordingSendsNoRequestsAndContinues() throws {
        let caller = try FakeCaller(voicemail.replacingOccurrences(of: "Not reached when the action answers.", with: "Next"))
        try startRecording(caller)
        XCTAssertEqual(untokened(try caller.finishRecording(seconds: 0)), [.listenForDigits(false), .say(speech("Next"), token: 0)])
    }

    func testStatusCallbackOnlyForTheCompletedEvent() throws {
        let caller = try FakeCaller("""
        <Response><Record playBeep="false" recordingStatusCallback="https://cb.example/s"
                          recordingStatusCallbackEvent="in-progress"/></Response>
        """)
        caller.start()
        XCTAssertEqual(try caller.finishRecording(seconds: 3), [.listenForDigits(false), .finished])
    }

    func testCallerHangUpWhileRecordingStillRequestsTheActionThenFinishes() throws {
        let caller = try FakeCaller(voicemail, baseURL: "https://app.example/vm/start")
        try startRecording(caller)
        let recording = try XCTUnwrap(caller.recording)
        XCTAssertEqual(caller.send(.callerHungUp), [.stopRecording(recording)])
        XCTAssertFalse(caller.flow.isFinished, "the recording still has to be reported")
        let actions = try caller.finishRecording(seconds: 7, reason: .hangup)
        XCTAssertEqual(untokened(actions), [
            .notify(HTTPRequest(url: "https://cb.example/status", method: .get,
                                parameters: testCallParameters + recordingParameters + form(["RecordingStatus": "completed"]))),
            .transcribe(recordingURL: "https://rec.example/r1.wav",
                        callback: HTTPRequest(url: "https://cb.example/text", method: .post,
                                              parameters: testCallParameters + recordingParameters)),
            .fetch(HTTPRequest(url: "https://app.example/vm/done", method: .post,
                               parameters: testCallParameters + recordingParameters + form(["Digits": "hangup"])), token: 0),
            .finished,
        ])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertEqual(try caller.answerFetch("<Response><Say>Ignored</Say></Response>"), [],
                       "the document returned after a hang-up is ignored")
    }

    func testCallerHangUpWithAnEmptyRecordingJustFinishes() throws {
        let caller = try FakeCaller(voicemail)
        try startRecording(caller)
        caller.send(.callerHungUp)
        XCTAssertEqual(try caller.finishRecording(seconds: 0, reason: .hangup), [.finished])
    }

    func testHangUpReportedOnlyThroughTheRecordingOutcome() throws {
        let caller = try FakeCaller(#"<Response><Record playBeep="false" action="https://x.example/a"/></Response>"#)
        caller.start()
        let actions = try caller.finishRecording(seconds: 7, reason: .hangup)
        XCTAssertEqual(untokened(actions), [
            .fetch(HTTPRequest(url: "https://x.example/a", method: .post,
                               parameters: testCallParameters + recordingParameters + form(["Digits": "hangup"])), token: 0),
            .finished,
        ])
    }

    func testCallerHangUpDuringThePromptEndsWithoutRecording() throws {
        let caller = try FakeCaller(voicemail)
        caller.start()
        XCTAssertEqual(caller.send(.callerHungUp), [.finished])
        XCTAssertNil(caller.recording)
        XCTAssertEqual(try caller.finishMedia(), [])
    }

    func testStaleRecordingTokenIsIgnored() throws {
        let caller = try FakeCaller(#"<Response><Record playBeep="false"/></Response>"#)
        caller.start()
        let token = try XCTUnwrap(caller.recording)
        let outcome = RecordingOutcome(url: "u", durationSeconds: 3, sid: "s", reason: .silence)
        XCTAssertEqual(caller.send(.recordingFinished(token + 1, outcome)), [])
        XCTAssertEqual(caller.send(.recordingFinished(token, outcome)), [.listenForDigits(false), .finished])
    }

    func testDualChannelsAskForATwoChannelRecording() throws {
        let caller = try FakeCaller(#"<Response><Record channels="dual" playBeep="false" format="mp3"/></Response>"#)
        XCTAssertEqual(untokened(caller.start()).last,
                       .startRecording(RecordingRequest(maxLengthSeconds: 3600, silenceTimeoutSeconds: 5, trimSilence: true,
                                                        format: .mp3, dual: true), token: 0))
    }
}
