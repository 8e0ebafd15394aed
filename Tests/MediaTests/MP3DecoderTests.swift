import Foundation
import XCTest
@testable import Media

/// The strength of `hz` in `samples` at `rate` (Goertzel), relative to the signal's power.
func purity(_ samples: [Int16], hz: Double, rate: Int) -> Double {
    let k = 2 * cos(2 * Double.pi * hz / Double(rate))
    var s1 = 0.0, s2 = 0.0, energy = 0.0
    for x in samples {
        let v = Double(x)
        let s = v + k * s1 - s2
        s2 = s1
        s1 = s
        energy += v * v
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2
    return energy == 0 ? 0 : 2 * power / (Double(samples.count) * energy)
}

/// MP3 for `<Play>`: files made by LAME (Debian's `lame`, the encoder most MP3s come from)
/// decode to the tone they hold; anything else is refused with a reason, never a crash.
final class MP3DecoderTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mp3-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// `seconds` of a `hz` tone at `rate`, encoded by the `lame` command.
    private func lameTone(hz: Double, seconds: Double, rate: Int, stereo: Bool = false, bitrate: Int = 64) throws -> [UInt8] {
        let n = Int(seconds * Double(rate))
        let tone = (0..<n).map { Int16(12000 * sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
        let wav = "\(dir)/in.wav", mp3 = "\(dir)/out.mp3"
        if stereo {
            let interleaved = tone.flatMap { [$0, $0] }
            try interleaved.withUnsafeBufferPointer { try WAVFile.write($0, sampleRate: rate, channels: 2, to: wav) }
        } else {
            try WAVFile.write(tone, sampleRate: rate, to: wav)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/lame")
        p.arguments = ["--quiet", "-b", "\(bitrate)", wav, mp3]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "lame")
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: mp3)))
    }

    func testALameFileDecodesToItsToneAndLength() throws {
        let bytes = try lameTone(hz: 600, seconds: 2, rate: 16000)
        XCTAssertTrue(MP3Decoder.looksLikeMP3(bytes))
        let (samples, rate) = try MP3Decoder.decode(bytes)
        XCTAssertEqual(rate, 16000)
        XCTAssertEqual(Double(samples.count) / Double(rate), 2, accuracy: 0.1, "the encoder's padding is not audio")
        XCTAssertGreaterThan(purity(samples, hz: 600, rate: rate), 0.8)
        XCTAssertLessThan(purity(samples, hz: 1000, rate: rate), 0.05, "a tone nobody sent is not there")
    }

    func testStereoIsMixedDownAndThePromptIs8kHz() throws {
        let bytes = try lameTone(hz: 440, seconds: 1, rate: 44100, stereo: true, bitrate: 128)
        let audio = try EncodedAudio(audioFile: bytes, name: "hold.mp3")
        XCTAssertEqual(Double(audio.durationMilliseconds) / 1000, 1, accuracy: 0.1)
        let pcm = G711.decode(audio.ulaw, law: .ulaw)
        XCTAssertGreaterThan(purity(pcm, hz: 440, rate: 8000), 0.7)
    }

    func testWhatIsNeitherWAVNorMP3IsRefused() throws {
        XCTAssertThrowsError(try EncodedAudio(audioFile: Array("<html>not found</html>".utf8), name: "x")) {
            XCTAssertTrue("\($0)".contains("neither WAV nor MP3"), "\($0)")
        }
        XCTAssertFalse(MP3Decoder.looksLikeMP3([0x00, 0x01, 0x02]))
    }

    func testCorruptAndTruncatedMP3sFailOrDecodeWhatIsThereButNeverCrash() throws {
        XCTAssertThrowsError(try MP3Decoder.decode([0xFF, 0xFB] + [UInt8](repeating: 0x55, count: 4096)))
        XCTAssertThrowsError(try MP3Decoder.decode(Array("ID3".utf8) + [UInt8](repeating: 0, count: 10)))
        var rng = SystemRandomNumberGenerator()
        let good = try lameTone(hz: 600, seconds: 1, rate: 8000)
        for _ in 0..<50 {
            var bytes = good
            for _ in 0..<20 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            bytes = Array(bytes.prefix(Int.random(in: 3...bytes.count, using: &rng)))
            _ = try? MP3Decoder.decode(bytes)
        }
    }
}

/// `<Dial ringTone>`: each country's ringback has its frequencies and cadence.
final class RingToneTests: XCTestCase {
    /// On (true) or off for each 20 ms frame.
    private func frames(_ a: EncodedAudio) -> [Bool] {
        let pcm = G711.decode(a.ulaw, law: .ulaw)
        return stride(from: 0, to: pcm.count - 159, by: 160).map { i in
            (pcm[i..<i + 160].reduce(0.0) { $0 + Double($1) * Double($1) } / 160).squareRoot() > 500
        }
    }

    /// Lengths (in frames) of the runs of equal values.
    private func runs(_ f: [Bool]) -> [Int] {
        var out: [Int] = [], last: Bool?
        for v in f { if v == last { out[out.count - 1] += 1 } else { out.append(1); last = v } }
        return out
    }

    func testTheBritishDoubleRingAndTheGermanSingleRing() {
        let gb = runs(frames(RingTones.ringback("GB")))
        XCTAssertEqual(gb.count, 4)
        XCTAssertEqual(Double(gb[0]), 20, accuracy: 1, "0.4 s on")
        XCTAssertEqual(Double(gb[1]), 10, accuracy: 1, "0.2 s off")
        XCTAssertEqual(Double(gb[2]), 20, accuracy: 1)
        XCTAssertEqual(Double(gb[3]), 100, accuracy: 1, "2 s off")
        let de = runs(frames(RingTones.ringback("de")))
        XCTAssertEqual(de.count, 2)
        XCTAssertEqual(Double(de[0]), 50, accuracy: 1, "1 s on")
        XCTAssertEqual(Double(de[1]), 200, accuracy: 1, "4 s off")
    }

    func testUnknownCodesAndNoCodeRingTheNorthAmericanWay() {
        XCTAssertTrue(RingTones.ringback(nil) === Tones.ringback())
        XCTAssertTrue(RingTones.ringback("xx") === Tones.ringback())
        XCTAssertTrue(RingTones.isKnown("JP"))
        XCTAssertFalse(RingTones.isKnown("xx"))
        XCTAssertTrue(RingTones.ringback("fr") === RingTones.ringback("FR"), "made once")
    }
}

/// `<Record format="mp3">`: LAME's MP3 of a recording decodes back to it.
final class MP3EncoderTests: XCTestCase {
    func testARecordingRoundTripsThroughMP3() throws {
        let tone = (0..<16_000).map { Int16(10000 * sin(2 * Double.pi * 600 * Double($0) / 8000)) }
        let mp3 = try tone.withUnsafeBufferPointer { try MP3Encoder.encode($0) }
        XCTAssertTrue(MP3Decoder.looksLikeMP3(mp3))
        XCTAssertLessThan(mp3.count, tone.count * 2 / 3, "smaller than the 16-bit WAV")
        let (back, rate) = try MP3Decoder.decode(mp3)
        XCTAssertEqual(rate, 8000)
        XCTAssertEqual(Double(back.count) / 8000, 2, accuracy: 0.15)
        XCTAssertGreaterThan(purity(back, hz: 600, rate: 8000), 0.7, "still the 600 Hz tone")
    }

    func testSilenceAndAnEmptyRecordingEncode() throws {
        XCTAssertFalse(try [Int16](repeating: 0, count: 800).withUnsafeBufferPointer { try MP3Encoder.encode($0) }.isEmpty)
        XCTAssertNoThrow(try [Int16]().withUnsafeBufferPointer { try MP3Encoder.encode($0) })
    }
}
