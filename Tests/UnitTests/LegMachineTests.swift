import Foundation
import Media
import Metering
import Routing
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// An outbound leg's SIP side: what the dial machine hears, when a 200 is a connection,
/// and the leg's record (never billed unless it connected; never past `timeLimit`).
final class LegMachineTests: XCTestCase {
    private let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    private func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

    private func leg(username: String? = nil, timeLimit: Int = .max) -> LegMachine {
        LegMachine(LegPlacement(index: 1, callID: "CA-leg", sipCallID: "CA-leg-x@10.0.0.1",
                                target: DialTarget(uri: "sip:+12025550123@192.0.2.5", label: "+12025550123",
                                                   username: username, password: username.map { _ in "secret" }),
                                start: t0, parentCallID: "CA-parent", did: "+18005963057", tenant: "t1", flow: "f.xml",
                                presentedNumber: "+13125550000", emergency: false, timeLimitSeconds: timeLimit))
    }

    /// A leg answered and playing its whisper is ended by BYE (a CANCEL would leave the
    /// confirmed dialog open); a refused whisper is a not-answered leg, never billed.
    func testAWhisperingLegEndsByByeAndARefusalIsNotAnswered() {
        var m = leg()
        XCTAssertEqual(m.answered(dialWantsIt: true, sdpApplied: true, now: at(3)), [.report(.answered)])
        var ended = m
        XCTAssertEqual(ended.parentEnded(now: at(4)), .sendBye, "confirmed, not yet bridged")
        XCTAssertEqual(m.whisperRefused(now: at(6)).suffix(2), [.sendBye, .report(.failed(sipStatus: 480))])
        let (report, record) = m.terminated(status: 200, now: at(6.2), media: nil)
        XCTAssertNil(report, "the dial machine was told already")
        XCTAssertNil(record.answerTime)
        XCTAssertEqual(record.billableSeconds, 0)
        XCTAssertEqual(record.disposition, .failed)
        XCTAssertEqual(record.sipCode, 480)
    }

    func testAnsweredLegIsBilledFromAnswerToTheCalleesBye() {
        var m = leg()
        XCTAssertEqual(m.provisional(status: 183, sdpApplied: true).last, .report(.ringing(early: true)))
        XCTAssertEqual(m.answered(dialWantsIt: true, sdpApplied: false, now: at(5)), [.report(.answered)],
                       "the 183's SDP is enough for a 200 without one")
        _ = m.bridged(true, now: at(5))
        XCTAssertEqual(m.calleeHungUp(now: at(65)), [.report(.ended)])
        let (report, r) = m.terminated(status: 200, now: at(66), media: MediaStats(packetsSent: 3000, packetsReceived: 2990, packetsDropped: 0, packetsMalformed: 0, telephoneEvents: 0))
        XCTAssertNil(report, "the machine was told already")
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertEqual(r.sipCode, 200)
        XCTAssertEqual(r.endTime, at(65), "the record ends at the BYE, not when its transaction did")
        XCTAssertEqual(r.billableSeconds, 60)
        XCTAssertEqual(r.rtpReceived, 2990)
        XCTAssertEqual(r.direction, .outbound)
        XCTAssertEqual(r.parentCallID, "CA-parent")
        XCTAssertEqual(r.sipCallID, "CA-leg-x@10.0.0.1", "the Call-ID the trunk saw")
    }

    func testA200AfterTheDialEndedIsHungUpAndNeverBilled() {
        var m = leg()
        let out = m.answered(dialWantsIt: false, sdpApplied: false, now: at(5))
        XCTAssertEqual(out.last, .sendBye)
        XCTAssertFalse(out.contains(.report(.answered)))
        XCTAssertEqual(m.parentEnded(now: at(6)), .sendBye, "a dialog that was answered is ended by BYE")
        let (report, r) = m.terminated(status: 200, now: at(6), media: nil)
        XCTAssertNil(report)
        XCTAssertEqual(r.disposition, .canceled)
        XCTAssertEqual(r.sipCode, 487)
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertEqual(r.hangupBy, HangupSide.none)
    }

    func testASimultaneousRingLoserIsCanceledNotCompleted() {
        var m = leg()
        XCTAssertEqual(m.answered(dialWantsIt: true, sdpApplied: true, now: at(5)), [.report(.answered)])
        XCTAssertEqual(m.bridged(false, now: at(5)), [])
        XCTAssertNil(m.answerTime)
        XCTAssertEqual(m.terminated(status: 200, now: at(6), media: nil).record.disposition, .canceled)
    }

    func testA200WithoutAnySDPFailsAs488() {
        var m = leg()
        let out = m.answered(dialWantsIt: true, sdpApplied: false, now: at(5))
        XCTAssertEqual(Array(out.dropFirst()), [.sendBye, .report(.failed(sipStatus: 488))])
        XCTAssertEqual(m.terminated(status: 200, now: at(6), media: nil).record.disposition, .failed)
    }

    func testAuthenticatesOnceAndOnlyWithCredentials() {
        var anonymous = leg()
        XCTAssertEqual(anonymous.challenged(status: 407), [.report(.failed(sipStatus: 407))])
        var m = leg(username: "agent")
        XCTAssertEqual(m.challenged(status: 401).first, .authenticate)
        XCTAssertEqual(m.challenged(status: 401), [.report(.failed(sipStatus: 401))], "a second challenge is a failure")
    }

    func testBusyAndTimeoutDispositions() {
        var busy = leg()
        _ = busy.failed(486)
        XCTAssertEqual(busy.terminated(status: 486, now: at(3), media: nil).record.disposition, .busy)
        var lost = leg()
        let (report, r) = lost.terminated(status: 0, now: at(32), media: nil)
        XCTAssertEqual(report, .failed(sipStatus: 408), "a dialog gone without a final response is a timeout")
        XCTAssertEqual(r.disposition, .canceled)
        XCTAssertEqual(r.sipCode, 487)
        var unanswered = leg()
        XCTAssertEqual(unanswered.parentEnded(now: at(2)), .sendCancel, "never answered: CANCEL")
    }

    func testTimeLimitCapsTheBilledTime() {
        var m = leg(timeLimit: 2)
        _ = m.answered(dialWantsIt: true, sdpApplied: true, now: at(10))
        _ = m.bridged(true, now: at(10))
        m.hungUpByUs(now: at(12.9))
        let r = m.terminated(status: 200, now: at(13.2), media: nil).record
        XCTAssertEqual(r.endTime, at(12), "never past answer + timeLimit")
        XCTAssertEqual(r.billableSeconds, 2)
        XCTAssertEqual(r.hangupBy, .daemon)
    }

    func testOpeningRecordIsActiveFromPlacement() {
        let r = leg().openingRecord
        XCTAssertEqual(r.disposition, .active)
        XCTAssertEqual(r.startTime, t0)
        XCTAssertNil(r.answerTime)
    }
}
