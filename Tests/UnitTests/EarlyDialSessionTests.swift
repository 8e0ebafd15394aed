import Foundation
import Routing
import TeXML
import XCTest
@testable import CallControl

/// `<Dial answerOnBridge="true">` as the session sees it: unanswered (183 with SDP) while
/// the callee rings, answered at the bridge, refused when nobody answers and the flow is over.
extension CallSessionTests {
    private static let onBridge = #"<Response><Dial answerOnBridge="true"><Number>+12025550123</Number></Dial></Response>"#

    /// Rings, then starts the dial unanswered: returns the session and the dial's token.
    private func earlyDial(_ xml: String = onBridge) throws -> (CallSession, FlowToken, Dial) {
        var s = try session(xml, ringMs: 0)
        _ = s.start(now: t0)
        let early = s.ringTimerFired(now: at(0))
        XCTAssertEqual(s.phase, .earlyDial)
        guard case .respond(183, let sdp?, _)? = early.first else { XCTFail("expected 183 with SDP: \(early)"); throw CancellationError() }
        XCTAssertTrue(sdp.contains("m=audio"))
        XCTAssertTrue(early.contains { if case .configureMedia = $0 { true } else { false } }, "early media needs the caller's address")
        guard case .resolveDial(let dial, let token)? = early.last else { XCTFail("\(early)"); throw CancellationError() }
        let started = s.beginDial(dialMachine(), dial: dial, token: token, now: at(1))
        XCTAssertTrue(started.contains(.dial(.placeLeg(0))), "\(started)")
        XCTAssertTrue(started.contains(.dial(.ringback(true))), "the caller hears ringback unanswered")
        s.dialLegPlaced(0, callID: "CA-leg")
        return (s, token, dial)
    }

    func testAnswerOnBridgeAnswersTheCallerWhenTheCalleeAnswers() throws {
        var (s, _, _) = try earlyDial()
        let bridged = s.dialEvent(now: at(9)) { m, t in m.legAnswered(0, now: t) }
        let answer = try XCTUnwrap(bridged.firstIndex { if case .respond(200, _?, _) = $0 { true } else { false } }, "\(bridged)")
        XCTAssertEqual(bridged.firstIndex(of: .dial(.bridge(0))).map { $0 > answer }, true, "answered, then bridged")
        XCTAssertEqual(s.phase, .answered)
        XCTAssertEqual(s.answerTime, at(9), "billing starts at the bridge")
        let ack = s.ack(contentType: nil, body: nil, now: at(9.1))
        XCTAssertFalse(ack.contains(.sendBye), "the flow waits in the dial: \(ack)")
        XCTAssertEqual(s.phase, .active)
        let end = s.dialEvent(now: at(30)) { m, t in m.legEnded(0, now: t) }
        XCTAssertTrue(end.contains(.sendBye), "the flow ends after the dial: \(end)")
        let r = try XCTUnwrap(record(s.terminated(status: 200, now: at(30.1))))
        XCTAssertEqual(r.answerTime, at(9))
        XCTAssertEqual(r.billableSeconds, 22, "21.1 s from the bridge, rounded up")
    }

    func testABusyCalleeRefusesTheUnansweredCallerWith486() throws {
        var (s, _, _) = try earlyDial()
        let out = s.dialEvent(now: at(3)) { m, t in m.legFailed(0, sipStatus: 486, now: t) }
        XCTAssertTrue(out.contains(.respond(status: 486, sdp: nil, headers: [])), "\(out)")
        let r = try XCTUnwrap(record(out))
        XCTAssertEqual(r.disposition, .busy)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
    }

    /// Nobody answered but the flow goes on (`action`): the caller is answered now.
    func testAnUnansweredDialWithAnActionAnswersToGoOn() throws {
        var (s, _, _) = try earlyDial(#"<Response><Dial answerOnBridge="true" action="/next"><Number>+12025550123</Number></Dial></Response>"#)
        let out = s.dialEvent(now: at(3)) { m, t in m.legFailed(0, sipStatus: 486, now: t) }
        guard case .respond(200, _, _)? = out.first(where: { if case .respond = $0 { true } else { false } }) else {
            return XCTFail("answered: \(out)")
        }
        XCTAssertEqual(s.phase, .answered)
        let ack = s.ack(contentType: nil, body: nil, now: at(3.1))
        XCTAssertTrue(ack.contains { if case .flow(.fetch(let r, _)) = $0 { r.url.hasSuffix("/next") } else { false } }, "\(ack)")
    }

    func testACancelWhileTheCalleeRingsEndsUnbilled() throws {
        var (s, _, _) = try earlyDial()
        let r = try XCTUnwrap(record(s.cancelled(now: at(4))))
        XCTAssertEqual(r.disposition, .canceled)
        XCTAssertNil(r.answerTime)
        XCTAssertNil(s.activeDial)
    }

    func testALateOfferIsAnsweredBeforeTheDialAsBefore() throws {
        var s = try session(Self.onBridge, offer: nil, ringMs: 0)
        _ = s.start(now: t0)
        guard case .respond(200, _, _)? = s.ringTimerFired(now: at(0)).first else { return XCTFail("no SDP to send early") }
    }
}
