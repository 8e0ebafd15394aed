import XCTest
@testable import CallControl

final class ProfanityFilterTests: XCTestCase {
    func testProfaneWordsKeepTheirFirstLetter() {
        XCTAssertEqual(ProfanityFilter.mask("this damn phone"), "this d*** phone")
        XCTAssertEqual(ProfanityFilter.mask("Shit happens"), "S*** happens")
    }

    func testOtherWordsAreUntouched() {
        XCTAssertEqual(ProfanityFilter.mask("hello there"), "hello there")
        XCTAssertEqual(ProfanityFilter.mask(""), "")
        XCTAssertEqual(ProfanityFilter.mask("shell assess"), "shell assess", "whole words only")
    }
}
