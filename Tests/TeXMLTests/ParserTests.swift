import Foundation
import XCTest
@testable import TeXML

final class ParserTests: XCTestCase {
    func testSayDefaultsAndTextNormalisation() throws {
        let verb = try single("""
        <Response>
          <Say>
            Hello   there,
            caller.
          </Say>
        </Response>
        """)
        XCTAssertEqual(verb, .say(Say(text: "Hello there, caller.", voice: "alice", language: "en-US", loop: 1,
                                      location: loc(2, 3))))
        XCTAssertEqual(verb.name, "Say")
        XCTAssertEqual(verb.location.description, "t.xml:2:3")
    }

    func testSayAttributesAndEntities() throws {
        let verb = try single(#"<Response><Say voice="Polly.Joanna" language="es-MX" loop="0">Tom &amp; Jerry&apos;s <![CDATA[<shop>]]></Say></Response>"#)
        guard case .say(let say) = verb else { return XCTFail("expected Say") }
        XCTAssertEqual(say.text, "Tom & Jerry's <shop>")
        XCTAssertEqual(say.voice, "Polly.Joanna")
        XCTAssertEqual(say.language, "es-MX")
        XCTAssertEqual(say.loop, 0)
        XCTAssertEqual(say.speechRequest, SpeechRequest(text: "Tom & Jerry's <shop>", voice: "Polly.Joanna",
                                                        language: "es-MX", loop: 0))
    }

    func testPlayPauseHangupRejectRedirectDefaults() throws {
        let document = try parse("""
        <Response>
          <Play>https://example.com/hold.wav</Play>
          <Play digits="1w2#"/>
          <Pause/>
          <Pause length="0"></Pause>
          <Redirect>CallFlows/next.xml</Redirect>
          <Redirect method="GET"> https://example.com/next </Redirect>
          <Hangup/>
          <Reject/>
          <Reject reason="busy"/>
        </Response>
        """)
        XCTAssertEqual(document.source, "t.xml")
        XCTAssertEqual(document.verbs, [
            .play(Play(url: "https://example.com/hold.wav", location: loc(2, 3))),
            .play(Play(url: nil, digits: "1w2#", location: loc(3, 3))),
            .pause(Pause(length: 1, location: loc(4, 3))),
            .pause(Pause(length: 0, location: loc(5, 3))),
            .redirect(Redirect(target: "CallFlows/next.xml", method: .post, location: loc(6, 3))),
            .redirect(Redirect(target: "https://example.com/next", method: .get, location: loc(7, 3))),
            .hangup(Hangup(location: loc(8, 3))),
            .reject(Reject(reason: .rejected, location: loc(9, 3))),
            .reject(Reject(reason: .busy, location: loc(10, 3))),
        ])
        guard case .redirect(let local) = document.verbs[4], case .redirect(let remote) = document.verbs[5] else {
            return XCTFail("expected Redirects")
        }
        XCTAssertFalse(local.isRemote)
        XCTAssertTrue(remote.isRemote)
        XCTAssertEqual(Reject.Reason.rejected.sipStatusCode, 603)
        XCTAssertEqual(Reject.Reason.busy.sipStatusCode, 486)
    }

    func testGatherDefaults() throws {
        guard case .gather(let gather) = try single("<Response><Gather/></Response>") else {
            return XCTFail("expected Gather")
        }
        XCTAssertEqual(gather, Gather(location: loc(1, 11)))
        XCTAssertEqual(gather.method, .post)
        XCTAssertEqual(gather.input, [.dtmf])
        XCTAssertNil(gather.numDigits)
        XCTAssertEqual(gather.minDigits, 1)
        XCTAssertEqual(gather.maxDigits, 128)
        XCTAssertEqual(gather.finishOnKey, "#")
        XCTAssertEqual(gather.timeout, 5)
        XCTAssertEqual(gather.language, "en-US")
        XCTAssertTrue(gather.profanityFilter)
        XCTAssertFalse(gather.actionOnEmptyResult)
        XCTAssertTrue(gather.prompts.isEmpty)
    }

    func testGatherAllAttributesAndNestedPrompts() throws {
        let verb = try single("""
        <Response>
          <Gather action="/menu" method="GET" input="dtmf speech" numDigits="4" minDigits="2" maxDigits="6"
                  finishOnKey="*" timeout="10" validDigits="123#" invalidDigitsAction="/invalid" language="fr-CA"
                  hints="sales, support" speechTimeout="auto" speechModel="phone_call" profanityFilter="false"
                  actionOnEmptyResult="true" enhanced="true" partialResultCallback="/partial"
                  partialResultCallbackMethod="GET">
            <Say>Enter your code.</Say>
            <Play>beep.wav</Play>
            <Pause length="2"/>
          </Gather>
        </Response>
        """)
        guard case .gather(let gather) = verb else { return XCTFail("expected Gather") }
        XCTAssertEqual(gather.location, loc(2, 3))
        XCTAssertEqual(gather.action, "/menu")
        XCTAssertEqual(gather.method, .get)
        XCTAssertEqual(gather.input, [.dtmf, .speech])
        XCTAssertEqual(gather.numDigits, 4)
        XCTAssertEqual(gather.minDigits, 2)
        XCTAssertEqual(gather.maxDigits, 6)
        XCTAssertEqual(gather.finishOnKey, "*")
        XCTAssertEqual(gather.timeout, 10)
        XCTAssertEqual(gather.validDigits, "123#")
        XCTAssertEqual(gather.invalidDigitsAction, "/invalid")
        XCTAssertEqual(gather.language, "fr-CA")
        XCTAssertEqual(gather.hints, "sales, support")
        XCTAssertEqual(gather.speechTimeout, .auto)
        XCTAssertEqual(gather.speechModel, "phone_call")
        XCTAssertFalse(gather.profanityFilter)
        XCTAssertTrue(gather.actionOnEmptyResult)
        XCTAssertTrue(gather.enhanced)
        XCTAssertEqual(gather.partialResultCallback, "/partial")
        XCTAssertEqual(gather.partialResultCallbackMethod, .get)
        XCTAssertEqual(gather.prompts, [
            .say(Say(text: "Enter your code.", location: loc(7, 5))),
            .play(Play(url: "beep.wav", location: loc(8, 5))),
            .pause(Pause(length: 2, location: loc(9, 5))),
        ])
    }

    func testGatherEmptyFinishOnKeyMeansNoneAndNumericSpeechTimeout() throws {
        guard case .gather(let gather) = try single(#"<Response><Gather finishOnKey="" speechTimeout="3"/></Response>"#) else {
            return XCTFail("expected Gather")
        }
        XCTAssertEqual(gather.finishOnKey, "")
        XCTAssertEqual(gather.speechTimeout, .seconds(3))
    }

    func testRecordDefaults() throws {
        guard case .record(let record) = try single("<Response><Record/></Response>") else {
            return XCTFail("expected Record")
        }
        XCTAssertEqual(record, Record(location: loc(1, 11)))
        XCTAssertEqual(record.timeout, 5)
        XCTAssertEqual(record.maxLength, 3600)
        XCTAssertEqual(record.finishOnKey, "1234567890*#")
        XCTAssertTrue(record.playBeep)
        XCTAssertEqual(record.trim, .trimSilence)
        XCTAssertEqual(record.recordingStatusCallbackEvent, [.completed])
        XCTAssertFalse(record.transcribe)
        XCTAssertFalse(record.transcription)
        XCTAssertEqual(record.method, .post)
    }

    func testRecordAllAttributes() throws {
        let verb = try single("""
        <Response><Record action="/done" method="GET" timeout="0" maxLength="14400" finishOnKey="" playBeep="false"
          trim="do-not-trim" recordingStatusCallback="/rec" recordingStatusCallbackMethod="GET"
          recordingStatusCallbackEvent="in-progress completed absent" transcribe="true" transcribeCallback="/t1"
          transcription="true" transcriptionCallback="/t2" channels="dual" format="mp3"/></Response>
        """)
        guard case .record(let record) = verb else { return XCTFail("expected Record") }
        XCTAssertEqual(record, Record(
            action: "/done", method: .get, timeout: 0, maxLength: 14400, finishOnKey: "", playBeep: false,
            trim: .doNotTrim, recordingStatusCallback: "/rec", recordingStatusCallbackMethod: .get,
            recordingStatusCallbackEvent: [.inProgress, .completed, .absent], transcribe: true,
            transcribeCallback: "/t1", transcription: true, transcriptionCallback: "/t2", channels: .dual,
            format: .mp3, location: loc(1, 11)))
    }

    func testDialTextNumberAndDefaults() throws {
        guard case .dial(let dial) = try single("<Response><Dial> +1 (208) 279-2555 </Dial></Response>") else {
            return XCTFail("expected Dial")
        }
        XCTAssertEqual(dial, Dial(targets: [.number(Dial.Number(number: "+12082792555", location: loc(1, 11)))],
                                  location: loc(1, 11)))
        XCTAssertEqual(dial.timeout, 30)
        XCTAssertEqual(dial.timeLimit, 14400)
        XCTAssertEqual(dial.record, .doNotRecord)
        XCTAssertFalse(dial.hangupOnStar)
        XCTAssertFalse(dial.answerOnBridge)
    }

    func testDialAllAttributesAndNouns() throws {
        let verb = try single("""
        <Response>
          <Dial action="/after" method="GET" timeout="600" callerId="+18005550100" timeLimit="60" hangupOnStar="true"
                record="record-from-ringing-dual" recordingStatusCallback="/rec" recordingStatusCallbackMethod="GET"
                recordingStatusCallbackEvent="completed absent" ringTone="us" answerOnBridge="true">
            <Number sendDigits="ww1234#" url="/whisper" method="GET" statusCallback="/status"
                    statusCallbackEvent="initiated ringing answered completed" statusCallbackMethod="GET">+44 20 7946 0000</Number>
            <Sip username="agent" password="" url="/whisper" method="GET" statusCallback="/s"
                 statusCallbackEvent="answered" statusCallbackMethod="GET">sips:queue@pbx.example.com;transport=tls</Sip>
          </Dial>
        </Response>
        """)
        guard case .dial(let dial) = verb else { return XCTFail("expected Dial") }
        XCTAssertEqual(dial.action, "/after")
        XCTAssertEqual(dial.method, .get)
        XCTAssertEqual(dial.timeout, 600)
        XCTAssertEqual(dial.callerId, "+18005550100")
        XCTAssertEqual(dial.timeLimit, 60)
        XCTAssertTrue(dial.hangupOnStar)
        XCTAssertEqual(dial.record, .recordFromRingingDual)
        XCTAssertEqual(dial.recordingStatusCallbackEvent, [.completed, .absent])
        XCTAssertEqual(dial.ringTone, "us")
        XCTAssertTrue(dial.answerOnBridge)
        XCTAssertEqual(dial.targets, [
            .number(Dial.Number(number: "+442079460000", sendDigits: "ww1234#",
                                callbacks: .init(url: "/whisper", method: .get, statusCallback: "/status",
                                                 statusCallbackEvent: [.initiated, .ringing, .answered, .completed],
                                                 statusCallbackMethod: .get),
                                location: loc(5, 5))),
            .sip(Dial.Sip(uri: "sips:queue@pbx.example.com;transport=tls", username: "agent", password: "",
                          callbacks: .init(url: "/whisper", method: .get, statusCallback: "/s",
                                           statusCallbackEvent: [.answered], statusCallbackMethod: .get),
                          location: loc(7, 5))),
        ])
    }

    func testExtensionAttributesAreKept() throws {
        let document = try parse("""
        <?xml version="1.0" encoding="UTF-8"?>
        <Response xmlns:tf="urn:tollfreed:texml" tf:flow="healthcare">
          <Say tf:emergency="true" tf:priority="high">Help is on the way.</Say>
          <Dial tf:route="dispatch"><Sip tf:trunk="local">sip:dispatch@127.0.0.1:5070</Sip></Dial>
          <Hangup tf:reason="done"/>
        </Response>
        """)
        XCTAssertEqual(document.extensions, ["flow": "healthcare"])
        XCTAssertEqual(document.verbs[0].extensions, ["emergency": "true", "priority": "high"])
        XCTAssertEqual(document.verbs[1].extensions, ["route": "dispatch"])
        XCTAssertEqual(document.verbs[2].extensions, ["reason": "done"])
        guard case .dial(let dial) = document.verbs[1], case .sip(let sip)? = dial.targets.first else {
            return XCTFail("expected Dial with Sip")
        }
        XCTAssertEqual(sip.extensions, ["trunk": "local"])
    }

    func testExtensionNamespaceMayUseAnyPrefixAndBeDeclaredOnTheVerb() throws {
        let verb = try single(#"<Response><Pause xmlns:x="urn:tollfreed:texml" x:note="hold" length="2"/></Response>"#)
        XCTAssertEqual(verb, .pause(Pause(length: 2, location: loc(1, 11), extensions: ["note": "hold"])))
    }

    func testWhitespaceCommentsAndProcessingInstructionsBetweenVerbsAreFine() throws {
        let document = try parse("""
        \u{FEFF}<?xml version="1.0"?>
        <!-- leading comment -->
        <Response>

          <!-- a comment -->
          <Say>One</Say>\t
          <?tollfreed ignored?>
          <Say>Two</Say>
        </Response>
        <!-- trailing comment -->
        """)
        XCTAssertEqual(document.verbs.map(\.location), [loc(6, 3), loc(8, 3)])
    }

    func testMultiLineStartTagIsLocatedAtItsOpeningBracket() throws {
        let document = try parse("""
        <Response>
            <Say>é</Say><Pause
               length="3"
            />
        </Response>
        """)
        XCTAssertEqual(document.verbs.map(\.location), [loc(2, 5), loc(2, 17)])
    }

    func testCRLFLineEndings() throws {
        let document = try parse("<Response>\r\n  <Say>Hi</Say>\r\n  <Hangup/>\r\n</Response>\r\n")
        XCTAssertEqual(document.verbs.map(\.location), [loc(2, 3), loc(3, 3)])
    }

    func testParseContentsOfUsesThePathAsGivenForSource() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("texml-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.xml")
        try Data("<Response>\n  <Say loop=\"x\">Hi</Say>\n</Response>\n".utf8).write(to: file)
        XCTAssertThrowsError(try TeXMLParser.parse(contentsOf: file)) { error in
            XCTAssertEqual((error as? TeXMLError)?.description,
                           "\(file.path):2:3: <Say>: attribute 'loop' must be an integer >= 0, got 'x'")
        }
    }

    func testUnreadableFileIsATeXMLErrorAtLineZero() {
        let url = URL(fileURLWithPath: "CallFlows/does-not-exist-\(UUID().uuidString).xml")
        XCTAssertThrowsError(try TeXMLParser.parse(contentsOf: url)) { error in
            guard let error = error as? TeXMLError else { return XCTFail("expected TeXMLError, got \(error)") }
            XCTAssertEqual(error.kind, .io)
            XCTAssertEqual(error.file, url.relativePath)
            XCTAssertTrue(error.file.hasPrefix("CallFlows/does-not-exist-"))
            XCTAssertEqual(error.line, 0)
            XCTAssertEqual(error.column, 0)
            XCTAssertNil(error.verb)
            XCTAssertTrue(error.description.hasPrefix("\(url.relativePath):0:0: cannot read file"), error.description)
        }
    }

    func testRemoteURLsAreRefused() {
        XCTAssertThrowsError(try TeXMLParser.parse(contentsOf: URL(string: "https://example.com/flow.xml")!)) { error in
            XCTAssertEqual((error as? TeXMLError)?.kind, .io)
            XCTAssertEqual((error as? TeXMLError)?.line, 0)
        }
    }

    func testModelIsSendable() throws {
        let document = try parse("<Response><Say>Hi</Say></Response>")
        requireSendable(document)
        requireSendable(FlowInterpreter(document: document, baseURL: nil, callParameters: []))
        requireSendable(FlowAction.finished)
        requireSendable(TeXMLError(kind: .syntax, location: loc(1, 1), verb: nil, message: "x"))
    }
}
