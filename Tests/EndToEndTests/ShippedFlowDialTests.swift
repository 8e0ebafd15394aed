import Foundation
import Media
import XCTest

/// The shipped healthcare and fleet flows, as configured, end to end: the caller is
/// recorded, then bridged to the agent the flow dials (sip:...@127.0.0.1:5070, played by
/// sipp), and the bridge recording holds both parties.
final class ShippedFlowDialTests: XCTestCase {
    func testHealthcareIntakeConnectsToPatientServicesAndRecordsBothSides() throws {
        try runShippedFlow(dial: "8005963057", tag: "ship-health")
    }

    func testFleetEmergencyConnectsToDispatchAndRecordsBothSides() throws {
        let rec = try runShippedFlow(dial: "8888046762", tag: "ship-fleet")
        XCTAssertEqual(rec["emergency"] as? Bool, true)
    }

    @discardableResult
    private func runShippedFlow(dial: String, tag: String) throws -> [String: Any] {
        let callee = RTPPeer()
        defer { callee.stop() }
        // The shipped flows dial 127.0.0.1:5070; the agent hangs up after 6 s of talk.
        let agent = Agent("uas_answer_then_bye.xml", rtpPort: callee.port, extra: ["-d", "6000"], timeout: 90, port: 5070)
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: dial, tag: tag, rtpPort: caller.port)
        XCTAssertTrue(caller.waitForPackets(3, timeout: 10), "welcome prompt heard")
        let daemonPort = try XCTUnwrap(caller.received.first?.sourcePort)

        // The intake recording: speak, then press # (in-band) to finish it.
        XCTAssertTrue(d.waitForLog("call.recording_started", timeout: 40), d.logText.suffix(2000).description)
        caller.send(samples: Tone.samples(300, seconds: 1.5) + Tones.dtmfSamples("#"), toPort: daemonPort)

        // The flow thanks the caller and dials the agent; then both talk.
        XCTAssertTrue(d.waitForLog("dial.answered", timeout: 40), d.logText.suffix(3000).description)
        let talk = Thread { caller.send(samples: Tone.samples(440, seconds: 2), toPort: daemonPort) }
        talk.start()
        XCTAssertTrue(callee.waitForPackets(40, timeout: 5), "the caller reaches the agent")
        let agentSide = try XCTUnwrap(callee.received.first?.sourcePort)
        callee.send(samples: Tone.samples(1000, seconds: 2), toPort: agentSide)
        while talk.isExecuting { usleep(20_000) }

        let r = call.wait()
        XCTAssertEqual(r.status, 0, "the daemon hangs up after the agent left:\n\(r.output.suffix(1500))")
        XCTAssertEqual(agent.wait().status, 0)
        let rec = try XCTUnwrap(d.record(tag: tag))
        let urls = (rec["recording_url"] as? String ?? "").split(separator: " ").map(String.init)
        XCTAssertEqual(urls.count, 2, "the intake recording and the bridge recording: \(urls)")
        let bridge = try XCTUnwrap(URL(string: try XCTUnwrap(urls.last))?.path)
        let samples = try d.recordingSamples(path: bridge)
        XCTAssertGreaterThan(Tone.peakPurity(samples, frequency: 440), 0.5, "the caller is in the bridge recording")
        XCTAssertGreaterThan(Tone.peakPurity(samples, frequency: 1000), 0.5, "the agent is in the bridge recording")
        XCTAssertLessThan(Tone.peakPurity(samples, frequency: 2000), 0.2, "a tone nobody sent is not found")
        let legs = d.legs(ofTag: tag)
        XCTAssertEqual(legs.first?["disposition"] as? String, "completed")
        if dial == "8005963057" { XCTAssertTrue(bridge.hasSuffix(".wav.enc"), "healthcare bridge recordings are sealed at rest") }
        return rec
    }
}
