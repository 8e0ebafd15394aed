import XCTest
@testable import Media

/// RTCP packets written and read back, refused when malformed; RFC 3550 receive statistics
/// (loss, wrap, duplicates, a new SSRC, jitter); the E-model's MOS. No sockets.
final class RTCPTests: XCTestCase {
    private func written(ssrc: UInt32, sender: RTCPSenderInfo?, block: RTCPReportBlock?, bye: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: RTCPPacket.maxWrittenBytes)
        let cname = Array("tollfreed@127.0.0.1".utf8)
        let n = out.withUnsafeMutableBytes { o in
            cname.withUnsafeBytes { RTCPPacket.write(ssrc: ssrc, sender: sender, block: block, cname: $0, bye: bye, into: o.baseAddress!) }
        }
        return Array(out[0..<n])
    }

    func testAReceiverReportIsWrittenByTheRFC() {
        let bytes = written(ssrc: 0x0102_0304, sender: nil, block: nil, bye: false)
        // RR: V=2 RC=0, PT 201, length 1; SDES: SC=1, PT 202, length 7 (ssrc + 2+19+1 bytes padded to 24).
        XCTAssertEqual(Array(bytes[0..<8]), [0x80, 201, 0, 1, 1, 2, 3, 4])
        XCTAssertEqual(Array(bytes[8..<12]), [0x81, 202, 0, 7])
        XCTAssertEqual(bytes[16], 1, "CNAME item")
        XCTAssertEqual(bytes[17], 19)
        XCTAssertEqual(bytes.count, 8 + 32)
        XCTAssertEqual(bytes.count % 4, 0)
    }

    func testAReportWithABlockAndByeComesBack() throws {
        let block = RTCPReportBlock(ssrc: 0xAABB_CCDD, fractionLost: 25, cumulativeLost: -3, highestSequence: 70_000,
                                    jitter: 40, lastSR: 0x1234_5678, delaySinceLastSR: 65_536)
        let ntp: UInt64 = 0xE000_0001_8000_0000
        let bytes = written(ssrc: 7, sender: RTCPSenderInfo(ntp: ntp, rtpTimestamp: 160, packets: 50, octets: 8000), block: block, bye: true)
        let summary = try XCTUnwrap(bytes.withUnsafeBytes { RTCPPacket.parse($0, ourSSRC: 0xAABB_CCDD) })
        XCTAssertEqual(summary.senderSSRC, 7)
        XCTAssertEqual(summary.aboutUs, block, "the 24-bit cumulative loss keeps its sign")
        XCTAssertEqual(summary.senderReportNTP, 0x0001_8000, "the middle 32 bits of the NTP time")
        XCTAssertTrue(summary.bye)
        XCTAssertNil(bytes.withUnsafeBytes { RTCPPacket.parse($0, ourSSRC: 1) }?.aboutUs, "a block about someone else")
        XCTAssertTrue(bytes.withUnsafeBytes { RTCPPacket.isMultiplexedRTCP($0) })
    }

    func testMalformedPacketsAreRefused() {
        let good = written(ssrc: 7, sender: nil, block: nil, bye: false)
        func parses(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { RTCPPacket.parse($0, ourSSRC: 1) } != nil }
        XCTAssertTrue(parses(good))
        var v1 = good; v1[0] = 0x40
        XCTAssertFalse(parses(v1), "version 1")
        var long = good; long[3] = 200
        XCTAssertFalse(parses(long), "a length past the end")
        XCTAssertFalse(parses(Array(good[8...])), "SDES first")
        var blocks = good; blocks[0] = 0x80 | 31
        XCTAssertFalse(parses(blocks), "31 report blocks in 4 bytes")
        XCTAssertFalse(parses(Array(good[0..<7])), "not a whole number of words")
        XCTAssertFalse(parses([]))
        var rtp = [UInt8](repeating: 0, count: 172); rtp[0] = 0x80; rtp[1] = 0
        XCTAssertFalse(rtp.withUnsafeBytes { RTCPPacket.isMultiplexedRTCP($0) }, "RTP payload type 0")
    }

    func testLossWrapDuplicatesAndANewSource() {
        var s = ReceptionStats()
        var t = 0.0
        for k in 0..<100 where k % 10 != 3 {  // every tenth packet lost
            s.update(sequence: UInt16((65_500 + k) & 0xFFFF), timestamp: UInt32(k * 160), ssrc: 9, arrival: t + Double(k) * 0.02, timed: true)
        }
        XCTAssertEqual(s.expected, 100)
        XCTAssertEqual(s.lost, 10)
        XCTAssertEqual(s.extendedHighestSequence, 65_536 + 63, "the sequence wrapped once")
        XCTAssertEqual(s.takeFractionLost(), 25, "10 % as 8-bit fixed point")
        XCTAssertEqual(s.takeFractionLost(), 0, "nothing since")
        s.update(sequence: 63, timestamp: 99 * 160, ssrc: 9, arrival: 2.1, timed: true)
        XCTAssertEqual(s.expected, 100, "a duplicate changes nothing expected")
        t = 10
        for k in 0..<50 { s.update(sequence: UInt16(k), timestamp: UInt32(k * 160), ssrc: 10, arrival: t + Double(k) * 0.02, timed: true) }
        XCTAssertEqual(s.expected, 150, "the first source's totals are kept")
        XCTAssertEqual(s.lost, 9, "the duplicate cancelled one loss within its stream; the new one lost none")
    }

    func testJitterFollowsRFC3550() throws {
        var steady = ReceptionStats()
        for k in 0..<200 { steady.update(sequence: UInt16(k), timestamp: UInt32(k * 160), ssrc: 1, arrival: Double(k) * 0.02, timed: true) }
        XCTAssertEqual(try XCTUnwrap(steady.jitterMilliseconds()).max, 0, accuracy: 1e-6)
        var shaky = ReceptionStats()
        for k in 0..<400 {
            let late = k % 2 == 1 ? 0.005 : 0  // every other packet 5 ms late: |D| = 40 units
            shaky.update(sequence: UInt16(k), timestamp: UInt32(k * 160), ssrc: 1, arrival: Double(k) * 0.02 + late, timed: true)
            // An RFC 4733 event's fixed timestamp must not read as jitter.
            shaky.update(sequence: UInt16(k), timestamp: 0, ssrc: 1, arrival: Double(k) * 0.02, timed: false)
        }
        let j = try XCTUnwrap(shaky.jitterMilliseconds())
        XCTAssertEqual(j.max, 5, accuracy: 0.05, "converges to the mean deviation")
        XCTAssertLessThan(j.mean, j.max)
        XCTAssertGreaterThan(j.mean, 4)
    }

    func testMOSFromTheEModel() {
        XCTAssertEqual(QualityEstimate.mos(lossPercent: 0, roundTripMs: nil, jitterMs: 0), 4.4)
        XCTAssertEqual(QualityEstimate.mos(lossPercent: 5, roundTripMs: nil, jitterMs: 0), 3.9)
        XCTAssertEqual(QualityEstimate.mos(lossPercent: 0, roundTripMs: 600, jitterMs: 0), 3.6)
        XCTAssertEqual(QualityEstimate.mos(lossPercent: 20, roundTripMs: 200, jitterMs: 10), 2.5)
        XCTAssertEqual(QualityEstimate.mos(lossPercent: 100, roundTripMs: nil, jitterMs: 0), 1.2)
        XCTAssertEqual(NTPTime.middle(0x0000_1234_5678_0000), 0x1234_5678)
    }
}
