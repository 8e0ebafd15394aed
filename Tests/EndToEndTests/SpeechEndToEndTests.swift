import Foundation
import Media
import XCTest

/// `<Gather input="speech">` from a webhook, with a sipp caller whose audio (espeak-ng
/// speech, sent as PCMU by the test) the daemon recognises with PocketSphinx.
final class SpeechEndToEndTests: XCTestCase {
    static let documents: [String: String] = [
        "speech.xml": """
            <Response>
              <Gather input="speech" action="/heard" speechTimeout="auto" timeout="8"
                      hints="refill my prescription, billing question, speak to a nurse">
                <Say>How can we help you today?</Say>
              </Gather>
              <Say>We did not hear you.</Say>
            </Response>
            """,
        "heard": "<Response><Say>Thank you.</Say><Hangup/></Response>",
        // Twilio's published speech example, unchanged.
        "twilio.xml": """
            <Response>
                <Gather input="speech" action="/completed">
                    <Say>Welcome to Twilio, please tell us why you're calling</Say>
                </Gather>
            </Response>
            """,
        "completed": "<Response><Say>Thanks.</Say><Hangup/></Response>",
        // No action: the document's own URL gets the speech and branches on it. Without
        // speechTimeout, the pause that ends speech is `timeout` (Twilio's rule).
        "yesno.xml": #"<Response><Gather input="speech" hints="yes, no" timeout="3"><Say>Say yes or no.</Say></Gather></Response>"#,
        "yesno.xml@SpeechResult=yes": "<Response><Say>You said yes.</Say><Hangup/></Response>",
        // Keys still work when speech is listened for too.
        "either.xml": #"<Response><Gather input="dtmf speech" numDigits="1" action="/pressed" timeout="8"><Say>Press or say one.</Say></Gather></Response>"#,
        "pressed": "<Response><Say>OK.</Say><Hangup/></Response>",
    ]

    nonisolated(unsafe) static var server: WebhookServer?
    nonisolated(unsafe) static var daemon: DaemonUnderTest?
    nonisolated(unsafe) static var startError: Error?

    override class func setUp() {
        super.setUp()
        do {
            let s = try WebhookServer(documents: documents)
            server = s
            daemon = try DaemonUnderTest(ringMs: 0) { cfg in
                var numbers = cfg["numbers"] as? [[String: Any]] ?? []
                let t = "backup-general-001"
                numbers += [
                    ["did": "+18335550131", "tenant": t, "flow": "\(s.base)/speech.xml"],
                    ["did": "+18335550132", "tenant": t, "flow": "\(s.base)/twilio.xml"],
                    ["did": "+18335550133", "tenant": t, "flow": "\(s.base)/yesno.xml"],
                    ["did": "+18335550134", "tenant": t, "flow": "\(s.base)/either.xml"],
                ]
                cfg["numbers"] = numbers
            }
        } catch { startError = error }
    }

    override class func tearDown() {
        daemon?.stop()
        server?.stop()
        daemon = nil
        server = nil
        super.tearDown()
    }

    private func env() throws -> (DaemonUnderTest, WebhookServer) {
        if let e = Self.startError { throw e }
        guard let d = Self.daemon, let s = Self.server else {
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "daemon or webhook server did not start"])
        }
        return (d, s)
    }

    /// espeak-ng speech at 8 kHz, 0.5 s of silence before and 1.5 s after it (the pause
    /// that ends the utterance).
    private func spoken(_ text: String) throws -> [Int16] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-speech-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = runProgram("/usr/bin/espeak-ng", ["-v", "en-us", "-s", "150", "-w", path, text])
        guard r.status == 0 else { throw NSError(domain: "e2e", code: 2, userInfo: [NSLocalizedDescriptionKey: "espeak-ng: \(r.output)"]) }
        return [Int16](repeating: 0, count: 4000) + (try WAVFile.read(path: path)) + [Int16](repeating: 0, count: 12_000)
    }

    /// Calls `did`, says `text` once the daemon's media flows, and waits for the call to end.
    private func callAndSay(_ text: String, dial: String, tag: String) throws {
        let (d, _) = try env()
        let audio = try spoken(text)
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: dial, tag: tag, peer: peer) {
            peer.send(samples: audio, toPort: $0)
        }, "no RTP from the daemon\n\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(result.status, 0, "sipp (the daemon hangs up after the answer):\n\(result.output.suffix(1500))\n\(d.logText.suffix(2000))")
    }

    func testSpokenPhraseWithHintsGoesToTheAction() throws {
        let (d, s) = try env()
        try callAndSay("refill my prescription", dial: "8335550131", tag: "speechhints")
        let heard = try XCTUnwrap(s.waitForRequest(path: "/heard") { $0["To"] == "+18335550131" }, "\(s.requests.suffix(3))")
        XCTAssertEqual(heard["SpeechResult"], "refill my prescription")
        let confidence = try XCTUnwrap(heard["Confidence"].flatMap(Double.init))
        XCTAssertTrue((0...1).contains(confidence), "\(confidence)")
        XCTAssertNil(heard["Digits"])
        XCTAssertTrue(d.logShows("call.speech_result"), d.logText.suffix(1500).description)
        let metrics = try XCTUnwrap(d.httpGet("/metrics")?.body)
        XCTAssertTrue(metrics.contains("tollfreed_speech_utterances_total{outcome=\"recognized\"}"), metrics)
        XCTAssertTrue(metrics.contains("tollfreed_speech_recognize_seconds_count"), metrics)
    }

    /// Twilio's example: no hints, the open language model. Synthetic speech at 8 kHz is
    /// mostly misrecognised by it (see SpeechRecognizerTests), so the test checks the
    /// request, not the words.
    func testTwiliosSpeechExampleRunsUnchanged() throws {
        let (_, s) = try env()
        try callAndSay("i need to make an appointment", dial: "8335550132", tag: "speechtwilio")
        let completed = try XCTUnwrap(s.waitForRequest(path: "/completed") { $0["To"] == "+18335550132" }, "\(s.requests.suffix(3))")
        XCTAssertFalse((completed["SpeechResult"] ?? "").isEmpty, "\(completed)")
        XCTAssertNotNil(completed["Confidence"].flatMap(Double.init))
    }

    func testSpeechWithoutActionIsPostedToTheSameURL() throws {
        let (_, s) = try env()
        try callAndSay("yes", dial: "8335550133", tag: "speechyesno")
        let again = try XCTUnwrap(s.waitForRequest(path: "/yesno.xml") { $0["SpeechResult"] != nil }, "\(s.requests.suffix(3))")
        XCTAssertEqual(again["SpeechResult"], "yes")
    }

    /// `input="dtmf speech"`: an RFC 4733 key press answers the Gather.
    func testAKeyAnswersADTMFAndSpeechGather() throws {
        let (d, s) = try env()
        let r = d.sippRaw("uac_dtmf_2833.xml", dial: "8335550134", tag: "speechdtmf", extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000"])
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(2500))")
        let pressed = try XCTUnwrap(s.waitForRequest(path: "/pressed") { $0["To"] == "+18335550134" }, "\(s.requests.suffix(3))")
        XCTAssertEqual(pressed["Digits"], "1")
        XCTAssertNil(pressed["SpeechResult"])
    }
}
