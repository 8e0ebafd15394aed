import Metering
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// The order of the checks before admission control, and the INVITE's offer.
final class InviteGateTests: XCTestCase {
    private let ordinary = InviteFacts(flow: "general.xml")

    func testAnOrdinaryCallOfOursGoesOnToAdmission() {
        XCTAssertEqual(InviteGate.verdict(ordinary), .admit)
    }

    func testScreeningComesFirstAndIsNeverRecorded() {
        var f = ordinary
        f.sourceTrusted = false
        f.withinRate = false
        f.contactUsable = false
        f.emergency = true
        XCTAssertEqual(InviteGate.verdict(f), .drop(.untrusted), "an untrusted network may not claim an emergency")
        f.sourceTrusted = true
        XCTAssertEqual(InviteGate.verdict(f), .drop(.rateLimited))
        f.withinRate = true
        XCTAssertEqual(InviteGate.verdict(f), .drop(.badContact))
        XCTAssertEqual(InviteDrop.badContact.status, 400)
        XCTAssertFalse(InviteGate.verdict(f).classified, "screened out before classification")
    }

    func testFloodsAndBacklogNeverStopAnEmergencyCall() {
        var f = ordinary
        f.halfOpenRefusal = "source holds 3 half-open calls"
        f.recordBacklogFull = true
        XCTAssertEqual(InviteGate.verdict(f), .drop(.halfOpen("source holds 3 half-open calls")))
        XCTAssertTrue(InviteGate.verdict(f).classified)
        f.halfOpenRefusal = nil
        XCTAssertEqual(InviteGate.verdict(f), .drop(.recordBacklogFull))
        XCTAssertEqual(InviteDrop.recordBacklogFull.headers, ["Retry-After: 30"])
        f.halfOpenRefusal = "x"
        f.emergency = true
        XCTAssertEqual(InviteGate.verdict(f), .admit)
    }

    func testASpeechBacklogRefusesOrdinaryCallsWithARecordAndNeverAnEmergency() {
        var f = ordinary
        f.speechBacklogged = true
        XCTAssertEqual(InviteGate.verdict(f), .refuse(InviteRefusal(status: 503, disposition: .busy, reason: "text-to-speech backlog",
                                                                    headers: ["Retry-After: 5"], rejection: "tts_backlog")))
        f.emergency = true
        XCTAssertEqual(InviteGate.verdict(f), .admit)
        f.emergency = false
        f.flow = nil
        XCTAssertEqual(InviteGate.verdict(f), .refuse(InviteRefusal(status: 404, disposition: .rejected, reason: "unknown number")),
                       "an unknown number is told so first")
    }

    func testDrainingRefusesEveryCallWithARecord() {
        var f = ordinary
        f.draining = true
        f.emergency = true
        f.recordBacklogFull = true
        XCTAssertEqual(InviteGate.verdict(f), .refuse(InviteRefusal(status: 503, disposition: .busy, reason: "draining",
                                                                    headers: ["Retry-After: 30"])))
    }

    func testUnknownNumberAndMissingFlowAreRecordedRefusals() {
        var f = ordinary
        f.flowAvailable = false
        XCTAssertEqual(InviteGate.verdict(f), .refuse(InviteRefusal(status: 500, disposition: .failed,
                                                                    reason: "flow general.xml not loaded")))
        f.flow = nil
        XCTAssertEqual(InviteGate.verdict(f), .refuse(InviteRefusal(status: 404, disposition: .rejected, reason: "unknown number")))
    }

    func testOfferIsOptionalButMustBeReadableSDP() throws {
        XCTAssertEqual(try InviteGate.offer(body: nil, contentType: nil).get(), nil, "a late offer")
        XCTAssertEqual(try InviteGate.offer(body: "", contentType: "application/sdp").get(), nil)
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
        XCTAssertNotNil(try InviteGate.offer(body: sdp, contentType: "Application/SDP").get())
        guard case .failure(let wrongType) = InviteGate.offer(body: sdp, contentType: "text/plain") else { return XCTFail() }
        XCTAssertEqual(wrongType.status, 415)
        XCTAssertEqual(wrongType.headers, ["Accept: application/sdp"])
        guard case .failure(let bad) = InviteGate.offer(body: "v=0\r\nm=audio x\"\\\r\n", contentType: "application/sdp") else {
            return XCTFail("malformed SDP accepted")
        }
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.headers[0].hasPrefix("Warning: 399 tollfreed \"Malformed SDP: "), bad.headers[0])
        XCTAssertFalse(bad.headers[0].dropFirst(31).dropLast().contains("\""), "the reason is quoted safely: \(bad.headers[0])")
    }
}
