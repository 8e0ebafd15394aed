import Signaling
import XCTest
@testable import CallControl

/// What webhook requests carry that apps written for Twilio or Telnyx read: sid shapes,
/// the caller's name and who forwarded the call.
final class PlatformParametersTests: XCTestCase {
    func testSidsAreTwoLettersAnd32LowercaseHexDigits() {
        let ids = (0..<1000).map { _ in PlatformSID.random("CA") }
        XCTAssertTrue(ids.allSatisfy { PlatformSID.isWellFormed($0, prefix: "CA") }, ids.first ?? "")
        XCTAssertEqual(Set(ids).count, 1000, "never repeated")
        XCTAssertTrue(PlatformSID.isWellFormed(PlatformSID.random("RE"), prefix: "RE"))
        XCTAssertFalse(PlatformSID.isWellFormed("CA12", prefix: "CA"))
        XCTAssertFalse(PlatformSID.isWellFormed("CA" + String(repeating: "F", count: 32), prefix: "CA"), "lowercase only")
    }

    func testAnAccountSidIsDerivedFromTheTenantUnlessConfigured() {
        let derived = PlatformSID.account(forTenantID: "healthcare-client-001")
        XCTAssertTrue(PlatformSID.isWellFormed(derived, prefix: "AC"), derived)
        XCTAssertEqual(derived, PlatformSID.account(forTenantID: "healthcare-client-001"), "stable across restarts and nodes")
        XCTAssertNotEqual(derived, PlatformSID.account(forTenantID: "fleet-client-001"))
    }

    func testDisplayNamesAreUnquotedAndBounded() {
        XCTAssertEqual(SIPHeaderText.displayName(#""Jane \"JJ\" Roe""#), #"Jane "JJ" Roe"#)
        XCTAssertEqual(SIPHeaderText.displayName("ACME Corp"), "ACME Corp")
        XCTAssertNil(SIPHeaderText.displayName("\"\""))
        XCTAssertNil(SIPHeaderText.displayName("\"a\u{07}b\""), "control characters")
        XCTAssertNil(SIPHeaderText.displayName(String(repeating: "x", count: 129)))
    }

    func testForwarderFromDiversionAndHistoryInfo() {
        XCTAssertEqual(SIPHeaderText.firstURIUser(#""Office" <sip:+18005551212@carrier.example;user=phone>;reason=unconditional"#),
                       "+18005551212")
        XCTAssertEqual(SIPHeaderText.firstURIUser("<sip:+18005551212@h?Reason=SIP%3Bcause%3D302>;index=1, <sip:+18885550000@h>;index=1.1"),
                       "+18005551212", "the first History-Info entry is the number that forwarded")
        XCTAssertEqual(SIPHeaderText.firstURIUser("<tel:+1-800-555-1212;phone-context=x>"), "+1-800-555-1212")
        XCTAssertEqual(SIPHeaderText.firstURIUser("sip:+12025550123@h;reason=deflection"), "+12025550123", "no brackets: parameters are the header's")
        XCTAssertNil(SIPHeaderText.firstURIUser("<sip:carrier.example>"), "no user part")
        XCTAssertNil(SIPHeaderText.firstURIUser("<http://x@y>"))
        XCTAssertNil(SIPHeaderText.firstURIUser("<sip:a<b>@h>"))
        XCTAssertNil(SIPHeaderText.firstURIUser(""))
    }
}
