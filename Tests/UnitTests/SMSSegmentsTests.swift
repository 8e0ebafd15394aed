import Foundation
import Metering
import XCTest

final class SMSSegmentsTests: XCTestCase {
    private func text(_ c: String, _ n: Int) -> String { String(repeating: c, count: n) }

    func testEmptyIsOneGSMPartOfZeroUnits() {
        XCTAssertEqual(SMSSegmenter.count(""), SMSSegmentCount(encoding: .gsm7, units: 0, segments: 1))
        XCTAssertEqual(SMSSegmenter.partSizes(""), [0])
        XCTAssertTrue(SMSSegmenter.fits(""))
    }

    func testGSM7PartBoundaries() {
        XCTAssertEqual(SMSSegmenter.count(text("a", 160)), SMSSegmentCount(encoding: .gsm7, units: 160, segments: 1))
        XCTAssertEqual(SMSSegmenter.count(text("a", 161)), SMSSegmentCount(encoding: .gsm7, units: 161, segments: 2))
        XCTAssertEqual(SMSSegmenter.partSizes(text("a", 161)), [153, 8])
        XCTAssertEqual(SMSSegmenter.count(text("a", 306)).segments, 2)
        XCTAssertEqual(SMSSegmenter.count(text("a", 307)).segments, 3)
        XCTAssertEqual(SMSSegmenter.partSizes(text("a", 307)), [153, 153, 1])
    }

    func testWholeBasicTableIsGSM7() {
        var all = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        all += "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
        let n = all.unicodeScalars.count
        XCTAssertEqual(n, 127)  // the 128 codes minus the escape
        XCTAssertEqual(SMSSegmenter.count(all), SMSSegmentCount(encoding: .gsm7, units: n, segments: 1))
        XCTAssertEqual(SMSSegmenter.count("Line one\r\nline two").units, 18)
    }

    func testExtensionCharactersCountTwoSeptets() {
        for c in ["^", "{", "}", "\\", "[", "~", "]", "|", "€", "\u{0C}"] {
            XCTAssertEqual(SMSSegmenter.count(c), SMSSegmentCount(encoding: .gsm7, units: 2, segments: 1), c)
        }
        XCTAssertEqual(SMSSegmenter.count("Price: 10€").units, 11)
        XCTAssertEqual(SMSSegmenter.count(text("{", 80)), SMSSegmentCount(encoding: .gsm7, units: 160, segments: 1))
        XCTAssertEqual(SMSSegmenter.count(text("{", 81)), SMSSegmentCount(encoding: .gsm7, units: 162, segments: 2))
        XCTAssertEqual(SMSSegmenter.partSizes(text("{", 81)), [152, 10])
        XCTAssertEqual(SMSSegmenter.count(text("€", 80)).segments, 1)
        XCTAssertEqual(SMSSegmenter.count(text("€", 81)).segments, 2)
    }

    func testEscapePairIsNotSplitAcrossParts() {
        // 152 septets, then '{' would need septets 153 and 154: it goes whole to part 2.
        let short = text("a", 152) + "{" + text("a", 7)
        XCTAssertEqual(SMSSegmenter.partSizes(short), [152, 9])
        XCTAssertEqual(SMSSegmenter.count(short), SMSSegmentCount(encoding: .gsm7, units: 161, segments: 2))
        // 306 septets would be 2 parts by division; keeping the pair whole makes 3.
        let long = text("a", 152) + "{" + text("a", 152)
        XCTAssertEqual(SMSSegmenter.partSizes(long), [152, 153, 1])
        XCTAssertEqual(SMSSegmenter.count(long), SMSSegmentCount(encoding: .gsm7, units: 306, segments: 3))
        // Under 161 septets nothing is split at all.
        XCTAssertEqual(SMSSegmenter.partSizes(text("a", 152) + "{"), [154])
    }

    func testAccentsOutsideGSM7SwitchToUCS2() {
        XCTAssertEqual(SMSSegmenter.count("café"), SMSSegmentCount(encoding: .gsm7, units: 4, segments: 1))
        XCTAssertEqual(SMSSegmenter.count("cafá"), SMSSegmentCount(encoding: .ucs2, units: 4, segments: 1))
        // One non-GSM character turns the whole message to UCS-2: 100 characters, 2 parts.
        XCTAssertEqual(SMSSegmenter.count(text("a", 99) + "á"), SMSSegmentCount(encoding: .ucs2, units: 100, segments: 2))
        // In UCS-2 extension characters are one unit like any other.
        XCTAssertEqual(SMSSegmenter.count("á{€").units, 3)
        XCTAssertEqual(SMSSegmenter.count("`").encoding, .ucs2)
    }

    func testUCS2PartBoundaries() {
        XCTAssertEqual(SMSSegmenter.count(text("á", 70)), SMSSegmentCount(encoding: .ucs2, units: 70, segments: 1))
        XCTAssertEqual(SMSSegmenter.count(text("á", 71)), SMSSegmentCount(encoding: .ucs2, units: 71, segments: 2))
        XCTAssertEqual(SMSSegmenter.partSizes(text("á", 71)), [67, 4])
        XCTAssertEqual(SMSSegmenter.count(text("á", 134)).segments, 2)
        XCTAssertEqual(SMSSegmenter.count(text("á", 135)).segments, 3)
    }

    func testEmojiCountsTwoUnitsAndIsNotSplit() {
        XCTAssertEqual(SMSSegmenter.count("😀"), SMSSegmentCount(encoding: .ucs2, units: 2, segments: 1))
        XCTAssertEqual(SMSSegmenter.count("ok 👍"), SMSSegmentCount(encoding: .ucs2, units: 5, segments: 1))
        XCTAssertEqual(SMSSegmenter.count(text("😀", 35)), SMSSegmentCount(encoding: .ucs2, units: 70, segments: 1))
        XCTAssertEqual(SMSSegmenter.count(text("😀", 36)), SMSSegmentCount(encoding: .ucs2, units: 72, segments: 2))
        XCTAssertEqual(SMSSegmenter.partSizes(text("😀", 36)), [66, 6])
        // 134 units would be 2 parts by division; the pair at unit 67-68 moves to part 2.
        let s = text("á", 66) + "😀" + text("á", 66)
        XCTAssertEqual(SMSSegmenter.partSizes(s), [66, 67, 1])
        XCTAssertEqual(SMSSegmenter.count(s), SMSSegmentCount(encoding: .ucs2, units: 134, segments: 3))
    }

    func testTenPartLimit() {
        XCTAssertEqual(SMSSegmenter.maxSegments, 10)
        XCTAssertEqual(SMSSegmenter.count(text("a", 1530)).segments, 10)
        XCTAssertTrue(SMSSegmenter.fits(text("a", 1530)))
        XCTAssertEqual(SMSSegmenter.count(text("a", 1531)).segments, 11)
        XCTAssertFalse(SMSSegmenter.fits(text("a", 1531)))
        XCTAssertTrue(SMSSegmenter.fits(text("á", 670)))
        XCTAssertFalse(SMSSegmenter.fits(text("á", 671)))
        XCTAssertFalse(SMSSegmenter.fits(text("{", 766)))  // 1532 septets, pairs kept whole: 11 parts
    }
}
