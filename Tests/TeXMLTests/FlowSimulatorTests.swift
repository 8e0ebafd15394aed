import Foundation
import XCTest
@testable import TeXML

final class FlowSimulatorTests: XCTestCase {
    /// A fake application: documents by URL; anything else fails.
    private func server(_ pages: [String: String]) -> (HTTPRequest) -> FetchOutcome {
        { request in
            let url = request.url.components(separatedBy: "?")[0]
            guard let xml = pages[url] else { return .failed("HTTP 404 for \(url)") }
            do {
                return .document(try parse(xml, source: url))
            } catch {
                return .failed("\(error)")
            }
        }
    }

    private func simulate(_ xml: String, digits: String, baseURL: String? = "https://app.example/ivr/start",
                          pages: [String: String] = [:],
                          promptDuration: @escaping (FlowAction) -> Double = { _ in 0 },
                          maxSteps: Int = 10_000) throws -> SimulationResult {
        FlowSimulator(document: try parse(xml, source: "/srv/flows/main.xml"), baseURL: baseURL,
                      callParameters: testCallParameters, digits: digits, promptDuration: promptDuration,
                      maxSteps: maxSteps, fetch: server(pages)).run()
    }

    private func lines(_ result: SimulationResult) -> [String] {
        result.timeline.map(\.description)
    }

    private let menu = """
    <Response>
      <Say>Welcome.</Say>
      <Gather action="menu" numDigits="1" timeout="5">
        <Say>Press 1 for sales.</Say>
      </Gather>
      <Say>No selection.</Say>
    </Response>
    """

    private let pages = [
        "https://app.example/ivr/menu": "<Response><Say voice=\"man\">Sales.</Say><Pause length=\"2\"/><Hangup/></Response>",
    ]

    func testMenuChoiceFollowsTheActionDocument() throws {
        let result = try simulate(menu, digits: "1", pages: pages)
        XCTAssertEqual(lines(result), [
            "    0.0s  say \"Welcome.\" (alice, en-US)",
            "    0.0s  listen for digits",
            "    0.0s  say \"Press 1 for sales.\" (alice, en-US)",
            "    0.0s  digit 1",
            "    0.0s  stop listening",
            "    0.0s  POST https://app.example/ivr/menu Digits=1",
            "    0.0s  say \"Sales.\" (man, en-US)",
            "    0.0s  pause 2s",
            "    2.0s  hang up",
        ])
        XCTAssertEqual(result.ending, .hungUp)
        XCTAssertEqual(result.duration, 2)
        XCTAssertEqual(result.requests.map(\.url), ["https://app.example/ivr/menu"])
        XCTAssertEqual(result.requests.first?.parameters, testCallParameters + form(["Digits": "1"]))
        XCTAssertEqual(result.unusedDigits, "")
    }

    func testWaitLetsTheGatherTimeOutAndPromptDurationsAdvanceTheClock() throws {
        let result = try simulate(menu, digits: "w", pages: pages, promptDuration: { action in
            if case .say(let speech, _) = action { return Double(speech.text.count) / 10 }
            return 0
        })
        XCTAssertEqual(lines(result), [
            "    0.0s  say \"Welcome.\" (alice, en-US)",
            "    0.8s  listen for digits",
            "    0.8s  say \"Press 1 for sales.\" (alice, en-US)",
            "    7.6s  timeout after 5s",
            "    7.6s  stop listening",
            "    7.6s  say \"No selection.\" (alice, en-US)",
            "    8.9s  flow finished",
        ])
        XCTAssertEqual(result.ending, .finished)
        XCTAssertTrue(result.requests.isEmpty, "a Gather without input sends no request")
    }

    func testEmptyScriptAlsoTimesOutAndLeftoverDigitsAreReported() throws {
        let silent = try simulate(menu, digits: "", pages: pages)
        XCTAssertTrue(lines(silent).contains("    5.0s  timeout after 5s"))
        XCTAssertEqual(silent.ending, .finished)

        let chatty = try simulate("<Response><Gather numDigits=\"2\"/></Response>", digits: "12 34", baseURL: nil)
        XCTAssertEqual(chatty.unusedDigits, "34")
        XCTAssertEqual(chatty.ending, .finished)
    }

    /// Without `action`, a fetched document gets the digits itself (Twilio's quickstart).
    func testGatherWithoutActionInAFetchedDocumentPostsToItsOwnURL() throws {
        let result = try simulate("<Response><Gather numDigits=\"2\"/></Response>", digits: "12",
                                  pages: ["https://app.example/ivr/start": "<Response><Hangup/></Response>"])
        XCTAssertEqual(result.requests.map(\.url), ["https://app.example/ivr/start"])
        XCTAssertEqual(result.requests.first?.parameters.last, FormParameter(name: "Digits", value: "12"))
        XCTAssertEqual(result.ending, .hungUp)
    }

    func testDigitsAreDeliveredOneAtATimeUntilTheFinishKey() throws {
        let result = try simulate("""
        <Response>
          <Gather action="pin" timeout="3"/>
          <Gather action="again" numDigits="1"/>
        </Response>
        """, digits: "42#w", pages: ["https://app.example/ivr/pin": "<Response/>"])
        XCTAssertEqual(lines(result), [
            "    0.0s  listen for digits",
            "    0.0s  digit 4",
            "    0.0s  digit 2",
            "    0.0s  digit #",
            "    0.0s  stop listening",
            "    0.0s  POST https://app.example/ivr/pin Digits=42",
            "    0.0s  flow finished",
        ], "the fetched document replaces the rest, so the second Gather never runs")
        XCTAssertEqual(result.unusedDigits, "w")
    }

    func testWaitAfterSomeDigitsSubmitsThemOnTimeout() throws {
        let result = try simulate(#"<Response><Gather action="pin" method="GET" timeout="3"/></Response>"#,
                                  digits: "12w", pages: ["https://app.example/ivr/pin": "<Response/>"])
        XCTAssertTrue(lines(result).contains("    3.0s  timeout after 3s"))
        XCTAssertTrue(lines(result).contains("    3.0s  GET https://app.example/ivr/pin Digits=12"))
    }

    func testRecordingIsAnsweredWithAFiveSecondRecording() throws {
        let result = try simulate("""
        <Response>
          <Record action="saved" maxLength="120" recordingStatusCallback="https://cb.example/s" transcribe="true">
            <Say>After the beep.</Say>
          </Record>
        </Response>
        """, digits: "1", pages: ["https://app.example/ivr/saved": "<Response><Say>Saved.</Say></Response>"])
        XCTAssertEqual(lines(result), [
            "    0.0s  say \"After the beep.\" (alice, en-US)",
            "    0.0s  beep",
            "    0.0s  listen for digits",
            "    0.0s  record up to 120s",
            "    5.0s  recording ended after 5s (silence)",
            "    5.0s  stop listening",
            "    5.0s  notify POST https://cb.example/s RecordingUrl=simulated://recording-1.wav RecordingDuration=5 "
                + "RecordingSid=simulated-recording-1 RecordingStatus=completed",
            "    5.0s  transcribe simulated://recording-1.wav",
            "    5.0s  POST https://app.example/ivr/saved RecordingUrl=simulated://recording-1.wav RecordingDuration=5 "
                + "RecordingSid=simulated-recording-1",
            "    5.0s  say \"Saved.\" (alice, en-US)",
            "    5.0s  flow finished",
        ])
        XCTAssertEqual(result.unusedDigits, "1", "recordings receive no scripted keys")
        XCTAssertEqual(result.requests.count, 2)
    }

    func testShortMaxLengthEndsTheRecordingEarly() throws {
        let result = try simulate(#"<Response><Record playBeep="false" maxLength="2"/></Response>"#, digits: "")
        XCTAssertTrue(lines(result).contains("    2.0s  recording ended after 2s (maxLength)"))
        XCTAssertEqual(result.duration, 2)
    }

    func testFailedFetchEndsWithTheApology() throws {
        let result = try simulate("<Response><Redirect>missing</Redirect></Response>", digits: "")
        XCTAssertEqual(lines(result), [
            "    0.0s  POST https://app.example/ivr/missing",
            "    0.0s  fetch failed: HTTP 404 for https://app.example/ivr/missing",
            "    0.0s  say \"We are sorry, an application error has occurred. Goodbye.\" (alice, en-US)",
            "    0.0s  hang up",
        ])
        XCTAssertEqual(result.ending, .applicationError("HTTP 404 for https://app.example/ivr/missing"))
    }

    func testLocalFlowsAreReadFromTheirDirectory() throws {
        var asked: [String] = []
        let simulator = FlowSimulator(
            document: try parse("<Response><Redirect>next.xml</Redirect></Response>", source: "/srv/flows/main.xml"),
            baseURL: nil, callParameters: testCallParameters, digits: "") { request in
                asked.append(request.url)
                return .document(try! parse("<Response><Play loop=\"0\">tone.wav</Play><Dial>+15551234567</Dial></Response>",
                                            source: request.url))
            }
        let result = simulator.run()
        XCTAssertEqual(asked, ["/srv/flows/next.xml"])
        XCTAssertEqual(lines(result), [
            "    0.0s  read /srv/flows/next.xml",
            "    0.0s  play /srv/flows/tone.wav (looping)",
            "    0.0s  dial +15551234567 (timeout 30s, record do-not-record)",
            "   10.0s  dialed call completed after 10s",
            "   10.0s  flow finished",
        ])
    }

    func testRejectEndsBeforeAnswer() throws {
        let result = try simulate(#"<Response><Reject reason="busy"/></Response>"#, digits: "")
        XCTAssertEqual(lines(result), ["    0.0s  reject (busy, SIP 486)"])
        XCTAssertEqual(result.ending, .rejected(.busy))
    }

    func testRedirectLoopStopsAtTheStepLimit() throws {
        let result = try simulate("<Response><Redirect>start</Redirect></Response>", digits: "",
                                  pages: ["https://app.example/ivr/start": "<Response><Redirect>start</Redirect></Response>"],
                                  maxSteps: 20)
        XCTAssertEqual(result.ending, .incomplete("stopped after 20 events"))
        XCTAssertEqual(result.requests.count, 21)
    }

    func testGatherLoopStopsAtTheTimeLimit() throws {
        let simulator = FlowSimulator(
            document: try parse(#"<Response><Gather timeout="60"/><Redirect>/srv/flows/main.xml</Redirect></Response>"#,
                                source: "/srv/flows/main.xml"),
            baseURL: nil, callParameters: [], digits: "", maxSeconds: 600) { request in
                .document(try! parse(#"<Response><Gather timeout="60"/><Redirect>main.xml</Redirect></Response>"#,
                                     source: request.url))
            }
        let result = simulator.run()
        XCTAssertEqual(result.ending, .incomplete("stopped after 600s of simulated time"))
        XCTAssertEqual(result.duration, 600)
    }

    func testSimulationIsDeterministic() throws {
        let first = try simulate(menu, digits: "1", pages: pages)
        let second = try simulate(menu, digits: "1", pages: pages)
        XCTAssertEqual(first, second)
    }

    func testGeneralBusinessTemplateBranchesToALocalFileWithTheDigits() throws {
        let document = try TeXMLParser.parse(contentsOf: callFlowsDirectory.appendingPathComponent("general-business.xml"))
        var asked: [String] = []
        let result = FlowSimulator(document: document, baseURL: nil, callParameters: testCallParameters,
                                   digits: "1") { request in
            asked.append(request.url)
            return .document(try! TeXMLParser.parse(Data("<Response><Say>Sales.</Say></Response>".utf8), source: request.url))
        }.run()
        XCTAssertEqual(asked, [callFlowsDirectory.appendingPathComponent("general-business/menu-1.xml").path],
                       "{Digits} in a local action path becomes the key pressed")
        XCTAssertTrue(result.timeline.map(\.line).contains("say \"Sales.\" (alice, en-US)"), "\(result.timeline)")
        XCTAssertEqual(result.ending, .finished)
    }

    func testDigitsPlaceholderIsOnlyForLocalPaths() {
        XCTAssertEqual(FlowURL.substitutingDigits(in: "/flows/menu-{Digits}.xml", digits: "12"), "/flows/menu-12.xml")
        XCTAssertEqual(FlowURL.substitutingDigits(in: "/flows/menu-%7BDigits%7D.xml", digits: "#"), "/flows/menu-#.xml")
        XCTAssertEqual(FlowURL.substitutingDigits(in: "/flows/menu-{Digits}.xml", digits: "../x"), "/flows/menu-none.xml",
                       "only keypad characters reach the file system")
    }
}
