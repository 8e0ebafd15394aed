import Foundation
import Observability
import Signaling
import XCTest

/// Stopping the SIP stack while other threads (the media threads, the webhook client) are
/// still posting work to it: `post` used to read the agent pointer while the signaling
/// thread destroyed it, and could queue into freed memory.
final class SIPStackShutdownTests: XCTestCase {
    private final class Sink: SIPStackDelegate, @unchecked Sendable {
        func sipStack(_ stack: SIPStack, didReceive event: SIPEvent) {}
    }

    func testPostingWhileTheStackStopsIsSafe() throws {
        let ran = Mutex(0)
        for round in 0..<15 {
            let stack = SIPStack(logger: Logger(minimumLevel: .error, sink: MemorySink()))
            let sink = Sink()
            try stack.start(host: "127.0.0.1", port: Int(freePort()), userAgent: "shutdown-test", delegate: sink)
            let stop = Mutex(false)
            let posters = (0..<4).map { _ in
                Thread {
                    // Keep posting until well after the stack has gone.
                    var afterStop = 0
                    while afterStop < 2000 {
                        stack.post { ran.withLock { $0 += 1 } }
                        if stop.withLock({ $0 }) { afterStop += 1 }
                    }
                }
            }
            posters.forEach { $0.start() }
            usleep(useconds_t(1000 * (round % 5))) // stop at varying points of the flood
            stack.stop()
            stop.withLock { $0 = true }
            while posters.contains(where: { $0.isExecuting }) { usleep(1000) }
            withExtendedLifetime(sink) {}
        }
        XCTAssertGreaterThan(ran.withLock { $0 }, 0, "work posted before the stop ran")
    }

    /// Timers of any length a flow can ask for: 0 ms used to abort the process in Sofia's
    /// su_timer (`t->sut_duration > 0`; a fuzzed webhook document reached it), and a length
    /// past UInt32 trapped in the conversion.
    func testTimersOfZeroAndHugeLengthsAreSafe() throws {
        let stack = SIPStack(logger: Logger(minimumLevel: .error, sink: MemorySink()))
        let sink = Sink()
        try stack.start(host: "127.0.0.1", port: Int(freePort()), userAgent: "timer-test", delegate: sink)
        defer { stack.stop(); withExtendedLifetime(sink) {} }
        let fired = expectation(description: "the 0 ms and negative timers fire")
        fired.expectedFulfillmentCount = 2
        let scheduled = Mutex<[SIPTimer?]>([])
        stack.post {
            let zero = stack.schedule(afterMilliseconds: 0) { fired.fulfill() }
            let negative = stack.schedule(afterMilliseconds: -5) { fired.fulfill() }
            let huge = stack.schedule(afterMilliseconds: Int.max) { XCTFail("a timer of Int.max ms fired") }
            scheduled.withLock { $0 = [zero, negative, huge] }
        }
        wait(for: [fired], timeout: 10)
        let timers = scheduled.withLock { $0 }
        XCTAssertEqual(timers.count, 3)
        XCTAssertNotNil(timers.last ?? nil, "a huge timer is scheduled (capped), not refused")
        stack.post { if let huge = timers.last ?? nil { stack.cancel(huge) } }
    }
}
