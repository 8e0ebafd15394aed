import Media
import XCTest

/// How far text to speech is behind (`SynthesisBacklog`): durations passed in, no clock.
final class SynthesisBacklogTests: XCTestCase {
    func testNothingInFlightIsNoBacklogWhateverTheHistory() {
        var b = SynthesisBacklog()
        XCTAssertEqual(b.expectedWait, 0)
        b.enqueued()
        b.started()
        b.synthesized(seconds: 0.5)
        b.ready(latency: 3)
        XCTAssertEqual(b.inFlight, 0)
        XCTAssertEqual(b.expectedWait, 0, "a slow spell that is over does not refuse calls (nothing would ever clear it)")
    }

    func testAQueueIsSeenBeforeAnyoneHasWaited() {
        var b = SynthesisBacklog()
        b.enqueued()
        b.started()
        b.synthesized(seconds: 0.01)
        b.ready(latency: 0.02)
        for _ in 0..<150 { b.enqueued() }
        XCTAssertEqual(b.queued, 150)
        XCTAssertEqual(b.expectedWait, 1.5, accuracy: 1e-9, "150 queued at 10 ms each")
        b.started()
        XCTAssertEqual(b.expectedWait, 1.49, accuracy: 1e-9)
    }

    func testSlowConversionShowsThroughTheLatencyOfRecentPrompts() {
        var b = SynthesisBacklog()
        b.enqueued()
        b.enqueued()
        b.started()
        b.synthesized(seconds: 0.005)
        b.started()
        b.synthesized(seconds: 0.005)
        XCTAssertEqual(b.queued, 0)
        b.ready(latency: 2.0)
        XCTAssertEqual(b.expectedWait, 2.0, accuracy: 1e-9, "nothing queued for the synthesis thread, yet prompts take 2 s")
    }

    func testTheAveragesFollowTheLastTenOrSo() {
        var b = SynthesisBacklog()
        b.synthesized(seconds: 1)
        for _ in 0..<30 { b.synthesized(seconds: 0.01) }
        XCTAssertLessThan(b.secondsPerSynthesis, 0.06)
        b.synthesized(seconds: -1)
        XCTAssertGreaterThanOrEqual(b.secondsPerSynthesis, 0, "a clock step backwards counts as 0")
        b.started()
        XCTAssertEqual(b.queued, 0, "never below zero")
    }
}
