import Foundation
import XCTest
@testable import TeXML

/// Say, Play, Pause, Hangup, Reject, Dial, hang-ups and tokens.
final class FlowInterpreterTests: XCTestCase {
    func testSayAndPauseRunInOrderThenFinish() throws {
        let caller = try FakeCaller("""
        <Response>
          <Say voice="woman" language="en-GB" loop="2">Hello</Say>
          <Pause length="3"/>
        </Response>
        """)
        XCTAssertEqual(caller.flow.state, .notStarted)
        XCTAssertNil(caller.flow.currentVerb)
        let first = caller.start()
        XCTAssertEqual(untokened(first), [.say(SpeechRequest(text: "Hello", voice: "woman", language: "en-GB", loop: 2),
                                               token: 0)])
        XCTAssertEqual(caller.flow.state, .running)
        XCTAssertEqual(caller.flow.currentVerb?.name, "Say")
        XCTAssertEqual(untokened(try caller.finishMedia()), [.pause(milliseconds: 3000, token: 0)])
        XCTAssertEqual(caller.flow.currentVerb?.name, "Pause")
        XCTAssertEqual(try caller.finishMedia(), [.finished])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertEqual(caller.send(.callerHungUp), [], "nothing after the flow ended")
        XCTAssertEqual(caller.send(.digit("1")), [])
    }

    func testEveryMediaActionHasAFreshToken() throws {
        let caller = try FakeCaller("<Response><Say>One</Say><Say>Two</Say><Pause/></Response>")
        var tokens = [mediaToken(caller.start().first)]
        tokens.append(mediaToken(try caller.finishMedia().first))
        tokens.append(mediaToken(try caller.finishMedia().first))
        XCTAssertEqual(Set(tokens.compactMap { $0 }).count, 3)
    }

    func testStaleAndUnrelatedEventsAreIgnored() throws {
        let caller = try FakeCaller("<Response><Say>One</Say><Say>Two</Say></Response>")
        let firstToken = try XCTUnwrap(mediaToken(caller.start().first))
        XCTAssertEqual(caller.send(.mediaFinished(firstToken + 100)), [], "unknown token")
        XCTAssertEqual(caller.send(.timerFired(firstToken)), [], "not a timer")
        XCTAssertEqual(caller.send(.digit("5")), [], "digits outside Gather/Record are ignored")
        XCTAssertEqual(caller.send(.fetched(firstToken, .failed("x"))), [], "no fetch pending")
        XCTAssertEqual(untokened(caller.send(.mediaFinished(firstToken))), [.say(speech("Two"), token: 0)])
        XCTAssertEqual(caller.send(.mediaFinished(firstToken)), [], "the first prompt's token is stale now")
    }

    func testPlayResolvesAgainstTheBaseURLAndKeepsAbsoluteURLs() throws {
        let caller = try FakeCaller("""
        <Response>
          <Play loop="3">sounds/welcome.wav</Play>
          <Play>https://cdn.example/hold.mp3</Play>
          <Play>/audio/x.wav</Play>
        </Response>
        """, baseURL: "https://app.example/flows/main.xml")
        XCTAssertEqual(untokened(caller.start()),
                       [.play(PlayRequest(source: "https://app.example/flows/sounds/welcome.wav", loop: 3), token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()),
                       [.play(PlayRequest(source: "https://cdn.example/hold.mp3", loop: 1), token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()),
                       [.play(PlayRequest(source: "https://app.example/audio/x.wav", loop: 1), token: 0)])
        XCTAssertEqual(try caller.finishMedia(), [.finished])
    }

    func testPlayInALocalFlowResolvesAgainstTheFlowDirectory() throws {
        let caller = try FakeCaller("<Response><Play>../audio/a.wav</Play><Play>b.wav</Play></Response>",
                                    source: "/srv/flows/main.xml")
        XCTAssertEqual(untokened(caller.start()), [.play(PlayRequest(source: "/srv/audio/a.wav", loop: 1), token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()),
                       [.play(PlayRequest(source: "/srv/flows/b.wav", loop: 1), token: 0)])
    }

    func testPlayDigitsSendsDTMF() throws {
        let caller = try FakeCaller(#"<Response><Play digits="ww1234#"/><Hangup/></Response>"#)
        XCTAssertEqual(untokened(caller.start()), [.sendDigits("ww1234#", token: 0)])
        XCTAssertEqual(try caller.finishMedia(), [.hangup])
    }

    func testHangupStopsBeforeLaterVerbs() throws {
        let caller = try FakeCaller("<Response><Say>Bye</Say><Hangup/><Say>Never</Say></Response>")
        caller.start()
        XCTAssertEqual(try caller.finishMedia(), [.hangup])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertEqual(caller.send(.callerHungUp), [])
    }

    func testEmptyResponseFinishesImmediately() throws {
        let caller = try FakeCaller("<Response/>")
        XCTAssertNil(caller.flow.mustRejectBeforeAnswer)
        XCTAssertEqual(caller.start(), [.finished])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertEqual(caller.start(), [], "start() is only valid once")
    }

    func testRejectFirstRejectsWithoutAnswering() throws {
        let caller = try FakeCaller(#"<Response><Reject reason="busy"/><Say>Never</Say></Response>"#)
        let reject = try XCTUnwrap(caller.flow.mustRejectBeforeAnswer)
        XCTAssertEqual(reject.reason, .busy)
        XCTAssertEqual(reject.reason.sipStatusCode, 486)
        XCTAssertEqual(caller.start(), [.reject(.busy)])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertNil(caller.flow.mustRejectBeforeAnswer, "only meaningful before start()")
    }

    func testRejectLaterBehavesAsHangup() throws {
        let caller = try FakeCaller(#"<Response><Say>Hi</Say><Reject reason="busy"/><Say>Never</Say></Response>"#)
        caller.start()
        XCTAssertEqual(try caller.finishMedia(), [.hangup])
        XCTAssertTrue(caller.flow.isFinished)
    }

    func testDialWaitsForItsOutcomeThenContinuesWithTheNextVerb() throws {
        let caller = try FakeCaller("""
        <Response>
          <Dial timeout="12">+12082792555</Dial>
          <Say>After</Say>
        </Response>
        """, source: testSource)
        let actions = caller.start()
        guard case .dial(let dial, let token)? = actions.first, actions.count == 1 else { return XCTFail("\(actions)") }
        XCTAssertEqual(dial.timeout, 12)
        XCTAssertEqual(caller.send(.digit("1")), [], "digits do not end a dial")
        XCTAssertEqual(caller.send(.dialFinished(token + 1, DialOutcome(status: "completed", callSid: "x", durationSeconds: 1))), [],
                       "a stale token is ignored")
        let next = caller.send(.dialFinished(token, DialOutcome(status: "completed", callSid: "CA2", durationSeconds: 9)))
        XCTAssertEqual(untokened(next), [.say(speech("After"), token: 0)], "without action the flow continues (TwiML)")
    }

    func testDialActionGetsTheOutcomeAndReplacesTheFlow() throws {
        let caller = try FakeCaller("""
        <Response><Dial action="https://app.example/after" method="GET" recordingStatusCallback="https://app.example/rec">\
        <Number>+12082792555</Number></Dial><Say>Never</Say></Response>
        """, source: testSource)
        guard case .dial(_, let token)? = caller.start().first else { return XCTFail("expected dial") }
        let rec = RecordingOutcome(url: "https://rec.example/d.wav", durationSeconds: 7, sid: "RE1", reason: .hangup)
        let next = caller.send(.dialFinished(token, DialOutcome(status: "busy", callSid: "CA9", durationSeconds: 0, recording: rec)))
        XCTAssertEqual(next.count, 2, "\(next)")
        guard case .notify(let cb) = next[0], case .fetch(let req, _) = next[1] else { return XCTFail("\(next)") }
        XCTAssertEqual(cb.url, "https://app.example/rec")
        XCTAssertTrue(cb.parameters.contains(FormParameter(name: "RecordingStatus", value: "completed")))
        XCTAssertEqual(req.url, "https://app.example/after")
        XCTAssertEqual(req.method, .get)
        for (name, value) in [("DialCallStatus", "busy"), ("DialCallSid", "CA9"), ("DialCallDuration", "0"),
                              ("RecordingUrl", "https://rec.example/d.wav"), ("RecordingDuration", "7")] {
            XCTAssertTrue(req.parameters.contains(FormParameter(name: name, value: value)), name)
        }
        XCTAssertEqual(untokened(try caller.answerFetch("<Response><Hangup/></Response>")), [.hangup])
    }

    func testCallerHangingUpDuringDialStillReportsTheAction() throws {
        let caller = try FakeCaller(#"<Response><Dial action="https://app.example/after">+12082792555</Dial></Response>"#)
        guard case .dial(_, let token)? = caller.start().first else { return XCTFail("expected dial") }
        XCTAssertEqual(caller.send(.callerHungUp), [], "the I/O layer ends the legs and reports the dial")
        XCTAssertFalse(caller.flow.isFinished)
        let next = caller.send(.dialFinished(token, DialOutcome(status: "completed", callSid: "CA2", durationSeconds: 30)))
        guard case .fetch(let req, _)? = next.first else { return XCTFail("\(next)") }
        XCTAssertTrue(req.parameters.contains(FormParameter(name: "DialCallStatus", value: "completed")))
        XCTAssertEqual(next.last, .finished)
        XCTAssertTrue(caller.flow.isFinished)
    }

    func testEmergencyMarksFromTheDocumentAndFromDial() throws {
        let doc = try FakeCaller("""
        <Response xmlns:tf="urn:tollfreed:texml" tf:emergency="true"><Say>Help</Say></Response>
        """)
        XCTAssertEqual(doc.start().first, .markEmergency)
        let dial = try FakeCaller("""
        <Response xmlns:tf="urn:tollfreed:texml"><Say>Hi</Say><Dial tf:emergency="true">+12082792555</Dial></Response>
        """)
        XCTAssertFalse(dial.start().contains(.markEmergency))
        let next = try dial.finishMedia()
        XCTAssertEqual(next.first, .markEmergency)
        guard case .dial = next.last else { return XCTFail("\(next)") }
        let plain = try FakeCaller("<Response><Dial>+12082792555</Dial></Response>")
        XCTAssertFalse(plain.start().contains(.markEmergency))
    }

    func testCallerHangUpEndsTheFlow() throws {
        let caller = try FakeCaller("<Response><Say>One</Say><Say>Two</Say></Response>")
        caller.start()
        XCTAssertEqual(caller.send(.callerHungUp), [.finished])
        XCTAssertTrue(caller.flow.isFinished)
        XCTAssertEqual(try caller.finishMedia(), [])
        XCTAssertEqual(caller.send(.callerHungUp), [])
    }

    func testCallerHangUpBeforeStart() throws {
        let caller = try FakeCaller("<Response><Say>One</Say></Response>")
        XCTAssertEqual(caller.send(.digit("1")), [], "only a hang-up matters before start()")
        XCTAssertEqual(caller.send(.callerHungUp), [.finished])
        XCTAssertEqual(caller.start(), [])
    }

    func testInterpreterIsAValueType() throws {
        let caller = try FakeCaller("<Response><Say>One</Say><Say>Two</Say></Response>")
        let token = try XCTUnwrap(mediaToken(caller.start().first))
        var original = caller.flow
        var copy = original
        XCTAssertEqual(copy.handle(.callerHungUp), [.finished])
        XCTAssertEqual(untokened(original.handle(.mediaFinished(token))), [.say(speech("Two"), token: 0)],
                       "the original must be unaffected by the copy")
    }

    func testSpokenPromptsIncludeNestedSays() throws {
        let document = try parse("""
        <Response>
          <Say>A</Say>
          <Gather><Say>B</Say><Play>x.wav</Play><Say>C</Say></Gather>
          <Record><Say>D</Say></Record>
          <Say>E</Say>
        </Response>
        """)
        XCTAssertEqual(document.spokenPrompts().map(\.text), ["A", "B", "C", "D", "E"])
    }
}

/// A leading `<Pause>` delays the answer (Twilio answers after it): the pauses are spent
/// ringing, and a `<Reject>` after them still refuses the call unanswered.
final class LeadingPauseTests: XCTestCase {
    private func interpreter(_ xml: String) throws -> FlowInterpreter {
        FlowInterpreter(document: try parse(xml), baseURL: nil, callParameters: testCallParameters)
    }

    func testLeadingPausesRingAndTheFlowStartsAfterThem() throws {
        var flow = try interpreter(#"<Response><Pause length="2"/><Pause length="3"/><Say>Hello</Say><Pause/></Response>"#)
        let (actions, ringing) = flow.startRinging()
        XCTAssertEqual(ringing, 5000)
        XCTAssertEqual(untokened(actions), [.say(speech("Hello"), token: 0)])
    }

    func testARejectAfterLeadingPausesStillRejects() throws {
        var flow = try interpreter(#"<Response><Pause length="4"/><Reject reason="busy"/></Response>"#)
        XCTAssertEqual(flow.mustRejectBeforeAnswer?.reason, .busy)
        let (actions, ringing) = flow.startRinging()
        XCTAssertEqual(ringing, 4000)
        XCTAssertEqual(actions, [.reject(.busy)])
    }

    func testARejectAfterAnyOtherVerbHangsUp() throws {
        var flow = try interpreter(#"<Response><Pause length="1"/><Say>Hi</Say><Reject/></Response>"#)
        XCTAssertNil(flow.mustRejectBeforeAnswer)
        let (actions, ringing) = flow.startRinging()
        XCTAssertEqual(ringing, 1000)
        let say = try XCTUnwrap(mediaToken(actions.first))
        XCTAssertEqual(flow.handle(.mediaFinished(say)), [.hangup])
    }

    func testNoLeadingPauseRingsNothingExtra() throws {
        var flow = try interpreter("<Response><Say>Hi</Say><Pause length=\"9\"/></Response>")
        XCTAssertEqual(flow.startRinging().ringMilliseconds, 0)
    }
}
