import Routing
import XCTest

/// The `<Dial>` state machine: statuses, simultaneous ring, failover order, races.
final class DialMachineTests: XCTestCase {
    private let a = DialTarget(uri: "sip:a@192.0.2.1", label: "a")
    private let b = DialTarget(uri: "sip:b@192.0.2.2", label: "b")
    private let c = DialTarget(uri: "sip:c@192.0.2.3", label: "c")
    private let supervisor = DialTarget(uri: "sip:supervisor@192.0.2.9", label: "supervisor")

    private func machine(_ targets: [DialTarget], failover: Bool = false, lastResort: DialTarget? = nil,
                         recording: DialRecording = .none) -> DialMachine {
        DialMachine(targets: targets, strategy: failover ? .failover(stepMilliseconds: 5000, lastResort: lastResort) : .simultaneous,
                    ringMilliseconds: 30_000, timeLimitSeconds: 600, recording: recording)
    }

    private func withoutLogs(_ actions: [DialAction]) -> [DialAction] {
        actions.filter { if case .log = $0 { false } else { true } }
    }

    private func result(_ actions: [DialAction]) -> DialResult? {
        for case .finished(let r) in actions { return r }
        return nil
    }

    /// Every leg over without an answer: busy if one was busy, else no-answer if one was not
    /// answered (480, 408, a refused whisper), else failed. It used to be failed unless busy.
    func testSimultaneousOutcomeWhenNoLegAnswers() {
        for (statuses, expected) in [([480, 500], DialStatus.noAnswer), ([486, 480], .busy), ([500, 503], .failed), ([408], .noAnswer)] {
            var m = machine(Array([a, b, c].prefix(statuses.count)))
            _ = m.start(now: 0)
            var last: [DialAction] = []
            for (i, status) in statuses.enumerated() { last = m.legFailed(i, sipStatus: status, now: 1) }
            XCTAssertEqual(result(last)?.status, expected, "\(statuses)")
        }
    }

    func testSimultaneousRingPlacesEveryLegAndTheFirstAnswerWins() {
        var m = machine([a, b, c])
        XCTAssertEqual(m.start(now: 0), [.ringback(true), .placeLeg(0), .placeLeg(1), .placeLeg(2), .startTimer(.ring, milliseconds: 30_000)])
        XCTAssertEqual(m.legRinging(1, early: false), [])
        let answered = withoutLogs(m.legAnswered(1, now: 3))
        XCTAssertEqual(answered, [.cancelTimer(.ring), .cancelLeg(0), .cancelLeg(2), .ringback(false), .bridge(1),
                                  .startTimer(.timeLimit, milliseconds: 600_000)])
        XCTAssertEqual(m.bridgedLeg, 1)
        // The 200 of a cancelled leg crossing our CANCEL: ACKed by Sofia, BYE from us.
        XCTAssertEqual(withoutLogs(m.legAnswered(0, now: 3.1)), [.hangUpLeg(0)])
        XCTAssertEqual(m.legFailed(2, sipStatus: 487, now: 3.2), [], "a cancelled leg's 487 changes nothing")
        let end = m.legEnded(1, now: 45.2)
        XCTAssertEqual(result(end), DialResult(status: .completed, answeredLeg: 1, bridgedSeconds: 43))
        XCTAssertTrue(end.contains(.unbridge))
        XCTAssertTrue(m.isFinished)
        XCTAssertEqual(m.legAnswered(2, now: 50).filter { $0 == .hangUpLeg(2) }, [.hangUpLeg(2)], "answers after the end are hung up")
    }

    func testAllBusyIsBusyAndMixedFailuresAreFailed() {
        var m = machine([a, b])
        _ = m.start(now: 0)
        XCTAssertNil(result(m.legFailed(0, sipStatus: 486, now: 1)), "b still rings")
        XCTAssertEqual(result(m.legFailed(1, sipStatus: 503, now: 2))?.status, .busy, "one busy callee makes the dial busy")
        var f = machine([a, b])
        _ = f.start(now: 0)
        _ = f.legFailed(0, sipStatus: 404, now: 1)
        XCTAssertEqual(result(f.legFailed(1, sipStatus: 503, now: 2))?.status, .failed)
    }

    func testRingTimeoutCancelsEveryRingingLegAsNoAnswer() {
        var m = machine([a, b])
        _ = m.start(now: 0)
        _ = m.legRinging(0, early: false)
        let out = m.timerFired(.ring, now: 30)
        XCTAssertEqual(Array(withoutLogs(out).prefix(2)), [.cancelLeg(0), .cancelLeg(1)])
        XCTAssertEqual(result(out), DialResult(status: .noAnswer, answeredLeg: nil, bridgedSeconds: 0))
    }

    func testCallerHangUpWhileRingingCancelsAndWhileBridgedHangsUp() {
        var ringing = machine([a, b])
        _ = ringing.start(now: 0)
        let out = ringing.callerHungUp(now: 4)
        XCTAssertEqual(Array(out.prefix(2)), [.cancelLeg(0), .cancelLeg(1)])
        XCTAssertEqual(result(out)?.status, .canceled)
        var bridged = machine([a])
        _ = bridged.start(now: 0)
        _ = bridged.legAnswered(0, now: 2)
        let bye = bridged.callerHungUp(now: 12)
        XCTAssertEqual(bye.first, .hangUpLeg(0))
        XCTAssertEqual(result(bye), DialResult(status: .completed, answeredLeg: 0, bridgedSeconds: 10))
    }

    func testEarlyMediaIsRelayedUntilAnswerAndRingbackReturnsIfThatLegFails() {
        var m = machine([a, b])
        _ = m.start(now: 0)
        XCTAssertEqual(m.legRinging(0, early: true), [.ringback(false), .relayEarlyMedia(0)])
        XCTAssertEqual(m.legRinging(1, early: true), [], "only one early stream reaches the caller")
        XCTAssertEqual(withoutLogs(m.legFailed(0, sipStatus: 480, now: 2)), [.unbridge, .ringback(true)])
    }

    func testFailoverTriesTargetsInOrderThenTheLastResort() {
        var m = machine([a, b], failover: true, lastResort: supervisor)
        XCTAssertEqual(m.targets.map(\.label), ["a", "b", "supervisor"])
        XCTAssertEqual(withoutLogs(m.start(now: 0)), [.ringback(true), .placeLeg(0), .startTimer(.step(0), milliseconds: 5000)])
        // a is busy: next at once.
        XCTAssertEqual(withoutLogs(m.legFailed(0, sipStatus: 486, now: 1)),
                       [.cancelTimer(.step(0)), .placeLeg(1), .startTimer(.step(1), milliseconds: 5000)])
        // b does not answer within the step: cancelled, then the last resort rings the full timeout.
        XCTAssertEqual(withoutLogs(m.timerFired(.step(1), now: 6)),
                       [.cancelLeg(1), .placeLeg(2), .startTimer(.step(2), milliseconds: 30_000)])
        let answered = withoutLogs(m.legAnswered(2, now: 8))
        XCTAssertTrue(answered.contains(.bridge(2)))
        XCTAssertEqual(result(m.legEnded(2, now: 20))?.answeredLeg, 2)
    }

    func testFailoverReportsTheLastFailureWhenEveryoneFails() {
        var m = machine([a, b], failover: true)
        _ = m.start(now: 0)
        _ = m.legFailed(0, sipStatus: 503, now: 1)
        XCTAssertEqual(result(m.timerFired(.step(1), now: 6))?.status, .noAnswer)
    }

    func testRecordingStartsAtAnswerOrAtRingingAndStopsAtTheEnd() {
        var fromAnswer = machine([a], recording: .fromAnswer(dual: true))
        XCTAssertFalse(fromAnswer.start(now: 0).contains(.startRecording(dual: true)))
        XCTAssertTrue(fromAnswer.legAnswered(0, now: 1).contains(.startRecording(dual: true)))
        XCTAssertTrue(fromAnswer.legEnded(0, now: 5).contains(.stopRecording))
        var fromRinging = machine([a], recording: .fromRinging(dual: false))
        XCTAssertTrue(fromRinging.start(now: 0).contains(.startRecording(dual: false)))
        XCTAssertTrue(fromRinging.legFailed(0, sipStatus: 486, now: 1).contains(.stopRecording))
    }

    func testHangupOnStarEndsTheBridgeOnlyOnce() {
        var m = machine([a])
        _ = m.start(now: 0)
        XCTAssertEqual(m.hangupOnStar(now: 1), [], "nothing to hang up before answer")
        _ = m.legAnswered(0, now: 1)
        let out = m.hangupOnStar(now: 4)
        XCTAssertEqual(out.first, .hangUpLeg(0))
        XCTAssertEqual(result(out)?.status, .completed)
        XCTAssertEqual(m.legEnded(0, now: 4.1), [], "the leg's own end is no second result")
    }

    func testTimeLimitHangsUpTheCallee() {
        var m = machine([a])
        _ = m.start(now: 0)
        _ = m.legAnswered(0, now: 1)
        let out = m.timerFired(.timeLimit, now: 601)
        XCTAssertEqual(out.first, .hangUpLeg(0))
        XCTAssertEqual(result(out)?.bridgedSeconds, 600)
    }

    /// The timer fires a little late; a 600 s limit still reports (and bills) 600 s.
    func testTimeLimitFiringLateReportsTheLimit() {
        var m = machine([a])
        _ = m.start(now: 0)
        _ = m.legAnswered(0, now: 1)
        XCTAssertEqual(result(m.timerFired(.timeLimit, now: 601.004))?.bridgedSeconds, 600)
    }

    func testNoTargetsFailsAtOnce() {
        var m = machine([])
        XCTAssertEqual(result(m.start(now: 0))?.status, .failed)
    }

    func testStatusForFailures() {
        XCTAssertEqual(DialStatus.forFailure(sipStatus: 486), .busy)
        XCTAssertEqual(DialStatus.forFailure(sipStatus: 603), .busy)
        XCTAssertEqual(DialStatus.forFailure(sipStatus: 480), .noAnswer)
        XCTAssertEqual(DialStatus.forFailure(sipStatus: 408), .noAnswer)
        XCTAssertEqual(DialStatus.forFailure(sipStatus: 404), .failed)
        XCTAssertEqual(DialStatus.noAnswer.rawValue, "no-answer")
    }
}
