import Formats
import Foundation
import XCTest

/// The one JSON string writer behind the exports, the invoices and the audit log.
final class JSONTextTests: XCTestCase {
    func testEscapes() {
        XCTAssertEqual(JSONText.quoted("plain é ☎"), "\"plain é ☎\"")
        XCTAssertEqual(JSONText.quoted("q\"b\\n\nr\rt\t"), #""q\"b\\n\nr\rt\t""#)
        XCTAssertEqual(JSONText.quoted("\u{0}\u{1}\u{1F}\u{7F}"), "\"\\u0000\\u0001\\u001f\u{7F}\"")
        XCTAssertEqual(JSONText.quoted(""), "\"\"")
    }

    /// The audit log's hashed lines keep CR and tab in the `\u00XX` form they were written in.
    func testAuditForm() {
        XCTAssertEqual(JSONText.quoted("a\rb\tc\nd\"", shortCRAndTab: false), #""a\u000db\u0009c\nd\"""#)
    }

    func testBytesAndStringAgreeAndRoundTrip() throws {
        let text = "x\u{2}\"\\\r\n\t😀,y"
        var bytes: [UInt8] = [1]
        Array(text.utf8).withUnsafeBufferPointer { JSONText.appendQuoted($0, to: &bytes) }
        XCTAssertEqual(bytes, [1] + Array(JSONText.quoted(text).utf8))
        let back = try JSONSerialization.jsonObject(with: Data(("[" + JSONText.quoted(text) + "]").utf8)) as? [String]
        XCTAssertEqual(back, [text])
    }
}
