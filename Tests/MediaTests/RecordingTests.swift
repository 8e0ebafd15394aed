@testable import Media
import Foundation
import XCTest

private func frame(_ value: Int16, count: Int = 160) -> [Int16] {
    (0..<count).map { $0 % 2 == 0 ? value : -value } // RMS = |value|
}

final class RecordingMonitorTests: XCTestCase {
    private func feed(_ m: inout RecordingMonitor, _ f: [Int16], at t: Double) -> RecordingEndReason? {
        f.withUnsafeBufferPointer { m.frame($0, at: t) }
    }

    func testSilenceTimeoutCountsFromLastLoudFrame() {
        var m = RecordingMonitor(spec: RecordingSpec(path: "x", maxLengthSeconds: 60, silenceTimeoutSeconds: 2,
                                                     silenceThreshold: 200), start: 100)
        var t = 100.0
        for _ in 0..<50 { XCTAssertNil(feed(&m, frame(3000), at: t)); t += 0.02 } // 1 s of sound
        XCTAssertTrue(m.heardSound)
        XCTAssertEqual(m.lastLoud, 100.98, accuracy: 1e-9)
        // Quiet frames (RMS 150 < 200) do not reset the clock.
        var ended: (RecordingEndReason, Double)?
        while ended == nil && t < 110 {
            if let r = feed(&m, frame(150), at: t) { ended = (r, t) }
            t += 0.02
        }
        XCTAssertEqual(ended?.0, .silence)
        XCTAssertEqual(ended?.1 ?? 0, 102.98, accuracy: 0.021)
    }

    func testSilenceEndsEvenWithoutPackets() {
        let m = RecordingMonitor(spec: RecordingSpec(path: "x", maxLengthSeconds: 60, silenceTimeoutSeconds: 3), start: 10)
        XCTAssertNil(m.check(at: 12.99))
        XCTAssertEqual(m.check(at: 13.0), .silence)
        XCTAssertFalse(m.heardSound)
    }

    func testThresholdIsRMSNotPeak() {
        var m = RecordingMonitor(spec: RecordingSpec(path: "x", silenceTimeoutSeconds: 1, silenceThreshold: 200), start: 0)
        // One loud click in an otherwise silent frame: peak 2000, RMS ~158.
        var click = [Int16](repeating: 0, count: 160)
        click[80] = 2000
        XCTAssertNil(feed(&m, click, at: 0.5))
        XCTAssertFalse(m.heardSound)
        XCTAssertNil(feed(&m, frame(200), at: 0.9))
        XCTAssertTrue(m.heardSound)
        XCTAssertNil(m.check(at: 1.89))
        XCTAssertEqual(m.check(at: 1.91), .silence)
    }

    func testNoSilenceDetectionWhenTimeoutIsZero() {
        var m = RecordingMonitor(spec: RecordingSpec(path: "x", maxLengthSeconds: 1, silenceTimeoutSeconds: 0), start: 0)
        for i in 0..<49 { XCTAssertNil(feed(&m, frame(0), at: Double(i) * 0.02)) }
        XCTAssertEqual(feed(&m, frame(0), at: 0.98), .maxLength, "the 50th 20 ms frame fills 1 s")
        XCTAssertEqual(m.samples, 8000)
    }

    func testMaxLengthByClockWhenPacketsStop() {
        let m = RecordingMonitor(spec: RecordingSpec(path: "x", maxLengthSeconds: 2, silenceTimeoutSeconds: 0), start: 5)
        XCTAssertNil(m.check(at: 7.0 + RecordingMonitor.maxLengthGrace - 0.01))
        XCTAssertEqual(m.check(at: 7.0 + RecordingMonitor.maxLengthGrace), .maxLength)
        // Zero or negative means one hour.
        XCTAssertEqual(RecordingMonitor(spec: RecordingSpec(path: "x", maxLengthSeconds: 0), start: 0).maxSamples, 3600 * 8000)
    }

    func testRecorderStopsStoringAtCapacity() {
        var r = Recorder(spec: RecordingSpec(path: "x", maxLengthSeconds: 1, silenceTimeoutSeconds: 0), token: 1, start: 0)
        XCTAssertEqual(r.buffer.capacity, 8000)
        let big = frame(1000, count: 240) // 30 ms packets: 8000 is not a multiple
        var k = 0
        func send() { big.withUnsafeBufferPointer { r.append($0, timestamp: UInt32(k * 240), sequence: UInt16(k), ssrc: 1, at: Double(k) * 0.03) } }
        while r.endReason == nil { send(); k += 1 }
        XCTAssertEqual(r.endReason, .maxLength)
        XCTAssertEqual(r.buffer.count, 8000)
        send()
        XCTAssertEqual(r.buffer.count, 8000, "nothing is stored after the end")
    }
}

final class SilenceTrimmingTests: XCTestCase {
    func testTrimsLeadingAndTrailingSilenceByFrame() {
        let quietNoise = (0..<4000).map { Int16($0 % 7 * 20 - 60) } // RMS ~ 40
        let speech = sine(300, seconds: 1, amplitude: 6000)
        let samples = quietNoise + speech + [Int16](repeating: 0, count: 2400)
        let range = samples.withUnsafeBufferPointer { SilenceTrimmer.trimmedRange($0, threshold: 200) }
        XCTAssertEqual(range, 4000..<12000)
    }

    func testKeepsQuietGapsInsideAndHandlesEdges() {
        let samples = sine(300, seconds: 0.1) + [Int16](repeating: 0, count: 8000) + sine(300, seconds: 0.1) + [Int16](repeating: 0, count: 100)
        let range = samples.withUnsafeBufferPointer { SilenceTrimmer.trimmedRange($0, threshold: 200) }
        XCTAssertEqual(range, 0..<9600)
        XCTAssertEqual([Int16](repeating: 10, count: 5000).withUnsafeBufferPointer { SilenceTrimmer.trimmedRange($0, threshold: 200) }, 0..<0)
        XCTAssertEqual([Int16]().withUnsafeBufferPointer { SilenceTrimmer.trimmedRange($0, threshold: 200) }, 0..<0)
        // A short loud tail that is not a whole frame is kept.
        let tail = [Int16](repeating: 0, count: 320) + frame(5000, count: 50)
        XCTAssertEqual(tail.withUnsafeBufferPointer { SilenceTrimmer.trimmedRange($0, threshold: 200) }, 320..<370)
    }

    func testWriterTrimsOnlyWhenAsked() throws {
        let dir = try temporaryDirectory(self)
        let samples = [Int16](repeating: 0, count: 1600) + sine(440, seconds: 0.5) + [Int16](repeating: 0, count: 8000)
        for trim in [true, false] {
            let spec = RecordingSpec(path: dir + "/sub/\(trim).wav", trimSilence: trim)
            let buffer = SampleBuffer(capacity: 80000)
            _ = samples.withUnsafeBufferPointer { buffer.append($0) }
            let file = try RecordingWriter.write(buffer, spec: spec, reason: .silence)
            XCTAssertEqual(file.reason, .silence)
            let back = try WAVFile.read(path: spec.path)
            if trim {
                XCTAssertEqual(file.durationMilliseconds, 500)
                XCTAssertEqual(back, Array(samples[1600..<5600]))
            } else {
                XCTAssertEqual(file.durationMilliseconds, 1700)
                XCTAssertEqual(back, samples)
            }
        }
    }
}

final class PacketRecordingTests: XCTestCase {
    func testDecodedAudioIsRecordedWithNegotiatedLaw() {
        for (law, pt) in [(G711.Law.ulaw, UInt8(0)), (.alaw, 8), (.alaw, 100)] {
            let h = ProcessorHarness(law: law, payloadType: pt)
            h.processor.recorder = Recorder(spec: RecordingSpec(path: "x", maxLengthSeconds: 10, silenceTimeoutSeconds: 0),
                                            token: 3, start: 0)
            let speech = sine(500, seconds: 0.4)
            var seq: UInt16 = 0
            var t = 0.0
            for p in audioPackets(speech, law: law, pt: pt) { h.feed(p, now: t); t += 0.02 }
            // Telephone events and other payload types are not audio.
            for p in keyPressPackets(1, ts: 99, seq: &seq) { h.feed(p, now: t) }
            h.feed(rtpPacket(pt: 13, seq: 1, ts: 1, payload: [0x40]), now: t)
            let buffer = h.processor.recorder!.buffer
            XCTAssertEqual(buffer.count, speech.count)
            let expected = speech.map(law == .ulaw ? G711.ulaw : G711.alaw).map { law == .ulaw ? G711.ulawDecode($0) : G711.alawDecode($0) }
            XCTAssertEqual(Array(buffer.samples), expected)
            XCTAssertEqual(h.digitString, "1")
        }
    }

    func testRecordingEndsByMaxLengthFromPackets() {
        let h = ProcessorHarness()
        h.processor.recorder = Recorder(spec: RecordingSpec(path: "x", maxLengthSeconds: 1, silenceTimeoutSeconds: 0), token: 1, start: 0)
        let packets = audioPackets(sine(500, seconds: 1.5))
        for (i, p) in packets.enumerated() {
            h.feed(p, now: Double(i) * 0.02)
            if i == 48 { XCTAssertNil(h.processor.recorder?.endReason) }
        }
        XCTAssertEqual(h.processor.recorder?.endReason, .maxLength)
        XCTAssertEqual(h.processor.recorder?.buffer.count, 8000)
    }
}

/// `<Record channels="dual">`: the caller on the left, what tollfreed sent (nothing) right.
final class DualRecordingImageTests: XCTestCase {
    private let caller: [Int16] = (0..<8000).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / 8000)) }

    func testDualWAVHasTheCallerLeftAndSilenceRight() throws {
        var spec = RecordingSpec(path: "x.wav")
        spec.dual = true
        let image = try caller.withUnsafeBufferPointer { try RecordingWriter.image($0, spec: spec) }
        let (format, data) = try WAVFile.parse(image)
        XCTAssertEqual(format.channels, 2)
        XCTAssertEqual(format.sampleRate, 8000)
        let samples = image[data].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        XCTAssertEqual(samples.count, 16_000)
        XCTAssertEqual(stride(from: 0, to: samples.count, by: 2).map { samples[$0] }, caller)
        XCTAssertTrue(stride(from: 1, to: samples.count, by: 2).allSatisfy { samples[$0] == 0 })
    }

    func testMonoStaysMono() throws {
        let image = try caller.withUnsafeBufferPointer { try RecordingWriter.image($0, spec: RecordingSpec(path: "x.wav")) }
        XCTAssertEqual(try WAVFile.parse(image).0.channels, 1)
    }

    func testDualMP3IsStereo() throws {
        var spec = RecordingSpec(path: "x.mp3")
        spec.dual = true
        spec.mp3 = true
        let image = try caller.withUnsafeBufferPointer { try RecordingWriter.image($0, spec: spec) }
        // MPEG audio frame header: channel mode in the top two bits of the fourth byte
        // (3 = mono); the LAME tag frame comes first and has the same header.
        let sync = try XCTUnwrap(image.indices.dropLast(3).first { image[$0] == 0xFF && image[$0 + 1] & 0xE0 == 0xE0 })
        XCTAssertNotEqual(image[sync + 3] >> 6, 3, "not a mono frame")
        let (decoded, rate) = try MP3Decoder.decode(image)
        XCTAssertEqual(rate, 8000)
        XCTAssertGreaterThan(decoded.count, 7000)
    }
}
