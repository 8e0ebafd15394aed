import Media
import XCTest

/// How far text to speech is behind per tenant (`SynthesisBacklog`) and the tenants' turns
/// at the synthesis thread (`FairSynthesisQueue`): durations passed in, no clock.
final class SynthesisBacklogTests: XCTestCase {
    private func key(_ text: String) -> SpeechKey { SpeechKey(text: text, voice: "alice", language: "en-US") }

    func testNothingInFlightIsNoBacklogWhateverTheHistory() {
        var b = SynthesisBacklog()
        XCTAssertEqual(b.expectedWait(tenant: "a", ahead: 0), 0)
        b.enqueued(tenant: "a")
        b.synthesized(seconds: 0.5)
        b.ready(tenant: "a", latency: 3)
        XCTAssertEqual(b.inFlight(tenant: "a"), 0)
        XCTAssertEqual(b.expectedWait(tenant: "a", ahead: 100), 0,
                       "a slow spell that is over does not refuse calls (nothing would ever clear it)")
    }

    func testAQueueIsSeenBeforeAnyoneHasWaited() {
        var b = SynthesisBacklog()
        b.enqueued(tenant: "a")
        b.synthesized(seconds: 0.01)
        b.ready(tenant: "a", latency: 0.02)
        b.enqueued(tenant: "a")
        XCTAssertEqual(b.expectedWait(tenant: "a", ahead: 150), 1.5, accuracy: 1e-9, "150 ahead at 10 ms each")
        XCTAssertEqual(b.expectedWait(tenant: "a", ahead: 0), 0.02, accuracy: 1e-9, "then the recent latency")
    }

    func testSlowConversionShowsThroughTheLatencyOfTheTenantsRecentPrompts() {
        var b = SynthesisBacklog()
        b.enqueued(tenant: "a")
        b.enqueued(tenant: "a")
        b.synthesized(seconds: 0.005)
        b.ready(tenant: "a", latency: 2.0)
        XCTAssertEqual(b.expectedWait(tenant: "a", ahead: 0), 2.0, accuracy: 1e-9, "nothing queued, yet its prompts take 2 s")
        b.enqueued(tenant: "b")
        XCTAssertEqual(b.expectedWait(tenant: "b", ahead: 1), 0.005, accuracy: 1e-9, "another tenant's latency is not b's")
    }

    func testTheAveragesFollowTheLastTenOrSo() {
        var b = SynthesisBacklog()
        b.synthesized(seconds: 1)
        for _ in 0..<30 { b.synthesized(seconds: 0.01) }
        XCTAssertLessThan(b.secondsPerSynthesis, 0.06)
        b.synthesized(seconds: -1)
        XCTAssertGreaterThanOrEqual(b.secondsPerSynthesis, 0, "a clock step backwards counts as 0")
        b.ready(tenant: "x", latency: 1)
        XCTAssertEqual(b.inFlight(tenant: "x"), 0, "never below zero")
    }

    func testTenantsAreServedInTurnEachInItsOwnOrder() {
        var q = FairSynthesisQueue()
        for i in 0..<4 { q.push(key("a\(i)"), tenant: "flood") }
        q.push(key("b0"), tenant: "clinic")
        q.push(key("b1"), tenant: "clinic")
        XCTAssertEqual(q.count, 6)
        var served: [String] = []
        while let (k, _) = q.pop() { served.append(k.text) }
        XCTAssertEqual(served, ["a0", "b0", "a1", "b1", "a2", "a3"])
        XCTAssertEqual(q.count, 0)
        XCTAssertNil(q.pop())
    }

    func testWhatStandsBeforeANewPrompt() {
        var q = FairSynthesisQueue()
        for i in 0..<1000 { q.push(key("a\(i)"), tenant: "flood") }
        XCTAssertEqual(q.ahead(ofNewFrom: "clinic"), 1, "one turn of the flooding tenant, not its thousand prompts")
        XCTAssertEqual(q.ahead(ofNewFrom: "flood"), 1000)
        q.push(key("b0"), tenant: "clinic")
        XCTAssertEqual(q.ahead(ofNewFrom: "clinic"), 3)
        XCTAssertEqual(q.waiting(tenant: "clinic"), 1)
    }

    func testALongQueueIsCompactedAndKeepsItsOrder() {
        var q = FairSynthesisQueue()
        for i in 0..<2000 { q.push(key("\(i)"), tenant: "t") }
        for i in 0..<1500 { XCTAssertEqual(q.pop()?.key.text, "\(i)") }
        q.push(key("2000"), tenant: "t")
        XCTAssertEqual(q.waiting(tenant: "t"), 501)
        var rest: [String] = []
        while let (k, _) = q.pop() { rest.append(k.text) }
        XCTAssertEqual(rest, (1500...2000).map(String.init))
    }
}
