import Foundation
import XCTest

/// `<Dial answerOnBridge="true">` from a webhook, against sipp agents: the caller gets 183 with SDP and
/// hears ringback while the agent rings, and 200 only when the agent answers; its record
/// is answered (billed) from then. A busy agent means 486 to a caller never answered.
final class AnswerOnBridgeEndToEndTests: XCTestCase {
    static let general = "+1-208-279-2555"

    private static func isoDate(_ value: Any?) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (value as? String).flatMap { f.date(from: $0) }
    }

    func testTheCallerIsAnsweredWhenTheAgentAnswers() throws {
        let agent = Agent("uas_answer_delayed.xml", extra: ["-d", "2500"])
        let hooks = try WebhookServer(documents: ["/b.xml": #"<Response><Dial answerOnBridge="true" timeLimit="2"><Sip>\#(agent.uri)</Sip></Dial></Response>"#])
        defer { hooks.stop() }
        let d = try dialDaemon(flows: [:], numbers: [Self.general: "\(hooks.base)/b.xml"])
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let r = d.sipp("uac_early_then_answer.xml", dial: "2082792555", tag: "onbridge-answer", rtpPort: caller.port)
        XCTAssertEqual(r.status, 0, "183, then 200 when the agent answers:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        XCTAssertEqual(agent.wait().status, 0)
        let audio = Tone.decode(Array(caller.received.prefix(90)))
        XCTAssertGreaterThan(Tone.purity(audio, frequency: 440) + Tone.purity(audio, frequency: 480), 0.8,
                             "ringback reached the unanswered caller as early media")
        let record = try XCTUnwrap(d.record(tag: "onbridge-answer"))
        let start = try XCTUnwrap(Self.isoDate(record["start_time"]), "\(record)")
        let answer = try XCTUnwrap(Self.isoDate(record["answer_time"]), "\(record)")
        XCTAssertGreaterThanOrEqual(answer.timeIntervalSince(start), 2.4, "answered when the agent answered, after 2.5 s of ringing")
        XCTAssertLessThanOrEqual(record["billable_seconds"] as? Int ?? 99, 4, "the ringing is not billed: \(record)")
        XCTAssertEqual(record["disposition"] as? String, "completed")
    }

    func testABusyAgentRefusesTheUnansweredCaller() throws {
        let agent = Agent("uas_busy.xml")
        let hooks = try WebhookServer(documents: ["/b.xml": #"<Response><Dial answerOnBridge="true"><Sip>\#(agent.uri)</Sip></Dial></Response>"#])
        defer { hooks.stop() }
        let d = try dialDaemon(flows: [:], numbers: [Self.general: "\(hooks.base)/b.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_early_then_busy.xml", dial: "2082792555", tag: "onbridge-busy")
        XCTAssertEqual(r.status, 0, "183, then 486:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        XCTAssertEqual(agent.wait().status, 0)
        let record = try XCTUnwrap(d.record(tag: "onbridge-busy"))
        XCTAssertEqual(record["disposition"] as? String, "busy")
        XCTAssertEqual(record["sip_code"] as? Int, 486)
        XCTAssertTrue(record["answer_time"] is NSNull, "never answered: \(record)")
        XCTAssertEqual(record["billable_seconds"] as? Int, 0)
    }
}
