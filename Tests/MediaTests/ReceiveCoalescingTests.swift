@testable import Media
import XCTest

/// The receiver's pause after a busy pass: fixed when nothing is relayed (least CPU),
/// bounded by the cycle when something is (relay latency bounded at any load).
final class ReceiveCoalescingTests: XCTestCase {
    let c = ReceiveCoalescing(threshold: 8, periodNanoseconds: 1_000_000)

    func testLightLoadReadsEveryPacketAsItArrives() {
        for relaying in [false, true] {
            XCTAssertEqual(c.pause(ready: 1, capacity: 256, busyNanoseconds: 10_000, relaying: relaying), 0)
            XCTAssertEqual(c.pause(ready: 7, capacity: 256, busyNanoseconds: 10_000, relaying: relaying), 0)
        }
    }

    func testWithoutRelaysEveryBusyPassPausesOnePeriod() {
        XCTAssertEqual(c.pause(ready: 8, capacity: 256, busyNanoseconds: 0, relaying: false), 1_000_000)
        XCTAssertEqual(c.pause(ready: 256, capacity: 256, busyNanoseconds: 3_000_000, relaying: false), 1_000_000)
    }

    func testWithRelaysThePauseFillsTheCycleUpToOnePeriod() {
        XCTAssertEqual(c.pause(ready: 8, capacity: 256, busyNanoseconds: 0, relaying: true), 1_000_000)
        // A pass that took 0.7 ms leaves 0.3 ms: the cycle is one period, not 1.7 ms.
        XCTAssertEqual(c.pause(ready: 100, capacity: 256, busyNanoseconds: 700_000, relaying: true), 300_000)
    }

    func testWithRelaysALongPassOrAFullEventBufferIsFollowedByNoPause() {
        XCTAssertEqual(c.pause(ready: 200, capacity: 256, busyNanoseconds: 1_000_000, relaying: true), 0)
        XCTAssertEqual(c.pause(ready: 200, capacity: 256, busyNanoseconds: 3_500_000, relaying: true), 0)
        XCTAssertEqual(c.pause(ready: 256, capacity: 256, busyNanoseconds: 100_000, relaying: true), 0)
    }

    /// The load that made relayed packets wait 13 ms at 1,000 bridges: 100 packets arrive
    /// per millisecond and each costs 7 us. With relays the backlog a pass finds stays
    /// near one period's arrivals; with a pause after every pass (what nothing-relayed
    /// does, and what bridges had before) it grows without bound: 7 us x N + 1 ms > 10 us x N
    /// needs N > 333, more than one wait returns.
    func testBacklogUnderSustainedLoad() {
        func worstBacklog(relaying: Bool) -> Double {
            // Starting from one busy moment (the receiver was descheduled for a millisecond).
            var backlog = 100.0, worst = 0.0
            for _ in 0..<1_000 {
                let ready = Int32(min(backlog, 256))
                let busy = UInt64(Double(ready) * 7_000)
                let cycle = Double(busy + c.pause(ready: ready, capacity: 256, busyNanoseconds: busy, relaying: relaying)) + 20_000
                backlog = backlog - Double(ready) + cycle / 10_000 // 100 packets per ms
                worst = max(worst, backlog)
            }
            return worst
        }
        XCTAssertLessThan(worstBacklog(relaying: true), 150, "with relays the backlog stays near one period's arrivals (100)")
        XCTAssertGreaterThan(worstBacklog(relaying: false), 1_000, "a pause after every pass lets this backlog grow")
    }
}
