@testable import Media
import Foundation
import XCTest

/// Recordings without holes (issue 17, item 7): frames fed with injected arrival times and
/// RTP timestamps; the recording's length is the time recorded whatever the packets did.
/// Frame `k` of a stream holds the value `300 + k` (loud: RMS above the 200 threshold), its
/// timestamp is `160 * k` and it arrives when its last sample was taken, `0.02 * (k + 1)`
/// after the stream's first sample, unless a test says otherwise.
private func value(_ k: Int) -> Int16 { Int16(300 + k) }
private func frame(_ k: Int) -> [Int16] { [Int16](repeating: value(k), count: 160) }

/// Whether the `k`-th 20 ms slot of `s` is there and holds only `v`.
private func slot(_ s: [Int16], _ k: Int, is v: Int16) -> Bool {
    (k + 1) * 160 <= s.count && s[(k * 160)..<((k + 1) * 160)].allSatisfy { $0 == v }
}

private func spec(max: Int = 60, silence: Int = 0, trim: Bool = false) -> RecordingSpec {
    RecordingSpec(path: "x", maxLengthSeconds: max, silenceTimeoutSeconds: silence, trimSilence: trim)
}

private extension Recorder {
    mutating func feed(_ k: Int, at t: Double, ssrc: UInt32 = 7) {
        frame(k).withUnsafeBufferPointer { append($0, timestamp: UInt32(160 * k), sequence: UInt16(k), ssrc: ssrc, at: t) }
    }
}

final class RecordingTimelineTests: XCTestCase {
    /// Writes the recording stopped at `stop` as the writer does and reads the file back.
    private func finish(_ r: Recorder, at stop: Double, trim: Bool = false) throws -> (RecordingFile, [Int16]) {
        var s = r.spec
        s.path = try temporaryDirectory(self) + "/r.wav"
        s.trimSilence = trim
        let file = try RecordingWriter.write(r.buffer, spec: s, reason: .stopped, length: r.length(at: stop))
        return (file, try WAVFile.read(path: s.path))
    }

    /// Real packets through the `PacketProcessor`: every tenth lost and a second of nothing
    /// in the middle. Before, the file held only what arrived: 90 frames, 1.8 s of 3.
    func testLossInTheMiddleLeavesSilenceInPlaceAndTheElapsedLength() throws {
        let h = ProcessorHarness()
        h.processor.recorder = Recorder(spec: spec(), token: 1, start: 100)
        let lost = { (k: Int) in k % 10 == 9 || (50..<100).contains(k) }
        let packets = audioPackets((0..<150).flatMap(frame), firstSeq: 0)
        for (k, p) in packets.enumerated() where !lost(k) { h.feed(p, now: 100 + 0.02 * Double(k + 1)) }
        let (file, samples) = try finish(h.processor.recorder!, at: 103)
        XCTAssertEqual(samples.count, 24_000, "3 s recorded")
        XCTAssertEqual(file.durationMilliseconds, 3000)
        XCTAssertTrue(file.heardSound)
        let misplaced = (0..<150).filter { !slot(samples, $0, is: lost($0) ? 0 : G711.ulawDecode(G711.ulaw(value($0)))) }
        XCTAssertEqual(misplaced, [], "every frame in its place, silence where one was lost")
    }

    /// Nothing at all: silence of the elapsed length, which trimming (on by design) removes.
    func testACallerWhoSendsNothingGivesSilenceOfTheElapsedLength() throws {
        let r = Recorder(spec: spec(silence: 5), token: 1, start: 10)
        XCTAssertEqual(r.monitor.check(at: 15), .silence)
        let (file, samples) = try finish(r, at: 15)
        XCTAssertEqual(samples.count, 40_000, "before: 0")
        XCTAssertEqual(file.durationMilliseconds, 5000)
        XCTAssertTrue(samples.allSatisfy { $0 == 0 })
        XCTAssertFalse(file.heardSound, "the flows treat it as empty, as Twilio does")
        let (trimmedFile, trimmed) = try finish(Recorder(spec: spec(silence: 5), token: 1, start: 10), at: 15, trim: true)
        XCTAssertEqual(trimmed.count, 0, "all silence: nothing between a first and a last frame with sound")
        XCTAssertEqual(trimmedFile.durationMilliseconds, 0)
        // Less than a frame recorded (a hang-up as the recording starts): empty, not 8 samples.
        XCTAssertEqual(Recorder(spec: spec(), token: 1, start: 10).length(at: 10.019), 0)
    }

    /// A second of frames on time, then 0.4 s of nothing, then that 0.4 s all at once (one
    /// packet of it lost), then on time again. Before: appended one after the other, 99
    /// frames, everything after the lost one 20 ms early.
    func testALateBurstFillsTheGapItLeftWithoutGrowingPastTheTime() throws {
        var r = Recorder(spec: spec(), token: 1, start: 0)
        for k in 0..<50 { r.feed(k, at: 0.02 * Double(k + 1)) }
        for k in 50..<70 where k != 60 { r.feed(k, at: 1.4) }
        XCTAssertEqual(r.buffer.count, 11_200, "the burst ends where the time is, 1.4 s")
        for k in 70..<100 { r.feed(k, at: 0.02 * Double(k + 1)) }
        let (_, samples) = try finish(r, at: 2)
        XCTAssertEqual(samples.count, 16_000)
        XCTAssertEqual((0..<100).filter { !slot(samples, $0, is: $0 == 60 ? 0 : value($0)) }, [], "misplaced frames")
    }

    /// `trim="trim-silence"`: the span from the first to the last frame with sound, lost
    /// packets and pauses inside it keeping their length; `do-not-trim`: the time recorded.
    func testTrimmingCutsOnlyTheEndsOfTheTimeline() throws {
        func record() -> Recorder {
            var r = Recorder(spec: spec(), token: 1, start: 0)
            let quiet = [Int16](repeating: 50, count: 160)
            for k in 0..<25 { quiet.withUnsafeBufferPointer { r.append($0, timestamp: UInt32(160 * k), sequence: UInt16(k), ssrc: 7, at: 0.02 * Double(k + 1)) } }
            for k in 25..<50 { r.feed(k, at: 0.02 * Double(k + 1)) }
            for k in 65..<90 where k != 70 { r.feed(k, at: 0.02 * Double(k + 1)) } // 0.3 s of nothing before
            return r
        }
        let (_, whole) = try finish(record(), at: 2.8)
        XCTAssertEqual(whole.count, 22_400, "2.8 s recorded")
        let (file, trimmed) = try finish(record(), at: 2.8, trim: true)
        XCTAssertEqual(trimmed.count, 65 * 160, "frames 25 to 89")
        XCTAssertEqual(file.durationMilliseconds, 1300)
        XCTAssertEqual(trimmed, Array(whole.prefix(90 * 160).dropFirst(25 * 160)))
        XCTAssertEqual((25..<40).filter { !slot(trimmed, $0, is: 0) }, [], "the pause inside stays")
    }

    func testMaxLengthStillEnds() throws {
        // A pause of half a second: the timeline, not the audio received, reaches 1 s.
        var r = Recorder(spec: spec(max: 1), token: 1, start: 0)
        for k in 0..<50 where !(10..<35).contains(k) {
            XCTAssertNil(r.endReason)
            r.feed(k, at: 0.02 * Double(k + 1))
        }
        XCTAssertEqual(r.endReason, .maxLength, "at 1 s though only 25 frames came")
        XCTAssertEqual(r.buffer.count, 8000)
        XCTAssertEqual(r.length(at: 7), 8000, "not the 7 s since the start")
        // Nothing at all: by the clock, and the length stops at the maximum.
        let silent = Recorder(spec: spec(max: 2), token: 1, start: 0)
        XCTAssertEqual(silent.monitor.check(at: 2 + RecordingMonitor.maxLengthGrace), .maxLength)
        XCTAssertEqual(silent.length(at: 2 + RecordingMonitor.maxLengthGrace), 16_000)
        // A timestamp claiming an hour later writes nothing past the arrival time.
        var liar = Recorder(spec: spec(max: 2), token: 1, start: 0)
        liar.feed(0, at: 0.02)
        frame(1).withUnsafeBufferPointer { liar.append($0, timestamp: 8000 * 3600, sequence: 1, ssrc: 7, at: 0.04) }
        XCTAssertEqual(liar.buffer.count, 320)
        XCTAssertNil(liar.endReason)
    }
}

/// The timestamp is the peer's word: checked against the arrival time.
final class FramePlacerTests: XCTestCase {
    func testReorderedPacketFillsItsHole() {
        var p = FramePlacer()
        XCTAssertEqual(p.place(count: 160, timestamp: 1000, sequence: 1, ssrc: 9, arrival: 800), 640, "anchored on arrival")
        XCTAssertEqual(p.place(count: 160, timestamp: 1320, sequence: 3, ssrc: 9, arrival: 1120), 960)
        XCTAssertEqual(p.place(count: 160, timestamp: 1160, sequence: 2, ssrc: 9, arrival: 1125), 800, "late, in its hole")
        XCTAssertEqual(p.end, 1120)
    }

    func testJumpsAndNewSourcesReanchorAtTheArrival() {
        var p = FramePlacer()
        _ = p.place(count: 160, timestamp: 0, sequence: 0, ssrc: 9, arrival: 160)
        // Ten minutes ahead by timestamp, 20 ms by the clock: follows on, no 10 minutes of silence.
        XCTAssertEqual(p.place(count: 160, timestamp: 4_800_000, sequence: 1, ssrc: 9, arrival: 320), 160)
        XCTAssertEqual(p.place(count: 160, timestamp: 4_800_160, sequence: 2, ssrc: 9, arrival: 480), 320)
        // Timestamps that did not advance over a two-second pause: placed at the arrival.
        XCTAssertEqual(p.place(count: 160, timestamp: 4_800_320, sequence: 3, ssrc: 9, arrival: 16_480), 16_320)
        // A new source a little early by the clock: right after what was written, no overlap.
        XCTAssertEqual(p.place(count: 160, timestamp: 77, sequence: 500, ssrc: 10, arrival: 16_600), 16_480)
        // A lying peer: a timestamp far back is no reason to write over the past.
        XCTAssertEqual(p.place(count: 160, timestamp: 77 &- 80_000, sequence: 501, ssrc: 10, arrival: 16_800), 16_640)
        XCTAssertLessThanOrEqual(p.end, 16_800 + FramePlacer.earlyLimit)
    }

    func testAStragglerIsDroppedNotFollowed() {
        var p = FramePlacer()
        for k in 0..<100 {
            XCTAssertEqual(p.place(count: 160, timestamp: UInt32(160 * k), sequence: UInt16(k), ssrc: 9, arrival: 160 * (k + 1)), 160 * k)
        }
        XCTAssertNil(p.place(count: 160, timestamp: 160, sequence: 1, ssrc: 9, arrival: 16_010), "2 s late: dropped")
        XCTAssertEqual(p.place(count: 160, timestamp: 16_000, sequence: 100, ssrc: 9, arrival: 16_160), 16_000, "the stream goes on")
    }

    func testSequenceAndTimestampWrapAround() {
        var p = FramePlacer()
        _ = p.place(count: 160, timestamp: UInt32.max - 159, sequence: UInt16.max, ssrc: 9, arrival: 160)
        XCTAssertEqual(p.place(count: 160, timestamp: 0, sequence: 0, ssrc: 9, arrival: 320), 160)
    }
}

/// A bridged call's recording: both parties on one timeline, whoever speaks last.
final class CallRecordingTimelineTests: XCTestCase {
    private func send(_ rec: CallRecorder, party: Int, _ v: Int16, ts: Int, seq: Int, ssrc: UInt32, at t: Double) {
        [Int16](repeating: v, count: 160).withUnsafeBufferPointer {
            rec.append($0, party: party, timestamp: UInt32(ts), sequence: UInt16(seq), ssrc: ssrc, at: t)
        }
    }

    /// The file written for a stop at `stop`, as its channels.
    private func channels(_ rec: CallRecorder, stoppedAt stop: Double) throws -> [[Int16]] {
        let file = try rec.write(reason: .hangup, frames: rec.length(at: stop))
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file.path)))
        let (format, data) = try WAVFile.parse(image)
        let s = image[data].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        return (0..<format.channels).map { c in stride(from: c, to: s.count, by: format.channels).map { s[$0] } }
    }

    /// The caller talks for 2 s (every tenth packet lost); the callee joins at 0.5 s, talks
    /// for 0.7 s and is silent after; the call is recorded for 3 s. Before, the file
    /// stopped at the caller's last packet, 2 s.
    func testDualChannelsStayAlignedWithAPartySilent() throws {
        let rec = CallRecorder(path: try temporaryDirectory(self) + "/call.wav", token: 1, maxSeconds: 60, dual: true, start: 50)
        for k in 0..<100 where k % 10 != 9 { send(rec, party: 0, value(k), ts: 160 * k, seq: k, ssrc: 1, at: 50.02 + 0.02 * Double(k)) }
        for j in 0..<35 { send(rec, party: 1, 2000 + Int16(j), ts: 90_000 + 160 * j, seq: 7000 + j, ssrc: 2, at: 50.52 + 0.02 * Double(j)) }
        let c = try channels(rec, stoppedAt: 53)
        XCTAssertEqual(c.count, 2)
        XCTAssertEqual(c[0].count, 24_000, "3 s on both channels")
        XCTAssertEqual((0..<150).filter { !slot(c[0], $0, is: $0 < 100 && $0 % 10 != 9 ? value($0) : 0) }, [], "caller's misplaced")
        XCTAssertEqual((0..<150).filter { !slot(c[1], $0, is: (25..<60).contains($0) ? 2000 + Int16($0 - 25) : 0) }, [],
                       "the callee's, silent before joining and after")
    }

    /// Mixed: each party's frame is added once, in its place; a duplicate or a straggler
    /// that comes after its successor is not added again.
    func testMixAddsEachFrameOnceInItsPlace() throws {
        let rec = CallRecorder(path: try temporaryDirectory(self) + "/mix.wav", token: 1, maxSeconds: 60, dual: false, start: 0)
        for k in 0..<50 {
            let t = 0.02 * Double(k + 1)
            send(rec, party: 0, value(k), ts: 160 * k, seq: k, ssrc: 1, at: t)
            if k == 20 { continue }
            send(rec, party: 1, 1000, ts: 160 * k, seq: k, ssrc: 2, at: t)
            if k == 21 { send(rec, party: 1, 1000, ts: 160 * 20, seq: 20, ssrc: 2, at: t) }  // 20, late
            if k == 30 { send(rec, party: 1, 1000, ts: 160 * 30, seq: 30, ssrc: 2, at: t) }  // 30 twice
        }
        let mix = try channels(rec, stoppedAt: 1.5)[0]
        XCTAssertEqual(mix.count, 12_000)
        XCTAssertEqual((0..<75).filter { !slot(mix, $0, is: $0 >= 50 ? 0 : value($0) + ($0 == 20 ? 0 : 1000)) }, [], "wrong slots")
    }

    func testTheMaximumLengthCapsTheTimeline() {
        let rec = CallRecorder(path: "x", token: 1, maxSeconds: 1, dual: true, start: 0)
        send(rec, party: 0, 500, ts: 0, seq: 0, ssrc: 1, at: 0.99)
        send(rec, party: 0, 500, ts: 160, seq: 1, ssrc: 1, at: 1.01)
        XCTAssertEqual(rec.length, 8000)
        XCTAssertEqual(rec.length(at: 30), 8000)
    }
}
