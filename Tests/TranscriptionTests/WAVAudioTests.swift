import Foundation
import Transcription
import XCTest

/// The WAV reader and the speexdsp resampler, on hand-built files.
final class WAVAudioTests: XCTestCase {
    private func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    private func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// A WAV image with arbitrary chunks after the RIFF header.
    private func wav(_ chunks: [(String, [UInt8])], riffSize: UInt32? = nil) -> Data {
        var body: [UInt8] = Array("WAVE".utf8)
        for (id, payload) in chunks {
            body += Array(id.utf8) + le32(UInt32(payload.count)) + payload
            if payload.count % 2 == 1 { body.append(0) }
        }
        return Data(Array("RIFF".utf8) + le32(riffSize ?? UInt32(body.count)) + body)
    }

    private func fmt(code: UInt16 = 1, channels: UInt16 = 1, rate: UInt32 = 8000, bits: UInt16 = 16) -> [UInt8] {
        let align = channels * bits / 8
        return le16(code) + le16(channels) + le32(rate) + le32(rate * UInt32(align)) + le16(align) + le16(bits)
    }

    private func pcm(_ samples: [Int16]) -> [UInt8] { samples.flatMap { le16(UInt16(bitPattern: $0)) } }

    func testRoundTrip() throws {
        let audio = WAVAudio(samples: [0, 1, -1, 32767, -32768, 1234], sampleRate: 8000)
        let data = audio.wavData()
        XCTAssertEqual(data.count, 44 + 12)
        XCTAssertEqual(try WAVAudio(wavData: data), audio)
    }

    func testSkipsUnknownAndOddSizedChunks() throws {
        let data = wav([("LIST", Array("INFOabc".utf8)), ("fmt ", fmt()), ("fact", le32(3)), ("data", pcm([5, -6, 7]))])
        let audio = try WAVAudio(wavData: data)
        XCTAssertEqual(audio.samples, [5, -6, 7])
        XCTAssertEqual(audio.sampleRate, 8000)
        XCTAssertEqual(audio.duration, 3.0 / 8000, accuracy: 1e-9)
    }

    func testUnfinalisedDataSizeReadsToEndOfFile() throws {
        var bytes = [UInt8](wav([("fmt ", fmt()), ("data", pcm([1, 2, 3, 4]))]))
        bytes.replaceSubrange(40..<44, with: le32(0xFFFF_FFFF))  // size of a recording cut short
        XCTAssertEqual(try WAVAudio(wavData: Data(bytes)).samples, [1, 2, 3, 4])
    }

    func testStereoIsAveraged() throws {
        let data = wav([("fmt ", fmt(channels: 2, rate: 16000)), ("data", pcm([100, 300, -50, -150]))])
        let audio = try WAVAudio(wavData: data)
        XCTAssertEqual(audio.samples, [200, -100])
        XCTAssertEqual(audio.sampleRate, 16000)
    }

    func testExtensibleFormatWithPCMSubformat() throws {
        var ext = fmt(code: 0xFFFE)
        ext += le16(22) + le16(16) + le32(4) + le16(1) + [UInt8](repeating: 0, count: 14)
        XCTAssertEqual(try WAVAudio(wavData: wav([("fmt ", ext), ("data", pcm([9]))])).samples, [9])
    }

    func testRejectsWhatItCannotDecode() {
        func reason(_ data: Data) -> TranscriptionError? {
            do { _ = try WAVAudio(wavData: data); return nil } catch { return error }
        }
        guard case .invalidWAV = reason(Data("RIFF".utf8)) else { return XCTFail("short") }
        guard case .invalidWAV = reason(Data("RIFX\0\0\0\0WAVEfmt ".utf8)) else { return XCTFail("magic") }
        guard case .invalidWAV = reason(wav([("fmt ", fmt())])) else { return XCTFail("no data") }
        guard case .invalidWAV = reason(wav([("data", pcm([1]))])) else { return XCTFail("no fmt") }
        guard case .unsupportedFormat = reason(wav([("fmt ", fmt(code: 7, bits: 8)), ("data", [1, 2])])) else {
            return XCTFail("u-law")
        }
        guard case .unsupportedFormat = reason(wav([("fmt ", fmt(bits: 8)), ("data", [1, 2])])) else {
            return XCTFail("8-bit")
        }
    }

    func testRejectionMessages() {
        func reason(_ data: Data) -> TranscriptionError? {
            do { _ = try WAVAudio(wavData: data); return nil } catch { return error }
        }
        XCTAssertEqual(reason(Data("RIFF".utf8)), .invalidWAV("4 bytes, too short for a RIFF header"))
        XCTAssertEqual(reason(Data("RIFX\0\0\0\0WAVEfmt ".utf8)), .invalidWAV("no RIFF/WAVE header"))
        XCTAssertEqual(reason(wav([("fmt ", fmt())])), .invalidWAV("no data chunk"))
        XCTAssertEqual(reason(wav([("data", pcm([1]))])), .invalidWAV("no fmt chunk"))
        XCTAssertEqual(reason(wav([("data", pcm([1])), ("fmt ", fmt())])), .invalidWAV("no fmt chunk"))
        XCTAssertEqual(reason(wav([("fmt ", Array(fmt().prefix(14)))])), .invalidWAV("truncated fmt chunk"))
        XCTAssertEqual(reason(wav([("fmt ", fmt(code: 0xFFFE)), ("data", pcm([1]))])),
                       .unsupportedFormat("format code 65534; only PCM is decoded"))
        XCTAssertEqual(reason(wav([("fmt ", fmt(code: 3, bits: 32)), ("data", [0, 0, 0, 0])])),
                       .unsupportedFormat("format code 3; only PCM is decoded"))
        XCTAssertEqual(reason(wav([("fmt ", fmt(bits: 8)), ("data", [1, 2])])), .unsupportedFormat("8-bit samples; only 16-bit"))
        XCTAssertEqual(reason(wav([("fmt ", fmt(rate: 300_000)), ("data", pcm([1]))])), .invalidWAV("1 channels at 300000 Hz"))
        XCTAssertEqual(try WAVAudio(wavData: wav([("fmt ", fmt(channels: 10)), ("data", pcm(Array(repeating: 7, count: 10)))])).samples,
                       [7], "more channels than the media engine reads")
    }

    func testMissingFile() {
        XCTAssertThrowsError(try WAVAudio(contentsOfFile: "/nonexistent/x.wav")) {
            XCTAssertEqual($0 as? TranscriptionError, .fileNotFound("/nonexistent/x.wav"))
        }
    }

    /// 8 kHz -> 16 kHz doubles the length and keeps a 440 Hz tone at 440 Hz.
    func testResamplingKeepsDurationAndPitch() throws {
        let n = 8000
        let tone = (0..<n).map { Int16(10000 * sin(2 * Double.pi * 440 * Double($0) / 8000)) }
        let up = try WAVAudio(samples: tone, sampleRate: 8000).resampled(to: 16000)
        XCTAssertEqual(up.sampleRate, 16000)
        XCTAssertEqual(up.samples.count, 2 * n)
        // Count rising zero crossings in the middle second's worth: ~440 per second.
        let mid = Array(up.samples[2000..<14000])
        var crossings = 0
        for i in 1..<mid.count where mid[i - 1] < 0 && mid[i] >= 0 { crossings += 1 }
        XCTAssertEqual(Double(crossings) / 0.75, 440, accuracy: 5)
        XCTAssertGreaterThan(mid.map { abs(Int($0)) }.max() ?? 0, 9000)
    }
}
