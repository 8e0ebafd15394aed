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

    func testDialIsSkippedAndTheFlowMovesOnInTheSameList() throws {
        let caller = try FakeCaller("""
        <Response>
          <Dial>+12082792555</Dial>
          <Reject/>
        </Response>
        """, source: testSource)
        XCTAssertNil(caller.flow.mustRejectBeforeAnswer)
        let actions = caller.start()
        XCTAssertEqual(actions.count, 2)
        XCTAssertEqual(actions.first, .skip(verb: "Dial", location: loc(2, 3), reason: "call bridging is not supported yet"))
        XCTAssertEqual(actions.last, .hangup, "the call was answered for the skipped Dial, so Reject hangs up")
    }

    func testRunningOutOfVerbsAfterASkipFinishes() throws {
        let caller = try FakeCaller("<Response><Dial>+12082792555</Dial></Response>")
        let actions = caller.start()
        XCTAssertEqual(actions.count, 2)
        XCTAssertEqual(actions.last, .finished)
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
