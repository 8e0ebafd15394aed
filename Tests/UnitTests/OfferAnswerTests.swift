@testable import Signaling
import XCTest

final class OfferAnswerTests: XCTestCase {
    private let local = LocalMedia(address: "203.0.113.5", port: 20000, sessionID: 4242, sessionVersion: 7)

    private func answer(_ lines: [String], file: StaticString = #filePath, line: UInt = #line)
        throws -> (NegotiatedAudio, String) {
        let offer = try SDPParser.parse(sdpBody(lines))
        switch OfferAnswer.answer(offer, local: local) {
        case .success(let r): return r
        case .failure(let f):
            XCTFail("unexpected failure \(f)", file: file, line: line)
            throw f
        }
    }

    private func failure(_ lines: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let offer = try SDPParser.parse(sdpBody(lines))
        switch OfferAnswer.answer(offer, local: local) {
        case .success(let (n, _)):
            XCTFail("expected failure, negotiated \(n)", file: file, line: line)
            return nil
        case .failure(.noCommonCodec(let why)):
            return why
        case .failure(.unusableAddress(let address)):
            return "unusable address \(address)"
        case .failure(.otherFamily(let type)):
            return "other family \(type.rawValue)"
        }
    }

    // MARK: - Media addresses

    /// An answer to an address we cannot send RTP to would be a call billed with no audio.
    func testUnusableMediaAddressesAreRefused() throws {
        for c in ["c=IN IP4 ::1", "c=IN IP4 999.999.1.1", "c=IN IP4 localhost", "c=IN IP4 239.1.2.3/64",
                  "c=IN IP4 255.255.255.255", "c=IN IP4 10.0.0"] {
            let why = try failure(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", c, "t=0 0", "m=audio 4000 RTP/AVP 0"])
            XCTAssertEqual(why?.hasPrefix("unusable address"), true, "\(c): \(why ?? "")")
        }
        // IPv6 to a call whose media address is IPv4 (OfferAnswerIPv6Tests for the rest).
        XCTAssertEqual(try failure(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0", "m=audio 4000 RTP/AVP 0"]),
                       "other family IP6")
        // Hold (0.0.0.0) and an ordinary unicast address are fine.
        for c in ["c=IN IP4 0.0.0.0", "c=IN IP4 192.0.2.7"] {
            let offer = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", c, "t=0 0", "m=audio 4000 RTP/AVP 0"]))
            guard case .success = OfferAnswer.answer(offer, local: local) else { return XCTFail(c) }
        }
    }

    /// RFC 4475 3.1.2 (wsinv): a declined video stream may map a format without a clock
    /// rate; the audio stream is still answered.
    func testDeclinedVideoStreamWithAnOddRtpmapDoesNotRejectTheCall() throws {
        let offer = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                                                 "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000",
                                                 "m=video 3227 RTP/AVP 31", "a=rtpmap:31 LPC"]))
        guard case .success(let (_, answer)) = OfferAnswer.answer(offer, local: local) else { return XCTFail("no answer") }
        XCTAssertTrue(answer.contains("m=video 0 RTP/AVP 31"), answer)
    }

    private func lines(_ text: String) -> [String] {
        XCTAssertTrue(text.hasSuffix("\r\n"), "SDP must end in CRLF")
        return text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    // MARK: - Codec choice

    func testFirstG711InOfferersOrderPCMAFirst() throws {
        let (n, sdp) = try answer(typicalOffer(formats: "8 0 101"))
        XCTAssertEqual(n.codec, .pcma)
        XCTAssertEqual(n.payloadType, 8)
        XCTAssertTrue(lines(sdp).contains("m=audio 20000 RTP/AVP 8 101"), sdp)
        XCTAssertTrue(lines(sdp).contains("a=rtpmap:8 PCMA/8000"), sdp)
        XCTAssertFalse(lines(sdp).contains("a=rtpmap:0 PCMU/8000"), "only the chosen codec is answered")
    }

    func testFirstG711InOfferersOrderPCMUFirst() throws {
        let (n, _) = try answer(typicalOffer(formats: "0 8 101"))
        XCTAssertEqual(n.codec, .pcmu)
        XCTAssertEqual(n.payloadType, 0)
    }

    func testStaticPayloadTypesWithoutRtpmap() throws {
        let (n, _) = try answer(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                                 "m=audio 4000 RTP/AVP 18 8"])
        XCTAssertEqual(n.codec, .pcma)
        XCTAssertEqual(n.payloadType, 8)
        XCTAssertNil(n.telephoneEventPayloadType)
    }

    func testDynamicPayloadTypeForPCMU() throws {
        let (n, sdp) = try answer(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                                   "m=audio 4000 RTP/AVP 18 97", "a=rtpmap:18 G729/8000", "a=rtpmap:97 pcmu/8000"])
        XCTAssertEqual(n.codec, .pcmu)
        XCTAssertEqual(n.payloadType, 97)
        XCTAssertTrue(lines(sdp).contains("a=rtpmap:97 PCMU/8000"), sdp)
        XCTAssertTrue(lines(sdp).contains("m=audio 20000 RTP/AVP 97"), sdp)
    }

    func testPCMUAtWrongClockRateIsSkipped() throws {
        let (n, _) = try answer(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                                 "m=audio 4000 RTP/AVP 96 8", "a=rtpmap:96 PCMU/16000"])
        XCTAssertEqual(n.codec, .pcma)
        XCTAssertEqual(n.payloadType, 8)
    }

    // MARK: - telephone-event

    func testTelephoneEventEchoedWithOffersPayloadType() throws {
        let offer = ["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                     "m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"]
        let (n, sdp) = try answer(offer)
        XCTAssertEqual(n.telephoneEventPayloadType, 96)
        let l = lines(sdp)
        XCTAssertTrue(l.contains("m=audio 20000 RTP/AVP 0 96"), sdp)
        XCTAssertTrue(l.contains("a=rtpmap:96 telephone-event/8000"), sdp)
        XCTAssertTrue(l.contains("a=fmtp:96 0-16"), sdp)
        XCTAssertFalse(l.contains { $0.contains("101") }, sdp)
    }

    func testTelephoneEventOmittedWhenNotOffered() throws {
        let (n, sdp) = try answer(typicalOffer(formats: "0 8"))
        XCTAssertNil(n.telephoneEventPayloadType)
        XCTAssertFalse(sdp.contains("telephone-event"), sdp)
        XCTAssertFalse(sdp.contains("fmtp"), sdp)
        XCTAssertTrue(lines(sdp).contains("m=audio 20000 RTP/AVP 0"), sdp)
    }

    // MARK: - Direction and address

    func testDirections() throws {
        let cases: [(String?, MediaDirection)] = [
            (nil, .sendrecv), ("sendrecv", .sendrecv), ("sendonly", .recvonly),
            ("recvonly", .sendonly), ("inactive", .inactive),
        ]
        for (offered, expected) in cases {
            let (n, sdp) = try answer(typicalOffer(direction: offered))
            XCTAssertEqual(n.localDirection, expected, "offer \(offered ?? "none")")
            XCTAssertEqual(lines(sdp).last, "a=\(expected.rawValue)", "offer \(offered ?? "none")")
        }
    }

    func testSessionLevelDirectionApplies() throws {
        var offer = typicalOffer()
        offer.insert("a=sendonly", at: 5) // before m=
        let (n, _) = try answer(offer)
        XCTAssertEqual(n.localDirection, .recvonly)
    }

    func testRemoteAddressAndPort() throws {
        let (n, _) = try answer(typicalOffer(connection: "198.51.100.20", port: 31000))
        XCTAssertEqual(n.remoteAddress, "198.51.100.20")
        XCTAssertEqual(n.remotePort, 31000)
        XCTAssertEqual(n.ptime, 20)
    }

    func testMediaLevelConnectionWinsOverSessionLevel() throws {
        var offer = typicalOffer(connection: "192.0.2.10")
        offer.insert("c=IN IP4 198.51.100.99", at: 6) // right after m=
        let (n, _) = try answer(offer)
        XCTAssertEqual(n.remoteAddress, "198.51.100.99")
    }

    func testHoldAddressGivesNilRemote() throws {
        let (n, _) = try answer(typicalOffer(connection: "0.0.0.0"))
        XCTAssertNil(n.remoteAddress)
        XCTAssertEqual(n.remotePort, 49170)
    }

    // MARK: - Other streams and failures

    func testVideoStreamDeclinedWithPortZero() throws {
        let offer = typicalOffer() + ["m=video 49172 RTP/AVP 31 34", "a=rtpmap:31 H261/90000"]
        let (n, sdp) = try answer(offer)
        XCTAssertEqual(n.codec, .pcmu)
        let mLines = lines(sdp).filter { $0.hasPrefix("m=") }
        XCTAssertEqual(mLines, ["m=audio 20000 RTP/AVP 0 101", "m=video 0 RTP/AVP 31"])
    }

    func testVideoFirstKeepsOfferOrder() throws {
        let offer = ["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                     "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 4000 RTP/AVP 8"]
        let (n, sdp) = try answer(offer)
        XCTAssertEqual(n.codec, .pcma)
        XCTAssertEqual(lines(sdp).filter { $0.hasPrefix("m=") }, ["m=video 0 RTP/AVP 96", "m=audio 20000 RTP/AVP 8"])
    }

    func testSecondAudioStreamIsDeclined() throws {
        let offer = typicalOffer(formats: "0") + ["m=audio 49180 RTP/AVP 8"]
        let (n, sdp) = try answer(offer)
        XCTAssertEqual(n.remotePort, 49170)
        XCTAssertEqual(lines(sdp).filter { $0.hasPrefix("m=") }, ["m=audio 20000 RTP/AVP 0", "m=audio 0 RTP/AVP 8"])
    }

    func testG729OnlyHasNoCommonCodec() throws {
        let why = try failure(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                               "m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000"])
        XCTAssertEqual(why?.contains("no PCMU, PCMA or G722"), true, why ?? "")
    }

    func testSecureProfileOnlyFails() throws {
        let why = try failure(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                               "m=audio 4000 RTP/SAVP 0 8"])
        XCTAssertEqual(why?.contains("RTP/SAVP"), true, why ?? "")
    }

    func testAudioPortZeroFails() throws {
        let why = try failure(typicalOffer(port: 0))
        XCTAssertEqual(why?.contains("port 0"), true, why ?? "")
    }

    func testNoAudioStreamFails() throws {
        let why = try failure(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "t=0 0", "m=video 5000 RTP/AVP 31"])
        XCTAssertEqual(why, "no audio stream")
    }

    func testAVPFIsAccepted() throws {
        let (n, sdp) = try answer(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
                                   "m=audio 4000 RTP/AVPF 0"])
        XCTAssertEqual(n.codec, .pcmu)
        XCTAssertTrue(sdp.contains("m=audio 20000 RTP/AVP 0\r\n"), sdp)
    }

    // MARK: - Answer text

    func testAnswerTextHeaderAndAudioSection() throws {
        let (_, sdp) = try answer(typicalOffer())
        XCTAssertEqual(lines(sdp), [
            "v=0",
            "o=tollfreed 4242 7 IN IP4 203.0.113.5",
            "s=tollfreed",
            "c=IN IP4 203.0.113.5",
            "t=0 0",
            "m=audio 20000 RTP/AVP 0 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ])
        // The answer must itself be valid SDP.
        let reparsed = try SDPParser.parse(sdp)
        XCTAssertEqual(reparsed.connectionAddress, "203.0.113.5")
        XCTAssertEqual(reparsed.media.first?.port, 20000)
    }

    func testIPv6LocalAddressUsesIP6() throws {
        let local6 = LocalMedia(address: "2001:db8::5", port: 20002, sessionID: 1)
        // An IPv6 call answers an IPv6 offer (an IPv4 one: OfferAnswerIPv6Tests).
        let offer = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0",
                                                 "m=audio 49170 RTP/AVP 0"]))
        guard case .success(let (_, sdp)) = OfferAnswer.answer(offer, local: local6) else { return XCTFail("no answer") }
        XCTAssertTrue(sdp.contains("o=tollfreed 1 1 IN IP6 2001:db8::5\r\n"), sdp)
        XCTAssertTrue(sdp.contains("c=IN IP6 2001:db8::5\r\n"), sdp)
    }

    // MARK: - Late offer

    func testOurOffer() throws {
        let text = OfferAnswer.offer(local: local)
        let l = lines(text)
        XCTAssertTrue(l.contains("o=tollfreed 4242 7 IN IP4 203.0.113.5"), text)
        XCTAssertTrue(l.contains("m=audio 20000 RTP/AVP 0 8 9 101"), text)
        XCTAssertTrue(l.contains("a=rtpmap:9 G722/8000"), text)
        XCTAssertTrue(l.contains("a=rtpmap:0 PCMU/8000"), text)
        XCTAssertTrue(l.contains("a=rtpmap:8 PCMA/8000"), text)
        XCTAssertTrue(l.contains("a=rtpmap:101 telephone-event/8000"), text)
        XCTAssertTrue(l.contains("a=sendrecv"), text)
        let sdp = try SDPParser.parse(text)
        XCTAssertEqual(sdp.media.first?.formats, ["0", "8", "9", "101"])
    }

    func testAcceptAnswer() throws {
        let answer = try SDPParser.parse(sdpBody(typicalOffer(formats: "8 101", connection: "198.51.100.4", port: 40000)))
        guard case .success(let n) = OfferAnswer.acceptAnswer(answer, local: local) else { return XCTFail("answer refused") }
        var expected = NegotiatedAudio(codec: .pcma, payloadType: 8, telephoneEventPayloadType: 101,
                                       remoteAddress: "198.51.100.4", remotePort: 40000,
                                       localDirection: .sendrecv, ptime: 20)
        expected.remoteRTCPPort = 40001
        XCTAssertEqual(n, expected)
    }

    func testAcceptAnswerDirectionAndHold() throws {
        let answer = try SDPParser.parse(sdpBody(typicalOffer(formats: "0", connection: "0.0.0.0", direction: "recvonly")))
        guard case .success(let n) = OfferAnswer.acceptAnswer(answer, local: local) else { return XCTFail("answer refused") }
        XCTAssertNil(n.remoteAddress)
        XCTAssertEqual(n.localDirection, .sendonly)
        XCTAssertEqual(n.codec, .pcmu)
    }

    /// Regression: an IPv6 hold address "::" in an answer was taken as a peer address.
    func testAcceptAnswerIPv6HoldAddress() throws {
        let lines = ["v=0", "o=- 1 1 IN IP6 ::", "s=-", "c=IN IP6 ::", "t=0 0", "m=audio 4000 RTP/AVP 0"]
        guard case .success(let n) = OfferAnswer.acceptAnswer(try SDPParser.parse(sdpBody(lines)), local: local) else {
            return XCTFail("answer refused")
        }
        XCTAssertNil(n.remoteAddress)
    }

    func testAcceptAnswerRejectsDisabledOrForeignCodec() throws {
        let disabled = try SDPParser.parse(sdpBody(typicalOffer(formats: "0", port: 0)))
        XCTAssertEqual(OfferAnswer.acceptAnswer(disabled, local: local).failureValue != nil, true)
        let g729 = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10",
                                                "t=0 0", "m=audio 4000 RTP/AVP 18"]))
        XCTAssertEqual(OfferAnswer.acceptAnswer(g729, local: local).failureValue != nil, true)
    }

    func testStaticPayloadTypes() {
        XCTAssertEqual(G711Codec.pcmu.staticPayloadType, 0)
        XCTAssertEqual(G711Codec.pcma.staticPayloadType, 8)
    }

    // MARK: - RTCP

    /// RTCP goes to RTP port + 1 by default, to `a=rtcp:PORT` when given, and to the RTP
    /// port itself when the offer has `a=rtcp-mux`, which the answer then repeats.
    func testRTCPPortAndMultiplexing() throws {
        let base = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/AVP 0"]
        let (plain, plainSDP) = try answer(base)
        XCTAssertFalse(plain.rtcpMux)
        XCTAssertEqual(plain.remoteRTCPPort, 4001)
        XCTAssertFalse(plainSDP.contains("rtcp-mux"))
        let (explicit, _) = try answer(base + ["a=rtcp:5005 IN IP4 192.0.2.1"])
        XCTAssertEqual(explicit.remoteRTCPPort, 5005)
        let (bad, _) = try answer(base + ["a=rtcp:99999"])
        XCTAssertEqual(bad.remoteRTCPPort, 4001, "an impossible port is ignored")
        let (mux, muxSDP) = try answer(base + ["a=rtcp-mux"])
        XCTAssertTrue(mux.rtcpMux)
        XCTAssertEqual(mux.remoteRTCPPort, 4000)
        XCTAssertTrue(muxSDP.contains("a=rtcp-mux\r\n"), muxSDP)
        // We never offer mux, so an answer claiming it is not taken (RFC 5761 5.1.1).
        let answerSDP = try SDPParser.parse(sdpBody(base + ["a=rtcp-mux"]))
        guard case .success(let accepted) = OfferAnswer.acceptAnswer(answerSDP, local: local) else { return XCTFail("answer refused") }
        XCTAssertFalse(accepted.rtcpMux)
        XCTAssertEqual(accepted.remoteRTCPPort, 4001)
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
