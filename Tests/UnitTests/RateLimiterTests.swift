import Routing
import XCTest

final class RateLimiterTests: XCTestCase {
    func testBurstThenSteadyRatePerSource() {
        var r = SourceRateLimiter(ratePerSecond: 2, burst: 3)
        XCTAssertEqual((0..<5).map { _ in r.allow("198.51.100.1", now: 0) }, [true, true, true, false, false])
        XCTAssertTrue(r.allow("198.51.100.2", now: 0), "other sources have their own bucket")
        XCTAssertFalse(r.allow("198.51.100.1", now: 0.4), "0.8 of a token")
        XCTAssertTrue(r.allow("198.51.100.1", now: 0.5), "one token after 0.5 s at 2/s")
        XCTAssertFalse(r.allow("198.51.100.1", now: 0.5))
        XCTAssertEqual((0..<4).map { _ in r.allow("198.51.100.1", now: 100) }, [true, true, true, false], "refills to the burst only")
    }

    func testDisabledAndPruned() {
        var off = SourceRateLimiter(ratePerSecond: 0, burst: 1)
        XCTAssertTrue((0..<1000).allSatisfy { _ in off.allow("x", now: 0) })
        var r = SourceRateLimiter(ratePerSecond: 10, burst: 10)
        for i in 0..<100 { _ = r.allow("10.0.0.\(i)", now: 0) }
        XCTAssertEqual(r.trackedSources, 100)
        _ = r.allow("10.0.1.1", now: 1000)
        XCTAssertEqual(r.trackedSources, 1, "idle sources are forgotten")
    }
}
