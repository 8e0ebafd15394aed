import Foundation
import XCTest
@testable import TeXML

/// `<Gather>` driven by a scripted caller.
final class GatherTests: XCTestCase {
    private let menu = """
    <Response>
      <Gather action="menu" numDigits="1" timeout="7">
        <Say>For sales, press 1.</Say>
        <Pause length="1"/>
        <Say>For support, press 2.</Say>
      </Gather>
      <Say>We did not receive your selection.</Say>
    </Response>
    """

    private func digitsRequest(_ url: String, _ digits: String, method: RequestMethod = .post) -> HTTPRequest {
        HTTPRequest(url: url, method: method, parameters: testCallParameters + form(["Digits": digits]))
    }

    func testEnteringListensThenPlaysPromptsInOrderThenStartsTheTimer() throws {
        let caller = try FakeCaller(menu, baseURL: "https://app.example/ivr/start")
        XCTAssertEqual(untokened(caller.start()), [.listenForDigits(true), .say(speech("For sales, press 1."), token: 0)])
        XCTAssertTrue(caller.listening)
        XCTAssertEqual(untokened(try caller.finishMedia()), [.pause(milliseconds: 1000, token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()), [.say(speech("For support, press 2."), token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()), [.startTimer(milliseconds: 7000, token: 0)])
        XCTAssertNotNil(caller.timer)
    }

    func testBargeInStopsThePromptSkipsTheRestAndRequestsTheAction() throws {
        let caller = try FakeCaller(menu, baseURL: "https://app.example/ivr/start")
        caller.start()
        let actions = caller.press("2")
        XCTAssertEqual(untokened(actions), [
            .stopMedia, .listenForDigits(false),
            .fetch(digitsRequest("https://app.example/ivr/menu", "2"), token: 0),
        ])
        XCTAssertFalse(actions.contains { mediaToken($0) != nil }, "the remaining prompts are skipped")
    }

    func testBargeInWithMoreDigitsToComeStartsTheInterDigitTimer() throws {
        let caller = try FakeCaller("""
        <Response><Gather timeout="3"><Say>One</Say><Say>Two</Say></Gather></Response>
        """)
        let prompt = try XCTUnwrap(mediaToken(caller.start().last))
        XCTAssertEqual(untokened(caller.press("4")), [.stopMedia, .startTimer(milliseconds: 3000, token: 0)])
        XCTAssertEqual(caller.send(.mediaFinished(prompt)), [], "a stopped prompt never continues the Gather")
    }

    func testEachDigitRestartsTheTimer() throws {
        let caller = try FakeCaller(#"<Response><Gather timeout="4"/></Response>"#)
        XCTAssertEqual(untokened(caller.start()), [.listenForDigits(true), .startTimer(milliseconds: 4000, token: 0)])
        let first = try XCTUnwrap(caller.timer)
        let actions = caller.press("1")
        XCTAssertEqual(actions.count, 2)
        XCTAssertEqual(actions.first, .cancelTimer(first))
        guard case .startTimer(4000, let second)? = actions.last else { return XCTFail("expected a new timer") }
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(caller.send(.timerFired(first)), [], "the cancelled timer is stale")
    }

    func testNumDigitsReachedEndsAtOnce() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/pin" method="GET" numDigits="3"/></Response>"#)
        caller.start()
        caller.press("12")
        let timer = try XCTUnwrap(caller.timer)
        XCTAssertEqual(untokened(caller.press("3")), [
            .cancelTimer(0), .listenForDigits(false),
            .fetch(digitsRequest("https://x.example/pin", "123", method: .get), token: 0),
        ])
        XCTAssertEqual(caller.history.suffix(3).first, .cancelTimer(timer))
    }

    func testMaxDigitsEndsWhenNumDigitsIsNotSet() throws {
        let caller = try FakeCaller(#"<Response><Gather action="/pin" maxDigits="2"/></Response>"#,
                                    baseURL: "https://x.example/a/b")
        caller.start()
        let actions = caller.press("98")
        XCTAssertEqual(untokened(actions).last, .fetch(digitsRequest("https://x.example/pin", "98"), token: 0))
    }

    func testNumDigitsWinsOverMaxDigits() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/p" numDigits="3" maxDigits="1"/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(caller.press("1")).last, .startTimer(milliseconds: 5000, token: 0))
    }

    func testFinishOnKeyEndsWithoutTheKey() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/acct"/></Response>"#)
        caller.start()
        caller.press("4711")
        let actions = caller.press("#")
        XCTAssertEqual(untokened(actions), [
            .cancelTimer(0), .listenForDigits(false),
            .fetch(digitsRequest("https://x.example/acct", "4711"), token: 0),
        ])
    }

    func testEmptyFinishOnKeyMeansTheHashIsADigit() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a" finishOnKey="" numDigits="2"/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(caller.press("1#")).last, .fetch(digitsRequest("https://x.example/a", "1#"), token: 0))
    }

    func testCustomFinishOnKey() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a" finishOnKey="*"/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(caller.press("5#*")).last, .fetch(digitsRequest("https://x.example/a", "5#"), token: 0))
    }

    func testTimerEndsWithWhatWasCollected() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a" numDigits="4"/></Response>"#)
        caller.start()
        caller.press("12")
        XCTAssertEqual(untokened(try caller.fireTimer()), [
            .listenForDigits(false), .fetch(digitsRequest("https://x.example/a", "12"), token: 0),
        ])
    }

    func testNoInputFallsThroughWithoutARequest() throws {
        let caller = try FakeCaller(menu, baseURL: "https://app.example/ivr/start")
        caller.start()
        try caller.finishMedia()
        try caller.finishMedia()
        try caller.finishMedia()
        XCTAssertEqual(untokened(try caller.fireTimer()), [
            .listenForDigits(false), .say(speech("We did not receive your selection."), token: 0),
        ])
        XCTAssertFalse(caller.history.contains { if case .fetch = $0 { return true } else { return false } })
    }

    func testFinishKeyAloneFallsThrough() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a"/><Hangup/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(caller.press("#")), [.cancelTimer(0), .listenForDigits(false), .hangup])
    }

    func testFewerThanMinDigitsFallsThrough() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a" minDigits="3"/><Hangup/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(caller.press("12#")), [.cancelTimer(0), .listenForDigits(false), .hangup])
    }

    func testActionOnEmptyResultRequestsTheActionWithEmptyDigits() throws {
        let caller = try FakeCaller(#"<Response><Gather action="https://x.example/a" actionOnEmptyResult="true"/></Response>"#)
        caller.start()
        XCTAssertEqual(untokened(try caller.fireTimer()), [
            .listenForDigits(false), .fetch(digitsRequest("https://x.example/a", ""), token: 0),
        ])
    }

    func testTheActionDocumentReplacesTheFlow() throws {
        let caller = try FakeCaller(menu, baseURL: "https://app.example/ivr/start")
        caller.start()
        caller.press("1")
        XCTAssertEqual(caller.send(.digit("2")), [], "digits are ignored while the action is fetched")
        let next = try caller.answerFetch("<Response><Play>sales.wav</Play></Response>")
        XCTAssertEqual(untokened(next), [.play(PlayRequest(source: "https://app.example/ivr/sales.wav", loop: 1), token: 0)],
                       "relative URLs in the new document resolve against its own URL")
        XCTAssertEqual(caller.flow.baseURL, "https://app.example/ivr/menu")
        XCTAssertEqual(try caller.finishMedia(), [.finished],
                       "the verbs after the Gather in the old document never run")
    }

    /// Twilio's Gather quickstart: no `action`, the same URL branches on `Digits`. A
    /// fetched document is requested again with the digits (its method, POST by default).
    func testWithoutActionAFetchedDocumentIsRequestedAgainWithTheDigits() throws {
        let caller = try FakeCaller("<Response><Gather numDigits=\"1\"><Say>Press</Say></Gather><Say>Next</Say></Response>",
                                    baseURL: "https://app.example/voice?step=menu")
        caller.start()
        try caller.finishMedia()
        XCTAssertEqual(untokened(caller.press("3")), [.cancelTimer(0), .listenForDigits(false),
                                                      .fetch(digitsRequest("https://app.example/voice?step=menu", "3"), token: 0)])
    }

    func testWithoutActionAndWithoutInputAFetchedDocumentFallsThrough() throws {
        let caller = try FakeCaller(#"<Response><Gather numDigits="1" timeout="2"/><Say>Next</Say></Response>"#,
                                    baseURL: "https://app.example/voice")
        caller.start()
        XCTAssertEqual(untokened(try caller.fireTimer()), [.listenForDigits(false), .say(speech("Next"), token: 0)])
    }

    /// A local file has no URL to request again: the flow goes on with the next verb.
    func testWithoutActionALocalFileContinues() throws {
        let caller = try FakeCaller("<Response><Gather numDigits=\"1\"><Say>Press</Say></Gather><Say>Next</Say></Response>")
        caller.start()
        try caller.finishMedia()
        XCTAssertEqual(untokened(caller.press("3")), [.cancelTimer(0), .listenForDigits(false), .say(speech("Next"), token: 0)])
    }

    func testDigitsAfterTheGatherAreIgnored() throws {
        let caller = try FakeCaller("<Response><Gather numDigits=\"1\"/><Say>Next</Say><Say>Last</Say></Response>")
        caller.start()
        caller.press("1")
        XCTAssertFalse(caller.listening)
        XCTAssertEqual(caller.press("2"), [])
        XCTAssertEqual(untokened(try caller.finishMedia()), [.say(speech("Last"), token: 0)])
    }

    func testCallerHangUpDuringGatherFinishesWithoutARequest() throws {
        let caller = try FakeCaller(menu)
        caller.start()
        XCTAssertEqual(caller.send(.callerHungUp), [.finished])
        XCTAssertEqual(caller.press("1"), [])
    }

    /// Telnyx documents finishOnKey as a set of keys: any of them ends the Gather.
    func testSeveralFinishKeys() throws {
        let caller = try FakeCaller(##"<Response><Gather action="https://a.example/m" finishOnKey="#*"/></Response>"##)
        caller.start()
        caller.press("12")
        XCTAssertEqual(untokened(caller.press("*")).last, .fetch(digitsRequest("https://a.example/m", "12"), token: 0))
    }

    /// Telnyx's validDigits: another key goes to invalidDigitsAction; without it, it is ignored.
    func testValidDigits() throws {
        let strict = try FakeCaller(#"<Response><Gather action="/ok" validDigits="12" invalidDigitsAction="/bad" numDigits="2"/></Response>"#,
                                    baseURL: "https://a.example/")
        strict.start()
        strict.press("1")
        XCTAssertEqual(untokened(strict.press("7")).suffix(2), [.listenForDigits(false), .fetch(digitsRequest("https://a.example/bad", "17"), token: 0)])
        let lenient = try FakeCaller(#"<Response><Gather action="/ok" validDigits="12" numDigits="2"/></Response>"#,
                                     baseURL: "https://a.example/")
        lenient.start()
        lenient.press("17")
        XCTAssertEqual(untokened(lenient.press("2")).last, .fetch(digitsRequest("https://a.example/ok", "12"), token: 0))
    }

    /// Telnyx's `<Play ringTone>` without a URL plays the country's ringback.
    func testPlayRingToneWithoutAURL() throws {
        let caller = try FakeCaller(#"<Response><Play ringTone="de" loop="3"/></Response>"#)
        XCTAssertEqual(untokened(caller.start()), [.play(PlayRequest(source: "", loop: 3, ringTone: "de"), token: 0)])
    }

    // MARK: Speech

    private func speechInput(_ hints: String? = nil, endSilence: Int = 5000, filter: Bool = true) -> SpeechInputRequest {
        SpeechInputRequest(hints: hints, language: "en-US", endSilenceMilliseconds: endSilence, profanityFilter: filter)
    }

    /// Twilio's speech example: the words and the confidence go to action.
    func testSpeechGatherListensAndPostsSpeechResultAndConfidence() throws {
        let caller = try FakeCaller("""
        <Response><Gather input="speech" action="/completed" hints="billing, support" speechTimeout="auto">\
        <Say>Please tell us why you are calling</Say></Gather></Response>
        """, baseURL: "https://app.example/voice")
        let start = caller.start()
        guard case .listenForSpeech(let request, let token)? = start.first else { return XCTFail("\(start)") }
        XCTAssertEqual(request, speechInput("billing, support", endSilence: 1000))
        XCTAssertEqual(untokened(Array(start.dropFirst())), [.say(speech("Please tell us why you are calling"), token: 0)])
        XCTAssertFalse(caller.listening, "input=speech alone does not collect digits")
        XCTAssertEqual(caller.press("1"), [], "keys are ignored")
        let prompt = try XCTUnwrap(caller.media)
        XCTAssertEqual(caller.send(.speechStarted(token)), [.stopMedia], "barge-in by voice")
        XCTAssertEqual(caller.send(.mediaFinished(prompt)), [], "the stopped prompt does not start the timer")
        let done = caller.send(.speechRecognized(token, SpeechOutcome(text: "billing", confidence: 0.873)))
        XCTAssertEqual(untokened(done), [.fetch(HTTPRequest(url: "https://app.example/completed", method: .post,
                                                            parameters: testCallParameters + form(["SpeechResult": "billing", "Confidence": "0.87"])),
                                                token: 0)])
    }

    /// Without speechTimeout the pause that ends speech is `timeout`; the no-input timer
    /// starts after the prompts and stops for good once the caller speaks.
    func testSpeechTimeoutDefaultsToTimeoutAndSpeakingStopsTheTimer() throws {
        let caller = try FakeCaller(#"<Response><Gather input="speech" timeout="3"/><Say>Bye</Say></Response>"#)
        let start = caller.start()
        guard case .listenForSpeech(let request, let token)? = start.first else { return XCTFail("\(start)") }
        XCTAssertEqual(request.endSilenceMilliseconds, 3000)
        let timer = try XCTUnwrap(caller.timer)
        XCTAssertEqual(caller.send(.speechStarted(token)), [.cancelTimer(timer)])
        XCTAssertEqual(caller.send(.speechStarted(token)), [], "reported once")
        XCTAssertEqual(caller.send(.timerFired(timer)), [], "the cancelled timer is stale")
    }

    /// Nobody speaks: the timer ends the Gather, listening stops, the next verb runs.
    func testNoSpeechTimesOutAndContinues() throws {
        let caller = try FakeCaller(#"<Response><Gather input="speech" action="/x" timeout="2"/><Say>Bye</Say></Response>"#,
                                    baseURL: "https://a.example/")
        let start = caller.start()
        guard case .listenForSpeech(_, let token)? = start.first else { return XCTFail("\(start)") }
        XCTAssertEqual(untokened(try caller.fireTimer()), [.stopListeningForSpeech(token), .say(speech("Bye"), token: 0)])
        XCTAssertEqual(caller.send(.speechRecognized(token, SpeechOutcome(text: "late", confidence: 1))), [], "stale")
    }

    /// Nothing recognisable: like no input, unless actionOnEmptyResult.
    func testEmptySpeechResultFollowsActionOnEmptyResult() throws {
        let plain = try FakeCaller(#"<Response><Gather input="speech" action="/x"/><Say>Bye</Say></Response>"#)
        guard case .listenForSpeech(_, let t1)? = plain.start().first else { return XCTFail() }
        _ = plain.send(.speechStarted(t1))
        XCTAssertEqual(untokened(plain.send(.speechRecognized(t1, SpeechOutcome(text: "", confidence: 0)))),
                       [.say(speech("Bye"), token: 0)])
        let always = try FakeCaller(#"<Response><Gather input="speech" action="https://a.example/x" actionOnEmptyResult="true"/></Response>"#)
        guard case .listenForSpeech(_, let t2)? = always.start().first else { return XCTFail() }
        XCTAssertEqual(untokened(always.send(.speechRecognized(t2, SpeechOutcome(text: "", confidence: 0)))),
                       [.cancelTimer(0), .fetch(HTTPRequest(url: "https://a.example/x", method: .post, parameters: testCallParameters), token: 0)])
    }

    /// `input="dtmf speech"`: a key press wins and speech listening stops.
    func testDTMFAndSpeechAKeyStopsSpeech() throws {
        let caller = try FakeCaller(#"<Response><Gather input="dtmf speech" numDigits="1" action="https://a.example/m"/></Response>"#)
        let start = caller.start()
        XCTAssertEqual(start.first, .listenForDigits(true))
        guard case .listenForSpeech(_, let token)? = start.dropFirst().first else { return XCTFail("\(start)") }
        XCTAssertEqual(untokened(caller.press("1")), [
            .cancelTimer(0), .stopListeningForSpeech(token), .listenForDigits(false),
            .fetch(digitsRequest("https://a.example/m", "1"), token: 0),
        ])
        XCTAssertEqual(caller.send(.speechRecognized(token, SpeechOutcome(text: "one", confidence: 1))), [], "stale")
    }

    /// Without action, a fetched document gets the speech at its own URL.
    func testSpeechWithoutActionPostsToTheDocumentsURL() throws {
        let caller = try FakeCaller(#"<Response><Gather input="speech"/></Response>"#, baseURL: "https://a.example/voice")
        guard case .listenForSpeech(_, let token)? = caller.start().first else { return XCTFail() }
        let next = caller.send(.speechRecognized(token, SpeechOutcome(text: "yes", confidence: 1)))
        XCTAssertEqual(untokened(next).last, .fetch(HTTPRequest(url: "https://a.example/voice", method: .post,
                                                                parameters: testCallParameters + form(["SpeechResult": "yes", "Confidence": "1.0"])),
                                                    token: 0))
    }

    func testConfidenceText() {
        XCTAssertEqual(FlowInterpreter.confidenceText(0.873), "0.87")
        XCTAssertEqual(FlowInterpreter.confidenceText(0.05), "0.05")
        XCTAssertEqual(FlowInterpreter.confidenceText(0), "0.00")
        XCTAssertEqual(FlowInterpreter.confidenceText(1.2), "1.0")
    }

    func testNestedPlayDigitsAndGatherInALocalFlow() throws {
        let caller = try FakeCaller(#"<Response><Gather action="next.xml" numDigits="1"><Play>menu.wav</Play></Gather></Response>"#,
                                    source: "/srv/flows/main.xml")
        XCTAssertEqual(untokened(caller.start()).last, .play(PlayRequest(source: "/srv/flows/menu.wav", loop: 1), token: 0))
        XCTAssertEqual(untokened(caller.press("9")).last, .fetch(digitsRequest("/srv/flows/next.xml", "9"), token: 0))
        let next = try caller.answerFetch("<Response><Play>again.wav</Play></Response>")
        XCTAssertNil(caller.flow.baseURL)
        XCTAssertEqual(untokened(next), [.play(PlayRequest(source: "/srv/flows/again.wav", loop: 1), token: 0)])
    }
}
