import Foundation
import XCTest
@testable import TeXML

/// SSML inside `<Say>` (Twilio's and Telnyx's documented tags) becomes the SSML espeak-ng
/// speaks, never a reason to refuse the document.
final class SSMLTests: XCTestCase {
    private func say(_ inner: String) throws -> Say {
        guard case .say(let s)? = try parse("<Response><Say voice=\"Polly.Joanna\">\(inner)</Say></Response>").verbs.first else {
            throw NSError(domain: "test", code: 1)
        }
        return s
    }

    func testPlainTextStaysPlainText() throws {
        let s = try say("  Hello\n   world  ")
        XCTAssertFalse(s.ssml)
        XCTAssertEqual(s.text, "Hello world")
        XCTAssertFalse(s.speechRequest.ssml)
    }

    func testTagsEspeakReadsPassThroughWithTheirAttributes() throws {
        let s = try say(#"Hello <break time="1s"/> <prosody rate="slow" pitch="+10%">world</prosody>. <emphasis level="strong">Now</emphasis> <p><s>One.</s></p> <sub alias="World Wide Web">WWW</sub>"#)
        XCTAssertTrue(s.ssml)
        XCTAssertTrue(s.speechRequest.ssml)
        XCTAssertEqual(s.text, #"<speak>Hello <break time="1s"/> <prosody rate="slow" pitch="+10%">world</prosody>. "#
            + #"<emphasis level="strong">Now</emphasis> <p><s>One.</s></p> <sub alias="World Wide Web">WWW</sub></speak>"#)
    }

    func testSayAsDigitsAndTelephoneAreSpelledAndOtherKindsSpokenPlainly() throws {
        let s = try say(#"Code <say-as interpret-as="digits">1234</say-as>, call <say-as interpret-as="telephone">8005551212</say-as> by <say-as interpret-as="date" format="mdy">12/24/2026</say-as>"#)
        XCTAssertEqual(s.text, #"<speak>Code <say-as interpret-as="characters">1234</say-as>, call "#
            + #"<say-as interpret-as="characters">8005551212</say-as> by 12/24/2026</speak>"#)
    }

    func testTagsWithoutAnEspeakEquivalentKeepTheirText() throws {
        let s = try say(#"<lang xml:lang="fr-FR">Bonjour</lang> <phoneme alphabet="ipa" ph="təˈmeɪtoʊ">tomato</phoneme> <w role="amazon:VB">read</w>"#)
        XCTAssertEqual(s.text, "<speak>Bonjour tomato read</speak>")
        XCTAssertTrue(try parse("<Response><Say><break/>x</Say></Response>").warnings.isEmpty)
    }

    func testElementsThatAreNotSSMLWarnAndKeepTheirText() throws {
        let doc = try parse("<Response><Say>Press <Play>x</Play> now</Say></Response>")
        guard case .say(let s)? = doc.verbs.first else { return XCTFail() }
        XCTAssertEqual(s.text, "<speak>Press x now</speak>")
        XCTAssertEqual(doc.warnings.map(\.message), ["not SSML tollfreed speaks; its text is spoken"])
    }

    func testTextAndAttributesAreEscapedForTheSynthesizer() throws {
        let s = try say(#"Tom &amp; Jerry &lt;3 <sub alias="a &quot;b&quot; &lt;c&gt;">x</sub>"#)
        XCTAssertEqual(s.text, #"<speak>Tom &amp; Jerry &lt;3 <sub alias="a &quot;b&quot; &lt;c&gt;">x</sub></speak>"#)
    }
}
