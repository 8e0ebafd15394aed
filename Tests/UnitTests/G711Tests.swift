@testable import Media
import XCTest

/// Reference values generated with CPython's `audioop` (Sun's g711.c): `audioop.lin2ulaw`,
/// `lin2alaw`, `ulaw2lin` and `alaw2lin` on 16-bit samples.
///
/// audioop's u-law encoder truncates 16-bit samples to 14 bits with an arithmetic shift
/// before taking the magnitude, so for 381 negative samples that sit within 3 of a decision
/// level (and for -1...-3) it picks the neighbouring code; `G711.ulaw` follows the classic
/// 16-bit Sun code (BIAS - sample), which is sign-symmetric. Those samples are left out of
/// the table; the symmetry test below pins the behaviour for them.
private let ulawReference: [(Int16, UInt8)] = [
    (0, 0xFF), (1, 0xFF), (2, 0xFF), (3, 0xFF), (4, 0xFE), (-4, 0x7E), (7, 0xFE), (-8, 0x7E), (15, 0xFD),
    (-16, 0x7D), (31, 0xFB), (-32, 0x7B), (63, 0xF7), (-64, 0x77), (100, 0xF2), (-100, 0x72), (127, 0xEF),
    (-128, 0x6F), (255, 0xE7), (-256, 0x67), (500, 0xDC), (-500, 0x5C), (1000, 0xCE), (-1000, 0x4E),
    (1024, 0xCD), (-1024, 0x4D), (2047, 0xBE), (-2048, 0x3E), (4096, 0xAF), (-4096, 0x2F), (8000, 0xA0),
    (-8000, 0x20), (12345, 0x97), (-12345, 0x17), (16384, 0x8F), (-16384, 0x0F), (24000, 0x88),
    (-24000, 0x08), (30000, 0x82), (-30000, 0x02), (32000, 0x80), (-32000, 0x00), (32635, 0x80),
    (-32635, 0x00), (32767, 0x80), (-32767, 0x00), (-32768, 0x00),
]

private let alawReference: [(Int16, UInt8)] = [
    (0, 0xD5), (1, 0xD5), (2, 0xD5), (3, 0xD5), (4, 0xD5), (-4, 0x55), (7, 0xD5), (-8, 0x55), (15, 0xD5),
    (-16, 0x55), (31, 0xD4), (-32, 0x54), (63, 0xD6), (-64, 0x56), (100, 0xD3), (-100, 0x53), (127, 0xD2),
    (-128, 0x52), (255, 0xDA), (-256, 0x5A), (500, 0xCA), (-500, 0x4A), (1000, 0xFA), (-1000, 0x7A),
    (1024, 0xE5), (-1024, 0x7A), (2047, 0xEA), (-2048, 0x6A), (4096, 0x85), (-4096, 0x1A), (8000, 0x8A),
    (-8000, 0x0A), (12345, 0xBD), (-12345, 0x3D), (16384, 0xA5), (-16384, 0x3A), (24000, 0xA2),
    (-24000, 0x22), (30000, 0xA8), (-30000, 0x28), (32000, 0xAA), (-32000, 0x2A), (32635, 0xAA),
    (-32635, 0x2A), (32767, 0xAA), (-32767, 0x2A), (-32768, 0x2A),
]

private let ulawDecodeReference: [(UInt8, Int16)] = [
    (0x00, -32124), (0x01, -31100), (0x0F, -16764), (0x10, -15996), (0x2A, -5372), (0x55, -716), (0x7E, -8),
    (0x7F, 0), (0x80, 32124), (0x81, 31100), (0x8F, 16764), (0xAA, 5372), (0xD5, 716), (0xFE, 8), (0xFF, 0),
    (0x3C, -2364), (0xC3, 1692), (0x70, -120), (0xF0, 120),
]

private let alawDecodeReference: [(UInt8, Int16)] = [
    (0x00, -5504), (0x01, -5248), (0x0F, -6784), (0x10, -2752), (0x2A, -32256), (0x55, -8), (0x7E, -880),
    (0x7F, -848), (0x80, 5504), (0x81, 5248), (0x8F, 6784), (0xAA, 32256), (0xD5, 8), (0xFE, 880), (0xFF, 848),
    (0x3C, -13056), (0xC3, 360), (0x70, -688), (0xF0, 688),
]

final class G711Tests: XCTestCase {
    func testKnownValues() {
        XCTAssertEqual(G711.ulaw(0), 0xFF)
        XCTAssertEqual(G711.ulawDecode(0xFF), 0)
        XCTAssertEqual(G711.ulawDecode(0x00), -32124)
        XCTAssertEqual(G711.ulawDecode(0x80), 32124)
        XCTAssertEqual(G711.alaw(0), 0xD5)
        XCTAssertEqual(G711.alawDecode(0xD5), 8)
        XCTAssertEqual(G711.alawDecode(0x55), -8)
        XCTAssertEqual(G711.alawDecode(0x2A), -32256)
        XCTAssertEqual(G711.ulawSilence, G711.ulaw(0))
        XCTAssertEqual(G711.alawSilence, G711.alaw(0))
        XCTAssertEqual(G711.Law.ulaw.silence, 0xFF)
        XCTAssertEqual(G711.Law.alaw.silence, 0xD5)
    }

    func testULawEncodeMatchesReference() {
        for (sample, byte) in ulawReference {
            XCTAssertEqual(G711.ulaw(sample), byte, "ulaw(\(sample))")
        }
    }

    func testALawEncodeMatchesReference() {
        for (sample, byte) in alawReference {
            XCTAssertEqual(G711.alaw(sample), byte, "alaw(\(sample))")
        }
    }

    func testDecodeMatchesReference() {
        for (byte, sample) in ulawDecodeReference {
            XCTAssertEqual(G711.ulawDecode(byte), sample, "ulawDecode(0x\(String(byte, radix: 16)))")
        }
        for (byte, sample) in alawDecodeReference {
            XCTAssertEqual(G711.alawDecode(byte), sample, "alawDecode(0x\(String(byte, radix: 16)))")
        }
    }

    func testULawIsSignSymmetric() {
        // u-law is sign and magnitude: -x and x differ only in the sign bit.
        for x in 1...Int(Int16.max) {
            let p = G711.ulaw(Int16(x)), n = G711.ulaw(Int16(-x))
            if p ^ 0x80 != n { return XCTFail("ulaw(\(x))=\(p) but ulaw(-\(x))=\(n)") }
        }
        XCTAssertEqual(G711.ulaw(-1), 0x7F, "negative zero")
    }

    func testALawIsOnesComplementSymmetric() {
        // A-law codes -x-1 like x with the sign bit flipped (13-bit one's complement).
        for x in 0...Int(Int16.max) {
            let p = G711.alaw(Int16(x)), n = G711.alaw(Int16(-x - 1))
            if p ^ 0x80 != n { return XCTFail("alaw(\(x))=\(p) but alaw(\(-x - 1))=\(n)") }
        }
    }

    func testRoundTripEveryByte() {
        for b in 0...255 {
            let byte = UInt8(b)
            let u = G711.ulawDecode(byte)
            XCTAssertEqual(G711.ulawDecode(G711.ulaw(u)), u, "u-law byte \(b)")
            let a = G711.alawDecode(byte)
            XCTAssertEqual(G711.alawDecode(G711.alaw(a)), a, "A-law byte \(b)")
            XCTAssertEqual(G711.alaw(a), byte, "every A-law code decodes to a value that encodes back to it")
        }
        // u-law has two zeros (0x7F and 0xFF); every other byte is its own round trip.
        for b in 0...255 where b != 0x7F {
            XCTAssertEqual(G711.ulaw(G711.ulawDecode(UInt8(b))), UInt8(b), "u-law byte \(b)")
        }
    }

    func testDecodedValuesAreDistinctPerLaw() {
        XCTAssertEqual(Set((0...255).map { G711.ulawDecode(UInt8($0)) }).count, 255, "only ±0 coincide")
        XCTAssertEqual(Set((0...255).map { G711.alawDecode(UInt8($0)) }).count, 256)
    }

    func testEncodingIsMonotonic() {
        // Quantising then reconstructing never reorders samples, and the error stays within
        // half a step of the largest segment.
        var previousU = Int(G711.ulawDecode(G711.ulaw(Int16.min)))
        var previousA = Int(G711.alawDecode(G711.alaw(Int16.min)))
        for s in Int(Int16.min)...Int(Int16.max) {
            let sample = Int16(s)
            let u = Int(G711.ulawDecode(G711.ulaw(sample)))
            let a = Int(G711.alawDecode(G711.alaw(sample)))
            if u < previousU { return XCTFail("u-law not monotonic at \(s): \(previousU) then \(u)") }
            if a < previousA { return XCTFail("A-law not monotonic at \(s): \(previousA) then \(a)") }
            if abs(u - s) > 1024 || abs(a - s) > 1024 { return XCTFail("error too large at \(s): u \(u) a \(a)") }
            previousU = u
            previousA = a
        }
    }

    func testMagnitudeOrderOfCodes() {
        // Larger magnitudes give codes further from silence in each sign half.
        var lastU = -1, lastA = -1
        for x in 0...32767 {
            let uMag = Int(~G711.ulaw(Int16(x)) & 0x7F)         // u-law inverts all bits
            let aMag = Int((G711.alaw(Int16(x)) ^ 0x55) & 0x7F) // A-law inverts even bits
            if uMag < lastU || aMag < lastA { return XCTFail("code order breaks at \(x)") }
            lastU = uMag
            lastA = aMag
        }
        XCTAssertEqual(lastU, 0x7F)
        XCTAssertEqual(lastA, 0x7F)
    }

    func testTableEncodeEqualsPerSampleForAllInputs() {
        let samples = (0..<65536).map { Int16(bitPattern: UInt16($0)) }
        var outU = [UInt8](repeating: 0, count: samples.count)
        var outA = [UInt8](repeating: 0, count: samples.count)
        samples.withUnsafeBufferPointer { s in
            outU.withUnsafeMutableBufferPointer { G711.encode(s, law: .ulaw, into: $0) }
            outA.withUnsafeMutableBufferPointer { G711.encode(s, law: .alaw, into: $0) }
        }
        var mismatches = 0
        for (i, s) in samples.enumerated() {
            if outU[i] != G711.ulaw(s) || outA[i] != G711.alaw(s) { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testDecodeBuffer() {
        XCTAssertEqual(G711.decode([0xFF, 0x00, 0x80], law: .ulaw), [0, -32124, 32124])
        XCTAssertEqual(G711.decode([0xD5, 0x55, 0x2A], law: .alaw), [8, -8, -32256])
        XCTAssertEqual(G711.decode([UInt8](), law: .alaw), [])
    }

    func testEncodedAudioHoldsBothLaws() {
        let samples: [Int16] = [0, 1000, -1000, 32767, -32768, 8000, 160]
        let audio = EncodedAudio(samples: samples)
        XCTAssertEqual(audio.sampleCount, 7)
        XCTAssertEqual(Array(audio.bytes(.ulaw)), samples.map(G711.ulaw))
        XCTAssertEqual(Array(audio.bytes(.alaw)), samples.map(G711.alaw))
        XCTAssertEqual(EncodedAudio(samples: [Int16](repeating: 0, count: 8000)).durationMilliseconds, 1000)
    }
}
