import Foundation
import Media
import TeXML
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// The caller's keypad inside the session: de-duplication across sources, digits only
/// while the flow listens, and `*` ending a bridged `<Dial hangupOnStar>`.
extension CallSessionTests {
    private func digitsToFlow(_ actions: [CallAction]) -> [CallAction] {
        actions.filter { if case .log = $0 { false } else { true } }
    }

    func testDigitsReachTheFlowOnlyWhileItListens() throws {
        var (s, _) = try activeSession(#"<Response><Say>Hello</Say><Gather numDigits="1" timeout="5"/></Response>"#)
        XCTAssertFalse(s.keypad.listening)
        XCTAssertEqual(digitsToFlow(s.keyPressed("5", source: .rfc4733, now: at(3))), [], "nobody listens during the Say")
        let gather = s.mediaFinished(token: 1, now: at(4))
        XCTAssertTrue(gather.contains(.flow(.listenForDigits(true))), "\(gather)")
        XCTAssertTrue(s.keypad.listening)
        let pressed = digitsToFlow(s.keyPressed("7", source: .rfc4733, now: at(5)))
        XCTAssertTrue(pressed.contains(.flow(.listenForDigits(false))), "the one digit ends the Gather: \(pressed)")
        XCTAssertFalse(s.keypad.listening)
    }

    func testOnePressReportedByTwoSourcesIsOneDigit() throws {
        var (s, _) = try activeSession(#"<Response><Gather numDigits="2" timeout="5"/></Response>"#)
        XCTAssertTrue(s.keypad.listening)
        XCTAssertFalse(digitsToFlow(s.keyPressed("1", source: .rfc4733, now: at(3))).isEmpty, "the first report counts (the Gather re-arms its timer)")
        XCTAssertEqual(s.keyPressed("1", source: .sipInfo, now: at(3.05)), [], "the same press by INFO is dropped")
        XCTAssertEqual(s.keyPressed("1", source: .inband, now: at(3.1)), [], "and in-band")
        let second = digitsToFlow(s.keyPressed("1", source: .rfc4733, now: at(3.5)))
        XCTAssertTrue(second.contains(.flow(.listenForDigits(false))), "a second press of the same key is a digit: \(second)")
    }

    func testHealthcareDigitsAreNeverLoggedInClear() throws {
        var (s, _) = try activeSession(#"<Response><Gather numDigits="4" timeout="5"/></Response>"#)
        let out = s.keyPressed("8", source: .rfc4733, now: at(3))
        XCTAssertEqual(out.first, .log(level: "debug", event: "call.dtmf", detail: "digit=* source=rfc4733 listening=true"))
    }

    func testStarHangsUpABridgedDialWithHangupOnStar() throws {
        var (s, _) = try bridgedSession(#"<Response><Dial hangupOnStar="true">+12025550123</Dial><Say>Hello</Say></Response>"#)
        let out = s.keyPressed("*", source: .rfc4733, now: at(10))
        XCTAssertTrue(out.contains(.dial(.hangUpLeg(0))), "\(out)")
    }

    func testStarIsAnOrdinaryKeyWithoutHangupOnStar() throws {
        var (s, _) = try bridgedSession(#"<Response><Dial>+12025550123</Dial><Say>Hello</Say></Response>"#)
        XCTAssertEqual(digitsToFlow(s.keyPressed("*", source: .rfc4733, now: at(10))), [])
        XCTAssertNotNil(s.activeDial?.machine.bridgedLeg, "still bridged")
    }
}
