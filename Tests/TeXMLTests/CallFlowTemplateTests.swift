import Foundation
import XCTest
@testable import TeXML

final class CallFlowTemplateTests: XCTestCase {
    private func template(_ name: String) throws -> FlowDocument {
        try TeXMLParser.parse(contentsOf: callFlowsDirectory.appendingPathComponent(name))
    }

    func testEveryTemplateParses() throws {
        let files = try FileManager.default.contentsOfDirectory(at: callFlowsDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "xml" }
        XCTAssertGreaterThanOrEqual(files.count, 4, "templates found in \(callFlowsDirectory.path)")
        for file in files {
            XCTAssertNoThrow(try TeXMLParser.parse(contentsOf: file), file.lastPathComponent)
        }
    }

    func testEveryTemplateStartsWithAComment() throws {
        let names = ["healthcare-intake.xml", "fleet-emergency.xml", "legal-intake.xml", "general-business.xml"]
        for name in names {
            let text = try String(contentsOf: callFlowsDirectory.appendingPathComponent(name), encoding: .utf8)
            let body = text.replacingOccurrences(of: #"^<\?xml[^>]*\?>\s*"#, with: "", options: .regularExpression)
            XCTAssertTrue(body.hasPrefix("<!--"), "\(name) must start with a comment saying what it is for")
        }
    }

    func testHealthcareIntake() throws {
        let document = try template("healthcare-intake.xml")
        XCTAssertTrue(document.source.hasSuffix("CallFlows/healthcare-intake.xml"))
        XCTAssertEqual(document.verbs.map(\.name), ["Say", "Record", "Say", "Dial"])

        guard case .say(let welcome) = document.verbs[0] else { return XCTFail("expected Say") }
        XCTAssertEqual(welcome.voice, "alice")
        XCTAssertTrue(welcome.text.hasPrefix("Welcome to TETRIX Healthcare Patient Services."))
        XCTAssertTrue(welcome.text.hasSuffix("date of birth for verification."))

        guard case .record(let record) = document.verbs[1] else { return XCTFail("expected Record") }
        XCTAssertEqual(record.timeout, 30)
        XCTAssertEqual(record.maxLength, 120)
        XCTAssertTrue(record.playBeep)
        XCTAssertTrue(record.transcribe)
        XCTAssertTrue(record.wantsTranscription)
        XCTAssertEqual(record.prompts.count, 1)
        guard case .say(let prompt)? = record.prompts.first else { return XCTFail("expected nested Say") }
        XCTAssertEqual(prompt.text, "Please provide your information after the beep.")

        guard case .dial(let dial) = document.verbs[3] else { return XCTFail("expected Dial") }
        XCTAssertEqual(dial.timeout, 30)
        XCTAssertEqual(dial.record, .recordFromAnswer)
        XCTAssertEqual(dial.targets.count, 1)
        guard case .sip(let sip)? = dial.targets.first else { return XCTFail("expected Sip target") }
        XCTAssertEqual(sip.uri, "sip:patient-services@127.0.0.1:5070")
    }

    func testHealthcareIntakeNeverDialsItsOwnNumber() throws {
        let document = try template("healthcare-intake.xml")
        for case .dial(let dial) in document.verbs {
            for case .number(let number) in dial.targets {
                XCTAssertNotEqual(number.number, "+18005963057")
            }
        }
    }

    func testFleetEmergency() throws {
        let document = try template("fleet-emergency.xml")
        XCTAssertEqual(document.verbs.map(\.name), ["Say", "Record", "Say", "Dial"])
        guard case .say(let greeting) = document.verbs[0] else { return XCTFail("expected Say") }
        XCTAssertEqual(greeting.text, "TETRIX Fleet Management Emergency Line. "
                       + "Please state your driver ID and describe the emergency situation.")
        guard case .record(let record) = document.verbs[1] else { return XCTFail("expected Record") }
        XCTAssertEqual(record.timeout, 60)
        XCTAssertEqual(record.maxLength, 300)
        XCTAssertTrue(record.playBeep)
        XCTAssertTrue(record.transcribe)
        XCTAssertEqual(record.prompts, [.say(Say(text: "Please describe the emergency after the beep.",
                                                 location: record.prompts.first?.verb.location ?? loc(0, 0)))])
        guard case .dial(let dial) = document.verbs[3] else { return XCTFail("expected Dial") }
        XCTAssertEqual(dial.record, .recordFromAnswer)
        guard case .sip(let sip)? = dial.targets.first else { return XCTFail("expected Sip target") }
        XCTAssertEqual(sip.uri, "sip:dispatch@127.0.0.1:5070")
    }

    func testLegalIntake() throws {
        let document = try template("legal-intake.xml")
        XCTAssertEqual(document.verbs.map(\.name), ["Say", "Gather", "Say", "Record", "Say", "Hangup"])
        guard case .say(let notice) = document.verbs[0] else { return XCTFail("expected Say") }
        XCTAssertTrue(notice.text.contains("privileged"))
        guard case .gather(let gather) = document.verbs[1] else { return XCTFail("expected Gather") }
        XCTAssertEqual(gather.numDigits, 1)
        XCTAssertEqual(gather.finishOnKey, "")
        XCTAssertEqual(gather.prompts.map(\.verb.name), ["Say", "Pause"])
        guard case .record(let record) = document.verbs[3] else { return XCTFail("expected Record") }
        XCTAssertEqual(record.finishOnKey, "#")
        XCTAssertTrue(record.prompts.isEmpty)
    }

    func testGeneralBusiness() throws {
        let document = try template("general-business.xml")
        XCTAssertEqual(document.verbs.map(\.name), ["Say", "Gather", "Say", "Hangup"])
        guard case .gather(let gather) = document.verbs[1] else { return XCTFail("expected Gather") }
        XCTAssertEqual(gather.numDigits, 1)
        XCTAssertEqual(gather.input, [.dtmf])
        guard case .say(let menu)? = gather.prompts.first else { return XCTFail("expected nested Say") }
        XCTAssertTrue(menu.text.contains("press 1"))
        XCTAssertTrue(menu.text.contains("press 2"))
    }

    func testSpokenPromptsIncludeNestedSays() throws {
        let document = try template("healthcare-intake.xml")
        let prompts = document.spokenPrompts()
        XCTAssertEqual(prompts.count, 3)
        XCTAssertEqual(prompts[1].text, "Please provide your information after the beep.")
        XCTAssertTrue(prompts[2].text.hasPrefix("Thank you for your information."))

        let legal = try template("legal-intake.xml")
        XCTAssertEqual(legal.spokenPrompts().count, 4)
    }

    func testHealthcareIntakeRunsThroughInterpreter() throws {
        let caller = FakeCaller(document: try template("healthcare-intake.xml"))
        XCTAssertNil(caller.flow.mustRejectBeforeAnswer)
        guard case .say(let welcome, _)? = caller.start().first else { return XCTFail("expected the welcome prompt") }
        XCTAssertTrue(welcome.text.hasPrefix("Welcome"))
        guard case .say(let prompt, _)? = try caller.finishMedia().first else { return XCTFail("expected the Record prompt") }
        XCTAssertEqual(prompt.text, "Please provide your information after the beep.")
        XCTAssertEqual(untokened(try caller.finishMedia()), [.beep(token: 0)])
        XCTAssertEqual(untokened(try caller.finishMedia()), [
            .listenForDigits(true),
            .startRecording(RecordingRequest(maxLengthSeconds: 120, silenceTimeoutSeconds: 30, trimSilence: true), token: 0),
        ])
        let afterRecording = try caller.finishRecording(seconds: 12)
        XCTAssertEqual(afterRecording.count, 3)
        XCTAssertEqual(afterRecording[0], .listenForDigits(false))
        XCTAssertEqual(afterRecording[1], .transcribe(recordingURL: "https://rec.example/r1.wav", callback: nil))
        guard case .say(let hold, _) = afterRecording[2] else { return XCTFail("expected the hold prompt") }
        XCTAssertTrue(hold.text.hasPrefix("Thank you"))
        let end = try caller.finishMedia()
        guard case .dial(let dial, let token)? = end.first, end.count == 1 else { return XCTFail("expected the Dial: \(end)") }
        XCTAssertEqual(dial.location.line, 13)
        XCTAssertEqual(dial.record, .recordFromAnswer)
        let after = caller.send(.dialFinished(token, DialOutcome(status: "completed", callSid: "CA2", durationSeconds: 60)))
        XCTAssertEqual(after, [.finished], "the intake ends when the representative's call ends")
    }
}
