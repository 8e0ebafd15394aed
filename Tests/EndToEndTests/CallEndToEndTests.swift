import Foundation
import Media
import TeXML
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end: the real daemon on loopback, driven by sipp, with the test process as the
/// caller's RTP endpoint. One daemon serves every test in this class.
final class CallEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var daemon: DaemonUnderTest?

    override class func setUp() {
        super.setUp()
        do { daemon = try DaemonUnderTest(ringMs: 1000) } catch { startError = error }
    }

    /// Why the shared daemon did not start: every test then fails with it (never a skip).
    nonisolated(unsafe) static var startError: Error?

    override class func tearDown() {
        if let d = daemon {
            let status = d.stop()
            if status != 0 { print("daemon exit status \(status); log:\n\(d.logText)") }
        }
        daemon = nil
        super.tearDown()
    }

    private func requireDaemon() throws -> DaemonUnderTest {
        if let e = Self.startError { throw e }
        let d = try XCTUnwrap(Self.daemon, "the daemon did not start")
        return d
    }

    /// Length (s) of what the healthcare caller hears before the recording starts: the
    /// greeting, the Record prompt (synthesised the same way the daemon does) and the beep,
    /// played back to back.
    private func healthcareIntroSeconds() throws -> Double {
        let doc = try TeXMLParser.parse(contentsOf: Paths.repo.appendingPathComponent("CallFlows/healthcare-intake.xml"))
        let says = doc.spokenPrompts().prefix(2)
        XCTAssertEqual(says.count, 2)
        let synth = try SpeechSynthesizer(logger: .init(minimumLevel: .error))
        var total = Double(Tones.beep().sampleCount) / 8000
        for say in says {
            let r = say.speechRequest
            total += Double(try synth.synthesize(SpeechKey(text: r.text, voice: r.voice, language: r.language)).count) / 8000
        }
        return total
    }

    func testHealthcareCallHearsTheGreeting() throws {
        let d = try requireDaemon()
        let peer = RTPPeer()
        defer { peer.stop() }
        let tag = "greeting"
        // Listen through the greeting, the recording prompt and the beep, then hang up
        // while the flow records.
        let result = d.sipp("uac_listen.xml", dial: "8005963057", tag: tag, rtpPort: peer.port, extra: ["-d", "14000"])
        XCTAssertEqual(result.status, 0, "sipp failed:\n\(result.output.suffix(1500))\n\(d.logText.suffix(2000))")
        XCTAssertNotNil(d.record(tag: tag), "the call ended (its media closed)")
        let packets = peer.received
        XCTAssertGreaterThan(packets.count, 500)
        guard let first = packets.first else { return }

        // RTP framing: one SSRC, contiguous sequence numbers, timestamps 160 apart,
        // marker on the first packet, PCMU as offered first.
        XCTAssertTrue(packets.allSatisfy { $0.ssrc == first.ssrc && $0.payloadType == 0 && $0.payload.count == 160 })
        XCTAssertTrue(first.marker)
        for (a, b) in zip(packets, packets.dropFirst()) {
            XCTAssertEqual(b.sequence, a.sequence &+ 1)
            XCTAssertEqual(b.timestamp, a.timestamp &+ 160)
        }
        // Speech: the first talkspurt is the greeting, the Record prompt and the beep, as
        // long as the synthesised prompts; then the flow records (silence to the caller).
        let greeting = try healthcareIntroSeconds()
        let spurt = SpeechMeasure.firstTalkspurt(packets, law: .ulaw)
        XCTAssertGreaterThan(greeting, 5)
        XCTAssertEqual(spurt, greeting, accuracy: 0.6, "first talkspurt vs synthesised prompt lengths")
        XCTAssertGreaterThan(SpeechMeasure(packets, law: .ulaw).loudFrames, Int(greeting * 25), "mostly speech, not silence")

        let cdr = try XCTUnwrap(d.record(tag: tag))
        XCTAssertEqual(cdr["did"] as? String, "+18005963057")
        XCTAssertEqual(cdr["tenant"] as? String, "healthcare-client-001")
        XCTAssertEqual(cdr["disposition"] as? String, "completed")
        XCTAssertEqual(cdr["hangup_by"] as? String, "caller")
        XCTAssertEqual(cdr["sip_code"] as? Int, 200)
        XCTAssertEqual(cdr["from"] as? String, "+15551230000")
        XCTAssertNotNil(cdr["answer_time"] as? String)
        let billable = try XCTUnwrap(cdr["billable_seconds"] as? Int)
        XCTAssertEqual(Double(billable), Double(packets.count) * 0.02, accuracy: 2)
        XCTAssertEqual(Double(try XCTUnwrap(cdr["rtp_sent"] as? Int)), Double(packets.count), accuracy: 3)
        // HIPAA tenant: the caller's number never appears in this call's log lines.
        let callID = try XCTUnwrap(cdr["call_id"] as? String)
        let lines = d.logText.split(separator: "\n").filter { $0.contains("call=\(callID) ") }
        XCTAssertFalse(lines.isEmpty)
        XCTAssertFalse(lines.contains { $0.contains("5551230000") }, lines.joined(separator: "\n"))
    }

    func testCallerHangsUpAndStrayRTPIsDropped() throws {
        let d = try requireDaemon()
        let peer = RTPPeer()
        defer { peer.stop() }
        let tag = "callerbye"
        let result = try XCTUnwrap(d.callWhileTalking("uac_caller_bye.xml", dial: "+18888046762", tag: tag, peer: peer) {
            peer.send(count: 25, toPort: $0, stray: false)
            peer.send(count: 10, toPort: $0, stray: true)
        }, "no RTP from the daemon\n\(d.logText.suffix(1500))")
        XCTAssertEqual(result.status, 0, "sipp failed:\n\(result.output.suffix(1500))")
        let cdr = try XCTUnwrap(d.record(tag: tag))
        XCTAssertEqual(cdr["did"] as? String, "+18888046762")
        XCTAssertEqual(cdr["tenant"] as? String, "fleet-client-001")
        XCTAssertEqual(cdr["disposition"] as? String, "completed")
        XCTAssertEqual(cdr["hangup_by"] as? String, "caller")
        XCTAssertEqual(cdr["emergency"] as? Bool, true, "the fleet line is configured as an emergency line")
        XCTAssertEqual(cdr["rtp_received"] as? Int, 25)
        XCTAssertEqual(cdr["rtp_dropped"] as? Int, 10)
        // 2 s pause in the scenario plus signaling time, rounded up to whole seconds.
        let durationMs = try XCTUnwrap(cdr["duration_ms"] as? Int)
        XCTAssertTrue((1900...3500).contains(durationMs), "duration_ms \(durationMs)")
        XCTAssertEqual(cdr["billable_seconds"] as? Int, (durationMs + 999) / 1000)
    }

    func testUnknownNumberGets404() throws {
        let d = try requireDaemon()
        let r = d.sipp("uac_expect_404.xml", dial: "8005550123", tag: "unknown")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let cdr = try XCTUnwrap(d.record(tag: "unknown"))
        XCTAssertEqual(cdr["sip_code"] as? Int, 404)
        XCTAssertEqual(cdr["disposition"] as? String, "rejected")
        XCTAssertEqual(cdr["billable_seconds"] as? Int, 0)
    }

    func testNoCommonCodecGets488() throws {
        let d = try requireDaemon()
        let r = d.sipp("uac_expect_488.xml", dial: "18005963057", tag: "g729")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "g729"))["sip_code"] as? Int, 488)
    }

    func testNonSDPBodyGets415AndMalformedSDPGets400() throws {
        let d = try requireDaemon()
        XCTAssertEqual(d.sipp("uac_expect_415.xml", dial: "18005963057", tag: "textbody").status, 0)
        XCTAssertEqual(d.sipp("uac_expect_400_sdp.xml", dial: "18005963057", tag: "badsdp").status, 0)
        // The daemon keeps serving afterwards.
        XCTAssertEqual(d.sipp("options.xml", dial: "18005963057", tag: "after-bad").status, 0)
    }

    func testCancelWhileRingingGets487() throws {
        let d = try requireDaemon()
        let r = d.sipp("uac_cancel.xml", dial: "+1-208-279-2555", tag: "cancel")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let cdr = try XCTUnwrap(d.record(tag: "cancel"))
        XCTAssertEqual(cdr["disposition"] as? String, "canceled")
        XCTAssertEqual(cdr["sip_code"] as? Int, 487)
        XCTAssertTrue(cdr["answer_time"] is NSNull)
        XCTAssertEqual(cdr["billable_seconds"] as? Int, 0)
    }

    func testOptionsGets200() throws {
        let d = try requireDaemon()
        XCTAssertEqual(d.sipp("options.xml", dial: "8005963057", tag: "options").status, 0)
    }

    func testLateOfferCallGetsOfferIn200AndAudioAfterACK() throws {
        let d = try requireDaemon()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_late_offer.xml", dial: "18005963057", tag: "lateoffer", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertGreaterThan(peer.received.count, 50, "audio flows to the address in the ACK's answer")
        XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .ulaw).loudFrames, 20)
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "lateoffer"))["disposition"] as? String, "completed")
    }

    func testPCMAOnlyOfferGetsPCMAAudio() throws {
        let d = try requireDaemon()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_pcma_only.xml", dial: "18005963057", tag: "pcma", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertTrue(peer.received.allSatisfy { $0.payloadType == 8 })
        XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .alaw).loudFrames, 20)
    }

    func testHoldAndUnholdKeepTheCall() throws {
        let d = try requireDaemon()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_hold_unhold.xml", dial: "18005963057", tag: "hold", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        // While held (sendonly from the caller) the daemon stops sending: a gap of ~2 s.
        let times = peer.received.map(\.arrival)
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        XCTAssertGreaterThan(gaps.max() ?? 0, 1.5, "no pause in RTP while on hold")
        // And resumes after unhold with the sequence continuing.
        let after = peer.received.last
        XCTAssertNotNil(after)
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "hold"))["disposition"] as? String, "completed")
    }

    func testPriorityEmergencyHeaderMarksTheRecord() throws {
        let d = try requireDaemon()
        let r = d.sipp("uac_emergency_header.xml", dial: "2082792555", tag: "prio")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let cdr = try XCTUnwrap(d.record(tag: "prio"))
        XCTAssertEqual(cdr["emergency"] as? Bool, true)
        XCTAssertEqual(cdr["tenant"] as? String, "backup-general-001")
    }

    func testResourcePriorityInAnEmergencyNamespaceMarksTheRecord() throws {
        let d = try requireDaemon()
        let r = d.sipp("uac_resource_priority.xml", dial: "2082792555", tag: "rph")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "rph"))["emergency"] as? Bool, true)
        let plain = d.sipp("uac_caller_bye.xml", dial: "2082792555", tag: "plain")
        XCTAssertEqual(plain.status, 0)
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "plain"))["emergency"] as? Bool, false)
    }
}

/// Startup checks: bad input is refused before anything listens.
final class StartupEndToEndTests: XCTestCase {
    func testBadConfigExitsWithStatus2NamingTheKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-badcfg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("bad.json")
        try Data(#"{"tenants":[{"id":"a","industry":"retail"}],"numbers":[]}"#.utf8).write(to: path)
        let r = runProgram(Paths.daemon, ["run", "--config", path.path, "--sip", "127.0.0.1:\(freePort())"], timeout: 20)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.output.contains("tenants[0].industry"), r.output)
    }

    func testBadFlagExitsWithStatus2() {
        let r = runProgram(Paths.daemon, ["run", "--rtp-ports", "5000"], timeout: 20)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.output.contains("--rtp-ports"), r.output)
    }

    func testBrokenFlowIsRefusedWithFileLineColumn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-badflow-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("<Response>\n  <Say loop=\"many\">Hi</Say>\n</Response>\n".utf8).write(to: dir.appendingPathComponent("broken.xml"))
        try Data(#"{"flows_dir":".","tenants":[{"id":"a"}],"numbers":[{"did":"8005963057","tenant":"a","flow":"broken.xml"}]}"#.utf8)
            .write(to: dir.appendingPathComponent("c.json"))
        let r = runProgram(Paths.daemon, ["check-config", "--config", dir.appendingPathComponent("c.json").path], timeout: 20)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.output.contains("broken.xml:2:3"), r.output)
        XCTAssertTrue(r.output.contains("<Say>"), r.output)
    }

    func testVersionAndHelp() {
        XCTAssertEqual(runProgram(Paths.daemon, ["--version"]).status, 0)
        let h = runProgram(Paths.daemon, ["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.output.contains("cdr export"))
    }

    func testSIGTERMDrainsActiveCallsWithBYEAndKeepsTheirRecords() throws {
        let daemon = try DaemonUnderTest(ringMs: 0)
        let peer = RTPPeer()
        defer { peer.stop(); daemon.stop() }
        let sipp = Background { daemon.sipp("uac_daemon_bye.xml", dial: "8005963057", tag: "drain", rtpPort: peer.port) }
        XCTAssertTrue(peer.waitForPackets(25, timeout: 10), "call never got audio")
        XCTAssertEqual(daemon.stop(), 0, "graceful SIGTERM exits 0:\n\(daemon.logText.suffix(1500))")
        let result = try XCTUnwrap(sipp.wait(), "sipp finished")
        XCTAssertEqual(result.status, 0, "the caller gets a BYE during the drain:\n\(result.output.suffix(1500))")
        let cdr = try XCTUnwrap(daemon.records().first { ($0["sip_call_id"] as? String)?.hasPrefix("drain-") == true })
        XCTAssertEqual(cdr["disposition"] as? String, "completed")
        XCTAssertEqual(cdr["hangup_by"] as? String, "daemon")
        XCTAssertTrue(daemon.logShows("daemon.stopped"))
    }

    func testSecondDaemonOnABusyPortFailsCleanly() throws {
        let first = try DaemonUnderTest()
        defer { first.stop() }
        let r = runProgram(Paths.daemon, ["run", "--config", first.configPath.path, "--sip", "127.0.0.1:\(first.sipPort)",
                                          "--data", first.dataDir.path + "-2", "--rtp-ports", "45000-45099"], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.output.contains("cannot listen"), r.output)
        XCTAssertEqual(first.stop(), 0, "graceful SIGTERM exits 0")
    }
}
