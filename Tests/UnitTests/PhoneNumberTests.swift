import Routing
import XCTest

final class PhoneNumberTests: XCTestCase {
    private let expected = "+18005963057"

    // MARK: - Forms that normalise to +18005963057

    func testNationalTenDigits() {
        XCTAssertEqual(PhoneNumber.e164("8005963057"), expected)
    }

    func testTrunkPrefixElevenDigits() {
        XCTAssertEqual(PhoneNumber.e164("18005963057"), expected)
    }

    func testE164AsIs() {
        XCTAssertEqual(PhoneNumber.e164("+18005963057"), expected)
    }

    func testVisualSeparators() {
        XCTAssertEqual(PhoneNumber.e164("+1-800-596-3057"), expected)
        XCTAssertEqual(PhoneNumber.e164("1 (800) 596-3057"), expected)
        XCTAssertEqual(PhoneNumber.e164("(800) 596-3057"), expected)
        XCTAssertEqual(PhoneNumber.e164("800.596.3057"), expected)
        XCTAssertEqual(PhoneNumber.e164("  +1 800 596 3057\t"), expected, "surrounding whitespace is trimmed")
    }

    func testSIPAndSIPSURIs() {
        XCTAssertEqual(PhoneNumber.e164("sip:+18005963057@host"), expected)
        XCTAssertEqual(PhoneNumber.e164("sip:18005963057@192.0.2.10:5060"), expected)
        XCTAssertEqual(PhoneNumber.e164("sips:+18005963057@host"), expected)
        XCTAssertEqual(PhoneNumber.e164("SIP:+18005963057@host"), expected, "the scheme is case-insensitive")
    }

    func testTelURI() {
        XCTAssertEqual(PhoneNumber.e164("tel:+18005963057"), expected)
        XCTAssertEqual(PhoneNumber.e164("tel:+1-800-596-3057;phone-context=example.com"), expected)
    }

    func testUserPartWithParameters() {
        XCTAssertEqual(PhoneNumber.e164("+18005963057;npdi;rn=+12025550123"), expected,
                       "the routing number in rn= must not replace the dialed number")
        XCTAssertEqual(PhoneNumber.e164("tel:+18005963057;npdi"), expected)
    }

    func testSIPURIWithUserPartAndURIParameters() {
        XCTAssertEqual(PhoneNumber.e164("sip:+18005963057;npdi@host;user=phone"), expected)
        XCTAssertEqual(PhoneNumber.e164("sip:+18005963057@host;user=phone"), expected)
    }

    func testPercentEscapedPlus() {
        XCTAssertEqual(PhoneNumber.e164("%2B18005963057"), expected)
        XCTAssertEqual(PhoneNumber.e164("sip:%2b18005963057@host"), expected, "hex digits may be lower case")
        XCTAssertEqual(PhoneNumber.e164("sip:%2B1%2D800%2D596%2D3057@host"), expected)
    }

    func testAngleBracketedURI() {
        XCTAssertEqual(PhoneNumber.e164("<sip:+18005963057@host>"), expected)
        XCTAssertEqual(PhoneNumber.e164("<sip:+18005963057;npdi@host;user=phone>"), expected)
        XCTAssertEqual(PhoneNumber.e164("<tel:+18005963057>"), expected)
    }

    // MARK: - International

    func testInternationalPrefix011() {
        XCTAssertEqual(PhoneNumber.e164("011442071234567"), "+442071234567")
        XCTAssertEqual(PhoneNumber.e164("011 44 20 7123 4567"), "+442071234567")
    }

    func testInternationalE164() {
        XCTAssertEqual(PhoneNumber.e164("+44 20 7123 4567"), "+442071234567")
        XCTAssertEqual(PhoneNumber.e164("sip:+442071234567@carrier"), "+442071234567")
    }

    // MARK: - Invalid

    func testEmptyAndBlank() {
        XCTAssertNil(PhoneNumber.e164(""))
        XCTAssertNil(PhoneNumber.e164("   "))
        XCTAssertNil(PhoneNumber.e164("+"))
        XCTAssertNil(PhoneNumber.e164("sip:@host"))
    }

    func testLetters() {
        XCTAssertNil(PhoneNumber.e164("1-800-FLOWERS"))
        XCTAssertNil(PhoneNumber.e164("sip:alice@host"))
        XCTAssertNil(PhoneNumber.e164("800596305x"))
    }

    func testSevenDigitsIsNotANumber() {
        XCTAssertNil(PhoneNumber.e164("5963057"))
        XCTAssertNil(PhoneNumber.e164("596-3057"))
    }

    func testNANPAreaCodeStartingWithZeroOrOne() {
        XCTAssertNil(PhoneNumber.e164("0005963057"))
        XCTAssertNil(PhoneNumber.e164("1105963057"))
        XCTAssertNil(PhoneNumber.e164("+10005963057"))
        XCTAssertNil(PhoneNumber.e164("+11005963057"))
    }

    func testNANPExchangeStartingWithZeroOrOne() {
        XCTAssertNil(PhoneNumber.e164("8000963057"))
        XCTAssertNil(PhoneNumber.e164("+18001963057"))
    }

    func testNANPWithWrongLength() {
        XCTAssertNil(PhoneNumber.e164("+1800596305"), "+1 followed by 9 digits")
        XCTAssertNil(PhoneNumber.e164("+180059630571"), "+1 followed by 11 digits")
    }

    func testTooLong() {
        XCTAssertNil(PhoneNumber.e164("+4420712345678901"), "16 digits exceeds E.164's 15")
        XCTAssertNil(PhoneNumber.e164("0114420712345678901"))
    }

    func testOtherLengthsWithoutPlusAreRejected() {
        XCTAssertNil(PhoneNumber.e164("28005963057"), "11 digits without the NANP trunk prefix")
        XCTAssertNil(PhoneNumber.e164("800596305"), "9 digits")
        XCTAssertNil(PhoneNumber.e164("011"), "international prefix alone")
    }

    func testCountryCodeZeroAndMisplacedPlus() {
        XCTAssertNil(PhoneNumber.e164("+0442071234567"))
        XCTAssertNil(PhoneNumber.e164("1+8005963057"))
        XCTAssertNil(PhoneNumber.e164("++18005963057"))
    }

    func testBadPercentEscapes() {
        XCTAssertNil(PhoneNumber.e164("%2"))
        XCTAssertNil(PhoneNumber.e164("%ZZ18005963057"))
        XCTAssertNil(PhoneNumber.e164("%FF8005963057"), "not valid UTF-8 once decoded")
    }

    // MARK: - Toll-free

    func testTollFreeAreaCodes() {
        for npa in ["800", "833", "844", "855", "866", "877", "888"] {
            XCTAssertTrue(PhoneNumber.isTollFree("+1\(npa)5963057"), npa)
        }
    }

    func testNotTollFree() {
        XCTAssertFalse(PhoneNumber.isTollFree("+12025550123"))
        XCTAssertFalse(PhoneNumber.isTollFree("+18225550123"), "822 is reserved, not in service as toll-free")
        XCTAssertFalse(PhoneNumber.isTollFree("+442071234567"))
        XCTAssertFalse(PhoneNumber.isTollFree("8005963057"), "expects E.164")
        XCTAssertFalse(PhoneNumber.isTollFree("+1800596305"), "too short")
    }

    // MARK: - DIDDirectory

    private let directory = DIDDirectory([
        DIDRoute(did: "+18005963057", tenant: "healthcare-client-001", industry: .healthcare,
                 flow: "healthcare-intake.xml"),
        DIDRoute(did: "+18888046762", tenant: "fleet-client-001", industry: .fleet,
                 flow: "fleet-emergency.xml", emergency: true),
    ])

    func testDirectoryLookupByAnyForm() throws {
        for dialed in ["8005963057", "18005963057", "+1-800-596-3057", "1 (800) 596-3057",
                       "sip:+18005963057@host", "sips:+18005963057@host", "tel:+18005963057",
                       "+18005963057;npdi;rn=+12025550123", "sip:+18005963057;npdi@host;user=phone",
                       "%2B18005963057", "<sip:+18005963057@host>"] {
            let route = try XCTUnwrap(directory.route(forDialed: dialed), dialed)
            XCTAssertEqual(route.did, "+18005963057", dialed)
            XCTAssertEqual(route.tenant, "healthcare-client-001", dialed)
            XCTAssertEqual(route.industry, .healthcare, dialed)
            XCTAssertEqual(route.flow, "healthcare-intake.xml", dialed)
            XCTAssertFalse(route.emergency, dialed)
        }
    }

    func testDirectoryKeepsEmergencyFlag() throws {
        let route = try XCTUnwrap(directory.route(forDialed: "sip:8888046762@pbx"))
        XCTAssertEqual(route.tenant, "fleet-client-001")
        XCTAssertTrue(route.emergency)
    }

    func testDirectoryUnknownAndInvalid() {
        XCTAssertNil(directory.route(forDialed: "+18335550100"))
        XCTAssertNil(directory.route(forDialed: "sip:alice@host"))
        XCTAssertNil(directory.route(forDialed: ""))
    }

    func testDirectoryAllIsSortedByDID() {
        XCTAssertEqual(directory.all.map(\.did), ["+18005963057", "+18888046762"])
    }

    func testLaterRouteForSameDIDWins() {
        let d = DIDDirectory([
            DIDRoute(did: "+18005963057", tenant: "a", industry: .general, flow: "a.xml"),
            DIDRoute(did: "+18005963057", tenant: "b", industry: .legal, flow: "b.xml"),
        ])
        XCTAssertEqual(d.all.count, 1)
        XCTAssertEqual(d.route(forDialed: "8005963057")?.tenant, "b")
    }
}
