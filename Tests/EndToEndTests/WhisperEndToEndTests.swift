import Foundation
import Media
import XCTest

/// `<Sip url>` / `<Number url>` whispers against a sipp agent: the document is played to
/// the callee after it answers and before the bridge; `<Hangup/>` in it refuses the call.
final class WhisperEndToEndTests: XCTestCase {
    static let general = "+1-208-279-2555"

    private func run(whisper: String, tag: String) throws -> (hooks: WebhookServer, agentAudio: [ReceivedPacket], daemon: DaemonUnderTest) {
        let agentRTP = RTPPeer()
        defer { agentRTP.stop() }
        let agent = Agent("uas_answer.xml", rtpPort: agentRTP.port)
        let hooks = try WebhookServer(documents: [
            "/whisper": whisper, "/after": "<Response><Hangup/></Response>",
            "/w.xml": #"<Response><Dial action="/after" timeLimit="2"><Sip url="/whisper">\#(agent.uri)</Sip></Dial></Response>"#,
        ])
        let d = try dialDaemon(flows: [:], numbers: [Self.general: "\(hooks.base)/w.xml"])
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: tag)
        XCTAssertEqual(r.status, 0, "\(r.output.suffix(1500))\n\(d.logText.suffix(2000))")
        XCTAssertEqual(agent.wait().status, 0, "the agent got its BYE")
        return (hooks, agentRTP.received, d)
    }

    func testTheWhisperIsPlayedToTheCalleeThenTheCallIsBridged() throws {
        let (hooks, agentAudio, d) = try run(whisper: "<Response><Say>You have a call from the help line.</Say></Response>",
                                             tag: "whisper-accept")
        defer { d.stop(); hooks.stop() }
        let request = try XCTUnwrap(hooks.waitForRequest(path: "/whisper"), "\(hooks.requests)")
        XCTAssertEqual(request["Direction"], "outbound-dial")
        XCTAssertTrue(request["To"]?.hasPrefix("sip:agent@") == true, "\(request)")
        XCTAssertNotNil(request["ParentCallSid"])
        let after = try XCTUnwrap(hooks.waitForRequest(path: "/after"), "\(hooks.requests)")
        XCTAssertEqual(after["DialCallStatus"], "completed", "bridged after the whisper")
        let speech = SpeechMeasure.firstTalkspurt(agentAudio, law: .ulaw, gap: 1.0)
        XCTAssertGreaterThan(speech, 1.0, "the callee heard the whispered sentence (\(agentAudio.count) packets)")
        XCTAssertTrue(d.logShows("dial.whisper_end") && d.logText.contains("accepted=true"), d.logText.suffix(1500).description)
    }

    func testHangupInTheWhisperRefusesTheCall() throws {
        let (hooks, _, d) = try run(whisper: "<Response><Say>Press nothing.</Say><Hangup/></Response>", tag: "whisper-refuse")
        defer { d.stop(); hooks.stop() }
        let after = try XCTUnwrap(hooks.waitForRequest(path: "/after"), "\(hooks.requests)")
        XCTAssertEqual(after["DialCallStatus"], "no-answer", "a refused whisper is not an answer")
        XCTAssertEqual(after["DialCallDuration"], "0")
    }
}
