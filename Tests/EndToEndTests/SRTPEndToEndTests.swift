import Foundation
import Media
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SRTP with SDES keys (issue 17, item 3) against a real SRTP peer: pjsip (pjsua2) calling
/// over TLS with SRTP mandatory, and answering a `<Dial>` leg to a trunk that requires it.
/// Audio is checked both ways by its tone: a wrong key, or media in the clear, fails it.
final class SRTPEndToEndTests: XCTestCase {
    /// A mono 16-bit WAV of a `frequency` Hz tone at 8 kHz, for a peer to play.
    private func writeTone(_ frequency: Double, seconds: Double, to path: String) throws {
        try WAVFile.write(Tone.samples(frequency, seconds: seconds), sampleRate: 8000, to: path)
    }

    /// The caller's record (not a leg's) once it is finished.
    private func callerRecord(_ d: DaemonUnderTest) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(10)
        repeat {
            let calls = d.records().filter { ($0["parent_call_id"] as? String ?? "").isEmpty }
            if let r = calls.first, (r["disposition"] as? String) != "active" { return r }
            usleep(100_000)
        } while Date() < deadline
        return nil
    }

    /// pjsua over TLS with SRTP mandatory: the daemon answers RTP/SAVP with its own key,
    /// plays a 1 kHz tone the peer hears, records the peer's 440 Hz tone, and the two
    /// exchange SRTCP reports (the record's round-trip time).
    func testSRTPOverTLSCarriesAudioBothWays() throws {
        guard PjsuaPeer.requireAvailable() else { return }
        let tls = try selfSignedCertificate("tf-srtp")
        let daemonTone = tls.dir.appendingPathComponent("tone1000.wav").path
        let peerTone = tls.dir.appendingPathComponent("tone440.wav").path
        let heard = tls.dir.appendingPathComponent("heard.wav").path
        try writeTone(1000, seconds: 2, to: daemonTone)
        try writeTone(440, seconds: 2, to: peerTone)
        let flow = "<Response><Play>\(daemonTone)</Play><Record maxLength=\"6\" timeout=\"10\" playBeep=\"false\" trim=\"do-not-trim\"/></Response>"
        let tlsPort = freePort()
        let d = try dialDaemon(flows: ["srtp.xml": flow], numbers: ["+1-208-279-2555": "srtp.xml"]) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["tls"] = ["listen": "127.0.0.1:\(tlsPort)", "certificate": tls.cert, "key": tls.key, "srtp": "require"]
            cfg["sip"] = sip
        }
        defer { d.stop() }
        let peer = try PjsuaPeer(["--call", "sip:2082792555@127.0.0.1:\(tlsPort);transport=tls", "--transport", "tls",
                                  "--srtp", "mandatory", "--srtp-secure", "1", "--codecs", "PCMU/8000", "--clock-rate", "8000",
                                  "--play", peerTone, "--record", heard, "--seconds", "12"])
        defer { peer.stop() }
        let (status, result) = peer.finish(timeout: 60)
        XCTAssertEqual(status, 0, "\(result)\n\(peer.log.suffix(2000))\n\(d.logText.suffix(2000))")
        XCTAssertEqual(result["srtp"] as? Bool, true, "\(result)")
        XCTAssertEqual((result["remote_m_line"] as? String)?.contains("RTP/SAVP"), true, "\(result)")
        XCTAssertTrue((result["remote_sdp"] as? String)?.contains("a=crypto:") == true, "\(result)")
        // The daemon's tone reached the peer through its decryption.
        let got = try WAVFile.read(path: heard)
        XCTAssertGreaterThan(Tone.peakPurity(got, frequency: 1000), 0.5, "the peer heard the 1 kHz prompt")
        // The peer's tone reached the recording through ours.
        let rec = try XCTUnwrap(callerRecord(d), d.logText.suffix(2000).description)
        let url = try XCTUnwrap((rec["recording_url"] as? String).flatMap(URL.init(string:)), "\(rec)")
        let recorded = try WAVFile.read(path: url.path)
        XCTAssertGreaterThan(Tone.peakPurity(recorded, frequency: 440), 0.5, "the recording has the peer's 440 Hz")
        XCTAssertEqual(rec["disposition"] as? String, "completed", "\(rec)")
        // Packets that fail authentication are not counted as received.
        XCTAssertGreaterThan(rec["rtp_received"] as? Int ?? 0, 200, "the peer's SRTP authenticated: \(rec)")
        // SRTCP both ways: the peer's receiver report (pjmedia sends its first about 5 s in)
        // authenticated and read, and it carried the LSR of our own SR, which it read.
        XCTAssertNotNil(rec["rtt_ms"] as? Double, "a round-trip time from the peer's SRTCP: \(rec)")
        XCTAssertNotNil(rec["peer_jitter_ms"] as? Double, "\(rec)")
    }

    /// 488 only when no crypto suite matches, or where SRTP is required and the offer is
    /// plain; a secure offer we can take is answered. Each refusal leaves one record.
    func testRefusalsWhenNoSuiteMatchesOrSRTPIsRequired() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["srtp"] = "require"
            cfg["sip"] = sip
        }
        defer { d.stop() }
        XCTAssertEqual(d.sipp("uac_srtp_foreign_suite.xml", dial: "18005963057", tag: "srtp-foreign").status, 0, d.logText.suffix(1500).description)
        XCTAssertEqual(d.sipp("uac_plain_expect_488.xml", dial: "18005963057", tag: "srtp-plain").status, 0, d.logText.suffix(1500).description)
        for (tag, why) in [("srtp-foreign", "no crypto suite matches (offered: AES_256_CM_HMAC_SHA1_80)"),
                           ("srtp-plain", "SRTP is required and the offer has no a=crypto")] {
            let rec = try XCTUnwrap(d.record(tag: tag), tag)
            XCTAssertEqual(rec["sip_code"] as? Int, 488, "\(tag): \(rec)")
            XCTAssertEqual(d.records().filter { ($0["sip_call_id"] as? String)?.hasPrefix(tag + "-") == true }.count, 1, tag)
            XCTAssertTrue(d.logShows(why), "\(tag): the log says why")
        }
    }

    /// A `<Dial>` leg to a trunk that requires SRTP: the leg offers RTP/SAVP and keys, the
    /// trunk (pjsua, SRTP mandatory) answers, and the bridge carries each side's tone to the
    /// other, re-encrypted under each leg's own keys (the caller here is SRTP over TLS too).
    func testADialLegToATrunkThatRequiresSRTP() throws {
        guard PjsuaPeer.requireAvailable() else { return }
        let tls = try selfSignedCertificate("tf-srtp")
        let callerTone = tls.dir.appendingPathComponent("caller440.wav").path
        let calleeTone = tls.dir.appendingPathComponent("callee1000.wav").path
        let callerHeard = tls.dir.appendingPathComponent("caller-heard.wav").path
        let calleeHeard = tls.dir.appendingPathComponent("callee-heard.wav").path
        try writeTone(440, seconds: 2, to: callerTone)
        try writeTone(1000, seconds: 2, to: calleeTone)
        let trunkPort = freePort(), tlsPort = freePort()
        let flow = "<Response><Dial timeout=\"10\"><Number>+15550001111</Number></Dial></Response>"
        let d = try dialDaemon(flows: ["srtp-dial.xml": flow], numbers: ["+1-208-279-2555": "srtp-dial.xml"]) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["tls"] = ["listen": "127.0.0.1:\(tlsPort)", "certificate": tls.cert, "key": tls.key, "srtp": "require"]
            cfg["sip"] = sip
            cfg["trunks"] = [["name": "secure", "uri": "sip:{number}@127.0.0.1:\(trunkPort)", "srtp": "require"]]
        }
        defer { d.stop() }
        let callee = try PjsuaPeer(["--listen", "\(trunkPort)", "--srtp", "mandatory", "--codecs", "PCMU/8000", "--clock-rate", "8000",
                                    "--play", calleeTone, "--record", calleeHeard, "--seconds", "5"])
        defer { callee.stop() }
        XCTAssertTrue(callee.waitReady(), "the callee listens: \(callee.log.suffix(1000))")
        let caller = try PjsuaPeer(["--call", "sip:2082792555@127.0.0.1:\(tlsPort);transport=tls", "--transport", "tls",
                                    "--srtp", "mandatory", "--srtp-secure", "1", "--codecs", "PCMU/8000", "--clock-rate", "8000",
                                    "--play", callerTone, "--record", callerHeard, "--seconds", "8"])
        defer { caller.stop() }
        let c = caller.finish(timeout: 60)
        let t = callee.finish(timeout: 30)
        XCTAssertEqual(c.status, 0, "\(c.result)\n\(caller.log.suffix(2000))\n\(d.logText.suffix(2000))")
        XCTAssertEqual(t.status, 0, "\(t.result)\n\(callee.log.suffix(2000))\n\(d.logText.suffix(2000))")
        let offered = try XCTUnwrap(t.result["remote_sdp"] as? String, "\(t.result)")
        XCTAssertTrue(offered.contains("RTP/SAVP"), "the leg offered RTP/SAVP: \(offered)")
        XCTAssertTrue(offered.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80"), offered)
        XCTAssertEqual(t.result["srtp"] as? Bool, true)
        XCTAssertGreaterThan(Tone.peakPurity(try WAVFile.read(path: calleeHeard), frequency: 440), 0.5, "the callee heard the caller")
        XCTAssertGreaterThan(Tone.peakPurity(try WAVFile.read(path: callerHeard), frequency: 1000), 0.5, "the caller heard the callee")
    }
}
