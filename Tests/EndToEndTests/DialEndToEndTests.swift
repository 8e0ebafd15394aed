import Foundation
import XCTest

/// `<Dial>` against sipp agents: every DialCallStatus, media relay with transcoding,
/// recording of both parties, simultaneous ring, and the races peers get wrong.
final class DialEndToEndTests: XCTestCase {
    static let healthcare = "+1-800-596-3057"
    static let general = "+1-208-279-2555"

    /// A caller (PCMU) bridged to an agent answering PCMA: audio flows both ways and is
    /// transcoded, and the dual-channel recording holds the caller left and the agent right.
    func testAnsweredDialRelaysAudioBothWaysAndRecordsBothParties() throws {
        let callee = RTPPeer()
        defer { callee.stop() }
        let agent = Agent("uas_answer_pcma.xml", rtpPort: callee.port)
        let hooks = try WebhookServer(documents: ["/dial-done": "<Response><Hangup/></Response>"])
        defer { hooks.stop() }
        let d = try dialDaemon(flows: ["dial.xml": """
            <Response><Say>Connecting you now.</Say><Dial timeout="10" timeLimit="6" record="record-from-answer-dual" action="\(hooks.base)/dial-done">\
            <Sip>\(agent.uri)</Sip></Dial></Response>
            """], numbers: [Self.healthcare: "dial.xml"])
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: "8005963057", tag: "dial-ok", rtpPort: caller.port)

        // The greeting comes from the daemon's caller-side port.
        XCTAssertTrue(caller.waitForPackets(3, timeout: 10), "greeting heard")
        let daemonCallerPort = try XCTUnwrap(caller.received.first?.sourcePort)
        XCTAssertTrue(d.waitForLog("dial.answered"), d.logText.suffix(2000).description)
        // The caller talks (440 Hz) from its own port.
        let talk = Thread { caller.send(samples: Tone.samples(440, seconds: 2), toPort: daemonCallerPort) }
        talk.start()
        XCTAssertTrue(callee.waitForPackets(50, timeout: 5), "the caller's audio reaches the agent")
        let daemonCalleePort = try XCTUnwrap(callee.received.first?.sourcePort)
        // The agent answers (1 kHz, PCMA as it negotiated).
        callee.send(samples: Tone.samples(1000, seconds: 2), toPort: daemonCalleePort, law: .alaw)
        while talk.isExecuting { usleep(20_000) }
        XCTAssertTrue(waitForQuiet(callee, caller), "the relayed streams drain")

        let atCallee = callee.received
        XCTAssertTrue(atCallee.allSatisfy { $0.payloadType == 8 }, "the agent negotiated PCMA only: caller audio is transcoded")
        XCTAssertGreaterThan(Tone.purity(Tone.decode(atCallee.filter { $0.payloadType == 8 }), frequency: 440), 0.8)
        let fromAgent = caller.received.filter { Tone.purity(Tone.decode([$0]), frequency: 1000) > 0.8 }
        XCTAssertGreaterThan(fromAgent.count, 50, "the agent's audio reaches the caller as PCMU")
        XCTAssertTrue(fromAgent.allSatisfy { $0.payloadType == 0 })

        // The caller hangs up; the agent gets BYE; the action sees completed.
        let fields = try XCTUnwrap(hooks.waitForRequest(path: "/dial-done"), d.logText.suffix(3000).description)
        XCTAssertEqual(fields["DialCallStatus"], "completed")
        XCTAssertEqual(fields["DialBridged"], "true")
        XCTAssertFalse(fields["DialCallSid"]?.isEmpty ?? true)
        let recordingURL = try XCTUnwrap(fields["RecordingUrl"])
        let r = call.wait()
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait().status, 0, "the agent got the daemon's BYE")

        let path = try XCTUnwrap(URL(string: recordingURL)?.path)
        let rms = try d.recordingChannelRMS(path: path)
        XCTAssertEqual(rms.count, 2, "dual recording has two channels")
        XCTAssertGreaterThan(rms[0], 1000, "caller channel holds the caller")
        XCTAssertGreaterThan(rms[1], 1000, "agent channel holds the agent")

        let legs = d.legs(ofTag: "dial-ok")
        XCTAssertEqual(legs.count, 1)
        XCTAssertEqual(legs.first?["direction"] as? String, "outbound")
        XCTAssertEqual(legs.first?["disposition"] as? String, "completed")
        XCTAssertEqual(legs.first?["call_id"] as? String, fields["DialCallSid"])
        XCTAssertGreaterThan(legs.first?["rtp_sent"] as? Int ?? 0, 50, "relayed packets are counted on the leg")
    }

    /// busy, failed and no-answer reach the action with the right DialCallStatus, and the
    /// legs' records say what happened.
    func testDialStatusesBusyFailedNoAnswer() throws {
        let busy = Agent("uas_busy.xml")
        let failing = Agent("uas_fail.xml")
        let silent = Agent("uas_noanswer.xml")
        let hooks = try WebhookServer(documents: ["/after": "<Response><Hangup/></Response>"])
        defer { hooks.stop() }
        let d = try dialDaemon(flows: [
            "busy.xml": "<Response><Dial action=\"\(hooks.base)/after?case=busy\"><Sip>\(busy.uri)</Sip></Dial></Response>",
            "fail.xml": "<Response><Dial action=\"\(hooks.base)/after?case=failed\"><Sip>\(failing.uri)</Sip></Dial></Response>",
            "silent.xml": "<Response><Dial timeout=\"2\" action=\"\(hooks.base)/after?case=noanswer\"><Sip>\(silent.uri)</Sip></Dial></Response>",
        ], numbers: [Self.healthcare: "busy.xml", Self.general: "fail.xml", "+1-888-804-6762": "silent.xml"]) { cfg in
            // The fleet line is an emergency line: make it ordinary so the dial rings once.
            var list = cfg["numbers"] as! [[String: Any]]
            for i in list.indices { list[i]["emergency"] = false }
            cfg["numbers"] = list
        }
        defer { d.stop() }
        for (dial, tag, expected) in [("8005963057", "dial-busy", "busy"), ("2082792555", "dial-fail", "failed"),
                                      ("8888046762", "dial-noanswer", "no-answer")] {
            let r = d.sipp("uac_daemon_bye.xml", dial: dial, tag: tag)
            XCTAssertEqual(r.status, 0, "\(tag): the flow hangs up after the action:\n\(r.output.suffix(1200))")
            let f = hooks.waitForRequest(path: "/after") { $0["DialCallStatus"] == expected }
            XCTAssertNotNil(f, "\(tag): action called with DialCallStatus=\(expected); got \(hooks.requests)")
            XCTAssertEqual(f?["DialCallDuration"], "0")
        }
        XCTAssertEqual(busy.wait().status, 0)
        XCTAssertEqual(failing.wait().status, 0)
        XCTAssertEqual(silent.wait().status, 0, "the unanswered agent got CANCEL")
        XCTAssertEqual(d.legs(ofTag: "dial-busy").first?["disposition"] as? String, "busy")
        XCTAssertEqual(d.legs(ofTag: "dial-fail").first?["disposition"] as? String, "failed")
        XCTAssertEqual(d.legs(ofTag: "dial-noanswer").first?["disposition"] as? String, "canceled")
    }

    /// Two agents ring at once; the one that answers wins, the other gets CANCEL. Without an
    /// action the flow continues after the bridge when the agent hangs up.
    func testSimultaneousRingFirstAnswerWinsAndFlowContinuesAfterCalleeHangsUp() throws {
        let ringing = Agent("uas_noanswer.xml")
        let answering = Agent("uas_answer_then_bye.xml", extra: ["-d", "1500"])
        let d = try dialDaemon(flows: ["two.xml": """
            <Response><Dial timeout="10"><Sip>\(ringing.uri)</Sip><Sip>\(answering.uri)</Sip></Dial>\
            <Say>The agent has left the call.</Say></Response>
            """], numbers: [Self.general: "two.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-two")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(ringing.wait().status, 0, "the losing agent got CANCEL (no ghost leg)")
        XCTAssertEqual(answering.wait().status, 0, "the winning agent hung up with BYE")
        XCTAssertTrue(d.logShows("status=completed"), d.logText.suffix(2000).description)
        let legs = d.legs(ofTag: "dial-two")
        XCTAssertEqual(Set(legs.compactMap { $0["disposition"] as? String }), ["completed", "canceled"])
        let rec = try XCTUnwrap(d.record(tag: "dial-two"))
        XCTAssertEqual(rec["hangup_by"] as? String, "daemon", "the flow went on after the bridge and hung up itself")
    }

    /// The caller cancels while the agent rings: the agent gets CANCEL, no leg is left.
    func testCallerHangsUpWhileAgentRings() throws {
        let silent = Agent("uas_noanswer.xml")
        let d = try dialDaemon(flows: ["ring.xml": "<Response><Dial timeout=\"30\"><Sip>\(silent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "ring.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_listen.xml", dial: "2082792555", tag: "dial-gone", extra: ["-d", "1500"])
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(silent.wait(timeout: 20).status, 0, "the agent got CANCEL when the caller left")
        XCTAssertEqual(d.legs(ofTag: "dial-gone").first?["disposition"] as? String, "canceled")
        XCTAssertTrue(d.waitForLog("status=canceled"))
        XCTAssertEqual(d.record(tag: "dial-gone")?["disposition"] as? String, "completed")
    }

    /// 200 OK from the agent crosses our CANCEL (ring timeout): the leg gets ACK then BYE.
    func testAnswerCrossingCancelIsAckedAndHungUp() throws {
        let agent = Agent("uas_answer_crossing_cancel.xml")
        let d = try dialDaemon(flows: ["cross.xml": "<Response><Dial timeout=\"1\"><Sip>\(agent.uri)</Sip></Dial><Hangup/></Response>"],
                               numbers: [Self.general: "cross.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-cross")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let a = agent.wait(timeout: 30)
        XCTAssertEqual(a.status, 0, "the late-answering agent got ACK and BYE:\n\(a.output.suffix(1500))\n\(d.logText.suffix(2000))")
        XCTAssertTrue(d.logShows("dial.leg_late_answer"))
        XCTAssertTrue(d.logShows("status=no-answer"))
        // It never connected: canceled, nothing billed (it used to be completed, 1 s).
        let leg = try XCTUnwrap(d.legs(ofTag: "dial-cross").first)
        XCTAssertEqual(leg["disposition"] as? String, "canceled")
        XCTAssertEqual(leg["billable_seconds"] as? Int, 0)
        XCTAssertNil(leg["answer_time"] as? String)
    }

    /// `<Number>` goes out through the tenant's trunk (URI template) and answers the trunk's
    /// digest challenge with the configured credentials.
    func testNumberGoesThroughTheTrunkWithDigestAuthentication() throws {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("trunk-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log").path
        let trunk = Agent("uas_auth.xml", extra: ["-trace_msg", "-message_file", trace])
        let d = try dialDaemon(flows: ["out.xml": "<Response><Dial timeLimit=\"2\"><Number>+1 (202) 555-0199</Number></Dial></Response>"],
                               numbers: [Self.general: "out.xml"]) { cfg in
            cfg["trunks"] = [["name": "carrier", "uri": "sip:{number}@127.0.0.1:\(trunk.port)",
                              "username": "trunkuser", "password": "s3cret"]]
        }
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-trunk")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let t = trunk.wait()
        XCTAssertEqual(t.status, 0, "the trunk saw valid credentials and the dialed number:\n\(t.output.suffix(2000))\n\(d.logText.suffix(2000))")
        XCTAssertTrue(d.logShows("dial.leg_authenticating"))
        let leg = try XCTUnwrap(d.legs(ofTag: "dial-trunk").first)
        XCTAssertEqual(leg["to"] as? String, "+12025550199")
        XCTAssertEqual(leg["disposition"] as? String, "completed")
        // The record carries the Call-ID the trunk saw (for disputes), not our own id.
        let seen = try String(contentsOfFile: trace, encoding: .utf8).split(whereSeparator: \.isNewline)
            .first { $0.lowercased().hasPrefix("call-id:") }?.dropFirst(8).trimmingCharacters(in: .whitespaces)
        XCTAssertEqual(leg["sip_call_id"] as? String, seen)
        XCTAssertNotEqual(leg["sip_call_id"] as? String, leg["call_id"] as? String)
        // timeLimit="2" bills 2 s, never 3.
        XCTAssertEqual(leg["billable_seconds"] as? Int, 2)
    }

    /// The caller sends a re-INVITE and a BYE back to back while bridged (the BYE arrives
    /// before the re-INVITE is answered): both get final responses, the agent gets BYE, and
    /// both records close.
    func testByeRightAfterReInviteDuringTheBridge() throws {
        let agent = Agent("uas_answer.xml")
        let d = try dialDaemon(flows: ["b.xml": "<Response><Dial><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "b.xml"])
        defer { d.stop() }
        let caller = RawSIPCaller(daemonPort: d.sipPort)
        let offer = "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
        caller.send("INVITE", cseq: 1, dial: "2082792555", sdp: offer)
        let setup = caller.responses(for: 1.0)
        XCTAssertTrue(RawSIPCaller.statuses(setup, cseq: "1 INVITE").contains(200), "\(setup)")
        caller.send("ACK", cseq: 1, dial: "2082792555")
        XCTAssertTrue(d.waitForLog("dial.answered"))
        caller.send("INVITE", cseq: 2, dial: "2082792555", sdp: offer.replacingOccurrences(of: "o=raw 1 1", with: "o=raw 1 2") + "a=sendonly\r\n")
        caller.send("BYE", cseq: 3, dial: "2082792555")
        let after = caller.responses(for: 1.5)
        XCTAssertTrue(RawSIPCaller.statuses(after, cseq: "3 BYE").contains(200), "BYE answered: \(after)")
        let reinvite = RawSIPCaller.statuses(after, cseq: "2 INVITE").filter { $0 >= 200 }
        XCTAssertFalse(reinvite.isEmpty, "the re-INVITE got a final response: \(after)")
        XCTAssertTrue(reinvite.allSatisfy { $0 == 200 || $0 == 487 || $0 == 481 }, "\(reinvite)")
        if reinvite.contains(200) { caller.send("ACK", cseq: 2, dial: "2082792555") }
        XCTAssertEqual(agent.wait(timeout: 20).status, 0, "the agent got BYE")
        let rec = try XCTUnwrap(d.records().first { ($0["sip_call_id"] as? String) == caller.callID })
        XCTAssertEqual(rec["disposition"] as? String, "completed")
        XCTAssertEqual(rec["hangup_by"] as? String, "caller")
        let legs = d.records().filter { ($0["parent_call_id"] as? String) == rec["call_id"] as? String }
        XCTAssertEqual(legs.first?["disposition"] as? String, "completed")
        // The daemon still serves.
        let next = d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "after-race")
        XCTAssertEqual(next.status, 0)
    }

    /// While the agent rings, the caller hears ringback (440 + 480 Hz) from the daemon.
    func testCallerHearsRingbackWhileTheAgentRings() throws {
        let agent = Agent("uas_answer_delayed.xml", extra: ["-d", "2500"])
        let d = try dialDaemon(flows: ["r.xml": "<Response><Dial timeLimit=\"1\"><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "r.xml"])
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-ringback", rtpPort: caller.port)
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait().status, 0)
        let audio = Tone.decode(Array(caller.received.prefix(90)))
        let ringback = Tone.purity(audio, frequency: 440) + Tone.purity(audio, frequency: 480)
        XCTAssertGreaterThan(caller.received.count, 50, "ringback packets")
        XCTAssertGreaterThan(ringback, 0.8, "the first 1.8 s are the 440 + 480 Hz ringback tone")
    }

    /// `ringTone="de"`: the caller hears Germany's ringback (425 Hz, 1 s on, 4 s off)
    /// instead of North America's.
    func testRingToneGivesTheCountrysRingback() throws {
        let agent = Agent("uas_answer_delayed.xml", extra: ["-d", "2500"])
        let d = try dialDaemon(flows: ["r.xml": "<Response><Dial ringTone=\"de\" timeLimit=\"1\"><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "r.xml"])
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-ringtone", rtpPort: caller.port)
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait().status, 0)
        let audio = Tone.decode(Array(caller.received.prefix(45)))
        XCTAssertGreaterThan(Tone.purity(audio, frequency: 425), 0.8, "the first 0.9 s are 425 Hz")
        XCTAssertLessThan(Tone.purity(audio, frequency: 440) + Tone.purity(audio, frequency: 480), 0.2, "not the US tone")
        let burst = SpeechMeasure.firstTalkspurt(caller.received, law: .ulaw, gap: 0.5)
        XCTAssertEqual(burst, 1.0, accuracy: 0.1, "one second on, then silence")
    }

    /// A noun's `statusCallback` hears the leg's progress as Twilio reports it: initiated,
    /// ringing, in-progress, completed (with its duration), in sequence, signed.
    func testLegStatusCallbackReportsEveryProgressEvent() throws {
        let hooks = try WebhookServer(documents: [:])
        defer { hooks.stop() }
        let agent = Agent("uas_answer_then_bye.xml", extra: ["-d", "1500"])
        let d = try dialDaemon(flows: ["p.xml": """
            <Response><Dial><Sip statusCallback="\(hooks.base)/callback/leg" statusCallbackEvent="initiated ringing answered completed">\(agent.uri)</Sip></Dial></Response>
            """], numbers: [Self.general: "p.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "leg-progress")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait().status, 0)
        XCTAssertTrue(waitUntil(timeout: 10) { hooks.requests.filter { ($0["path"] as? String) == "/callback/leg" }.count == 4 },
                      "\(hooks.requests)")
        let events = hooks.requests.filter { ($0["path"] as? String) == "/callback/leg" }.map(WebhookServer.fields)
            .sorted { Int($0["SequenceNumber"] ?? "") ?? 0 < Int($1["SequenceNumber"] ?? "") ?? 0 }
        XCTAssertEqual(events.map { $0["CallStatus"] ?? "" }, ["initiated", "ringing", "in-progress", "completed"])
        XCTAssertEqual(events.map { $0["SequenceNumber"] ?? "" }, ["0", "1", "2", "3"])
        let leg = try XCTUnwrap(d.legs(ofTag: "leg-progress").first)
        XCTAssertTrue(events.allSatisfy { $0["CallSid"] == leg["call_id"] as? String }, "the leg's own CallSid")
        XCTAssertTrue(events.allSatisfy { $0["ParentCallSid"] == d.record(tag: "leg-progress")?["call_id"] as? String })
        XCTAssertEqual(events.last?["CallDuration"], String(leg["billable_seconds"] as? Int ?? -1))
        XCTAssertEqual(events.first?["Direction"], "outbound-dial")
    }

    /// `<Number sendDigits>`: once the callee answers, the keys (an extension) reach it as
    /// RFC 4733 events, then the caller is bridged.
    func testNumberSendDigitsReachTheCalleeBeforeTheBridge() throws {
        let calleeMedia = RTPPeer()
        defer { calleeMedia.stop() }
        let trunk = Agent("uas_answer_then_bye.xml", rtpPort: calleeMedia.port, extra: ["-d", "3000"])
        let d = try dialDaemon(flows: ["x.xml": #"<Response><Dial><Number sendDigits="w12#">+12025550123</Number></Dial></Response>"#],
                               numbers: [Self.general: "x.xml"]) { cfg in
            cfg["trunks"] = [["name": "carrier", "uri": "sip:{number}@127.0.0.1:\(trunk.port)"]]
        }
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "send-digits")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(trunk.wait().status, 0)
        let events = calleeMedia.received.filter { $0.payloadType == 101 }
        XCTAssertEqual(events.filter(\.marker).map { $0.payload[0] }, [1, 2, 11], "1, 2, # to the callee")
        XCTAssertTrue(d.logShows("dial.send_digits"))
        XCTAssertEqual(d.legs(ofTag: "send-digits").first?["disposition"] as? String, "completed")
    }

    /// `hangupOnStar`: the caller presses * (SIP INFO) during the bridge; the agent is hung
    /// up and the caller's flow continues.
    func testHangupOnStarEndsTheBridgeAndTheFlowContinues() throws {
        let agent = Agent("uas_answer.xml")
        let d = try dialDaemon(flows: ["star.xml": """
            <Response><Dial hangupOnStar="true"><Sip>\(agent.uri)</Sip></Dial><Say>You are back.</Say></Response>
            """], numbers: [Self.general: "star.xml"])
        defer { d.stop() }
        let r = d.sipp("uac_info_star.xml", dial: "2082792555", tag: "dial-star")
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        XCTAssertEqual(agent.wait(timeout: 20).status, 0, "the agent got BYE when * was pressed")
        XCTAssertTrue(d.logShows("dial.hangup_on_star"))
        XCTAssertEqual(d.record(tag: "dial-star")?["hangup_by"] as? String, "daemon", "the flow ended the call after the Say")
    }

    /// A 183 with SDP: the callee's early media (an announcement) reaches the caller before
    /// the answer, instead of our ringback.
    func testEarlyMediaFromA183ReachesTheCallerBeforeAnswer() throws {
        let callee = RTPPeer()
        defer { callee.stop() }
        let agent = Agent("uas_early_media.xml", rtpPort: callee.port, extra: ["-d", "3000"])
        let d = try dialDaemon(flows: ["e.xml": "<Response><Dial timeLimit=\"1\"><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "e.xml"])
        defer { d.stop() }
        let caller = RTPPeer()
        defer { caller.stop() }
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-early", rtpPort: caller.port)
        XCTAssertTrue(d.waitForLog("early_media=true"), d.logText.suffix(2000).description)
        // The leg streams to the callee once its 183 SDP is known: that gives its port.
        XCTAssertTrue(callee.waitForPackets(2, timeout: 5))
        let legPort = try XCTUnwrap(callee.received.first?.sourcePort)
        callee.send(samples: Tone.samples(1000, seconds: 1.5), toPort: legPort)
        XCTAssertFalse(d.logText.contains("dial.answered"), "still before the answer")
        let announcement = caller.received.filter { Tone.purity(Tone.decode([$0]), frequency: 1000) > 0.8 }
        XCTAssertGreaterThan(announcement.count, 50, "the caller heard the early media")
        XCTAssertEqual(call.wait().status, 0)
        XCTAssertEqual(agent.wait().status, 0)
    }

    /// SIGTERM during a bridged call: the agent gets BYE and both records are final.
    func testShutdownDuringABridgeClosesBothRecords() throws {
        // The agent takes 1.5 s to confirm the BYE: the daemon must wait for the leg too.
        let agent = Agent("uas_answer_slow_bye.xml")
        let d = try dialDaemon(flows: ["s.xml": "<Response><Dial><Sip>\(agent.uri)</Sip></Dial></Response>"],
                               numbers: [Self.general: "s.xml"])
        let call = d.sippInBackground("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-term")
        XCTAssertTrue(d.waitForLog("dial.answered"))
        XCTAssertEqual(d.stop(), 0)
        XCTAssertEqual(call.wait().status, 0, "the caller got BYE")
        XCTAssertEqual(agent.wait().status, 0, "the agent got BYE")
        XCTAssertEqual(d.record(tag: "dial-term")?["disposition"] as? String, "completed")
        XCTAssertEqual(d.legs(ofTag: "dial-term").first?["disposition"] as? String, "completed",
                       "the leg's record is closed before exit, not left for crash recovery")
        XCTAssertTrue(d.logShows("dial.summary"))
    }

    /// Twilio's published Dial example, served by a webhook, through the tenant's trunk: the
    /// callee hangs up after a second and the flow goes on to its Say.
    func testTwiliosDialExampleFromAWebhook() throws {
        let hooks = try WebhookServer(documents: ["/dial.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response>
                <Dial>415-123-4567</Dial>
                <Say>Goodbye</Say>
            </Response>
            """])
        defer { hooks.stop() }
        let trunk = Agent("uas_answer_then_bye.xml", extra: ["-d", "1000"])
        let d = try dialDaemon(flows: [:], numbers: [Self.general: "\(hooks.base)/dial.xml"]) { cfg in
            cfg["trunks"] = [["name": "carrier", "uri": "sip:{number}@127.0.0.1:\(trunk.port)"]]
        }
        defer { d.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "2082792555", tag: "dial-twilio-example")
        XCTAssertEqual(r.status, 0, "\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        XCTAssertEqual(trunk.wait().status, 0)
        let leg = try XCTUnwrap(d.legs(ofTag: "dial-twilio-example").first)
        XCTAssertEqual(leg["disposition"] as? String, "completed")
        XCTAssertEqual((leg["to"] as? String)?.hasSuffix("4151234567"), true, "\(leg)")
        XCTAssertTrue(d.logShows("dial.end"))
    }
}
