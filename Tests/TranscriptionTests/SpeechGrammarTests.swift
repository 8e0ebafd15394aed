import Transcription
import XCTest

/// `hints` to JSGF, without a decoder (a word list stands in for the dictionary).
final class SpeechGrammarTests: XCTestCase {
    private let dictionary: Set<String> = ["yes", "no", "billing", "question", "press", "one", "two", "agent", "o'clock"]
    private func known(_ w: String) -> Bool { dictionary.contains(w) }

    func testPhrasesBecomeAlternatives() {
        let g = SpeechGrammar(hints: "Yes, no,  billing question,", knows: known)
        XCTAssertEqual(g.jsgf, "#JSGF V1.0;\ngrammar hints;\npublic <utterance> = ( yes | no | billing question )+;\n")
        XCTAssertEqual(g.dropped, [])
        XCTAssertEqual(g.wordInsertionPenalty, 0.65)
    }

    func testDigitsInAPhraseAreSpelled() {
        XCTAssertEqual(SpeechGrammar(hints: "press 1, press 2", knows: known).jsgf?.contains("( press one | press two )+"), true)
    }

    func testDigitClassAddsADigitRuleWithALowInsertionPenalty() throws {
        let g = SpeechGrammar(hints: "agent, $OOV_CLASS_DIGIT_SEQUENCE", knows: known)
        let jsgf = try XCTUnwrap(g.jsgf)
        XCTAssertTrue(jsgf.contains("( agent | <digit>+ )+"), jsgf)
        XCTAssertTrue(jsgf.contains("<digit> = zero | oh | one | two"), jsgf)
        XCTAssertEqual(g.wordInsertionPenalty, 1e-4)
    }

    func testUnknownWordsAndClassesAreDroppedWithReasons() {
        let g = SpeechGrammar(hints: "yes, zorblax now, $OOV_CLASS_ADDRESSNUM", knows: known)
        XCTAssertEqual(g.jsgf?.contains("( yes )+"), true)
        XCTAssertEqual(g.dropped, ["zorblax now (no pronunciation for 'zorblax')",
                                   "$OOV_CLASS_ADDRESSNUM (class not supported; digit sequences are)"])
    }

    func testNothingUsableMeansTheLanguageModel() {
        XCTAssertNil(SpeechGrammar(hints: " , ,", knows: known).jsgf)
        XCTAssertNil(SpeechGrammar(hints: "zorblax", knows: known).jsgf)
    }

    func testLimits() {
        let many = (0..<600).map { _ in "yes" }.joined(separator: ",")
        XCTAssertEqual(SpeechGrammar(hints: many, knows: known).dropped, ["100 hints past the first 500"])
        let long = String(repeating: "yes ", count: 30)
        XCTAssertEqual(SpeechGrammar(hints: long, knows: known).dropped.first?.hasSuffix("(longer than 100 characters)"), true)
        let grammar = "#JSGF V1.0; grammar g; public <a> = " + String(repeating: "yes | ", count: 5000) + "no;"
        let g = SpeechGrammar(hints: grammar, knows: known)
        XCTAssertNil(g.jsgf)
        XCTAssertEqual(g.dropped, ["the grammar is longer than 16384 bytes"])
    }

    func testAGrammarIsUsedAsWritten() {
        let text = "#JSGF V1.0; grammar g; public <a> = yes | no;"
        XCTAssertEqual(SpeechGrammar(hints: "  " + text, knows: known).jsgf, text)
    }

    func testWordErrorCount() {
        XCTAssertEqual(SpeechRecognizerTests.wordErrors(reference: "one two three", hypothesis: "one two three"), 0)
        XCTAssertEqual(SpeechRecognizerTests.wordErrors(reference: "one two three", hypothesis: "one three"), 1)
        XCTAssertEqual(SpeechRecognizerTests.wordErrors(reference: "one two", hypothesis: "one two two four"), 2)
        XCTAssertEqual(SpeechRecognizerTests.wordErrors(reference: "yes", hypothesis: ""), 1)
        XCTAssertEqual(SpeechRecognizerTests.wordErrors(reference: "", hypothesis: "no"), 1)
    }
}
