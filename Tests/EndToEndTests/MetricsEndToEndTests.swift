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
        XCTAssertEqual(d.httpGet("/nope")?.status, 404)
    }
}
