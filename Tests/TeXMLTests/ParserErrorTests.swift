import Foundation
import XCTest
@testable import TeXML

final class ParserErrorTests: XCTestCase {
    // MARK: Elements

    func testUnknownVerbWithSuggestion() {
        assertParseError("""
        <Response>
          <Say>Hi</Say>
          <Sya>Hi</Sya>
        </Response>
        """, "t.xml:3:3: <Sya>: unknown verb (did you mean <Say>?)", kind: .unknownElement)
    }

    func testUnknownVerbIsCaseSensitive() {
        assertParseError("<Response>\n  <hangup/>\n</Response>",
                         "t.xml:2:3: <hangup>: unknown verb (did you mean <Hangup>?)", kind: .unknownElement)
    }

    func testUnknownVerbWithoutSuggestion() {
        assertParseError("<Response><Banana/></Response>",
                         "t.xml:1:11: <Banana>: unknown verb (allowed inside <Response>: <Say>, <Play>, <Pause>, "
                         + "<Gather>, <Record>, <Dial>, <Redirect>, <Hangup>, <Reject>)", kind: .unknownElement)
    }

    /// A verb the platforms document but tollfreed does not implement is skipped with a
    /// warning: an app written for Twilio or Telnyx still runs.
    func testUnsupportedTwiMLVerbIsSkippedWithAWarning() throws {
        let doc = try parse("<Response>\n  <Enqueue>support</Enqueue>\n  <Say>Hi</Say>\n</Response>")
        XCTAssertEqual(doc.verbs.count, 1)
        XCTAssertEqual(doc.warnings.map(\.description), ["t.xml:2:3: <Enqueue>: not supported by tollfreed; skipped"])
    }

    func testGatherContainingDial() {
        assertParseError("""
        <Response>
          <Gather numDigits="1">
            <Say>Press 1.</Say>
            <Dial>+12082792555</Dial>
          </Gather>
        </Response>
        """, "t.xml:4:5: <Dial>: not allowed inside <Gather> (allowed: <Say>, <Play>, <Pause>)",
        kind: .misplacedElement)
    }

    func testRecordContainingGather() {
        assertParseError("<Response><Record><Gather/></Record></Response>",
                         "t.xml:1:19: <Gather>: not allowed inside <Record> (allowed: <Say>, <Play>, <Pause>)",
                         kind: .misplacedElement)
    }

    func testNounOutsideDial() {
        assertParseError("<Response>\n <Number>+12082792555</Number>\n</Response>",
                         "t.xml:2:2: <Number>: not allowed inside <Response> (allowed: <Say>, <Play>, <Pause>, "
                         + "<Gather>, <Record>, <Dial>, <Redirect>, <Hangup>, <Reject>); <Number> must be nested in <Dial>",
                         kind: .misplacedElement)
    }

    func testVerbInsideDial() {
        assertParseError("<Response><Dial><Say>Hi</Say></Dial></Response>",
                         "t.xml:1:17: <Say>: not allowed inside <Dial> (allowed: <Number>, <Sip>)",
                         kind: .misplacedElement)
    }

    func testUnknownNounInsideDial() {
        assertParseError("<Response><Dial><Nmber>1</Nmber></Dial></Response>",
                         "t.xml:1:17: <Nmber>: unknown noun (did you mean <Number>?)", kind: .unknownElement)
    }


    func testNestedResponse() {
        assertParseError("<Response><Response/></Response>",
                         "t.xml:1:11: <Response>: <Response> may only be the root element", kind: .misplacedElement)
    }

    func testWrongRootElement() {
        assertParseError("<?xml version=\"1.0\"?>\n<Request><Say>Hi</Say></Request>",
                         "t.xml:2:1: <Request>: the root element must be <Response>", kind: .unknownElement)
    }

    func testRootInANamespace() {
        assertParseError("<Response xmlns=\"urn:tollfreed:texml\"/>",
                         "t.xml:1:1: <Response>: TeXML elements must not be in a namespace, found 'urn:tollfreed:texml'",
                         kind: .unknownElement)
    }

    func testVerbInANamespace() {
        assertParseError("<Response xmlns:tf=\"urn:tollfreed:texml\">\n  <tf:Beep/>\n</Response>",
                         "t.xml:2:3: <tf:Beep>: elements in namespace 'urn:tollfreed:texml' are not supported",
                         kind: .unknownElement)
    }

    // MARK: Attributes

    func testUnknownAttributeIsIgnoredWithASuggestion() throws {
        let doc = try parse("<Response>\n  <Pause lenght=\"2\"/>\n</Response>")
        XCTAssertEqual(doc.warnings.map(\.description),
                       ["t.xml:2:3: <Pause>: attribute 'lenght' is not supported by tollfreed; ignored (did you mean 'length'?)"])
        XCTAssertEqual(doc.warnings.first?.kind, .unknownAttribute)
    }

    func testAttributesOnVerbsWithoutAttributesAreIgnored() throws {
        let doc = try parse("<Response version=\"2\"><Hangup reason=\"done\"/></Response>")
        XCTAssertEqual(doc.warnings.map(\.description), [
            "t.xml:1:1: <Response>: attribute 'version' is not supported by tollfreed; ignored",
            "t.xml:1:23: <Hangup>: attribute 'reason' is not supported by tollfreed; ignored",
        ])
    }


    func testPlatformAttributesOfDialAndItsNounsAreIgnored() throws {
        let doc = try parse(#"<Response><Dial trim="trim-silence" events="all" ringTone="gb"><Sip user="a">sip:a@b</Sip></Dial></Response>"#)
        XCTAssertEqual(doc.verbs.count, 1)
        XCTAssertEqual(doc.warnings.map(\.message), [
            "attribute 'events' (documented by Twilio or Telnyx) is not implemented by tollfreed; ignored (no event subscriptions)",
            "attribute 'trim' (documented by Twilio or Telnyx) is not implemented by tollfreed; ignored (bridge recordings are not trimmed)",
            "attribute 'user' is not supported by tollfreed; ignored",
        ])
    }

    /// Attributes read but not acted on are warnings too, never silently ignored.
    func testReadButUnimplementedAttributesAreWarnings() throws {
        let doc = try parse("""
        <Response><Gather input="dtmf speech" hints="yes,no" validDigits="12" language="de-DE"/><Record channels="dual"/>\
        <Dial answerOnBridge="true"><Number url="/whisper">+12025550123</Number></Dial></Response>
        """)
        XCTAssertEqual(doc.warnings.map(\.message), [
            "no speech model for language 'de-DE'; speech is recognised as US English",
        ])
        XCTAssertTrue(try parse(#"<Response><Dial answerOnBridge="false">+12025550123</Dial></Response>"#).warnings.isEmpty)
    }

    func testSequentialIsRead() throws {
        guard case .dial(let d)? = try parse(#"<Response><Dial sequential="true"><Number>+12025550123</Number></Dial></Response>"#).verbs.first
        else { return XCTFail() }
        XCTAssertTrue(d.sequential)
    }

    func testADialWithOnlyUnsupportedNounsIsSkipped() throws {
        let doc = try parse("<Response><Dial><Client>alice</Client><Conference>room</Conference></Dial><Hangup/></Response>")
        XCTAssertEqual(doc.verbs.count, 1, "only the Hangup")
        XCTAssertEqual(doc.warnings.map(\.message), ["not supported by tollfreed; skipped", "not supported by tollfreed; skipped",
                                                     "no target tollfreed can dial; skipped"])
    }

    /// Every failing verb is reported (for `tollfreed check`), not only the first.
    func testDiagnoseReportsEveryFailingVerb() {
        let xml = "<Response>\n<Pause length=\"x\"/>\n<Say/>\n<Play loop=\"2\" bogus=\"1\">a.wav</Play>\n</Response>"
        let result = TeXMLParser.diagnose(Data(xml.utf8), source: "t.xml")
        XCTAssertNil(result.document)
        XCTAssertEqual(result.errors.map(\.location.line), [2, 3])
        XCTAssertEqual(result.warnings.map(\.location.line), [4])
    }

    func testBadInteger() {
        assertParseError("""
        <Response>
          <Say>Hello</Say>

          <Say loop="abc">Hello</Say>
        </Response>
        """, "t.xml:4:3: <Say>: attribute 'loop' must be an integer >= 0, got 'abc'", kind: .invalidAttribute)
    }

    func testIntegerOutOfRange() {
        assertParseError("<Response><Pause length=\"3601\"/></Response>",
                         "t.xml:1:11: <Pause>: attribute 'length' must be an integer between 0 and 3600, got '3601'")
        assertParseError("<Response><Say loop=\"-1\">x</Say></Response>",
                         "t.xml:1:11: <Say>: attribute 'loop' must be an integer >= 0, got '-1'")
        assertParseError("<Response><Dial timeout=\"0\">+15550100</Dial></Response>",
                         "t.xml:1:11: <Dial>: attribute 'timeout' must be an integer between 1 and 600, got '0'")
        assertParseError("<Response><Gather numDigits=\"0\"/></Response>",
                         "t.xml:1:11: <Gather>: attribute 'numDigits' must be an integer between 1 and 128, got '0'")
        assertParseError("<Response><Record maxLength=\" 60\"/></Response>",
                         "t.xml:1:11: <Record>: attribute 'maxLength' must be an integer between 0 and 14400, got ' 60'")
    }

    func testBadEnumeration() {
        assertParseError("<Response>\n  <Reject reason=\"maybe\"/>\n</Response>",
                         "t.xml:2:3: <Reject>: attribute 'reason' must be one of rejected, busy, got 'maybe'",
                         kind: .invalidAttribute)
        assertParseError("<Response><Dial record=\"true\">+15550100</Dial></Response>",
                         "t.xml:1:11: <Dial>: attribute 'record' must be one of do-not-record, record-from-answer, "
                         + "record-from-ringing, record-from-answer-dual, record-from-ringing-dual, got 'true'")
        assertParseError("<Response><Redirect method=\"post\">x.xml</Redirect></Response>",
                         "t.xml:1:11: <Redirect>: attribute 'method' must be one of GET, POST, got 'post'")
        assertParseError("<Response><Gather input=\"dtmf voice\"/></Response>",
                         "t.xml:1:11: <Gather>: attribute 'input' must be a space-separated list of dtmf, speech, "
                         + "got 'dtmf voice'")
    }

    func testBadBoolean() {
        assertParseError("<Response><Record playBeep=\"yes\"/></Response>",
                         "t.xml:1:11: <Record>: attribute 'playBeep' must be 'true' or 'false', got 'yes'",
                         kind: .invalidAttribute)
    }

    func testBadKeysAndLanguage() {
        assertParseError("<Response><Gather finishOnKey=\"#A\"/></Response>",
                         "t.xml:1:11: <Gather>: attribute 'finishOnKey' must be made of the characters "
                         + "'0123456789*#', got '#A'")
        assertParseError("<Response><Record finishOnKey=\"A\"/></Response>",
                         "t.xml:1:11: <Record>: attribute 'finishOnKey' must be made of the characters "
                         + "'0123456789*#', got 'A'")
        assertParseError("<Response><Play digits=\"\"/></Response>",
                         "t.xml:1:11: <Play>: attribute 'digits' must be non-empty and made of the characters "
                         + "'0123456789*#ABCDwW', got ''")
        assertParseError("<Response><Say language=\"english\">Hi</Say></Response>",
                         "t.xml:1:11: <Say>: attribute 'language' must be a language tag such as 'en-US', got 'english'")
        assertParseError("<Response><Say voice=\" \">Hi</Say></Response>",
                         "t.xml:1:11: <Say>: attribute 'voice' must be a non-empty string, got ' '")
    }

    func testGatherDigitBoundsMustBeConsistent() {
        assertParseError("<Response><Gather minDigits=\"5\" maxDigits=\"3\"/></Response>",
                         "t.xml:1:11: <Gather>: attribute 'minDigits' must be <= maxDigits (3), got '5'")
        assertParseError("<Response><Gather speechTimeout=\"soon\"/></Response>",
                         "t.xml:1:11: <Gather>: attribute 'speechTimeout' must be 'auto' or an integer >= 0, got 'soon'")
    }

    func testForeignNamespaceAttribute() {
        assertParseError("""
        <Response xmlns:acme="urn:acme:flows">
          <Say acme:mood="happy">Hi</Say>
        </Response>
        """, "t.xml:2:3: <Say>: attribute 'acme:mood' is in namespace 'urn:acme:flows'; only "
            + "'urn:tollfreed:texml' extension attributes are allowed", kind: .foreignNamespace)
    }

    func testXMLLangAttributeIsAForeignNamespace() {
        assertParseError("<Response><Say xml:lang=\"en\">Hi</Say></Response>",
                         "t.xml:1:11: <Say>: attribute 'xml:lang' is in namespace "
                         + "'http://www.w3.org/XML/1998/namespace'; only 'urn:tollfreed:texml' extension "
                         + "attributes are allowed", kind: .foreignNamespace)
    }

    // MARK: Content

    func testSayWithoutText() {
        assertParseError("<Response>\n  <Say voice=\"man\">   \n  </Say>\n</Response>",
                         "t.xml:2:3: <Say>: text to speak is required", kind: .missingContent)
        assertParseError("<Response><Say/></Response>", "t.xml:1:11: <Say>: text to speak is required")
    }

    func testPlayNeedsExactlyOneSource() {
        assertParseError("<Response><Play loop=\"2\"/></Response>",
                         "t.xml:1:11: <Play>: a URL or file path to play is required (or a 'digits' or 'ringTone' attribute)",
                         kind: .missingContent)
        assertParseError("<Response><Play digits=\"1\">a.wav</Play></Response>",
                         "t.xml:1:11: <Play>: give either a URL/path to play or a 'digits' attribute, not both",
                         kind: .unexpectedContent)
    }

    func testTextDirectlyInResponse() {
        assertParseError("""
        <Response>
          <Say>Hi</Say>
          Press one
          <Hangup/>
        </Response>
        """, "t.xml:3:3: <Response>: text is not allowed directly inside <Response>, found 'Press one'",
        kind: .unexpectedContent)
    }

    func testTextInsideGatherAndEmptyVerbs() {
        assertParseError("<Response>\n  <Gather>\n    Press 1\n  </Gather>\n</Response>",
                         "t.xml:3:5: <Gather>: text is not allowed directly inside <Gather>, found 'Press 1'")
        assertParseError("<Response><Hangup>now</Hangup></Response>",
                         "t.xml:1:19: <Hangup>: must be empty, found text 'now'", kind: .unexpectedContent)
        assertParseError("<Response><Pause> 5 </Pause></Response>",
                         "t.xml:1:19: <Pause>: must be empty, found text '5'")
    }

    func testDialTargets() {
        assertParseError("<Response>\n  <Dial timeout=\"20\"/>\n</Response>",
                         "t.xml:2:3: <Dial>: at least one target is required: a number as text, or <Number>/<Sip> nouns",
                         kind: .missingContent)
        assertParseError("<Response><Dial>call me</Dial></Response>",
                         "t.xml:1:11: <Dial>: must be a telephone number (optional '+' and 1 to 15 digits), got 'call me'",
                         kind: .invalidContent)
        assertParseError("<Response><Dial>sip:a@b</Dial></Response>",
                         "t.xml:1:11: <Dial>: must be a telephone number (optional '+' and 1 to 15 digits), "
                         + "got 'sip:a@b'; use a <Sip> noun for SIP URIs")
        assertParseError("<Response><Dial><Number>+1234567890123456</Number></Dial></Response>",
                         "t.xml:1:17: <Number>: must be a telephone number (optional '+' and 1 to 15 digits), "
                         + "got '+1234567890123456'")
        assertParseError("<Response><Dial><Sip>patient-services@127.0.0.1</Sip></Dial></Response>",
                         "t.xml:1:17: <Sip>: must be a SIP URI starting with 'sip:' or 'sips:', "
                         + "got 'patient-services@127.0.0.1'", kind: .invalidContent)
        assertParseError("<Response><Dial><Sip>  </Sip></Dial></Response>",
                         "t.xml:1:17: <Sip>: the SIP URI is required")
        assertParseError("<Response>\n  <Dial>\n    +15550100\n    <Sip>sip:a@b</Sip>\n  </Dial>\n</Response>",
                         "t.xml:3:5: <Dial>: text is not allowed directly inside <Dial>, found '+15550100'")
    }

    func testRedirectNeedsATarget() {
        assertParseError("<Response><Redirect method=\"GET\"/></Response>",
                         "t.xml:1:11: <Redirect>: the URL or file path of the next document is required",
                         kind: .missingContent)
    }

    // MARK: XML syntax

    func testMismatchedClosingTag() {
        assertParseError("<Response>\n  <Say>hi</Sai>\n</Response>",
                         "t.xml:2:16: <Say>: closing tag does not match opening tag", kind: .syntax)
    }

    func testUnclosedDocument() {
        assertParseError("<Response><Say>x</Say>",
                         "t.xml:1:23: <Response>: unexpected end of document: element is not closed", kind: .syntax)
    }

    func testContentAfterRoot() {
        assertParseError("<Response><Say>hi</Say></Response>junk",
                         "t.xml:1:35: unexpected content after the root element", kind: .syntax)
    }

    func testUndefinedEntity() {
        assertParseError("<Response>\n  <Say>&nbsp;</Say></Response>",
                         "t.xml:2:14: <Say>: undefined entity (only &amp; &lt; &gt; &quot; &apos; are predefined)",
                         kind: .syntax)
    }

    func testUndeclaredPrefixIsASyntaxError() {
        let error = parseError("<Response>\n  <Say tf:emergency=\"true\">Hi</Say>\n</Response>")
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.message, "undeclared namespace prefix")
    }

    func testEmptyDocument() {
        assertParseError("", "t.xml:1:1: document is empty; expected a <Response> root element", kind: .syntax)
        assertParseError("<?xml version=\"1.0\"?>\n<!-- nothing -->\n",
                         "t.xml:3:1: document is empty; expected a <Response> root element", kind: .syntax)
    }

    func testErrorCarriesItsParts() throws {
        let error = try XCTUnwrap(parseError("<Response>\n\n    <Pause length=\"x\"/>\n</Response>"))
        XCTAssertEqual(error.file, "t.xml")
        XCTAssertEqual(error.line, 3)
        XCTAssertEqual(error.column, 5)
        XCTAssertEqual(error.verb, "Pause")
        XCTAssertEqual(error.kind, .invalidAttribute)
        XCTAssertEqual(error.message, "attribute 'length' must be an integer between 0 and 3600, got 'x'")
    }

    /// Markup the platforms document that used to refuse the whole document.
    func testDocumentedPlatformValuesAreAccepted() throws {
        let doc = try parse("""
        <Response>
          <Gather finishOnKey="#*" numDigits="4"/>
          <Record maxLength="0"/>
          <Play digits="12AD#"/>
          <Play ringTone="uk" loop="2"/>
          <Dial><Sip statusCallback="/s" statusCallbackEvent="initiated amd dtmf answered">sip:a@example.com</Sip><WhatsApp>+1</WhatsApp></Dial>
          <Hangup><Parameter name="reason" value="done"/></Hangup>
        </Response>
        """)
        guard case .gather(let g) = doc.verbs[0], case .record(let r) = doc.verbs[1], case .play(let digits) = doc.verbs[2],
              case .play(let ring) = doc.verbs[3], case .dial(let d) = doc.verbs[4] else { return XCTFail("\(doc.verbs)") }
        XCTAssertEqual(g.finishOnKey, "#*")
        XCTAssertEqual(r.maxLength, 14400, "0 is Telnyx's no limit: the longest allowed")
        XCTAssertEqual(digits.digits, "12AD#")
        XCTAssertEqual(ring.ringTone, "uk")
        XCTAssertNil(ring.url)
        guard case .sip(let sip) = d.targets.first else { return XCTFail() }
        XCTAssertEqual(sip.callbacks.statusCallbackEvent, [.initiated, .answered])
        XCTAssertEqual(d.targets.count, 1, "WhatsApp skipped")
        XCTAssertEqual(doc.warnings.map(\.message), [
            "statusCallbackEvent 'amd dtmf' is not sent by tollfreed (no answering-machine detection; keys are not reported)",
            "not supported by tollfreed; skipped",
            "not supported by tollfreed; skipped",
        ])
        XCTAssertEqual(doc.verbs.count, 6)
    }

    /// A documented attribute tollfreed does not implement is told apart from a typo.
    func testDocumentedButUnimplementedAttributesSaySo() throws {
        let doc = try parse(#"<Response><Dial callReason="x" tiemout="5"><Number machineDetection="Enable">+12025550123</Number></Dial></Response>"#)
        XCTAssertEqual(doc.warnings.map(\.message), [
            "attribute 'callReason' (documented by Twilio or Telnyx) is not implemented by tollfreed; ignored (no branded calling)",
            "attribute 'tiemout' is not supported by tollfreed; ignored (did you mean 'timeout'?)",
            "attribute 'machineDetection' (documented by Twilio or Telnyx) is not implemented by tollfreed; ignored "
                + "(answering-machine detection is not implemented)",
        ])
    }
}
