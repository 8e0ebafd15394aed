import Foundation
import XCTest

/// NAT latching with real sockets: the caller's SDP names one port (peer A) while its
/// media comes from another (peer B, as a NAT would rewrite it). With `sip.latching` the
/// daemon follows B after its first packet; without it (the default) B is dropped and A
/// keeps the media.
final class LatchingEndToEndTests: XCTestCase {
    func testLatchingFollowsMediaFromAnotherPort() throws {
        let (a, b, d) = try call(latching: true, tag: "latch-on")
        defer { a.stop(); b.stop(); d.stop() }
        XCTAssertTrue(b.waitForPackets(10, timeout: 5), "the daemon sends to where the caller's media comes from")
        XCTAssertTrue(d.logShows("call.media_latched"), d.logText.suffix(1500).description)
        XCTAssertTrue(d.logShows("to=127.0.0.1:\(b.port)"))
        let before = a.received.count
        XCTAssertTrue(b.waitForPackets(b.received.count + 25, timeout: 5))
        XCTAssertLessThanOrEqual(a.received.count - before, 1, "nothing more goes to the SDP's port")
        try hangUp(d, tag: "latch-on")
        XCTAssertTrue(d.httpGet("/metrics")?.body.contains("tollfreed_rtp_latched_total 1") == true)
    }

    func testWithoutLatchingMediaFromAnotherPortIsDropped() throws {
        let (a, b, d) = try call(latching: false, tag: "latch-off")
        defer { a.stop(); b.stop(); d.stop() }
        let before = a.received.count
        XCTAssertTrue(a.waitForPackets(before + 25, timeout: 5), "the SDP's port keeps the media")
        XCTAssertEqual(b.received.count, 0, "nothing to the unnegotiated port")
        XCTAssertFalse(d.logText.contains("call.media_latched"))
        let record = try hangUp(d, tag: "latch-off")
        XCTAssertGreaterThanOrEqual(record["rtp_dropped"] as? Int ?? 0, 10, "B's packets dropped and counted")
    }

    /// A call whose SDP names A's port; once A hears the daemon, B sends 10 packets to it.
    private func call(latching: Bool, tag: String) throws -> (RTPPeer, RTPPeer, DaemonUnderTest) {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["latching"] = latching
            cfg["sip"] = sip
        }
        let a = RTPPeer(), b = RTPPeer()
        let call = Background { d.sipp("uac_daemon_bye.xml", dial: "8005963057", tag: tag, rtpPort: a.port) }
        calls[tag] = call
        XCTAssertTrue(a.waitForPackets(5, timeout: 10), "the call is up")
        let daemonPort = try XCTUnwrap(a.received.first?.sourcePort)
        b.send(count: 10, toPort: daemonPort, stray: false)
        return (a, b, d)
    }

    private var calls: [String: Background<(status: Int32, output: String)>] = [:]

    @discardableResult
    private func hangUp(_ d: DaemonUnderTest, tag: String) throws -> [String: Any] {
        let rows = try XCTUnwrap(try d.control(["calls", "--json"])["calls"] as? [[String: Any]])
        XCTAssertEqual(d.controlText(["calls", "hangup", try XCTUnwrap(rows.first?["id"] as? String)]).status, 0)
        XCTAssertEqual(try XCTUnwrap(calls[tag]?.wait()).status, 0)
        return try XCTUnwrap(d.record(tag: tag))
    }
}
