import Foundation
import TeXML
import XCTest
@testable import CallControl

/// A leading `<Pause>` as the session sees it: the call rings through the pause (or the
/// configured ring time when longer), and a `<Reject>` after it refuses unanswered.
extension CallSessionTests {
    func testALeadingPauseLongerThanTheRingTimeDelaysTheAnswer() throws {
        var s = try session(#"<Response><Pause length="5"/><Say>Hello</Say></Response>"#, ringMs: 2000)
        XCTAssertEqual(s.start(now: t0), [.respond(status: 180, sdp: nil, headers: []), .startRingTimer(milliseconds: 5000)])
        let answer = s.ringTimerFired(now: at(5))
        XCTAssertEqual(answer.first.map { if case .respond(200, _, _) = $0 { true } else { false } }, true, "\(answer)")
        XCTAssertEqual(s.ack(contentType: nil, body: nil, now: at(5.1)).last, .flow(.say(hello, token: 2)),
                       "the pause was spent ringing: the Say comes first once answered")
    }

    func testAShortLeadingPauseRingsTheConfiguredTime() throws {
        var s = try session(#"<Response><Pause length="1"/><Say>Hello</Say></Response>"#, ringMs: 2000)
        XCTAssertEqual(s.start(now: t0).last, .startRingTimer(milliseconds: 2000))
    }

    func testARejectAfterALeadingPauseRefusesUnanswered() throws {
        var s = try session(#"<Response><Pause length="3"/><Reject reason="busy"/></Response>"#)
        XCTAssertEqual(s.start(now: t0), [.respond(status: 180, sdp: nil, headers: []), .startRingTimer(milliseconds: 3000)])
        let out = s.ringTimerFired(now: at(3))
        XCTAssertEqual(out.first, .respond(status: 486, sdp: nil, headers: []))
        let r = try XCTUnwrap(record(out))
        XCTAssertEqual(r.disposition, .rejected)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
    }

    func testARejectFirstStillRefusesAtOnce() throws {
        var s = try session(#"<Response><Reject/></Response>"#)
        XCTAssertEqual(s.start(now: t0).first, .respond(status: 603, sdp: nil, headers: []))
    }
}
