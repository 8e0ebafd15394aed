import Signaling
import XCTest

final class DTMFInfoTests: XCTestCase {
    func testDTMFRelayBodies() {
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "Signal=5\r\nDuration=160\r\n"), "5")
        XCTAssertEqual(DTMFInfo.digit(contentType: "Application/DTMF-Relay", body: "Duration=160\nSignal= #\n"), "#")
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "Signal=11\r\nDuration=100"), "#")
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "Signal=10"), "*")
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "signal=a"), "A")
    }

    func testPlainDTMFBodies() {
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf", body: "7"), "7")
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf", body: "  9\r\n"), "9")
        XCTAssertEqual(DTMFInfo.digit(contentType: "application/dtmf", body: "11"), "#")
    }

    func testBodiesWithoutADigit() {
        XCTAssertNil(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "Duration=160"))
        XCTAssertNil(DTMFInfo.digit(contentType: "application/dtmf-relay", body: "Signal=X"))
        XCTAssertNil(DTMFInfo.digit(contentType: "application/dtmf", body: "55"))
        XCTAssertNil(DTMFInfo.digit(contentType: "text/plain", body: "5"))
        XCTAssertNil(DTMFInfo.digit(contentType: nil, body: "5"))
        XCTAssertNil(DTMFInfo.digit(contentType: "application/dtmf", body: nil))
    }
}
