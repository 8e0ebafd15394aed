@testable import Signaling
import XCTest

/// SDP with `c=IN IP6`: parsing the address type, which IPv6 addresses RTP can go to,
/// answers and offers in IPv6, and no negotiation across families.
final class OfferAnswerIPv6Tests: XCTestCase {
    private let local6 = LocalMedia(address: "2001:db8::5", port: 20002, sessionID: 9, sessionVersion: 1)
    private let local4 = LocalMedia(address: "203.0.113.5", port: 20000, sessionID: 9, sessionVersion: 1)

    private func offer(_ c: String, extra: [String] = []) throws -> SessionDescription {
        try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", c, "t=0 0", "m=audio 4000 RTP/AVP 0 101",
                                     "a=rtpmap:101 telephone-event/8000"] + extra))
    }

    func testTheParserKeepsEachConnectionsAddressType() throws {
        let sdp = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                                               "m=audio 4000 RTP/AVP 0", "c=IN IP6 2001:db8::9", "m=audio 4002 RTP/AVP 0"]))
        XCTAssertEqual(sdp.connectionType, .ip4)
        XCTAssertEqual(sdp.media[0].connectionType, .ip6)
        XCTAssertEqual(sdp.media[0].connectionAddress, "2001:db8::9")
        XCTAssertNil(sdp.media[1].connectionType)
        XCTAssertThrowsError(try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP5 ::1", "t=0 0"])))
        XCTAssertThrowsError(try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN ip6 ::1", "t=0 0"])))
    }

    func testAnIPv6OfferIsAnsweredInIPv6() throws {
        guard case .success(let (n, answer)) = OfferAnswer.answer(try offer("c=IN IP6 2001:DB8::1"), local: local6) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(n.remoteAddress, "2001:DB8::1")
        XCTAssertEqual(n.addressType, .ip6)
        XCTAssertEqual(n.telephoneEventPayloadType, 101)
        XCTAssertTrue(answer.contains("o=tollfreed 9 1 IN IP6 2001:db8::5\r\n"), answer)
        XCTAssertTrue(answer.contains("c=IN IP6 2001:db8::5\r\n"), answer)
        XCTAssertTrue(answer.contains("m=audio 20002 RTP/AVP 0 101\r\n"), answer)
        // a=rtcp with an address: the port is taken, the address ignored as for IPv4.
        guard case .success(let (rtcp, _)) = OfferAnswer.answer(try offer("c=IN IP6 2001:db8::1", extra: ["a=rtcp:4011 IN IP6 2001:db8::2"]),
                                                                local: local6) else { return XCTFail("refused") }
        XCTAssertEqual(rtcp.remoteRTCPPort, 4011)
    }

    func testIPv6HoldIsHoldInEitherFamily() throws {
        guard case .success(let (n, _)) = OfferAnswer.answer(try offer("c=IN IP6 ::"), local: local6) else { return XCTFail("refused") }
        XCTAssertNil(n.remoteAddress)
        // An old phone's c=0.0.0.0 hold in an IPv6 call's re-INVITE is still a hold.
        guard case .success(let (h, _)) = OfferAnswer.answer(try offer("c=IN IP4 0.0.0.0"), local: local6) else { return XCTFail("refused") }
        XCTAssertNil(h.remoteAddress)
    }

    func testUnusableIPv6AddressesAreRefusedWithWarning301() throws {
        for address in ["ff02::1", "ff0e::101", "fe80::1", "febf::1", "fe80::1%eth0", "::ffff:192.0.2.1", "2001:db8::zz",
                        "192.0.2.1", "[2001:db8::1]", "host.example.com", "2001:db8:0:0:0:0:0:0:1"] {
            let result = OfferAnswer.answer(try offer("c=IN IP6 \(address)"), local: local6)
            XCTAssertEqual(result.failureValue, .unusableAddress(address), address)
            XCTAssertEqual(result.failureValue?.warningHeader, "Warning: 301 tollfreed \"Incompatible network address format\"")
        }
        XCTAssertTrue(isUsableIPv6Unicast("::1"))
        XCTAssertTrue(isUsableIPv6Unicast("fec0::1"), "site-local is past fe80::/10")
        XCTAssertTrue(isUsableIPv6Unicast("2001:db8::1"))
        XCTAssertFalse(isUsableIPv6Unicast(String(repeating: "1", count: 46)))
    }

    func testNoNegotiationAcrossFamilies() throws {
        let v6 = OfferAnswer.answer(try offer("c=IN IP6 2001:db8::1"), local: local4)
        XCTAssertEqual(v6.failureValue, .otherFamily(.ip6))
        XCTAssertEqual(v6.failureValue?.warningHeader, "Warning: 301 tollfreed \"Incompatible network address format\"")
        XCTAssertEqual(OfferAnswer.answer(try offer("c=IN IP4 192.0.2.1"), local: local6).failureValue, .otherFamily(.ip4))
        let answer6 = try offer("c=IN IP6 2001:db8::1")
        XCTAssertEqual(OfferAnswer.acceptAnswer(answer6, local: local4).failureValue, .otherFamily(.ip6))
        guard case .success(let n) = OfferAnswer.acceptAnswer(answer6, local: local6) else { return XCTFail("refused") }
        XCTAssertEqual(n.remoteAddress, "2001:db8::1")
    }

    func testTheOffersFamilyIsThatOfTheStreamTheAnswerPicks() throws {
        let two = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                                               "m=audio 0 RTP/AVP 0",
                                               "m=audio 4000 RTP/AVP 18", "c=IN IP4 192.0.2.2",
                                               "m=audio 4002 RTP/AVP 8", "c=IN IP6 2001:db8::3"]))
        XCTAssertEqual(OfferAnswer.addressType(of: two), .ip6, "the first active stream with G.711")
        guard case .success(let (n, _)) = OfferAnswer.answer(two, local: local6) else { return XCTFail("refused") }
        XCTAssertEqual(n.remoteAddress, "2001:db8::3")
        let none = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"]))
        XCTAssertEqual(OfferAnswer.addressType(of: none), .ip4, "no c= at all")
        let video = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP6 ::1", "t=0 0", "m=video 4000 RTP/AVP 31"]))
        XCTAssertNil(OfferAnswer.addressType(of: video))
    }

    func testOurOfferInIPv6() {
        let sdp = OfferAnswer.offer(local: local6)
        XCTAssertTrue(sdp.contains("c=IN IP6 2001:db8::5\r\n"), sdp)
        XCTAssertTrue(sdp.contains("o=tollfreed 9 1 IN IP6 2001:db8::5\r\n"), sdp)
        XCTAssertEqual(local6.addressType, .ip6)
        XCTAssertEqual(local4.addressType, .ip4)
    }
}
