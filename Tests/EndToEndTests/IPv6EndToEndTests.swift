import Foundation
import Media
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// IPv6 RTP with real peers over loopback: SIP over IPv4 with media offered on ::1, a
/// dual-stack daemon carrying an IPv4 and an IPv6 call at once, and an IPv6 offer to an
/// IPv4-only daemon (488 with `Warning: 301`, one record). The prompt's audio is read by
/// the test's own ::1 socket; the caller's audio is counted in the call's record.
final class IPv6EndToEndTests: XCTestCase {
    /// Speaks, then waits for the test to hang the call up through the control socket.
    private static let flow = #"<Response><Say>Welcome. This call carries its audio over IPv6.</Say><Pause length="60"/><Hangup/></Response>"#

    /// A daemon on `host` (SIP and its primary media address) with `media` merged into
    /// its media section and the numbers +1 833 555 0151 and 0152 on the speaking flow.
    private func daemon(host: String = "127.0.0.1", media: [String: Any]) throws -> DaemonUnderTest {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-v6-flows-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(Self.flow.utf8).write(to: dir.appendingPathComponent("v6.xml"))
        return try DaemonUnderTest(ringMs: 0, host: host) { cfg in
            cfg["flows_dir"] = dir.path
            var list = cfg["numbers"] as? [[String: Any]] ?? []
            for did in ["+1-833-555-0151", "+1-833-555-0152"] {
                list.append(["did": did, "tenant": "backup-general-001", "flow": "v6.xml"])
            }
            // The shipped numbers' flows are not in this directory: only ours are kept.
            cfg["numbers"] = list.filter { ($0["flow"] as? String) == "v6.xml" }
            var m = cfg["media"] as? [String: Any] ?? [:]
            for (k, v) in media { m[k] = v }
            cfg["media"] = m
        }
    }

    /// Hangs up every call through the control socket.
    private func hangUpAll(_ d: DaemonUnderTest) throws {
        let rows = try XCTUnwrap(try d.control(["calls", "--json"])["calls"] as? [[String: Any]])
        for row in rows { XCTAssertEqual(d.controlText(["calls", "hangup", try XCTUnwrap(row["id"] as? String)]).status, 0) }
    }

    func testAnIPv6MediaOfferOverIPv4SIPCarriesAudioBothWaysOnLoopback() throws {
        let d = try daemon(media: ["secondary_address": "::1"])
        let peer = RTPPeer(host: "::1")
        defer { peer.stop(); d.stop() }
        let call = Background { d.sipp("uac_v6_media.xml", dial: "8335550151", tag: "v6-media", rtpPort: peer.port) }
        XCTAssertTrue(peer.waitForPackets(5, timeout: 15), "the daemon's RTP reaches the ::1 peer")
        let daemonPort = try XCTUnwrap(peer.received.first?.sourcePort)
        XCTAssertTrue(waitUntil(timeout: 10) { SpeechMeasure(peer.received, law: .ulaw).loudFrames >= 25 }, "the prompt is heard")
        peer.send(count: 100, toPort: daemonPort, stray: false, tone: true)
        peer.send(count: 10, toPort: daemonPort, stray: true)  // another ::1 port: not the peer
        XCTAssertTrue(waitUntil(timeout: 5) { (try? d.control(["calls", "--json"])["calls"] as? [[String: Any]])?.count == 1 })
        try hangUpAll(d)
        let sipp = try XCTUnwrap(call.wait())
        XCTAssertEqual(sipp.status, 0, "the answer said c=IN IP6 ::1: \(sipp.output.suffix(1500))")
        let r = try XCTUnwrap(d.record(tag: "v6-media"))
        XCTAssertEqual(r["sip_code"] as? Int, 200)
        XCTAssertEqual(r["disposition"] as? String, "completed")
        XCTAssertEqual(r["rtp_received"] as? Int, 100, "the caller's audio over IPv6")
        XCTAssertEqual(r["rtp_expected"] as? Int, 100)
        XCTAssertEqual(r["rtp_lost"] as? Int, 0)
        XCTAssertEqual(r["rtp_dropped"] as? Int, 10, "from another port of ::1: dropped and counted")
        XCTAssertGreaterThan(r["rtp_sent"] as? Int ?? 0, 25)
        XCTAssertNotNil(r["mos"] as? Double)
    }

    func testADualStackDaemonCarriesAnIPv4AndAnIPv6CallAtOnce() throws {
        let d = try daemon(media: ["address": "127.0.0.1", "secondary_address": "::1"])
        let four = RTPPeer(), six = RTPPeer(host: "::1")
        defer { four.stop(); six.stop(); d.stop() }
        let call4 = Background { d.sipp("uac_daemon_bye.xml", dial: "8335550152", tag: "v6-dual4", rtpPort: four.port) }
        let call6 = Background { d.sipp("uac_v6_media.xml", dial: "8335550151", tag: "v6-dual6", rtpPort: six.port) }
        XCTAssertTrue(four.waitForPackets(5, timeout: 15), "the IPv4 call's RTP on 127.0.0.1")
        XCTAssertTrue(six.waitForPackets(5, timeout: 15), "the IPv6 call's RTP on ::1")
        XCTAssertEqual((try d.control(["calls", "--json"])["calls"] as? [[String: Any]])?.count, 2, "both up at once")
        let port4 = try XCTUnwrap(four.received.first?.sourcePort), port6 = try XCTUnwrap(six.received.first?.sourcePort)
        let talk4 = Background { four.send(count: 50, toPort: port4, stray: false, tone: true) }
        six.send(count: 60, toPort: port6, stray: false, tone: true)
        _ = talk4.wait()
        try hangUpAll(d)
        XCTAssertEqual(try XCTUnwrap(call4.wait()).status, 0)
        XCTAssertEqual(try XCTUnwrap(call6.wait()).status, 0, "the IPv6 call answered in IPv6")
        let r4 = try XCTUnwrap(d.record(tag: "v6-dual4")), r6 = try XCTUnwrap(d.record(tag: "v6-dual6"))
        XCTAssertEqual(r4["rtp_received"] as? Int, 50)
        XCTAssertEqual(r6["rtp_received"] as? Int, 60)
        XCTAssertEqual(r4["rtp_dropped"] as? Int, 0)
        XCTAssertEqual(r6["rtp_dropped"] as? Int, 0)
    }

    func testAnIPv6OfferToAnIPv4OnlyDaemonIsRefused488WithWarning301AndOneRecord() throws {
        let d = try daemon(media: [:])
        defer { d.stop() }
        let r = d.sipp("uac_v6_expect_488.xml", dial: "8335550151", tag: "v6-refused", rtpPort: 4000)
        XCTAssertEqual(r.status, 0, "488 with Warning: 301: \(r.output.suffix(1500))")
        let record = try XCTUnwrap(d.record(tag: "v6-refused"))
        XCTAssertEqual(record["sip_code"] as? Int, 488)
        XCTAssertEqual(record["disposition"] as? String, "rejected")
        XCTAssertEqual(d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix("v6-refused-") == true }.count, 1)
        XCTAssertTrue(d.logShows("media offered over IPv6"), d.logText.suffix(1500).description)
    }

    /// SIP and RTP both over IPv6: the daemon listens on [::1], its media address is ::1,
    /// sipp calls from ::1.
    func testACallEntirelyOverIPv6() throws {
        let d = try daemon(host: "::1", media: [:])
        let peer = RTPPeer(host: "::1")
        defer { peer.stop(); d.stop() }
        let call = Background { d.sipp("uac_v6_media.xml", dial: "8335550151", tag: "v6-sip6", rtpPort: peer.port) }
        XCTAssertTrue(peer.waitForPackets(5, timeout: 15), "the daemon's RTP reaches the ::1 peer")
        let daemonPort = try XCTUnwrap(peer.received.first?.sourcePort)
        peer.send(count: 40, toPort: daemonPort, stray: false, tone: true)
        try hangUpAll(d)
        let sipp = try XCTUnwrap(call.wait())
        XCTAssertEqual(sipp.status, 0, sipp.output.suffix(1500).description)
        let r = try XCTUnwrap(d.record(tag: "v6-sip6"))
        XCTAssertEqual(r["sip_code"] as? Int, 200)
        XCTAssertEqual(r["rtp_received"] as? Int, 40)
        XCTAssertTrue(d.logShows("source=[::1]:"), "the SIP source as [addr]:port: \(d.logText.components(separatedBy: "\n").filter { $0.contains("call.invite") })")
    }
}
