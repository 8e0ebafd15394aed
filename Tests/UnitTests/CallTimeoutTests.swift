import Foundation
import Media
import Metering
import Routing
import Signaling
import TeXML
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// Half-open calls and silent callers: the session's timeouts, and the tracker that bounds
/// half-open calls per source. No sockets, an injected clock.
final class CallTimeoutTests: XCTestCase {
    private let route = DIDRoute(did: "+12082792555", tenant: "backup-general-001", industry: .general, flow: "g.xml")
    private let local = LocalMedia(address: "127.0.0.1", port: 20000, sessionID: 7)
    private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    private func session(direction: String = "sendrecv") throws -> CallSession {
        let flow = try TeXMLParser.parse(Data("<Response><Say>Please hold.</Say><Pause length=\"60\"/></Response>".utf8), source: "t.xml")
        let offer = try SDPParser.parse(sdpBody(typicalOffer() + ["a=\(direction)"]))
        guard case .success(let negotiated) = OfferAnswer.answer(offer, local: local) else { throw NegotiationFailure.noCommonCodec("") }
        var s = CallSession(callID: "c1", sipCallID: "s1@x", route: route, fromNumber: "+12025550123", toNumber: "2082792555",
                            startTime: t0, flow: flow, local: local, offer: negotiated, ringMilliseconds: 0, maxCallSeconds: 3600)
        s.ackTimeoutMilliseconds = 1500
        _ = s.start(now: t0)
        return s
    }

    private func finished(_ actions: [CallAction]) -> CallDetailRecord? {
        for case .finish(let r) in actions { return r }
        return nil
    }

    func testAnswerStartsTheAckTimerAndTheACKCancelsIt() throws {
        var s = try session()
        XCTAssertTrue(s.ringTimerFired(now: t0).contains(.startAckTimer(milliseconds: 1500)))
        XCTAssertTrue(s.ack(contentType: nil, body: nil, now: t0.addingTimeInterval(0.1)).contains(.cancelAckTimer))
        XCTAssertEqual(s.ackTimerFired(now: t0.addingTimeInterval(2)), [], "a late timer does nothing")
    }

    func testNoACKEndsTheCallUnbilled() throws {
        var s = try session()
        _ = s.ringTimerFired(now: t0)
        let r = try XCTUnwrap(finished(s.ackTimerFired(now: t0.addingTimeInterval(1.5))))
        XCTAssertEqual(r.disposition, .failed)
        XCTAssertEqual(r.sipCode, 408)
        XCTAssertEqual(r.hangupBy, .ackTimeout)
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertNil(r.answerTime)
    }

    func testSilentCallerIsHungUpAndTheRecordSaysWhy() throws {
        var s = try session()
        _ = s.ringTimerFired(now: t0)
        _ = s.ack(contentType: nil, body: nil, now: t0)
        XCTAssertTrue(s.receivesFromCaller)
        XCTAssertTrue(s.mediaTimedOut(seconds: 60, now: t0.addingTimeInterval(61)).contains(.sendBye))
        let r = try XCTUnwrap(finished(s.terminated(status: 200, now: t0.addingTimeInterval(61.1))))
        XCTAssertEqual(r.hangupBy, .rtpTimeout)
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.billableSeconds, 62)
    }

    func testACallerWhoDoesNotSendIsNotExpectedTo() throws {
        for direction in ["inactive", "recvonly"] {
            var s = try session(direction: direction)
            _ = s.ringTimerFired(now: t0)
            _ = s.ack(contentType: nil, body: nil, now: t0)
            XCTAssertFalse(s.receivesFromCaller, direction)
        }
    }

    func testHalfOpenTrackerBoundsEachSourceAndTheTotal() {
        var t = HalfOpenTracker(perSource: 2, total: 3)
        XCTAssertNil(t.refusal(source: "192.0.2.1:5060"))
        let a = t.open(source: "192.0.2.1:5060")
        _ = t.open(source: "192.0.2.1:5061")
        XCTAssertNotNil(t.refusal(source: "192.0.2.1:5099"), "the same host, another port")
        XCTAssertNil(t.refusal(source: "192.0.2.2:5060"))
        let c = t.open(source: "192.0.2.2:5060")
        XCTAssertNotNil(t.refusal(source: "192.0.2.3:5060"), "the total is reached")
        t.close(a)
        t.close(c)
        t.close(nil)
        XCTAssertEqual(t.count, 1)
        XCTAssertNil(t.refusal(source: "192.0.2.1:5060"))
        XCTAssertNil(HalfOpenTracker(perSource: 0, total: 0).refusal(source: "192.0.2.9:1"), "0 means no limit")
    }
}
