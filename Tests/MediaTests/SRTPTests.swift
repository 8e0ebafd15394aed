@testable import Media
import XCTest

/// SRTP contexts (libsrtp2) and the receiver's per-packet path with SRTP: what the peer
/// protects with its key is decrypted in place, and anything else is refused.
final class SRTPTests: XCTestCase {
    private let key = Array(0..<30).map { UInt8($0) }

    /// One RTP packet (header, 160 bytes of payload) in a buffer with room for the trailer.
    private func rtp(seq: UInt16, payload: UInt8 = 0x55) -> [UInt8] {
        var p = [UInt8](repeating: payload, count: 12 + 160 + SRTPKeys.trailer)
        let h = RTPHeader(marker: false, payloadType: 0, sequence: seq, timestamp: UInt32(seq) * 160, ssrc: 0xCAFE)
        p.withUnsafeMutableBytes { h.write(to: $0.baseAddress!) }
        return p
    }

    private func protect(_ ctx: SRTPContext, _ p: inout [UInt8], length: Int = 172) -> Int? {
        p.withUnsafeMutableBytes { ctx.protect($0.baseAddress!, length: length) }
    }

    private func unprotect(_ ctx: SRTPContext, _ p: inout [UInt8], length: Int) -> Int? {
        p.withUnsafeMutableBytes { ctx.unprotect($0.baseAddress!, length: length) }
    }

    /// libsrtp took OpenSSL's AES-CTR and HMAC-SHA1 (they passed its own test vectors);
    /// every other test here then runs on them.
    func testOpenSSLCryptoReplacedLibsrtpsOwn() {
        XCTAssertEqual(SRTPKeys.openSSLStatus, 0)
    }

    func testRoundTripTamperAndReplay() throws {
        for (suite, tag) in [(SRTPSuite.aes128Sha1_80, 10), (.aes128Sha1_32, 4)] {
            let tx = try SRTPContext(suite: suite, key: key, direction: .outbound)
            let rx = try SRTPContext(suite: suite, key: key, direction: .inbound)
            var p = rtp(seq: 7)
            let n = try XCTUnwrap(protect(tx, &p))
            XCTAssertEqual(n, 172 + tag, "\(suite): the tag's length")
            XCTAssertNotEqual(Array(p[12..<172]), [UInt8](repeating: 0x55, count: 160), "the payload is encrypted")
            var replay = p
            XCTAssertEqual(unprotect(rx, &p, length: n), 172)
            XCTAssertEqual(Array(p[12..<172]), [UInt8](repeating: 0x55, count: 160), "decrypted in place")
            XCTAssertNil(unprotect(rx, &replay, length: n), "a replayed packet is refused")
            var forged = rtp(seq: 8)
            _ = protect(tx, &forged)
            forged[40] ^= 1
            XCTAssertNil(unprotect(rx, &forged, length: n), "a changed byte fails authentication")
        }
    }

    func testAnotherKeyOrSuiteCannotDecrypt() throws {
        let tx = try SRTPContext(suite: .aes128Sha1_80, key: key, direction: .outbound)
        var other = key
        other[0] ^= 0xFF
        let rx = try SRTPContext(suite: .aes128Sha1_80, key: other, direction: .inbound)
        var p = rtp(seq: 1)
        let n = try XCTUnwrap(protect(tx, &p))
        XCTAssertNil(unprotect(rx, &p, length: n))
        XCTAssertThrowsError(try SRTPContext(suite: .aes128Sha1_80, key: Array(key.prefix(16)), direction: .inbound))
    }

    func testRTCPRoundTrip() throws {
        let tx = try SRTPContext(suite: .aes128Sha1_32, key: key, direction: .outbound)
        let rx = try SRTPContext(suite: .aes128Sha1_32, key: key, direction: .inbound)
        var report = [UInt8](repeating: 0, count: RTCPPacket.maxWrittenBytes + SRTPKeys.trailer)
        let cname: [UInt8] = Array("tollfreed@test".utf8)
        let n = report.withUnsafeMutableBytes { buf in
            cname.withUnsafeBytes { RTCPPacket.write(ssrc: 9, sender: nil, block: nil, cname: $0, bye: false, into: buf.baseAddress!) }
        }
        let plain = Array(report[0..<n])
        let protected = try XCTUnwrap(report.withUnsafeMutableBytes { tx.protectRTCP($0.baseAddress!, length: n) })
        XCTAssertEqual(protected, n + 4 + 10, "SRTCP index and an 80-bit tag, whatever the RTP tag")
        let back = try XCTUnwrap(report.withUnsafeMutableBytes { rx.unprotectRTCP($0.baseAddress!, length: protected) })
        XCTAssertEqual(Array(report[0..<back]), plain)
    }

    /// The receiver's path: the peer's SRTP is decrypted after the source check (a stranger
    /// costs no decryption and cannot disturb the replay window), a bad packet is malformed.
    func testTheProcessorDecryptsOnlyThePeersPackets() throws {
        let tx = try SRTPContext(suite: .aes128Sha1_80, key: key, direction: .outbound)
        var processor = PacketProcessor(remote: testPeer, audioPayloadType: 0, law: .ulaw)
        processor.srtp = try SRTPContext(suite: .aes128Sha1_80, key: key, direction: .inbound)
        let scratch = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 2048)
        defer { scratch.deallocate() }
        func feed(_ p: inout [UInt8], length: Int, from: UDPEndpoint = testPeer) -> PacketKind {
            p.withUnsafeMutableBytes { b in
                processor.process(UnsafeRawBufferPointer(start: b.baseAddress, count: length), from: from,
                                  now: 0, scratch: scratch) { _, _ in }
            }
        }
        var p = rtp(seq: 1)
        let n = try XCTUnwrap(protect(tx, &p))
        let copy = p
        let stranger = UDPEndpoint(host: "192.0.2.66", port: 40_000)!
        XCTAssertEqual(feed(&p, length: n, from: stranger), .dropped)
        XCTAssertEqual(p, copy, "a stranger's packet is not touched")
        XCTAssertEqual(feed(&p, length: n), .audio)
        XCTAssertEqual(processor.plainLength, 172)
        var plain = rtp(seq: 2)
        XCTAssertEqual(feed(&plain, length: 172), .malformed, "plain RTP on an SRTP session is refused")
    }
}
