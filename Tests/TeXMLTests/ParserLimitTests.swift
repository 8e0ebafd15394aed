import Foundation
import XCTest
@testable import TeXML

/// Hostile documents: every limit refuses with a position, and no entity is ever expanded.
/// (The 40,000-level document that used to crash the process is run in a child process by
/// `ToolEndToEndTests.testCheckRefusesADeeplyNestedDocumentWithoutCrashing`.)
final class ParserLimitTests: XCTestCase {

    func testNestingPastTheDepthLimitIsRefusedAtTheFirstElementTooDeep() {
        let depth = TeXMLParser.maxDepth
        // <Response> is level 1; the element at level maxDepth + 1 is refused.
        let xml = "<Response>\n" + String(repeating: "<Say>", count: depth) + "x"
            + String(repeating: "</Say>", count: depth) + "</Response>"
        let error = parseError(xml)
        XCTAssertEqual(error?.kind, .limitExceeded)
        XCTAssertEqual(error?.location, loc(2, 1 + 5 * (depth - 1)))
        XCTAssertEqual(error?.message, "elements are nested more than \(depth) levels deep")
    }

    func testNestingAtTheDepthLimitIsOnlyAStructureError() {
        let depth = TeXMLParser.maxDepth - 1
        let xml = "<Response>" + String(repeating: "<Pause>", count: depth) + "x"
            + String(repeating: "</Pause>", count: depth) + "</Response>"
        XCTAssertEqual(parseError(xml)?.kind, .unexpectedContent)
    }

    func testTooManyElementsAreRefused() {
        let count = TeXMLParser.maxElements
        let xml = "<Response>\n" + String(repeating: "<P/>", count: count) + "</Response>"
        let error = parseError(xml)
        XCTAssertEqual(error?.kind, .limitExceeded)
        XCTAssertEqual(error?.location, loc(2, 1 + 4 * (count - 1)))
        XCTAssertEqual(error?.message, "the document has more than \(count) elements")
    }

    func testTooManyAttributesAreRefused() {
        let count = TeXMLParser.maxAttributes + 1
        let attributes = (0..<count).map { " tf:a\($0)=\"1\"" }.joined()
        let xml = "<Response xmlns:tf=\"urn:tollfreed:texml\">\n  <Pause\(attributes)/>\n</Response>"
        let error = parseError(xml)
        XCTAssertEqual(error?.kind, .limitExceeded)
        XCTAssertEqual(error?.description,
                       "t.xml:2:3: <Pause>: more than \(TeXMLParser.maxAttributes) attributes on one element")
    }

    func testOverlongAttributeValueIsRefused() {
        let value = String(repeating: "a", count: TeXMLParser.maxAttributeLength + 1)
        let error = parseError("<Response>\n  <Redirect method=\"\(value)\">/next</Redirect>\n</Response>")
        XCTAssertEqual(error?.kind, .limitExceeded)
        XCTAssertEqual(error?.description, "t.xml:2:3: <Redirect>: attribute 'method' is longer than "
                       + "\(TeXMLParser.maxAttributeLength) bytes")
    }

    func testOversizedDocumentIsRefusedBeforeParsing() {
        let filler = String(repeating: " ", count: TeXMLParser.maxDocumentBytes)
        let error = parseError("<Response>\(filler)</Response>")
        XCTAssertEqual(error?.kind, .limitExceeded)
        XCTAssertEqual(error?.description,
                       "t.xml:1:1: the document is longer than the limit of \(TeXMLParser.maxDocumentBytes) bytes")
    }

    // MARK: Entities

    func testBillionLaughsIsRefusedAsADTD() {
        var xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE Response [\n<!ENTITY lol \"lol\">\n"
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            xml += "<!ENTITY lol\(level) \"\(String(repeating: "&\(previous);", count: 10))\">\n"
        }
        xml += "]>\n<Response><Say>&lol9;</Say></Response>\n"
        let error = parseError(xml)
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.description, "t.xml:2:1: a DOCTYPE is not allowed in TeXML "
                       + "(no DTDs or entity declarations; use &amp; &lt; &gt; &quot; &apos; only)")
    }

    func testQuadraticBlowupIsRefusedAsADTD() {
        let entity = String(repeating: "a", count: 30_000)
        let xml = "<!DOCTYPE Response [<!ENTITY a \"\(entity)\">]><Response><Say>"
            + String(repeating: "&a;", count: 10_000) + "</Say></Response>"
        XCTAssertEqual(parseError(xml)?.location, loc(1, 1))
    }

    func testExternalEntityIsNeitherReadNorAccepted() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("tf-xxe-\(getpid()).txt")
        try Data("TOPSECRET".utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let xml = """
        <?xml version="1.0"?>
        <!DOCTYPE Response [ <!ENTITY x SYSTEM "\(secret.absoluteString)"> ]>
        <Response><Say>&x;</Say></Response>
        """
        let error = parseError(xml)
        XCTAssertEqual(error?.location, loc(2, 1))
        XCTAssertFalse(error?.description.contains("TOPSECRET") ?? true)
    }

    func testExternalDTDIsRefused() {
        let xml = "<!-- c --><!DOCTYPE Response SYSTEM \"http://127.0.0.1:9/texml.dtd\">\n<Response/>"
        XCTAssertEqual(parseError(xml)?.location, loc(1, 11))
    }

    func testDeclaredNonUTF8EncodingIsRefused() {
        let error = parseError("<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n<Response/>")
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.description, "t.xml:1:1: unsupported document encoding 'UTF-7' (TeXML must be UTF-8)")
    }

    func testUTF16DocumentIsRefused() throws {
        var data = Data([0xFF, 0xFE])
        data.append("<!DOCTYPE Response [<!ENTITY a \"b\">]><Response><Say>&a;</Say></Response>".data(using: .utf16LittleEndian)!)
        XCTAssertThrowsError(try TeXMLParser.parse(data, source: testSource)) { error in
            XCTAssertEqual((error as? TeXMLError)?.description,
                           "t.xml:1:1: the document is not UTF-8 (TeXML must be UTF-8)")
        }
    }

    func testUTF8DeclarationsAndDoctypeInsideACommentAreFine() throws {
        XCTAssertNoThrow(try parse("<?xml version='1.0' encoding='utf-8'?><Response/>"))
        XCTAssertNoThrow(try parse("<?xml version=\"1.0\" encoding=\"US-ASCII\" standalone=\"yes\"?><Response/>"))
        XCTAssertNoThrow(try parse("<!-- <!DOCTYPE x> --><Response><!-- <!DOCTYPE y> --></Response>"))
    }
}
