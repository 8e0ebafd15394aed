import Foundation
import Media
import Metering
import Routing
import Signaling
import TeXML
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

final class CallSessionTests: XCTestCase {
    let route = DIDRoute(did: "+18005963057", tenant: "healthcare-client-001", industry: .healthcare,
                                 flow: "healthcare-intake.xml")
    let local = LocalMedia(address: "127.0.0.1", port: 20000, sessionID: 99)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let hello = SpeechRequest(text: "Hello", voice: "alice", language: "en-US", loop: 1)
    let helloFlow = "<Response><Say>Hello</Say><Pause length=\"1\"/></Response>"

    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    func negotiate(_ offerLines: [String], local: LocalMedia) throws -> (NegotiatedAudio, String) {
        let offer = try SDPParser.parse(sdpBody(offerLines))
        guard case .success(let r) = OfferAnswer.answer(offer, local: local) else {
            throw NegotiationFailure.noCommonCodec("test offer")
        }
        return r
    }

    func session(_ xml: String, offer: [String]? = typicalOffer(), ringMs: Int = 2000,
                         maxSeconds: Int = 3600) throws -> CallSession {
        let flow = try TeXMLParser.parse(Data(xml.utf8), source: "test.xml")
        return CallSession(callID: "call-1", sipCallID: "abc@192.0.2.10", route: route, fromNumber: "+12025550123",
                           toNumber: "sip:+18005963057@127.0.0.1", startTime: t0, flow: flow, local: local,
                           offer: try offer.map { try negotiate($0, local: local) },
                           ringMilliseconds: ringMs, maxCallSeconds: maxSeconds)
    }

    /// A session that has rung, answered at t0+2 and been ACKed; returns the ACK's actions.
    func activeSession(_ xml: String, offer: [String]? = typicalOffer()) throws -> (CallSession, [CallAction]) {
        var s = try session(xml, offer: offer)
        _ = s.start(now: t0)
        _ = s.ringTimerFired(now: at(2))
        let actions = s.ack(contentType: nil, body: nil, now: at(2.05))
        return (s, actions)
    }

    func record(_ actions: [CallAction], file: StaticString = #filePath, line: UInt = #line) -> CallDetailRecord? {
        guard case .finish(let r)? = actions.last else {
            XCTFail("last action is not .finish: \(actions)", file: file, line: line)
            return nil
        }
        return r
    }

    var defaultPeer: MediaPeer {
        MediaPeer(remote: UDPEndpoint(host: "192.0.2.10", port: 49170), law: .ulaw, payloadType: 0,
                  telephoneEventPayloadType: 101, sending: true)
    }

    // MARK: - Normal call

    func testCompleteCallEndedByTheFlow() throws {
        var s = try session(helloFlow)
        XCTAssertEqual(s.start(now: t0), [.respond(status: 180, sdp: nil, headers: []), .startRingTimer(milliseconds: 2000)])
        XCTAssertEqual(s.phase, .ringing)

        let expectedAnswer = try negotiate(typicalOffer(), local: local).1
        XCTAssertEqual(s.ringTimerFired(now: at(2)),
                       [.respond(status: 200, sdp: expectedAnswer, headers: []), .startDurationTimer(seconds: 3600),
                        .startAckTimer(milliseconds: 8000)])
        XCTAssertEqual(s.phase, .answered)
        XCTAssertEqual(s.answerTime, at(2))
        XCTAssertEqual(s.ringTimerFired(now: at(3)), [], "the timer fires only once")

        XCTAssertEqual(s.ack(contentType: nil, body: nil, now: at(2.05)), [.cancelAckTimer, .configureMedia(defaultPeer), .flow(.say(hello, token: 1))])
        XCTAssertEqual(s.phase, .active)

        XCTAssertEqual(s.mediaFinished(token: 0, now: at(4)), [], "stale token")
        XCTAssertEqual(s.mediaFinished(token: 2, now: at(4)), [], "future token")
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(4)), [.flow(.pause(milliseconds: 1000, token: 2))])
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(4.5)), [], "token already used")
        XCTAssertEqual(s.mediaFinished(token: 2, now: at(5)), [.flow(.stopMedia), .sendBye])
        XCTAssertEqual(s.phase, .hangingUp)

        let end = s.terminated(status: 200, now: at(63.2))
        XCTAssertEqual(end.first, .flow(.stopMedia))
        XCTAssertEqual(try XCTUnwrap(record(end)).rtpSent, 0, "the counts come when media is closed")
        let r = try XCTUnwrap(s.closed(media: MediaStats(packetsSent: 150, packetsReceived: 148, packetsDropped: 2,
                                                          packetsMalformed: 0, telephoneEvents: 0)))
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.hangupBy, .daemon)
        XCTAssertEqual(r.sipCode, 200)
        XCTAssertEqual(r.answerTime, at(2))
        XCTAssertEqual(r.startTime, t0)
        XCTAssertEqual(r.endTime, at(63.2))
        XCTAssertEqual(r.durationMs, 61_200)
        XCTAssertEqual(r.billableSeconds, 62)
        XCTAssertEqual(r.callID, "call-1")
        XCTAssertEqual(r.sipCallID, "abc@192.0.2.10")
        XCTAssertEqual(r.did, "+18005963057")
        XCTAssertEqual(r.tenant, "healthcare-client-001")
        XCTAssertEqual(r.fromNumber, "+12025550123")
        XCTAssertEqual(r.flow, "healthcare-intake.xml")
        XCTAssertEqual([r.rtpSent, r.rtpReceived, r.rtpDropped], [150, 148, 2])
        XCTAssertEqual(s.phase, .ended)
        XCTAssertEqual(s.terminated(status: 200, now: at(64)), [], "ended once")
        XCTAssertEqual(s.byeReceived(now: at(64)), [])
    }

    func testPCMAOfferConfiguresALaw() throws {
        let (_, actions) = try activeSession(helloFlow, offer: typicalOffer(formats: "8 0"))
        XCTAssertEqual(actions.dropFirst().first, .configureMedia(MediaPeer(remote: UDPEndpoint(host: "192.0.2.10", port: 49170),
                                                                law: .alaw, payloadType: 8,
                                                                telephoneEventPayloadType: nil, sending: true)))
    }

    func testHangupVerbSendsBye() throws {
        var (s, actions) = try activeSession("<Response><Say>Hello</Say><Hangup/><Say>Never</Say></Response>")
        XCTAssertEqual(actions.last, .flow(.say(hello, token: 1)))
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(3)), [.flow(.stopMedia), .sendBye])
    }

    func testPromptFailureLogsAndContinues() throws {
        var (s, _) = try activeSession(helloFlow)
        XCTAssertEqual(s.promptFailed(token: 7, error: "x", now: at(3)), [], "stale token")
        XCTAssertEqual(s.promptFailed(token: 1, error: "no voice", now: at(3)),
                       [.log(level: "error", event: "flow.prompt_failed", detail: "no voice"), .flow(.pause(milliseconds: 1000, token: 2))])
    }

    func dialMachine(recording: DialRecording = .none) -> DialMachine {
        DialMachine(targets: [DialTarget(uri: "sip:+12025550123@192.0.2.5", label: "+12025550123")], strategy: .simultaneous,
                    ringMilliseconds: 30_000, timeLimitSeconds: 14_400, recording: recording)
    }

    /// An active session whose flow is `xml` (starting with a Dial), dialing and answered.
    func bridgedSession(_ xml: String, recording: DialRecording = .none) throws -> (CallSession, [CallAction]) {
        var (s, actions) = try activeSession(xml)
        guard case .resolveDial(let dial, let token)? = actions.last else {
            XCTFail("expected the dial to be resolved: \(actions)")
            return (s, [])
        }
        let started = s.beginDial(dialMachine(recording: recording), dial: dial, token: token, now: at(3))
        XCTAssertTrue(started.contains(.dial(.placeLeg(0))), "\(started)")
        XCTAssertTrue(started.contains(.dial(.ringback(true))))
        s.dialLegPlaced(0, callID: "CA-leg")
        let bridged = s.dialEvent(now: at(4)) { m, t in m.legAnswered(0, now: t) }
        XCTAssertTrue(bridged.contains(.dial(.bridge(0))), "\(bridged)")
        return (s, bridged)
    }

    func testDialBridgesAndTheCallerStaysWhenTheCalleeHangsUp() throws {
        var (s, _) = try bridgedSession("<Response><Dial><Number>+12025550123</Number></Dial><Say>Hello</Say></Response>")
        let after = s.dialEvent(now: at(10)) { m, t in m.legEnded(0, now: t) }
        XCTAssertTrue(after.contains(.dial(.unbridge)), "\(after)")
        XCTAssertEqual(after.last, .flow(.say(hello, token: 2)), "the flow goes on with the next verb")
        XCTAssertNil(s.activeDial)
    }

    func testCallerByeDuringDialHangsUpTheCalleeAndClosesTheRecord() throws {
        var (s, _) = try bridgedSession("<Response><Dial><Number>+12025550123</Number></Dial><Say>Hello</Say></Response>")
        let bye = s.byeReceived(now: at(20))
        XCTAssertTrue(bye.contains(.dial(.hangUpLeg(0))), "\(bye)")
        XCTAssertFalse(bye.contains(.flow(.say(hello, token: 2))), "no more flow for a caller who left")
        let r = try XCTUnwrap(record(bye))
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertEqual(s.phase, .ended)
    }

    func testCallerByeDuringRecordedDialWaitsForTheRecordingBeforeTheRecord() throws {
        var (s, bridged) = try bridgedSession(#"<Response><Dial record="record-from-answer">+12025550123</Dial></Response>"#,
                                              recording: .fromAnswer(dual: false))
        XCTAssertTrue(bridged.contains(.dial(.startRecording(dual: false))))
        let bye = s.byeReceived(now: at(20))
        XCTAssertTrue(bye.contains(.dial(.stopRecording)), "\(bye)")
        XCTAssertFalse(bye.contains { if case .finish = $0 { true } else { false } }, "the record waits for the recording")
        let outcome = RecordingOutcome(url: "file:///rec/d.wav", durationSeconds: 16, sid: "RE1", reason: .hangup)
        let done = s.dialRecordingFinished(outcome, now: at(20.3))
        let r = try XCTUnwrap(record(done))
        XCTAssertEqual(r.recordingURL, "file:///rec/d.wav")
        XCTAssertEqual(r.recordingSeconds, 16)
    }

    func testFlowMarkedEmergencyPromotesTheCall() throws {
        let (s, actions) = try activeSession("""
        <Response xmlns:tf="urn:tollfreed:texml" tf:emergency="true"><Say>Hello</Say></Response>
        """)
        XCTAssertTrue(actions.contains(.promoteEmergency), "\(actions)")
        XCTAssertTrue(s.emergency)
    }

    func testEmptyFlowHangsUpAfterAck() throws {
        let (_, actions) = try activeSession("<Response/>")
        XCTAssertEqual(actions, [.cancelAckTimer, .configureMedia(defaultPeer), .flow(.stopMedia), .sendBye])
    }

    // MARK: - Rejected, cancelled, caller hangs up

    func testRejectAsFirstVerb() throws {
        for (xml, code) in [("<Response><Reject/></Response>", 603), (#"<Response><Reject reason="busy"/></Response>"#, 486)] {
            var s = try session(xml)
            let actions = s.start(now: at(0.1))
            XCTAssertEqual(actions.first, .respond(status: code, sdp: nil, headers: []), xml)
            XCTAssertFalse(actions.contains(.respond(status: 180, sdp: nil, headers: [])), xml)
            XCTAssertFalse(actions.contains { if case .startRingTimer = $0 { true } else { false } }, xml)
            let r = try XCTUnwrap(record(actions))
            XCTAssertEqual(r.disposition, .rejected, xml)
            XCTAssertEqual(r.sipCode, code, xml)
            XCTAssertEqual(r.hangupBy, .daemon, xml)
            XCTAssertNil(r.answerTime, xml)
            XCTAssertEqual(r.billableSeconds, 0, xml)
            XCTAssertEqual(s.phase, .ended, xml)
            XCTAssertEqual(s.ringTimerFired(now: at(1)), [], xml)
        }
    }

    func testCancelWhileRinging() throws {
        var s = try session(helloFlow)
        _ = s.start(now: t0)
        let actions = s.cancelled(now: at(1.5))
        XCTAssertEqual(actions.first, .cancelRingTimer)
        let r = try XCTUnwrap(record(actions))
        XCTAssertEqual(r.disposition, .canceled)
        XCTAssertEqual(r.sipCode, 487)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertEqual(s.ringTimerFired(now: at(2)), [], "a late ring timer does not answer")
        XCTAssertEqual(s.cancelled(now: at(2)), [])
    }

    func testCallerByeWhileActive() throws {
        var (s, _) = try activeSession(helloFlow)
        let actions = s.byeReceived(now: at(12.5))
        XCTAssertEqual(actions.first, .flow(.stopMedia))
        let r = try XCTUnwrap(record(actions))
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertEqual(r.sipCode, 200)
        XCTAssertEqual(r.answerTime, at(2))
        XCTAssertEqual(r.billableSeconds, 11)
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(13)), [], "no flow after the caller left")
        XCTAssertEqual(s.terminated(status: 200, now: at(13)), [])
    }

    /// A hang-up during Record keeps the recording: the record waits for the file, the
    /// callbacks still go out, and the record carries the recording.
    func testCallerHangsUpWhileRecording() throws {
        let flow = """
        <Response><Record playBeep="false" maxLength="60" action="https://example.com/done"
          recordingStatusCallback="https://example.com/status"/><Say>Never heard</Say></Response>
        """
        var (s, ack) = try activeSession(flow)
        guard case .flow(.startRecording(_, let token))? = ack.last else { return XCTFail("\(ack)") }
        let bye = s.byeReceived(now: at(10))
        XCTAssertTrue(bye.contains(.flow(.stopRecording(token))), "\(bye)")
        XCTAssertTrue(bye.contains(.startCloseTimer(milliseconds: 5000)))
        XCTAssertFalse(bye.contains { if case .finish = $0 { true } else { false } }, "the record waits for the recording")
        XCTAssertEqual(s.phase, .closing)
        XCTAssertEqual(s.terminated(status: 200, now: at(10.1)), [])
        let outcome = RecordingOutcome(url: "file:///data/r.wav", durationSeconds: 8, sid: "RE1", reason: .hangup)
        let done = s.recordingFinished(token: token, outcome: outcome, now: at(10.2))
        let requests = done.compactMap { a -> String? in
            switch a {
            case .flow(.notify(let r)): "notify \(r.url)"
            case .flow(.fetch(let r, _)): "fetch \(r.url) Digits=\(r.value(of: "Digits") ?? "")"
            default: nil
            }
        }
        XCTAssertEqual(requests, ["notify https://example.com/status", "fetch https://example.com/done Digits=hangup"])
        XCTAssertFalse(done.contains { if case .flow(.say) = $0 { true } else { false } }, "nothing is played to nobody")
        let r = try XCTUnwrap(record(done))
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.recordingURL, "file:///data/r.wav")
        XCTAssertEqual(r.recordingSeconds, 8)
        XCTAssertEqual(r.endTime, at(10.2))
    }

    func testRecordingThatNeverArrivesClosesTheRecordOnTheTimer() throws {
        var (s, ack) = try activeSession("<Response><Record playBeep=\"false\"/></Response>")
        guard case .flow(.startRecording)? = ack.last else { return XCTFail("\(ack)") }
        _ = s.byeReceived(now: at(10))
        let r = try XCTUnwrap(record(s.closeTimerFired(now: at(15))))
        XCTAssertEqual(r.recordingSeconds, 0)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertEqual(s.closeTimerFired(now: at(16)), [])
    }

    func testURLFlowFetchesFirstThenRings() throws {
        var s = CallSession(callID: "c", sipCallID: "x", route: route, fromNumber: "+12025550123", toNumber: "18005963057",
                            startTime: t0, flow: nil, local: local, offer: try negotiate(typicalOffer(), local: local),
                            ringMilliseconds: 0, maxCallSeconds: 60)
        XCTAssertEqual(s.start(now: t0), [.fetchInitialDocument])
        XCTAssertEqual(s.phase, .fetching)
        let doc = try TeXMLParser.parse(Data(helloFlow.utf8), source: "https://example.com/flow")
        XCTAssertEqual(s.documentReady(doc, baseURL: "https://example.com/flow", now: at(0.3)),
                       [.respond(status: 180, sdp: nil, headers: []), .startRingTimer(milliseconds: 0)])
    }

    func testURLFlowThatCannotBeFetchedApologises() throws {
        var s = CallSession(callID: "c", sipCallID: "x", route: route, fromNumber: "+12025550123", toNumber: "18005963057",
                            startTime: t0, flow: nil, local: local, offer: try negotiate(typicalOffer(), local: local),
                            ringMilliseconds: 0, maxCallSeconds: 60)
        _ = s.start(now: t0)
        let failed = s.documentFailed("HTTP 500", now: at(1))
        XCTAssertEqual(failed.first, .log(level: "error", event: "flow.fetch_failed", detail: "HTTP 500"))
        XCTAssertTrue(failed.contains(.respond(status: 180, sdp: nil, headers: [])), "answered anyway: never dead air")
        _ = s.ringTimerFired(now: at(1))
        let ack = s.ack(contentType: nil, body: nil, now: at(1.1))
        guard case .flow(.say(let apology, _))? = ack.last else { return XCTFail("\(ack)") }
        XCTAssertTrue(apology.text.hasPrefix("We are sorry"), apology.text)
    }

    func testCallerByeCrossingOurBye() throws {
        var (s, _) = try activeSession("<Response/>")
        XCTAssertEqual(s.phase, .hangingUp)
        let r = try XCTUnwrap(record(s.byeReceived(now: at(3))))
        XCTAssertEqual(r.hangupBy, .daemon, "we hung up first")
        XCTAssertEqual(r.disposition, .completed)
    }

    func testDialogDiesBeforeAck() throws {
        var s = try session(helloFlow)
        _ = s.start(now: t0)
        _ = s.ringTimerFired(now: at(2))
        let r = try XCTUnwrap(record(s.terminated(status: 0, now: at(34))))
        XCTAssertEqual(r.disposition, .failed)
        XCTAssertEqual(r.sipCode, 408)
        XCTAssertEqual(r.hangupBy, .none)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
    }

    // MARK: - Late offer

    func testLateOfferSendsOurOfferAndAcceptsAnswerInAck() throws {
        var s = try session(helloFlow, offer: nil)
        _ = s.start(now: t0)
        let answered = s.ringTimerFired(now: at(2))
        guard case .respond(200, let sdp?, _)? = answered.first else { return XCTFail("no 200 with SDP: \(answered)") }
        XCTAssertEqual(sdp, OfferAnswer.offer(local: local))
        XCTAssertTrue(sdp.contains("m=audio 20000 RTP/AVP 0 8 9 101"), sdp)
        XCTAssertTrue(sdp.contains("a=rtpmap:101 telephone-event/8000"), sdp)

        let answerBody = sdpBody(typicalOffer(formats: "8 101", connection: "198.51.100.4", port: 40000))
        let actions = s.ack(contentType: "Application/SDP", body: answerBody, now: at(2.1))
        XCTAssertEqual(actions, [.cancelAckTimer, .configureMedia(MediaPeer(remote: UDPEndpoint(host: "198.51.100.4", port: 40000),
                                                           law: .alaw, payloadType: 8, telephoneEventPayloadType: 101,
                                                           sending: true)),
                                 .flow(.say(hello, token: 1))])
    }

    func testLateOfferAckWithoutSDPFailsTheCall() throws {
        var s = try session(helloFlow, offer: nil)
        _ = s.start(now: t0)
        _ = s.ringTimerFired(now: at(2))
        let actions = s.ack(contentType: nil, body: nil, now: at(2.1))
        XCTAssertEqual(Array(actions.prefix(2)), [.flow(.stopMedia), .sendBye])
        XCTAssertFalse(actions.contains { if case .configureMedia = $0 { true } else { false } })
        XCTAssertFalse(actions.contains { if case .flow(.say) = $0 { true } else { false } })
        let r = try XCTUnwrap(record(s.terminated(status: 200, now: at(2.3))))
        XCTAssertEqual(r.disposition, .failed)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.durationMs, 0)
        XCTAssertEqual(r.billableSeconds, 0)
    }

    func testLateOfferAckWithUnusableAnswerFailsTheCall() throws {
        for (type, body) in [("application/sdp", "garbage"), ("text/plain", sdpBody(typicalOffer())),
                             ("application/sdp", sdpBody(typicalOffer(formats: "18")))] {
            var s = try session(helloFlow, offer: nil)
            _ = s.start(now: t0)
            _ = s.ringTimerFired(now: at(2))
            XCTAssertEqual(Array(s.ack(contentType: type, body: body, now: at(2.1)).prefix(2)), [.flow(.stopMedia), .sendBye], body)
            XCTAssertEqual(try XCTUnwrap(record(s.terminated(status: 200, now: at(3)))).disposition, .failed, body)
        }
    }

    // MARK: - Re-INVITE

    func testReinviteHoldAndResume() throws {
        var (s, _) = try activeSession(helloFlow)
        let holdOffer = typicalOffer(direction: "sendonly")
        let hold = s.reInvite(contentType: "application/sdp", body: sdpBody(holdOffer))
        let v2 = LocalMedia(address: "127.0.0.1", port: 20000, sessionID: 99, sessionVersion: 2)
        let holdAnswer = try negotiate(holdOffer, local: v2).1
        XCTAssertTrue(holdAnswer.contains("a=recvonly\r\n"), holdAnswer)
        XCTAssertTrue(holdAnswer.contains("o=tollfreed 99 2 IN IP4 127.0.0.1\r\n"), holdAnswer)
        XCTAssertEqual(Array(hold.prefix(2)), [.respond(status: 200, sdp: holdAnswer, headers: []),
                                              .configureMedia(MediaPeer(remote: UDPEndpoint(host: "192.0.2.10", port: 49170),
                                                                        law: .ulaw, payloadType: 0,
                                                                        telephoneEventPayloadType: 101, sending: false))])

        let resume = s.reInvite(contentType: "application/sdp", body: sdpBody(typicalOffer(direction: "sendrecv")))
        guard case .respond(200, let sdp?, _)? = resume.first else { return XCTFail("\(resume)") }
        XCTAssertTrue(sdp.contains("a=sendrecv\r\n"), sdp)
        XCTAssertTrue(sdp.contains("o=tollfreed 99 3 "), "version increases with each change: \(sdp)")
        XCTAssertEqual(resume.dropFirst().first, .configureMedia(defaultPeer))
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(5)), [.flow(.pause(milliseconds: 1000, token: 2))], "the flow is untouched")
    }

    func testReinviteWithBadSDPIsRefusedAndTheCallContinues() throws {
        var (s, _) = try activeSession(helloFlow)
        let actions = s.reInvite(contentType: "application/sdp", body: "v=0\r\nthis is not sdp\r\n")
        XCTAssertEqual(actions.first, .respond(status: 400, sdp: nil, headers: []))
        XCTAssertFalse(actions.contains { if case .configureMedia = $0 { true } else { false } })
        XCTAssertEqual(s.phase, .active)
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(5)), [.flow(.pause(milliseconds: 1000, token: 2))])
    }

    /// Regression: refused re-INVITEs (no SDP sent) used to consume SDP versions.
    func testRefusedReinvitesDoNotBumpTheSDPVersion() throws {
        var (s, _) = try activeSession(helloFlow)
        _ = s.reInvite(contentType: "application/sdp", body: "v=0\r\nthis is not sdp\r\n")
        let g729 = ["v=0", "o=- 1 2 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                    "m=audio 49170 RTP/AVP 18", "a=rtpmap:18 G729/8000"]
        _ = s.reInvite(contentType: "application/sdp", body: sdpBody(g729))
        _ = s.reInvite(contentType: "text/plain", body: "hello")
        let ok = s.reInvite(contentType: "application/sdp", body: sdpBody(typicalOffer(direction: "sendrecv")))
        guard case .respond(200, let sdp?, _)? = ok.first else { return XCTFail("\(ok)") }
        XCTAssertTrue(sdp.contains("o=tollfreed 99 2 "), "exactly one more than the answer we last sent: \(sdp)")
    }

    /// Regression: a caller BYE while ringing (early dialog) was recorded as failed/200.
    func testCallerByeWhileRingingIsCanceled() throws {
        var s = try session(helloFlow)
        _ = s.start(now: t0)
        let actions = s.byeReceived(now: at(1))
        XCTAssertEqual(actions.first, .cancelRingTimer)
        let r = try XCTUnwrap(record(actions))
        XCTAssertEqual(r.disposition, .canceled)
        XCTAssertEqual(r.sipCode, 487)
        XCTAssertEqual(r.hangupBy, .caller)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertEqual(s.ringTimerFired(now: at(2)), [], "a late ring timer does nothing")
    }

    func testReinviteWithoutCommonCodecIs488() throws {
        var (s, _) = try activeSession(helloFlow)
        let g729 = ["v=0", "o=- 1 2 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                    "m=audio 49170 RTP/AVP 18", "a=rtpmap:18 G729/8000"]
        let actions = s.reInvite(contentType: "application/sdp", body: sdpBody(g729))
        // With the Warning of the initial INVITE's 488 (RFC 3261 21.4.26).
        XCTAssertEqual(actions.first, .respond(status: 488, sdp: nil, headers: ["Warning: 305 tollfreed \"Incompatible media format\""]))
        XCTAssertFalse(actions.contains { if case .configureMedia = $0 { true } else { false } })
        XCTAssertEqual(s.negotiated?.codec, .pcmu, "old media kept")
        XCTAssertEqual(s.phase, .active)
    }

    func testReinviteWithWrongContentTypeIs415() throws {
        var (s, _) = try activeSession(helloFlow)
        XCTAssertEqual(s.reInvite(contentType: "text/plain", body: "hello"),
                       [.respond(status: 415, sdp: nil, headers: ["Accept: application/sdp"])])
    }

    func testReinviteWhileRingingIs491() throws {
        var s = try session(helloFlow)
        _ = s.start(now: t0)
        XCTAssertEqual(s.reInvite(contentType: "application/sdp", body: sdpBody(typicalOffer())),
                       [.respond(status: 491, sdp: nil, headers: [])])
    }

    func testReinviteWithoutSDPTakesAnswerFromAck() throws {
        var (s, _) = try activeSession(helloFlow)
        let actions = s.reInvite(contentType: nil, body: nil)
        guard case .respond(200, let offer?, _)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(offer.contains("m=audio 20000 RTP/AVP 0 8 9 101"), offer)
        XCTAssertTrue(offer.contains("o=tollfreed 99 2 "), offer)
        let answer = sdpBody(typicalOffer(formats: "8", connection: "198.51.100.9", port: 41000, direction: "recvonly"))
        XCTAssertEqual(s.ack(contentType: "application/sdp", body: answer, now: at(6)),
                       [.configureMedia(MediaPeer(remote: UDPEndpoint(host: "198.51.100.9", port: 41000), law: .alaw,
                                                  payloadType: 8, telephoneEventPayloadType: nil, sending: true))])
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(7)), [.flow(.pause(milliseconds: 1000, token: 2))])
    }

    // MARK: - Timers and shutdown

    func testShutdownWhileRinging() throws {
        var s = try session(helloFlow)
        _ = s.start(now: t0)
        let actions = s.shutdown(now: at(1))
        XCTAssertEqual(Array(actions.prefix(2)), [.cancelRingTimer, .respond(status: 503, sdp: nil, headers: ["Retry-After: 30"])])
        let r = try XCTUnwrap(record(actions))
        XCTAssertEqual(r.sipCode, 503)
        XCTAssertEqual(r.disposition, .failed)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(s.shutdown(now: at(2)), [])
    }

    func testShutdownWhileActiveSendsBye() throws {
        var (s, _) = try activeSession(helloFlow)
        XCTAssertEqual(Array(s.shutdown(now: at(5)).prefix(2)), [.flow(.stopMedia), .sendBye])
        XCTAssertEqual(s.shutdown(now: at(6)), [], "already hanging up")
        let r = try XCTUnwrap(record(s.terminated(status: 200, now: at(5.2))))
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.billableSeconds, 4)
    }

    func testDurationExceededSendsBye() throws {
        var (s, _) = try activeSession(helloFlow)
        XCTAssertEqual(s.durationExceeded(now: at(3602)),
                       [.flow(.stopMedia), .sendBye, .log(level: "info", event: "call.hangup", detail: "maximum call duration reached")])
        XCTAssertEqual(s.durationExceeded(now: at(3603)), [])
        XCTAssertEqual(s.mediaFinished(token: 1, now: at(3603)), [], "no flow while hanging up")
        let r = try XCTUnwrap(record(s.terminated(status: 200, now: at(3602.4))))
        XCTAssertEqual(r.disposition, .completed)
        XCTAssertEqual(r.hangupBy, .daemon)
        XCTAssertEqual(r.billableSeconds, 3601)
    }
}
