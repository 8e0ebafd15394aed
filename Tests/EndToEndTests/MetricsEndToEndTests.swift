import Foundation
import XCTest

/// Prometheus metrics and health probes of a running daemon.
final class MetricsEndToEndTests: XCTestCase {
    func testMetricsCountCallsAndProbesAnswer() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        XCTAssertEqual(d.httpGet("/healthz")?.status, 200)
        XCTAssertEqual(d.httpGet("/readyz")?.status, 200)
        XCTAssertEqual(d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "metrics-1").status, 0)
        XCTAssertEqual(d.sipp("uac_expect_404.xml", dial: "8005550199", tag: "metrics-404").status, 0)
        XCTAssertEqual(d.sipp("uac_emergency_header.xml", dial: "2082792555", tag: "metrics-e").status, 0)
        XCTAssertTrue(waitUntil(timeout: 10) { d.metric("tollfreed_calls_active") == 0 }, "the calls have ended")
        let scrape = try XCTUnwrap(d.httpGet("/metrics"))
        XCTAssertEqual(scrape.status, 200)
        let text = scrape.body
        XCTAssertTrue(text.contains(#"tollfreed_calls_total{did="+18005963057",tenant="healthcare-client-001",disposition="completed"} 1"#), text)
        XCTAssertTrue(text.contains(#"tollfreed_admission_rejections_total{reason="404"} 1"#), text)
        XCTAssertTrue(text.contains("tollfreed_emergency_calls_total 1"), text)
        XCTAssertTrue(text.contains("tollfreed_invite_to_answer_seconds_count 2"), text)
        XCTAssertTrue(text.contains("tollfreed_calls_active 0"), text)
        XCTAssertTrue(text.contains("# TYPE tollfreed_record_write_seconds histogram"))
        XCTAssertTrue(text.contains("tollfreed_pacer_ticks_total "), text)
        // The calls' prompts were synthesised and kept: the cache's size is visible.
        XCTAssertGreaterThan(d.metric("tollfreed_prompt_cache_bytes") ?? 0, 0, text)
        XCTAssertGreaterThan(d.metric("tollfreed_prompt_cache_entries") ?? 0, 0, text)
        // Text to speech: the start-up prompts were timed, and nothing waits now.
        XCTAssertGreaterThan(d.metric("tollfreed_tts_seconds_count") ?? 0, 0, text)
        XCTAssertEqual(d.metric("tollfreed_tts_queued"), 0, text)
        // malloc's view of the heap, next to RSS.
        XCTAssertGreaterThan(d.metric("tollfreed_heap_in_use_bytes") ?? 0, 1_048_576, text)
        XCTAssertNotNil(d.metric("tollfreed_heap_free_bytes"), text)
        XCTAssertEqual(d.httpGet("/nope")?.status, 404)
    }
}

/// The metrics server under slow, stalled, oversized and too many clients: the probes keep
/// answering while the bad clients are still connected.
final class MetricsServerLimitsEndToEndTests: XCTestCase {
    private func daemonAndPort() throws -> (DaemonUnderTest, UInt16) {
        let d = try DaemonUnderTest(ringMs: 0)
        return (d, try XCTUnwrap(d.metricsPort))
    }

    func testSlowClientsDoNotHoldTheProbes() throws {
        let (d, port) = try daemonAndPort()
        defer { d.stop() }
        let silent = try (0..<8).map { _ in try XCTUnwrap(RawHTTPConnection(port: port)) }
        let half = try XCTUnwrap(RawHTTPConnection(port: port))
        half.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        XCTAssertEqual(d.httpGet("/healthz")?.status, 200)
        XCTAssertEqual(d.httpGet("/readyz")?.status, 200)
        for connection in silent + [half] {
            XCTAssertTrue(connection.isOpenAndUnanswered, "the slow clients were still waiting when the probes answered")
        }
    }

    func testAStalledRequestHeadIsAnswered408AndClosed() throws {
        let (d, port) = try daemonAndPort()
        defer { d.stop() }
        let half = try XCTUnwrap(RawHTTPConnection(port: port))
        half.send("GET /healthz HTTP/1.1\r\n")
        let answer = try XCTUnwrap(half.waitForClose(timeout: 30), "the server closes a stalled connection")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.0 408 "), answer)
    }

    func testAnOversizedRequestHeadIsAnswered431() throws {
        let (d, port) = try daemonAndPort()
        defer { d.stop() }
        let big = try XCTUnwrap(RawHTTPConnection(port: port))
        big.send("GET /healthz HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
        let answer = try XCTUnwrap(big.waitForClose(timeout: 30))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.0 431 "), answer)
        let small = try XCTUnwrap(RawHTTPConnection(port: port))
        small.send("GET /healthz HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 7000) + "\r\n\r\n")
        XCTAssertTrue(try XCTUnwrap(small.waitForClose(timeout: 30)).hasPrefix("HTTP/1.0 200 "))
    }

    func testPastTheConnectionLimitTheOldestStalledClientMakesRoom() throws {
        let (d, port) = try daemonAndPort()
        defer { d.stop() }
        let first = try XCTUnwrap(RawHTTPConnection(port: port))
        first.send("GET /metrics HTTP/1.1\r\n")
        XCTAssertEqual(d.httpGet("/healthz")?.status, 200)  // `first` has been accepted
        let others = try (0..<70).map { _ in try XCTUnwrap(RawHTTPConnection(port: port)) }
        XCTAssertEqual(d.httpGet("/healthz")?.status, 200, "a probe is served past the limit")
        let answer = try XCTUnwrap(first.waitForClose(timeout: 30), "the oldest stalled client was dropped")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.0 408 "), answer)
        XCTAssertTrue(others.last?.isOpenAndUnanswered ?? false, "the newest clients are still connected")
    }
}
