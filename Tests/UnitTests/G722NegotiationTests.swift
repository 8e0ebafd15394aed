@testable import Signaling
import XCTest

/// G.722 in offer/answer (issue 17, item 4): chosen only when it is the offerer's first
/// codec we speak, `G722/8000` on static payload type 9 (RFC 3551).
final class G722NegotiationTests: XCTestCase {
    private let local = LocalMedia(address: "203.0.113.5", port: 20000, sessionID: 4242, sessionVersion: 7)

    private func offer(_ formats: String, maps: [String] = ["a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000",
                                                              "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"]) -> String {
        (["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP \(formats)"] + maps)
            .joined(separator: "\r\n") + "\r\n"
    }

    private func answer(_ body: String) throws -> Result<(NegotiatedAudio, String), NegotiationFailure> {
        OfferAnswer.answer(try SDPParser.parse(body), local: local)
    }

    func testG722FirstIsChosenAndAnsweredOnPayloadType9() throws {
        let (n, sdp) = try answer(offer("9 0 8 101")).get()
        XCTAssertEqual(n.codec, .g722)
        XCTAssertEqual(n.payloadType, 9)
        XCTAssertEqual(n.telephoneEventPayloadType, 101)
        let lines = sdp.components(separatedBy: "\r\n")
        XCTAssertTrue(lines.contains("m=audio 20000 RTP/AVP 9 101"), sdp)
        XCTAssertTrue(lines.contains("a=rtpmap:9 G722/8000"), "the RTP clock stays 8000 (RFC 3551): \(sdp)")
        XCTAssertFalse(sdp.contains("PCMU"), sdp)
    }

    func testG722AfterG711IsNotChosen() throws {
        XCTAssertEqual(try answer(offer("0 9 8 101")).get().0.codec, .pcmu)
        XCTAssertEqual(try answer(offer("8 9 101")).get().0.codec, .pcma)
    }

    func testStaticPayloadType9WithoutRtpmapIsG722() throws {
        let (n, _) = try answer(offer("9 0", maps: [])).get()
        XCTAssertEqual(n.codec, .g722)
        XCTAssertEqual(AudioCodec.g722.staticPayloadType, 9)
    }

    func testG722UnderADynamicPayloadTypeIsAnsweredWithIt() throws {
        let (n, sdp) = try answer(offer("96 0", maps: ["a=rtpmap:96 G722/8000"])).get()
        XCTAssertEqual(n.codec, .g722)
        XCTAssertEqual(n.payloadType, 96)
        XCTAssertTrue(sdp.contains("a=rtpmap:96 G722/8000"), sdp)
    }

    /// `G722/16000` contradicts RFC 3551 (and a peer that says it would stamp 320 per 20 ms
    /// where we stamp 160): skipped, so the next codec is taken, or none.
    func testG722AtAnotherClockRateOrInStereoIsSkipped() throws {
        XCTAssertEqual(try answer(offer("9 0", maps: ["a=rtpmap:9 G722/16000", "a=rtpmap:0 PCMU/8000"])).get().0.codec, .pcmu)
        XCTAssertEqual(try answer(offer("9 8", maps: ["a=rtpmap:9 G722/8000/2"])).get().0.codec, .pcma)
        guard case .failure(.noCommonCodec(let why)) = try answer(offer("9", maps: ["a=rtpmap:9 G722/16000"])) else {
            return XCTFail("a G722/16000-only offer has no common codec")
        }
        XCTAssertTrue(why.contains("no PCMU, PCMA or G722"), why)
    }

    func testMalformedG722RtpmapIsRefused() {
        XCTAssertThrowsError(try SDPParser.parse(offer("9", maps: ["a=rtpmap:9 G722"])))
        XCTAssertThrowsError(try SDPParser.parse(offer("9", maps: ["a=rtpmap:9 G722/zero"])))
    }

    func testAnswerToOurOfferMayChooseG722() throws {
        let theirs = try SDPParser.parse(offer("9 101", maps: ["a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"]))
        let n = try OfferAnswer.acceptAnswer(theirs, local: local).get()
        XCTAssertEqual(n.codec, .g722)
        XCTAssertEqual(n.payloadType, 9)
    }
}
