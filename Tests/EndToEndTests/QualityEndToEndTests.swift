import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// RTCP and call quality against a peer that loses, delays and reports on purpose
/// (`LossyRTCPPeer`): the daemon's SRs/RRs, SDES and BYE as the peer reads them, and the
/// record's loss, jitter, round-trip time and MOS against what the peer did.
final class QualityEndToEndTests: XCTestCase {
    func testALossyJitteryPeersFiguresReachTheReportsAndTheRecord() throws {
        try lossyCall(mux: false, scenario: "uac_daemon_bye.xml", tag: "qual-plain")
    }

    func testRTCPMultiplexedOnTheRTPPortWhenOffered() throws {
        try lossyCall(mux: true, scenario: "uac_daemon_bye_mux.xml", tag: "qual-mux")
    }

    private func lossyCall(mux: Bool, scenario: String, tag: String) throws {
        let d = try dialDaemon(flows: ["hold.xml": #"<Response><Play digits="w"/><Pause length="60"/><Hangup/></Response>"#],
                               numbers: ["+1-208-279-2555": "hold.xml"]) { cfg in
            var media = cfg["media"] as? [String: Any] ?? [:]
            media["poor_quality_mos"] = 4.3
            cfg["media"] = media
        }
        let peer = LossyRTCPPeer(mux: mux)
        defer { peer.stop(); d.stop() }
        let call = Background { d.sipp(scenario, dial: "2082792555", tag: tag, rtpPort: peer.port) }
        XCTAssertTrue(waitUntil(timeout: 10) { peer.daemonPort != nil }, "the daemon's RTP arrives")
        peer.talk(to: try XCTUnwrap(peer.daemonPort), packets: 400)  // 8 s: at least one SR (due within 3.75 s)
        let rows = try XCTUnwrap(try d.control(["calls", "--json"])["calls"] as? [[String: Any]])
        XCTAssertEqual(d.controlText(["calls", "hangup", try XCTUnwrap(rows.first?["id"] as? String)]).status, 0)
        XCTAssertEqual(try XCTUnwrap(call.wait()).status, 0)
        XCTAssertTrue(waitUntil(timeout: 5) { peer.reports.contains { $0.bye } }, "an RTCP BYE ends the call's reports")

        // What the daemon sent, read by the peer's own RFC 3550 parser.
        let reports = peer.reports
        XCTAssertTrue(reports.allSatisfy { $0.muxed == mux }, mux ? "on the RTP port" : "on RTP port + 1")
        XCTAssertGreaterThanOrEqual(reports.filter { $0.type == 200 }.count, 1, "SRs while the daemon sends")
        XCTAssertTrue(reports.allSatisfy { $0.cname?.hasPrefix("tollfreed@127.0.0.1") == true }, "SDES CNAME in every packet")
        let blocks = reports.flatMap(\.blocks).filter { $0.ssrc == peer.ssrc }
        XCTAssertEqual(blocks.last?.lost, 40, "every tenth of 400 left out")
        XCTAssertTrue(blocks.contains { (20...30).contains($0.fraction) }, "about 10 % a report: \(blocks.map(\.fraction))")

        // The record: the peer's stream as the daemon received it, and what the peer reported.
        let r = try XCTUnwrap(d.record(tag: tag))
        XCTAssertEqual(r["rtp_expected"] as? Int, 400)
        XCTAssertEqual(r["rtp_lost"] as? Int, 40)
        let jitterMax = try XCTUnwrap(r["jitter_max_ms"] as? Double), jitterMean = try XCTUnwrap(r["jitter_mean_ms"] as? Double)
        XCTAssertTrue((3...30).contains(jitterMax), "every other packet 10 ms late: \(jitterMax)")
        XCTAssertTrue(jitterMean > 1 && jitterMean <= jitterMax, "\(jitterMean)")
        XCTAssertEqual(r["peer_rtp_lost"] as? Int, 20, "the peer's claimed loss")
        let rtt = try XCTUnwrap(r["rtt_ms"] as? Double)
        XCTAssertTrue((90...250).contains(rtt), "the 100 ms the peer hid from its DLSR: \(rtt)")
        let mos = try XCTUnwrap(r["mos"] as? Double)
        XCTAssertTrue((2.8...3.8).contains(mos), "10 % loss: \(mos)")
        XCTAssertTrue(d.logShows("call.poor_quality"), "under the configured 4.3")
        let metrics = try XCTUnwrap(d.httpGet("/metrics")?.body)
        XCTAssertTrue(metrics.contains(#"tollfreed_call_mos_count{direction="inbound"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"tollfreed_poor_quality_calls_total{direction="inbound"} 1"#))
    }
}
