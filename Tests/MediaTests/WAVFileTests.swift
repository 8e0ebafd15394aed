@testable import Media
import Foundation
import XCTest

/// Builds a WAV image by hand, independent of `WAVFile.encode`.
private func makeWAV(tag: Int, channels: Int, rate: Int, bits: Int, data: [UInt8],
                     extensible: Bool = false, extraChunk: Bool = false, dataSize: Int? = nil) -> [UInt8] {
    func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    let block = channels * bits / 8
    var fmt = le(extensible ? 0xFFFE : tag, 2) + le(channels, 2) + le(rate, 4) + le(rate * block, 4) + le(block, 2) + le(bits, 2)
    if extensible {
        fmt += le(22, 2) + le(bits, 2) + le(channels == 2 ? 3 : 4, 4) + le(tag, 2)
            + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    }
    var body: [UInt8] = Array("WAVE".utf8) + Array("fmt ".utf8) + le(fmt.count, 4) + fmt
    if extraChunk { body += Array("LIST".utf8) + le(3, 4) + [1, 2, 3, 0] } // odd size, padded
    body += Array("data".utf8) + le(dataSize ?? data.count, 4) + data
    return Array("RIFF".utf8) + le(body.count, 4) + body
}

private func le16(_ s: [Int16]) -> [UInt8] { s.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] } }

final class WAVFileTests: XCTestCase {
    func testWriteThenReadRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/round.wav"
        let samples = sine(300, seconds: 0.5) + [Int16.min, Int16.max, 0, -1, 1]
        try WAVFile.write(samples, to: path)
        XCTAssertEqual(try WAVFile.read(path: path), samples)

        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        XCTAssertEqual(bytes.count, 44 + 2 * samples.count)
        XCTAssertEqual(Array(bytes[0..<4]), Array("RIFF".utf8))
        let (format, data) = try WAVFile.parse(bytes)
        XCTAssertEqual(format, WAVFile.Format(encoding: .pcm(bits: 16), channels: 1, sampleRate: 8000))
        XCTAssertEqual(data, 44..<bytes.count)
        // Byte rate and block align as players expect.
        XCTAssertEqual(Int(bytes[28]) | Int(bytes[29]) << 8, 16000)
        XCTAssertEqual(bytes[32], 2)
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/rec.wav"
        try WAVFile.write([Int16](repeating: 1000, count: 8000), to: path)
        try WAVFile.write([Int16](repeating: 5, count: 80), to: path)
        XCTAssertEqual(try WAVFile.read(path: path).count, 80)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["rec.wav"])
        XCTAssertThrowsError(try WAVFile.write([1, 2], to: dir + "/missing/dir/x.wav")) { e in
            XCTAssertTrue("\(e)".contains("cannot create"), "\(e)")
        }
    }

    func testReads16kHzStereoAsMono8kHz() throws {
        let left = sine(400, seconds: 1, amplitude: 12000, rate: 16000)
        var interleaved: [Int16] = []
        for s in left { interleaved.append(s); interleaved.append(0) } // right channel silent
        let out = try WAVFile.decode(makeWAV(tag: 1, channels: 2, rate: 16000, bits: 16, data: le16(interleaved)))
        XCTAssertEqual(out.count, 8000, accuracy: 2)
        XCTAssertEqual(estimatedFrequency(out), 400, accuracy: 4)
        let peak = out.map { abs(Int($0)) }.max()!
        XCTAssertEqual(Double(peak), 6000, accuracy: 300, "the two channels are averaged")
    }

    func testReads44kHzFloat() throws {
        let n = 22050
        var data: [UInt8] = []
        for i in 0..<n {
            let f = Float(0.5 * sin(2 * Double.pi * 1000 * Double(i) / 44100))
            let b = f.bitPattern
            data += [UInt8(b & 0xFF), UInt8(b >> 8 & 0xFF), UInt8(b >> 16 & 0xFF), UInt8(b >> 24)]
        }
        for wav in [makeWAV(tag: 3, channels: 1, rate: 44100, bits: 32, data: data),
                    makeWAV(tag: 3, channels: 1, rate: 44100, bits: 32, data: data, extensible: true, extraChunk: true)] {
            let out = try WAVFile.decode(wav)
            XCTAssertEqual(out.count, 4000, accuracy: 2)
            XCTAssertEqual(estimatedFrequency(out), 1000, accuracy: 5)
            XCTAssertEqual(Double(out.map { abs(Int($0)) }.max()!), 16384, accuracy: 700)
        }
    }

    func testReadsG711Files() throws {
        let samples = sine(700, seconds: 0.25, amplitude: 10000)
        let ulaw = samples.map(G711.ulaw)
        let alaw = samples.map(G711.alaw)
        XCTAssertEqual(try WAVFile.decode(makeWAV(tag: 7, channels: 1, rate: 8000, bits: 8, data: ulaw)),
                       ulaw.map(G711.ulawDecode))
        XCTAssertEqual(try WAVFile.decode(makeWAV(tag: 6, channels: 1, rate: 8000, bits: 8, data: alaw)),
                       alaw.map(G711.alawDecode))
    }

    func testReadsOtherIntegerWidths() throws {
        let samples: [Int16] = [0, 256, -256, 32512, -32768]
        let u8 = samples.map { UInt8(Int($0 >> 8) + 128) }
        XCTAssertEqual(try WAVFile.decode(makeWAV(tag: 1, channels: 1, rate: 8000, bits: 8, data: u8)), samples)
        let s24 = samples.flatMap { s -> [UInt8] in let v = Int32(s) << 8; return [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF)] }
        XCTAssertEqual(try WAVFile.decode(makeWAV(tag: 1, channels: 1, rate: 8000, bits: 24, data: s24)), samples)
        let s32 = samples.flatMap { s -> [UInt8] in let v = UInt32(bitPattern: Int32(s) << 16); return (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xFF) } }
        XCTAssertEqual(try WAVFile.decode(makeWAV(tag: 1, channels: 1, rate: 8000, bits: 32, data: s32, extensible: true)), samples)
    }

    func testTruncatedDataIsReadAsFarAsItGoes() throws {
        let wav = makeWAV(tag: 1, channels: 1, rate: 8000, bits: 16, data: le16([1, 2, 3]) + [0x7F], dataSize: 1000)
        XCTAssertEqual(try WAVFile.decode(wav), [1, 2, 3])
        let streaming = makeWAV(tag: 1, channels: 1, rate: 8000, bits: 16, data: le16([4, 5]), dataSize: 0xFFFF_FFFF)
        XCTAssertEqual(try WAVFile.decode(streaming), [4, 5])
    }

    func testCorruptAndUnsupportedFilesThrowClearErrors() throws {
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try WAVFile.decode(bytes); return "no error" } catch { return "\(error)" }
        }
        let good = makeWAV(tag: 1, channels: 1, rate: 8000, bits: 16, data: le16([1, 2]))
        XCTAssertEqual(message(Array("OggS not a wav file".utf8)), "not a RIFF/WAVE file")
        XCTAssertEqual(message([]), "not a RIFF/WAVE file")
        XCTAssertEqual(message(Array(good[0..<30])), "truncated fmt chunk")
        XCTAssertEqual(message(Array(good[0..<36])), "no data chunk")
        XCTAssertEqual(message(Array("RIFF".utf8) + [4, 0, 0, 0] + Array("WAVE".utf8)), "no fmt chunk")
        XCTAssertEqual(message(makeWAV(tag: 2, channels: 1, rate: 8000, bits: 4, data: [1, 2])),
                       "unsupported WAV encoding (format 2, 4 bits)")
        XCTAssertEqual(message(makeWAV(tag: 1, channels: 1, rate: 8000, bits: 12, data: [1, 2])),
                       "unsupported WAV encoding (format 1, 12 bits)")
        XCTAssertEqual(message(makeWAV(tag: 1, channels: 0, rate: 8000, bits: 16, data: [1, 2])), "unsupported channel count 0")
        XCTAssertEqual(message(makeWAV(tag: 1, channels: 1, rate: 0, bits: 16, data: [1, 2])), "unsupported sample rate 0")
        XCTAssertEqual(message(Array("RIFF".utf8) + [12, 0, 0, 0] + Array("WAVEdata".utf8) + [0, 0, 0, 0]), "data chunk before fmt chunk")
        XCTAssertEqual(message(makeWAV(tag: 0xFFFE, channels: 1, rate: 8000, bits: 16, data: le16([1]))),
                       "truncated extensible fmt chunk")

        let dir = try temporaryDirectory(self)
        XCTAssertThrowsError(try WAVFile.read(path: dir + "/nope.wav")) { XCTAssertTrue("\($0)".contains("cannot read WAV file")) }
        _ = FileManager.default.createFile(atPath: dir + "/bad.wav", contents: Data("garbage".utf8))
        XCTAssertThrowsError(try EncodedAudio(wavAt: dir + "/bad.wav")) {
            XCTAssertEqual("\($0)", dir + "/bad.wav: not a RIFF/WAVE file")
        }
    }

    func testEncodedAudioFromWAV() throws {
        let dir = try temporaryDirectory(self)
        try Data(makeWAV(tag: 1, channels: 1, rate: 16000, bits: 16, data: le16(sine(500, seconds: 2, rate: 16000))))
            .write(to: URL(fileURLWithPath: dir + "/p.wav"))
        let audio = try EncodedAudio(wavAt: dir + "/p.wav")
        XCTAssertEqual(audio.durationMilliseconds, 2000, accuracy: 1)
    }
}
