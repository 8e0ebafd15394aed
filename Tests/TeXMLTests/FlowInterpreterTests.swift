import Foundation
import XCTest
@testable import TeXML

final class FlowInterpreterTests: XCTestCase {
    private func interpreter(_ xml: String) throws -> FlowInterpreter {
        FlowInterpreter(document: try parse(xml))
    }

    /// Runs a flow to its end, answering every action with `.actionCompleted`.
    private func run(_ xml: String, limit: Int = 50) throws -> [FlowAction] {
        var flow = try interpreter(xml)
        var actions = [flow.start()]
        while !flow.isFinished, actions.count < limit {
            actions.append(flow.handle(.actionCompleted))
        }
        XCTAssertTrue(flow.isFinished, "flow did not finish")
        return actions
    }

    func testSayAndPauseThenFinished() throws {
        var flow = try interpreter("""
        <Response>
          <Say voice="woman" language="en-GB" loop="2">Hello</Say>
          <Pause length="3"/>
        </Response>
        """)
        XCTAssertEqual(flow.state, .notStarted)
        XCTAssertNil(flow.currentVerb)
        XCTAssertEqual(flow.start(), .say(SpeechRequest(text: "Hello", voice: "woman", language: "en-GB", loop: 2)))
        XCTAssertEqual(flow.state, .running)
        XCTAssertEqual(flow.currentVerb?.name, "Say")
        XCTAssertEqual(flow.handle(.actionCompleted), .pause(milliseconds: 3000))
        XCTAssertEqual(flow.currentVerb?.name, "Pause")
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
        XCTAssertTrue(flow.isFinished)
        XCTAssertEqual(flow.depth, 0)
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
        XCTAssertEqual(flow.handle(.callerHungUp), .finished)
    }

    func testLoopZeroAndDefaultsReachTheSpeechRequest() throws {
        XCTAssertEqual(try run(#"<Response><Say loop="0">Hold music substitute</Say><Pause length="0"/></Response>"#), [
            .say(SpeechRequest(text: "Hold music substitute", voice: "alice", language: "en-US", loop: 0)),
            .pause(milliseconds: 0),
            .finished,
        ])
    }

    func testHangupStopsBeforeLaterVerbs() throws {
        var flow = try interpreter("<Response><Say>Bye</Say><Hangup/><Say>Never</Say></Response>")
        XCTAssertEqual(flow.start(), .say(SpeechRequest(text: "Bye", voice: "alice", language: "en-US", loop: 1)))
        XCTAssertEqual(flow.handle(.actionCompleted), .hangup)
        XCTAssertTrue(flow.isFinished)
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
    }

    func testEmptyResponseFinishesImmediately() throws {
        var flow = try interpreter("<Response/>")
        XCTAssertNil(flow.mustRejectBeforeAnswer)
        XCTAssertEqual(flow.start(), .finished)
        XCTAssertTrue(flow.isFinished)
    }

    func testRejectFirstRejectsWithoutAnswering() throws {
        var flow = try interpreter(#"<Response><Reject reason="busy"/><Say>Never</Say></Response>"#)
        XCTAssertEqual(flow.mustRejectBeforeAnswer, Reject(reason: .busy, location: loc(1, 11)))
        XCTAssertEqual(flow.mustRejectBeforeAnswer?.reason.sipStatusCode, 486)
        XCTAssertEqual(flow.start(), .reject(.busy))
        XCTAssertTrue(flow.isFinished)
        XCTAssertNil(flow.mustRejectBeforeAnswer, "only meaningful before start()")
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
    }

    func testRejectFirstDefaultsToRejected() throws {
        var flow = try interpreter("<Response>\n  <Reject/>\n</Response>")
        XCTAssertEqual(flow.mustRejectBeforeAnswer?.reason.sipStatusCode, 603)
        XCTAssertEqual(flow.start(), .reject(.rejected))
    }

    func testRejectLaterBehavesAsHangup() throws {
        XCTAssertEqual(try run("<Response><Say>Hi</Say><Reject reason=\"busy\"/><Say>Never</Say></Response>"), [
            .say(SpeechRequest(text: "Hi", voice: "alice", language: "en-US", loop: 1)),
            .hangup,
        ])
    }

    func testRejectAfterASkippedVerbIsAHangupBecauseTheCallWasAnswered() throws {
        var flow = try interpreter("<Response><Play>a.wav</Play><Reject/></Response>")
        XCTAssertNil(flow.mustRejectBeforeAnswer)
        guard case .skip = flow.start() else { return XCTFail("expected skip") }
        XCTAssertEqual(flow.handle(.actionCompleted), .hangup)
    }

    func testUnsupportedVerbsAreSkippedWithTheirLocation() throws {
        let actions = try run("""
        <Response>
          <Play>a.wav</Play>
          <Gather><Say>Press 1</Say></Gather>
          <Record/>
          <Dial>+12082792555</Dial>
          <Redirect>next.xml</Redirect>
        </Response>
        """)
        XCTAssertEqual(actions.count, 6)
        XCTAssertEqual(actions.last, .finished)
        let skipped = actions.dropLast().compactMap { action -> (String, SourceLocation, String)? in
            guard case .skip(let verb, let location, let reason) = action else { return nil }
            return (verb, location, reason)
        }
        XCTAssertEqual(skipped.map(\.0), ["Play", "Gather", "Record", "Dial", "Redirect"])
        XCTAssertEqual(skipped.map(\.1), [loc(2, 3), loc(3, 3), loc(4, 3), loc(5, 3), loc(6, 3)])
        XCTAssertTrue(skipped.allSatisfy { $0.2.contains("not supported yet") })
    }

    func testCallerHangUpEndsTheFlow() throws {
        var flow = try interpreter("<Response><Say>One</Say><Say>Two</Say></Response>")
        guard case .say = flow.start() else { return XCTFail("expected say") }
        XCTAssertEqual(flow.handle(.callerHungUp), .finished)
        XCTAssertTrue(flow.isFinished)
        XCTAssertEqual(flow.handle(.actionCompleted), .finished)
        XCTAssertEqual(flow.handle(.callerHungUp), .finished)
    }

    func testCallerHangUpBeforeStart() throws {
        var flow = try interpreter("<Response><Say>One</Say></Response>")
        XCTAssertEqual(flow.handle(.callerHungUp), .finished)
        XCTAssertEqual(flow.start(), .finished)
    }

    func testStartTwiceAndActionCompletedBeforeStart() throws {
        var flow = try interpreter("<Response><Say>One</Say><Say>Two</Say></Response>")
        guard case .say(let first) = flow.handle(.actionCompleted) else { return XCTFail("expected say") }
        XCTAssertEqual(first.text, "One")
        XCTAssertEqual(flow.start(), .finished, "start() is only valid once")
    }

    func testReplaceDocumentContinuesWithTheNewDocument() throws {
        var flow = try interpreter("<Response><Say>Old one</Say><Say>Old two</Say></Response>")
        guard case .say = flow.start() else { return XCTFail("expected say") }
        let next = try parse("<Response><Reject/><Say>New</Say></Response>", source: "next.xml")
        XCTAssertEqual(flow.replace(document: next), .hangup, "the call is answered, so Reject hangs up")

        var second = try interpreter("<Response><Say>Old</Say></Response>")
        _ = second.start()
        let other = try parse("<Response><Pause length=\"2\"/></Response>", source: "other.xml")
        XCTAssertEqual(second.replace(document: other), .pause(milliseconds: 2000))
        XCTAssertEqual(second.document.source, "other.xml")
        XCTAssertEqual(second.currentVerb?.location, SourceLocation(file: "other.xml", line: 1, column: 11))
        XCTAssertEqual(second.handle(.actionCompleted), .finished)
        XCTAssertEqual(second.replace(document: other), .finished, "nothing runs after the flow ended")
    }

    func testReplaceBeforeStartStartsTheNewDocument() throws {
        var flow = try interpreter("<Response><Say>Old</Say></Response>")
        let next = try parse("<Response><Reject reason=\"busy\"/></Response>")
        XCTAssertEqual(flow.replace(document: next), .reject(.busy))
    }

    func testInterpreterIsAValueType() throws {
        var original = try interpreter("<Response><Say>One</Say><Say>Two</Say></Response>")
        _ = original.start()
        var copy = original
        XCTAssertEqual(copy.handle(.callerHungUp), .finished)
        guard case .say(let second) = original.handle(.actionCompleted) else {
            return XCTFail("the original must be unaffected by the copy")
        }
        XCTAssertEqual(second.text, "Two")
    }
}
