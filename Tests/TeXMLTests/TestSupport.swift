import Foundation
import XCTest
@testable import TeXML

/// Source name used for inline test documents.
let testSource = "t.xml"

/// Parses an inline document.
func parse(_ xml: String, source: String = testSource) throws -> FlowDocument {
    try TeXMLParser.parse(Data(xml.utf8), source: source)
}

/// Location in the inline test source.
func loc(_ line: Int, _ column: Int) -> SourceLocation {
    SourceLocation(file: testSource, line: line, column: column)
}

/// Parses `xml`, which must contain exactly one top-level verb, and returns it.
func single(_ xml: String, file: StaticString = #filePath, line: UInt = #line) throws -> Verb {
    let document = try parse(xml)
    XCTAssertEqual(document.verbs.count, 1, "expected one verb", file: file, line: line)
    return try XCTUnwrap(document.verbs.first, file: file, line: line)
}

/// Asserts that parsing `xml` fails with exactly `description` (and `kind`, if given).
func assertParseError(_ xml: String, _ description: String, kind: TeXMLError.Kind? = nil,
                      file: StaticString = #filePath, line: UInt = #line) {
    do {
        let document = try parse(xml)
        XCTFail("expected an error, parsed \(document.verbs.count) verbs", file: file, line: line)
    } catch let error as TeXMLError {
        XCTAssertEqual(error.description, description, file: file, line: line)
        if let kind {
            XCTAssertEqual(error.kind, kind, file: file, line: line)
        }
    } catch {
        XCTFail("expected TeXMLError, got \(error)", file: file, line: line)
    }
}

/// Returns the error thrown by parsing `xml`, failing the test if there is none.
func parseError(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> TeXMLError? {
    do {
        _ = try parse(xml)
        XCTFail("expected an error", file: file, line: line)
    } catch let error as TeXMLError {
        return error
    } catch {
        XCTFail("expected TeXMLError, got \(error)", file: file, line: line)
    }
    return nil
}

/// The repository's `CallFlows` directory, found from this file's real location
/// (the scratch package reaches these tests through a symlink).
var callFlowsDirectory: URL {
    URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // TeXMLTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("CallFlows", isDirectory: true)
}

/// Compile-time check that a type is Sendable.
func requireSendable<T: Sendable>(_ value: T) {}
