import XCTest
@testable import Media

/// End-pointing of `<Gather input="speech">` utterances, on a manual clock.
final class SpeechListenerTests: XCTestCase {
    private let spec = SpeechListenSpec(endSilenceSeconds: 1, maxSeconds: 5)

    private func feed(_ l: inout SpeechListener, level: Int16, frames: Int, from start: Double) -> Double {
        let frame = [Int16](repeating: 0, count: 160).enumerated().map { $0.offset % 2 == 0 ? level : -level }
        var t = start
        for _ in 0..<frames {
            frame.withUnsafeBufferPointer { l.append($0, at: t) }
            t += 0.02
        }
        return t
    }

    func testQuietAndNoiseBelowTheOnsetAreNotSpeech() {
        var l = SpeechListener(spec: spec, token: 1)
        let t = feed(&l, level: 300, frames: 200, from: 100)
        XCTAssertEqual(l.phase, .waiting)
        XCTAssertFalse(l.check(at: t + 10), "without speech only the Gather's own timer ends listening")
        XCTAssertEqual(l.utterance(), [])
        XCTAssertLessThan(l.buffer.count, 2 * 2400 + 1, "only the preroll is kept before speech")
    }

    func testAClickIsNotSpeech() {
        var l = SpeechListener(spec: spec, token: 1)
        var t = feed(&l, level: 5000, frames: 2, from: 100)
        t = feed(&l, level: 0, frames: 5, from: t)
        XCTAssertEqual(l.phase, .waiting, "two loud frames are under the 60 ms onset")
    }

    func testSpeechThenAPauseEndsTheUtteranceWithItsPreroll() {
        var l = SpeechListener(spec: spec, token: 7)
        var t = feed(&l, level: 0, frames: 50, from: 100)        // 1 s of silence first
        t = feed(&l, level: 3000, frames: 3, from: t)            // onset
        XCTAssertEqual(l.phase, .speaking)
        t = feed(&l, level: 3000, frames: 47, from: t)           // 1 s of speech in all
        t = feed(&l, level: 0, frames: 49, from: t)               // 0.98 s pause
        XCTAssertEqual(l.phase, .speaking, "short of the pause")
        t = feed(&l, level: 0, frames: 2, from: t)
        XCTAssertEqual(l.phase, .ended)
        let utterance = l.utterance()
        let loud = utterance.filter { abs(Int($0)) >= 3000 }.count
        XCTAssertEqual(loud, 50 * 160, "every voiced sample is kept")
        let lead = utterance.prefix { $0 == 0 }.count
        XCTAssertGreaterThanOrEqual(lead, 2400 - 160, "about 0.3 s of preroll before the first word")
        XCTAssertLessThanOrEqual(lead, 4800)
        XCTAssertLessThanOrEqual(utterance.count - lead - loud, 1600, "the trailing pause is not decoded")
        _ = t
    }

    /// A caller who stops sending packets mid-sentence: the clock ends it.
    func testTheClockEndsAnUtteranceWhenPacketsStop() {
        var l = SpeechListener(spec: spec, token: 1)
        let t = feed(&l, level: 3000, frames: 10, from: 100)
        XCTAssertFalse(l.check(at: t + 0.5))
        XCTAssertTrue(l.check(at: t + 1.0))
        XCTAssertEqual(l.utterance().count, 10 * 160, "what arrived; no tail without packets")
    }

    func testMaximumLengthEndsAnEndlessTalker() {
        var l = SpeechListener(spec: spec, token: 1)
        _ = feed(&l, level: 3000, frames: 300, from: 100)
        XCTAssertEqual(l.phase, .ended, "5 s maximum")
        XCTAssertLessThanOrEqual(l.utterance().count, Int(5.4 * 8000))
    }
}
