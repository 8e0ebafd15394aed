@testable import Signaling
import Foundation
import XCTest

/// SDES (RFC 4568) in SDP and in offer/answer under each SRTP policy.
final class SDESTests: XCTestCase {
    private let theirKey = Array(0..<30).map { UInt8($0) }
    private let ourKey = Array(100..<130).map { UInt8($0) }
    private var theirInline: String { Data(theirKey).base64EncodedString() }

    private func local(_ policy: SRTPPolicy) -> LocalMedia {
        LocalMedia(address: "203.0.113.5", port: 20000, sessionID: 1, srtp: policy, srtpKey: ourKey)
    }

    private func offer(_ proto: String, _ crypto: [String]) throws -> SessionDescription {
        try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                                     "m=audio 4000 \(proto) 0 101", "a=rtpmap:101 telephone-event/8000"] + crypto))
    }

    private func negotiate(_ proto: String, _ crypto: [String], _ policy: SRTPPolicy) throws -> Result<(NegotiatedAudio, String), NegotiationFailure> {
        OfferAnswer.answer(try offer(proto, crypto), local: local(policy))
    }

    func testCryptoLinesParse() throws {
        let c = try XCTUnwrap(SDESCrypto.parse("1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)|2^20"))
        XCTAssertEqual(c.tag, 1)
        XCTAssertEqual(c.suite, "AES_CM_128_HMAC_SHA1_80")
        XCTAssertEqual(c.key, theirKey)
        XCTAssertFalse(c.unsupported)
        XCTAssertFalse(try XCTUnwrap(SDESCrypto.parse("7 AES_CM_128_HMAC_SHA1_32 inline:\(theirInline)|1048576 KDR=0")).unsupported)
        // An MKI, a second key, a weakening session parameter or a short key: parsed, never chosen.
        for line in ["1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)|2^20|1:4",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline);inline:\(theirInline)",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline) UNENCRYPTED_SRTP",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:\(Data(theirKey.prefix(16)).base64EncodedString())"] {
            XCTAssertTrue(try XCTUnwrap(SDESCrypto.parse(Substring(line)), line).unsupported, line)
        }
        // Not crypto lines at all: ignored.
        for line in ["", "1", "x AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)", "1 AES_CM_128_HMAC_SHA1_80 key:\(theirInline)",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", "1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)|2^99",
                     "1234567890 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)"] {
            XCTAssertNil(SDESCrypto.parse(Substring(line)), line)
        }
    }

    func testTooManyCryptoLinesAreRefused() {
        let lines = (1...17).map { "a=crypto:\($0) AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)" }
        XCTAssertThrowsError(try offer("RTP/SAVP", lines)) { XCTAssertTrue("\($0)".contains("a=crypto"), "\($0)") }
    }

    func testASecureOfferIsAnsweredWithOurKeyUnderItsTag() throws {
        let lines = ["a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:\(Data(Array(repeating: 1, count: 46)).base64EncodedString())",
                     "a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:\(theirInline)",
                     "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)"]
        for policy in [SRTPPolicy.offer, .require] {
            guard case .success(let (n, sdp)) = try negotiate("RTP/SAVP", lines, policy) else { return XCTFail("\(policy) refused") }
            // The offerer's first usable line wins: tag 4, the 32-bit tag.
            XCTAssertEqual(n.crypto, NegotiatedCrypto(suite: "AES_CM_128_HMAC_SHA1_32", tag: 4, localKey: ourKey, remoteKey: theirKey))
            XCTAssertTrue(sdp.contains("m=audio 20000 RTP/SAVP 0 101\r\n"), sdp)
            XCTAssertTrue(sdp.contains("a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:\(Data(ourKey).base64EncodedString())\r\n"), sdp)
            XCTAssertEqual(sdp.components(separatedBy: "a=crypto:").count, 2, "one crypto line")
        }
    }

    func testPoliciesDecideWhatIsRefused() throws {
        let keys = ["a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)"]
        // off: a secure-only offer is refused; keys in RTP/AVP are ignored (plain answer).
        XCTAssertEqual(try negotiate("RTP/SAVP", keys, .off).failureValue, .noCommonCodec("RTP/SAVP offered and SRTP is off here"))
        guard case .success(let (plain, sdp)) = try negotiate("RTP/AVP", keys, .off) else { return XCTFail() }
        XCTAssertNil(plain.crypto)
        XCTAssertFalse(sdp.contains("a=crypto"), sdp)
        // offer: plain offers stay plain; keys in RTP/AVP (best-effort SRTP) are taken.
        guard case .success(let (p2, _)) = try negotiate("RTP/AVP", [], .offer) else { return XCTFail() }
        XCTAssertNil(p2.crypto)
        guard case .success(let (s2, sdp2)) = try negotiate("RTP/AVP", keys, .offer) else { return XCTFail() }
        XCTAssertNotNil(s2.crypto)
        XCTAssertTrue(sdp2.contains("RTP/AVP 0 101"), sdp2)
        // require: a plain offer gets 488.
        XCTAssertEqual(try negotiate("RTP/AVP", [], .require).failureValue,
                       .noCommonCodec("SRTP is required and the offer has no a=crypto"))
        // No suite in common: 488 naming what was offered.
        let foreign = ["a=crypto:1 AEAD_AES_256_GCM inline:\(Data(Array(repeating: 2, count: 44)).base64EncodedString())"]
        XCTAssertEqual(try negotiate("RTP/SAVP", foreign, .offer).failureValue,
                       .noCommonCodec("no crypto suite matches (offered: AEAD_AES_256_GCM)"))
        // Unusable keys in RTP/AVP under offer: plain, as a peer without SRTP would be.
        guard case .success(let (p3, _)) = try negotiate("RTP/AVP", foreign, .offer) else { return XCTFail() }
        XCTAssertNil(p3.crypto)
    }

    func testOurOffersAndTheAnswersToThem() throws {
        let plain = OfferAnswer.offer(local: local(.off))
        XCTAssertFalse(plain.contains("a=crypto"), plain)
        let optional = OfferAnswer.offer(local: local(.offer))
        XCTAssertTrue(optional.contains("m=audio 20000 RTP/AVP 0 8 9 101"), optional)
        XCTAssertTrue(optional.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\(Data(ourKey).base64EncodedString())"), optional)
        XCTAssertTrue(optional.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), optional)
        XCTAssertTrue(OfferAnswer.offer(local: local(.require)).contains("m=audio 20000 RTP/SAVP 0 8 9 101"))

        func answer(_ proto: String, _ crypto: [String]) throws -> SessionDescription {
            try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0",
                                         "m=audio 5000 \(proto) 0"] + crypto))
        }
        let chose2 = try answer("RTP/SAVP", ["a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:\(theirInline)"])
        guard case .success(let n) = OfferAnswer.acceptAnswer(chose2, local: local(.require)) else { return XCTFail() }
        XCTAssertEqual(n.crypto, NegotiatedCrypto(suite: "AES_CM_128_HMAC_SHA1_32", tag: 2, localKey: ourKey, remoteKey: theirKey))
        // A tag we offered with another suite, or one we never offered: refused.
        let wrongSuite = try answer("RTP/SAVP", ["a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:\(theirInline)"])
        XCTAssertNotNil(OfferAnswer.acceptAnswer(wrongSuite, local: local(.offer)).failureValue)
        let unknownTag = try answer("RTP/SAVP", ["a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:\(theirInline)"])
        XCTAssertNotNil(OfferAnswer.acceptAnswer(unknownTag, local: local(.offer)).failureValue)
        // A plain answer: fine when we only offered SRTP, a failure when we required it.
        let plainAnswer = try answer("RTP/AVP", [])
        guard case .success(let p) = OfferAnswer.acceptAnswer(plainAnswer, local: local(.offer)) else { return XCTFail() }
        XCTAssertNil(p.crypto)
        XCTAssertNotNil(OfferAnswer.acceptAnswer(plainAnswer, local: local(.require)).failureValue)
    }

    /// A policy without a key is off: nothing could be offered or answered securely.
    func testAPolicyWithoutAKeyIsOff() {
        XCTAssertEqual(LocalMedia(address: "192.0.2.1", port: 1, sessionID: 1, srtp: .require).srtp, .off)
    }
}
