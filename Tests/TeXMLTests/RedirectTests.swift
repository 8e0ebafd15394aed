import Foundation
import XCTest
@testable import TeXML

/// `<Redirect>`, fetched documents, fetch failures and URL resolution.
final class RedirectTests: XCTestCase {
    func testRedirectFetchesWithTheCallParametersAndReplacesTheFlow() throws {
        let caller = try FakeCaller("""
        <Response>
          <Say>Transferring</Say>
          <Redirect method="GET">../other/next.xml?step=2</Redirect>
          <Say>Never</Say>
        </Response>
        """, baseURL: "https://app.example/flows/main.xml")
        caller.start()
        XCTAssertEqual(untokened(try caller.finishMedia()), [
            .fetch(HTTPRequest(url: "https://app.example/other/next.xml?step=2", method: .get,
                               parameters: testCallParameters), token: 0),
        ])
        XCTAssertEqual(caller.send(.digit("1")), [])
        let next = try caller.answerFetch("<Response><Play>hold.wav</Play></Response>", source: "next.xml")
        XCTAssertEqual(caller.flow.document.source, "next.xml")
        XCTAssertEqual(caller.flow.baseURL, "https://app.example/other/next.xml?step=2")
        XCTAssertEqual(untokened(next), [.play(PlayRequest(source: "https://app.example/other/hold.wav", loop: 1), token: 0)])
        XCTAssertEqual(try caller.finishMedia(), [.finished])
    }

    func testRedirectDefaultsToPost() throws {
        let caller = try FakeCaller("<Response><Redirect>https://other.example/x</Redirect></Response>",
                                    baseURL: "https://app.example/a")
        XCTAssertEqual(untokened(caller.start()), [
            .fetch(HTTPRequest(url: "https://other.example/x", method: .post, parameters: testCallParameters), token: 0),
        ])
    }

    func testLocalRedirectResolvesAgainstTheFlowDirectory() throws {
        let caller = try FakeCaller("<Response><Redirect>sub/next.xml</Redirect></Response>", source: "/srv/flows/main.xml")
        let actions = caller.start()
        XCTAssertEqual(untokened(actions), [
            .fetch(HTTPRequest(url: "/srv/flows/sub/next.xml", method: .post, parameters: testCallParameters), token: 0),
        ])
        _ = try caller.answerFetch("<Response><Redirect>../last.xml</Redirect></Response>")
        XCTAssertEqual(caller.fetch?.request.url, "/srv/flows/last.xml",
                       "the fetched file's own directory is the new base")
    }

    func testLocalFlowRedirectingToTheWebSwitchesToURLResolution() throws {
        let caller = try FakeCaller("<Response><Redirect>https://app.example/ivr/start</Redirect></Response>")
        caller.start()
        _ = try caller.answerFetch("<Response><Redirect>step2</Redirect></Response>")
        XCTAssertEqual(caller.fetch?.request.url, "https://app.example/ivr/step2")
    }

    func testALeadingRejectInAFetchedDocumentHangsUp() throws {
        let caller = try FakeCaller("<Response><Redirect>https://app.example/x</Redirect></Response>")
        caller.start()
        XCTAssertEqual(try caller.answerFetch("<Response><Reject/></Response>"), [.hangup])
    }

    func testFailedFetchApologisesThenHangsUp() throws {
        let caller = try FakeCaller("<Response><Redirect>https://app.example/x</Redirect><Say>Never</Say></Response>")
        caller.start()
        let apology = try caller.failFetch("HTTP 503")
        XCTAssertEqual(untokened(apology), [
            .say(SpeechRequest(text: "We are sorry, an application error has occurred. Goodbye.", voice: "alice",
                               language: "en-US", loop: 1), token: 0),
        ])
        XCTAssertFalse(caller.flow.isFinished, "no dead air: the apology plays before the hang-up")
        XCTAssertEqual(try caller.finishMedia(), [.hangup])
        XCTAssertTrue(caller.flow.isFinished)
    }

    func testCallerHangUpDuringFetchOrApology() throws {
        let fetching = try FakeCaller("<Response><Redirect>https://app.example/x</Redirect></Response>")
        fetching.start()
        XCTAssertEqual(fetching.send(.callerHungUp), [.finished])
        XCTAssertEqual(try fetching.answerFetch("<Response><Say>Late</Say></Response>"), [])

        let apologising = try FakeCaller("<Response><Redirect>https://app.example/x</Redirect></Response>")
        apologising.start()
        try apologising.failFetch()
        XCTAssertEqual(apologising.send(.callerHungUp), [.finished])
    }

    func testStaleFetchTokenIsIgnored() throws {
        let caller = try FakeCaller("<Response><Redirect>https://app.example/x</Redirect></Response>")
        caller.start()
        let token = try XCTUnwrap(caller.fetch?.token)
        XCTAssertEqual(caller.send(.fetched(token + 1, .failed("x"))), [])
        XCTAssertFalse(caller.flow.isFinished)
    }

    func testRedirectLoopsAreDrivenByEventsNotRecursion() throws {
        let caller = try FakeCaller("<Response><Redirect>https://app.example/loop</Redirect></Response>")
        caller.start()
        for _ in 0..<50 {
            let actions = try caller.answerFetch("<Response><Redirect>loop</Redirect></Response>")
            XCTAssertEqual(untokened(actions), [
                .fetch(HTTPRequest(url: "https://app.example/loop", method: .post, parameters: testCallParameters), token: 0),
            ])
        }
    }

    // MARK: URL resolution

    func testURLResolution() {
        let base = "https://app.example/flows/v1/main.xml?x=1"
        let cases: [(String, String)] = [
            ("next.xml", "https://app.example/flows/v1/next.xml"),
            ("../next.xml", "https://app.example/flows/next.xml"),
            ("/root.xml", "https://app.example/root.xml"),
            ("?page=2", "https://app.example/flows/v1/main.xml?page=2"),
            ("//cdn.example/a.wav", "https://cdn.example/a.wav"),
            ("HTTPS://Other.example/A", "HTTPS://Other.example/A"),
            ("hold music.wav", "https://app.example/flows/v1/hold%20music.wav"),
            ("  spaced.xml \n", "https://app.example/flows/v1/spaced.xml"),
        ]
        for (reference, expected) in cases {
            XCTAssertEqual(FlowURL.resolve(reference, baseURL: base, documentSource: "ignored.xml"), expected, reference)
        }
    }

    func testLocalPathResolution() {
        let source = "/etc/tollfreed/flows/main.xml"
        XCTAssertEqual(FlowURL.resolve("next.xml", baseURL: nil, documentSource: source), "/etc/tollfreed/flows/next.xml")
        XCTAssertEqual(FlowURL.resolve("../audio/a.wav", baseURL: nil, documentSource: source), "/etc/tollfreed/audio/a.wav")
        XCTAssertEqual(FlowURL.resolve("/var/x.wav", baseURL: nil, documentSource: source), "/var/x.wav")
        XCTAssertEqual(FlowURL.resolve("file:///var/x.wav", baseURL: nil, documentSource: source), "file:///var/x.wav")
        XCTAssertEqual(FlowURL.resolve("https://a.example/b", baseURL: nil, documentSource: source), "https://a.example/b")
        let relative = FlowURL.resolve("next.xml", baseURL: nil, documentSource: "CallFlows/main.xml")
        XCTAssertTrue(relative.hasPrefix("/"), "a relative flow path becomes absolute: \(relative)")
        XCTAssertTrue(relative.hasSuffix("/CallFlows/next.xml"), relative)
    }
}
